/* store_sqlite_sql.h: every statement that store_sqlite.c prepares at open
 * (the schema and its migrations are in store_sqlite_schema.c, the admin
 * API's statements in store_sqlite_adm.c).  Private to store_sqlite.c (it
 * defines static data); include nowhere else. */
#ifndef SGW_STORE_SQLITE_SQL_H
#define SGW_STORE_SQLITE_SQL_H

enum sq_stmt {
	SQ_BEGIN,
	SQ_COMMIT,
	SQ_ROLLBACK,
	SQ_TXN_INSERT,
	SQ_TXN_FIND,
	SQ_TXN_GET,
	SQ_TXN_UPDATE,
	SQ_TXN_RENEW,
	SQ_CERT_INSERT,
	SQ_CERT_GET,
	SQ_CERT_COUNT,
	SQ_CERT_REVOKE,
	SQ_CERT_BY_SERIAL,
	SQ_CERT_SUPERSEDED,
	SQ_CERT_SUPERSEDE,
	SQ_NONCE_SWEEP,
	SQ_NONCE_PUT,
	SQ_STMT_MAX
};

static const char *const sq_sql[SQ_STMT_MAX] = {
    [SQ_BEGIN] = "BEGIN IMMEDIATE",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
    [SQ_TXN_INSERT] = "INSERT INTO transactions (profile, transaction_id, signer_key_sha256,"
		      " state, msg_type, subject, peer, reason, cert_serial, backend_handle,"
		      " csr_sealed, created, updated, csr_sha256, csr_info, instance)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
		      " ?16)",
    [SQ_TXN_FIND] = "SELECT " SQ_TXN_COLS " FROM transactions"
		    " WHERE profile = ?1 AND transaction_id = ?2 AND signer_key_sha256 = ?3",
    [SQ_TXN_GET] = "SELECT " SQ_TXN_COLS " FROM transactions WHERE id = ?1",
    [SQ_TXN_UPDATE] =
	"UPDATE transactions SET state = ?1, reason = ?2, backend_handle = ?3,"
	" cert_serial = ?4, updated = ?5, instance = ?7, " SQ_SET_SEALED_FOR("?1") " WHERE id = ?6",
    /* a new request on a known row (txn_accept): every column of the request,
     * only if the row is as it was read (updated = ?12) */
    [SQ_TXN_RENEW] = "UPDATE transactions SET state = ?1, msg_type = ?2, subject = ?3,"
		     " peer = ?4, reason = '', cert_serial = '', backend_handle = '',"
		     " csr_sealed = ?5, csr_sha256 = ?6, csr_info = ?7, created = ?8,"
		     " updated = ?9, instance = ?12 WHERE id = ?10 AND updated = ?11",
    [SQ_CERT_INSERT] = "INSERT INTO certificates (" SQ_CERT_COLS ")"
		       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [SQ_CERT_GET] = "SELECT " SQ_CERT_COLS " FROM certificates"
		    " WHERE issuer = ?1 AND serial = ?2",
    [SQ_CERT_COUNT] = "SELECT count(*) FROM certificates",
    [SQ_CERT_REVOKE] = "UPDATE certificates SET revoked = 1, revoked_at = ?3, revoke_reason = ?4"
		       " WHERE issuer = ?1 AND serial = ?2 AND revoked = 0",
    [SQ_CERT_BY_SERIAL] = "SELECT " SQ_CERT_COLS " FROM certificates WHERE serial = ?1 LIMIT 2",
    /* a certificate of ?1 newer than (?1, ?2) (or any, when that is not
     * stored) issued on profile ?3 for a request signed by key ?4: through
     * the transactions_signer index (migration 4) */
    [SQ_CERT_SUPERSEDED] = "SELECT 1 FROM transactions t JOIN certificates c ON c.txn_id = t.id"
			   " WHERE t.signer_key_sha256 = ?4 AND t.profile = ?3 AND c.issuer = ?1"
			   " AND c.id > coalesce((SELECT id FROM certificates"
			   " WHERE issuer = ?1 AND serial = ?2), 0) LIMIT 1",
    /* the first certificate to supersede (?1, ?2) is the one recorded (migration 6) */
    [SQ_CERT_SUPERSEDE] = "UPDATE certificates SET superseded_by = ?3"
			  " WHERE issuer = ?1 AND serial = ?2 AND superseded_by = ''",
    [SQ_NONCE_SWEEP] = "DELETE FROM nonces WHERE nonce IN"
		       " (SELECT nonce FROM nonces WHERE expires <= ?1 LIMIT ?2)",
    /* a live nonce makes this a no-op (changes() == 0); an expired one is replaced */
    [SQ_NONCE_PUT] = "INSERT INTO nonces (nonce, expires) VALUES (?1, ?2)"
		     " ON CONFLICT (nonce) DO UPDATE SET expires = excluded.expires"
		     " WHERE nonces.expires <= ?3",
};

#endif
