/* store_pg_sql.c: the PostgreSQL store's statements (store_pg_sql.h).  A
 * write that must be atomic with another is one statement where it can be
 * (a data-modifying WITH): one round trip, and a unique-key clash leaves
 * nothing changed.  Parameters whose type the server cannot infer carry a
 * cast; integers are sent as text, text and bytea as binary. */
#include "store_pg_sql.h"

/* drop the sealed CSR when the new state ($n) is final (ISSUED .. EXPIRED) */
#define PG_SET_SEALED_FOR(p)                                                                       \
	"csr_sealed = CASE WHEN " p "::bigint >= 5 THEN NULL ELSE csr_sealed END"

const char *const pg_sql[PG_STMT_MAX] = {
    [PG_TXN_INSERT] = "INSERT INTO transactions (profile, transaction_id, signer_key_sha256,"
		      " state, msg_type, subject, peer, reason, cert_serial, backend_handle,"
		      " csr_sealed, created, updated, csr_sha256, csr_info, instance)"
		      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,"
		      " $16) RETURNING id",
    [PG_TXN_FIND] = "SELECT " PG_TXN_COLS " FROM transactions"
		    " WHERE profile = $1 AND transaction_id = $2 AND signer_key_sha256 = $3",
    [PG_TXN_GET] = "SELECT " PG_TXN_COLS " FROM transactions WHERE id = $1",
    [PG_TXN_UPDATE] =
	"UPDATE transactions SET state = $1, reason = $2, backend_handle = $3,"
	" cert_serial = $4, updated = $5, instance = $6, " PG_SET_SEALED_FOR("$1") " WHERE id = $7",
    /* a new request on a known row (txn_accept), only if the row is as read */
    [PG_TXN_RENEW] = "UPDATE transactions SET state = $1, msg_type = $2, subject = $3,"
		     " peer = $4, reason = '', cert_serial = '', backend_handle = '',"
		     " csr_sealed = $5, csr_sha256 = $6, csr_info = $7, created = $8,"
		     " updated = $9, instance = $10 WHERE id = $11 AND updated = $12",
    /* txn_accept of a new request with a one-time challenge, one statement:
     * the challenge used ($17 now, $18 profile, $19 hash) and the row
     * inserted, or neither (0 rows: the challenge is used, expired or
     * unknown; a taken key aborts both).  A second caller waits on the
     * challenge's row lock, then finds it used. */
    [PG_TXN_INSERT_OTP] =
	"WITH o AS (UPDATE otps SET used = $17 WHERE profile = $18 AND sha256 = $19"
	" AND used = 0 AND expires > $17 RETURNING 1)"
	" INSERT INTO transactions (profile, transaction_id, signer_key_sha256,"
	" state, msg_type, subject, peer, reason, cert_serial, backend_handle,"
	" csr_sealed, created, updated, csr_sha256, csr_info, instance)"
	" SELECT $1::text, $2::text, $3::bytea, $4::bigint, $5::bigint, $6::text,"
	" $7::text, $8::text, $9::text, $10::text, $11::bytea, $12::bigint,"
	" $13::bigint, $14::bytea, $15::text, $16::text FROM o RETURNING id",
    /* txn_issue: the transaction ISSUED and its certificate, one statement */
    [PG_TXN_ISSUE] = "WITH u AS (UPDATE transactions SET state = 5, reason = $1,"
		     " backend_handle = $2, cert_serial = $3::text, updated = $4, instance = $5,"
		     " csr_sealed = NULL WHERE id = $6 RETURNING id)"
		     " INSERT INTO certificates (serial, issuer, subject, not_before, not_after,"
		     " der, txn_id, revoked, revoked_at, revoke_reason, superseded_by)"
		     " SELECT $3::text, $7::text, $8::text, $9::bigint, $10::bigint, $11::bytea,"
		     " u.id, $12::bigint, $13::bigint, $14::bigint, $15::text FROM u RETURNING id",
    [PG_CERT_GET] = "SELECT " PG_CERT_COLS " FROM certificates WHERE issuer = $1 AND serial = $2",
    [PG_CERT_COUNT] = "SELECT count(*) FROM certificates",
    [PG_CERT_REVOKE] = "UPDATE certificates SET revoked = 1, revoked_at = $3, revoke_reason = $4"
		       " WHERE issuer = $1 AND serial = $2 AND revoked = 0",
    [PG_CERT_BY_SERIAL] = "SELECT " PG_CERT_COLS " FROM certificates WHERE serial = $1 LIMIT 2",
    [PG_CERT_SUPERSEDED] = "SELECT 1 FROM transactions t JOIN certificates c ON c.txn_id = t.id"
			   " WHERE t.signer_key_sha256 = $4 AND t.profile = $3 AND c.issuer = $1"
			   " AND c.id > coalesce((SELECT id FROM certificates"
			   " WHERE issuer = $1 AND serial = $2), 0) LIMIT 1",
    [PG_CERT_SUPERSEDE] = "UPDATE certificates SET superseded_by = $3"
			  " WHERE issuer = $1 AND serial = $2 AND superseded_by = ''",
    /* a renewal's claim (struct store_accept): the claim on the signer
     * ($1 issuer, $2 serial) is serialized by a transaction-scoped advisory
     * lock, taken in a statement of its own so that the check after it
     * (a new snapshot under READ COMMITTED) sees the other renewal's commit */
    [PG_RENEWAL_LOCK] = "SELECT pg_advisory_xact_lock(hashtextextended($1::text || '|' ||"
			" $2::text, 0))",
    /* a row: the signer is superseded already ($1..$4 as PG_CERT_SUPERSEDED),
     * or another request ($5: this row's id, 0 for a new one) on the profile
     * signed by the same key is in progress (not final) */
    [PG_RENEWAL_BUSY] = "SELECT 1 WHERE EXISTS (SELECT 1 FROM transactions t JOIN certificates c"
			" ON c.txn_id = t.id WHERE t.signer_key_sha256 = $4::bytea"
			" AND t.profile = $3::text AND c.issuer = $1::text AND c.id >"
			" coalesce((SELECT id FROM certificates WHERE issuer = $1::text"
			" AND serial = $2::text), 0))"
			" OR EXISTS (SELECT 1 FROM transactions WHERE signer_key_sha256 = $4::bytea"
			" AND profile = $3::text AND id <> $5::bigint AND state < 5)",
    [PG_NONCE_SWEEP] = "DELETE FROM nonces WHERE nonce IN"
		       " (SELECT nonce FROM nonces WHERE expires <= $1 LIMIT $2)",
    /* a live nonce makes this a no-op (0 rows); an expired one is replaced */
    [PG_NONCE_PUT] = "INSERT INTO nonces (nonce, expires) VALUES ($1, $2)"
		     " ON CONFLICT (nonce) DO UPDATE SET expires = excluded.expires"
		     " WHERE nonces.expires <= $3",
    [PG_TXN_LIST] = "SELECT " PG_TXN_COLS " FROM transactions t"
		    " WHERE state = $1 AND ($2::bigint = 0 OR EXISTS (SELECT 1 FROM approvals a"
		    " WHERE a.txn_id = t.id AND a.state = $4)) ORDER BY created, id LIMIT $3",
    [PG_TXN_LIST_ALL] =
	"SELECT " PG_TXN_COLS " FROM transactions t"
	" WHERE $1::bigint < 0 AND ($2::bigint = 0 OR EXISTS (SELECT 1 FROM"
	" approvals a WHERE a.txn_id = t.id AND a.state = $4)) ORDER BY id LIMIT $3",
    [PG_TXN_COUNT] = "SELECT count(*) FROM transactions WHERE state = $1",
    /* txn_decide: only while AWAITING_APPROVAL ($6), with who decided */
    [PG_TXN_DECIDE] =
	"WITH u AS (UPDATE transactions SET state = $1, reason = $2::text,"
	" updated = $3, instance = $4, " PG_SET_SEALED_FOR(
	    "$1") " WHERE id = $5 AND state = $6 RETURNING id)"
		  " INSERT INTO approvals (txn_id, admin, state, reason, at)"
		  " SELECT id, $7::text, $1::bigint, $2::text, $3::bigint FROM u"
		  " ON CONFLICT (txn_id) DO UPDATE SET admin = excluded.admin,"
		  " state = excluded.state, reason = excluded.reason, at = excluded.at"
		  " RETURNING txn_id",
    [PG_APPROVAL_GET] = "SELECT admin FROM approvals WHERE txn_id = $1",
    [PG_OTP_SWEEP] = "DELETE FROM otps WHERE id IN"
		     " (SELECT id FROM otps WHERE expires <= $1 LIMIT $2)",
    [PG_OTP_PUT] = "INSERT INTO otps (profile, sha256, subject, issued_by, created, expires)"
		   " VALUES ($1, $2, $3, $4, $5, $6)",
    /* one statement: the check and the use cannot be separated; a second
     * caller waits on the row lock, then finds it used */
    [PG_OTP_CONSUME] = "UPDATE otps SET used = $3 WHERE profile = $1 AND sha256 = $2"
		       " AND used = 0 AND expires > $3 RETURNING subject",
    [PG_OTP_PEEK] = "SELECT subject FROM otps WHERE profile = $1 AND sha256 = $2"
		    " AND used = 0 AND expires > $3",
    [PG_OTP_COUNT] = "SELECT count(*) FROM otps WHERE profile = $1 AND used = 0 AND expires > $2",
    [PG_CERT_TOP] = "SELECT coalesce(max(id), 0) + 1 FROM certificates",
    /* a substring match reads the window [$4, $3) of ids, newest first */
    [PG_CERT_SEARCH] = "SELECT " PG_CERT_COLS ", id FROM certificates WHERE id < $3 AND id >= $4"
		       " AND ($1::text = '' OR strpos(lower(subject), lower($1::text)) > 0)"
		       " ORDER BY id DESC LIMIT $2",
    [PG_CERT_SEARCH_SERIAL] = "SELECT " PG_CERT_COLS " FROM certificates WHERE serial = $2"
			      " AND ($1::text = '' OR strpos(lower(subject), lower($1::text)) > 0)"
			      " ORDER BY id DESC LIMIT $3",
    [PG_CA_REVOKE] = "INSERT INTO ca_revoked (ca, serial, reason, at) VALUES ($1, $2, $3, $4)"
		     " ON CONFLICT DO NOTHING",
    [PG_CA_REVOKED_LIST] = "SELECT serial, reason, at FROM ca_revoked WHERE ca = $1 ORDER BY id",
    [PG_CA_CRL_GET] = "SELECT number, next_update, der FROM ca_crl WHERE ca = $1",
    /* compare-and-set on the CRL number: the first, or the stored one + 1 */
    [PG_CA_CRL_FIRST] = "INSERT INTO ca_crl (ca, number, next_update, der) VALUES ($1, 1, $2, $3)"
			" ON CONFLICT DO NOTHING",
    [PG_CA_CRL_NEXT] = "UPDATE ca_crl SET number = $2, next_update = $3, der = $4"
		       " WHERE ca = $1 AND number = $2::bigint - 1",
    /* free, expired or already ours: the row says `holder` (1 row), else 0 rows */
    [PG_LEASE_TAKE] = "INSERT INTO leases (job, holder, expires) VALUES ($1, $2, $3::bigint + $4)"
		      " ON CONFLICT (job) DO UPDATE SET holder = excluded.holder,"
		      " expires = excluded.expires"
		      " WHERE leases.holder = excluded.holder OR leases.expires <= $3::bigint"
		      " RETURNING holder",
    /* the upgrade from a CRL number kept in files: any number, once */
    [PG_CA_CRL_SEED] = "INSERT INTO ca_crl (ca, number, next_update, der) VALUES ($1, $2, $3, $4)"
		       " ON CONFLICT DO NOTHING",
    [PG_LEASE_GET] = "SELECT holder, expires FROM leases WHERE job = $1",
    [PG_CA_CRL_NUMBER] = "SELECT number FROM ca_crl WHERE ca = $1",
    /* the owed notifications (store_pg_owed.c): one row per transaction */
    [PG_OWED_PUT] =
	"INSERT INTO owed (" PG_OWED_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
	" ON CONFLICT (txn_id) DO UPDATE SET profile = excluded.profile,"
	" kind = excluded.kind, reason = excluded.reason, owner = excluded.owner,"
	" attempts = excluded.attempts, next_try = excluded.next_try,"
	" created = excluded.created, csr_sealed = excluded.csr_sealed",
    [PG_OWED_DEL] = "DELETE FROM owed WHERE txn_id = $1",
    /* due, and ours, or the owner's lease expired, or older than $3 */
    [PG_OWED_DUE] = "SELECT " PG_OWED_COLS " FROM owed o WHERE next_try <= $2 AND (owner = $1"
		    " OR created < $3 OR NOT EXISTS (SELECT 1 FROM leases"
		    " WHERE job = 'instance:' || o.owner AND expires > $2))"
		    " ORDER BY next_try, txn_id LIMIT $4",
};
