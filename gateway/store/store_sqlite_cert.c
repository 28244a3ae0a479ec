/* store_sqlite_cert.c: the SQLite store's certificates table
 * (store_sqlite_cert.h): insert, read, count, revoke, find by serial, and
 * the renewal's supersede marks.  Its statements are prepared at open on the
 * store's connection; store_sqlite.c wraps the insert in its transactions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_sqlite_cert.h"
#include "store_sqlite_row.h"

enum sqc_stmt {
	SQC_INSERT,
	SQC_GET,
	SQC_COUNT,
	SQC_REVOKE,
	SQC_BY_SERIAL,
	SQC_SUPERSEDED,
	SQC_SUPERSEDE,
	SQC_STMT_MAX
};

static const char *const sqc_sql[SQC_STMT_MAX] = {
    [SQC_INSERT] = "INSERT INTO certificates (" SQ_CERT_COLS ")"
		   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [SQC_GET] = "SELECT " SQ_CERT_COLS " FROM certificates"
		" WHERE issuer = ?1 AND serial = ?2",
    [SQC_COUNT] = "SELECT count(*) FROM certificates",
    [SQC_REVOKE] = "UPDATE certificates SET revoked = 1, revoked_at = ?3, revoke_reason = ?4"
		   " WHERE issuer = ?1 AND serial = ?2 AND revoked = 0",
    [SQC_BY_SERIAL] = "SELECT " SQ_CERT_COLS " FROM certificates WHERE serial = ?1 LIMIT 2",
    /* a certificate of ?1 newer than (?1, ?2) (or any, when that is not
     * stored) issued on profile ?3 for a request signed by key ?4: through
     * the transactions_signer index (migration 4) */
    [SQC_SUPERSEDED] = "SELECT 1 FROM transactions t JOIN certificates c ON c.txn_id = t.id"
		       " WHERE t.signer_key_sha256 = ?4 AND t.profile = ?3 AND c.issuer = ?1"
		       " AND c.id > coalesce((SELECT id FROM certificates"
		       " WHERE issuer = ?1 AND serial = ?2), 0) LIMIT 1",
    /* the first certificate to supersede (?1, ?2) is the one recorded (migration 6) */
    [SQC_SUPERSEDE] = "UPDATE certificates SET superseded_by = ?3"
		      " WHERE issuer = ?1 AND serial = ?2 AND superseded_by = ''",
};

struct sq_cert {
	sqlite3 *db;
	sqlite3_stmt *st[SQC_STMT_MAX];
};

int
sqc_open(sqlite3 *db, struct sq_cert **ret, struct sgw_err *err)
{
	struct sq_cert *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "store: out of memory");
	q->db = db;
	if (sq_prepare_n(db, sqc_sql, q->st, SQC_STMT_MAX, err) < 0) {
		sqc_close(q);
		return -SGW_EIO;
	}
	*ret = q;
	return 0;
}

void
sqc_close(struct sq_cert *q)
{
	if (q == NULL)
		return;
	for (int i = 0; i < SQC_STMT_MAX; i++)
		sqlite3_finalize(q->st[i]);
	free(q);
}

int
sqc_put(struct sq_cert *q, const struct store_cert *c, int64_t txn_id)
{
	sqlite3_stmt *st = q->st[SQC_INSERT];
	int bad = 0, r = 0;

	bad |= sq_bind_str(st, 1, c->serial, sizeof(c->serial));
	bad |= sq_bind_str(st, 2, c->issuer, sizeof(c->issuer));
	bad |= sq_bind_str(st, 3, c->subject, sizeof(c->subject));
	bad |= sqlite3_bind_int64(st, 4, c->not_before);
	bad |= sqlite3_bind_int64(st, 5, c->not_after);
	bad |= sqlite3_bind_blob(st, 6, c->der, (int)c->der_len, SQLITE_STATIC);
	if (txn_id != 0)
		bad |= sqlite3_bind_int64(st, 7, txn_id);
	else
		bad |= sqlite3_bind_null(st, 7);
	bad |= sqlite3_bind_int(st, 8, c->revoked ? 1 : 0);
	bad |= sqlite3_bind_int64(st, 9, c->revoked_at);
	bad |= sqlite3_bind_int(st, 10, c->revoke_reason);
	bad |= sq_bind_str(st, 11, c->superseded_by, sizeof(c->superseded_by));
	if (bad != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
		r = sq_fail_db(q->db, "cert insert");
	sq_reset(st);
	return r;
}

int
sqc_get(struct sq_cert *q, const char *issuer, const char *serial, struct store_cert *ret)
{
	sqlite3_stmt *st = q->st[SQC_GET];
	int bad = 0;

	if (issuer == NULL || serial == NULL)
		return -SGW_EINVAL;
	bad |= sq_bind_str(st, 1, issuer, SQ_CAP(struct store_cert, issuer));
	bad |= sq_bind_str(st, 2, serial, SQ_CAP(struct store_cert, serial));
	return sq_fetch(q->db, st, bad, sq_row_cert, ret);
}

int
sqc_count(struct sq_cert *q, int64_t *ret)
{
	sqlite3_stmt *st = q->st[SQC_COUNT];
	int r = 0;

	if (sqlite3_step(st) == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	else
		r = sq_fail_db(q->db, "cert count");
	sq_reset(st);
	return r;
}

/* Already revoked (or absent) leaves changes() at 0: tell the two apart. */
int
sqc_revoke(struct sq_cert *q, const char *issuer, const char *serial, int reason, int64_t when)
{
	sqlite3_stmt *st = q->st[SQC_REVOKE];
	struct store_cert c;
	int bad = 0, r = 0;

	if (issuer == NULL || serial == NULL || reason < 0 || reason > 10)
		return -SGW_EINVAL;
	bad |= sq_bind_str(st, 1, issuer, SQ_CAP(struct store_cert, issuer));
	bad |= sq_bind_str(st, 2, serial, SQ_CAP(struct store_cert, serial));
	bad |= sqlite3_bind_int64(st, 3, when);
	bad |= sqlite3_bind_int(st, 4, reason);
	if (bad != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
		r = sq_fail_db(q->db, "cert revoke");
	else if (sqlite3_changes(q->db) == 0)
		r = -SGW_ENOTFOUND;
	sq_reset(st);
	if (r != -SGW_ENOTFOUND)
		return r;
	r = sqc_get(q, issuer, serial, &c);
	if (r == 0) {
		store_cert_clear(&c);
		return -SGW_EEXIST;
	}
	return r;
}

/* Two rows (LIMIT 2) mean the serial alone is ambiguous. */
int
sqc_find_serial(struct sq_cert *q, const char *serial, struct store_cert *ret)
{
	sqlite3_stmt *st = q->st[SQC_BY_SERIAL];
	struct store_cert c;
	int rc, r;

	if (serial == NULL)
		return -SGW_EINVAL;
	if (sq_bind_str(st, 1, serial, SQ_CAP(struct store_cert, serial)) != SQLITE_OK) {
		sq_reset(st);
		return sq_fail_db(q->db, "cert by serial bind");
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		r = -SGW_ENOTFOUND;
	else if (rc != SQLITE_ROW)
		r = sq_fail_db(q->db, "cert by serial");
	else
		r = sq_row_cert(st, &c);
	if (r == 0) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			r = -SGW_EEXIST;
		else if (rc != SQLITE_DONE)
			r = sq_fail_db(q->db, "cert by serial");
		if (r < 0)
			store_cert_clear(&c);
	}
	sq_reset(st);
	if (r == 0)
		memcpy(ret, &c, sizeof(c));
	return r;
}

int
sqc_superseded(struct sq_cert *q, const char *issuer, const char *serial, const char *profile,
	       const uint8_t key_sha256[32], int *ret_superseded)
{
	sqlite3_stmt *st = q->st[SQC_SUPERSEDED];
	int bad = 0, rc, r = 0;

	if (issuer == NULL || serial == NULL || profile == NULL || key_sha256 == NULL)
		return -SGW_EINVAL;
	bad |= sq_bind_str(st, 1, issuer, SQ_CAP(struct store_cert, issuer));
	bad |= sq_bind_str(st, 2, serial, SQ_CAP(struct store_cert, serial));
	bad |= sq_bind_str(st, 3, profile, SQ_CAP(struct store_txn, profile));
	bad |= sqlite3_bind_blob(st, 4, key_sha256, 32, SQLITE_STATIC);
	rc = bad == SQLITE_OK ? sqlite3_step(st) : SQLITE_ERROR;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = sq_fail_db(q->db, "cert superseded");
	sq_reset(st);
	if (r == 0)
		*ret_superseded = rc == SQLITE_ROW;
	return r;
}

int
sqc_supersede(struct sq_cert *q, const char *issuer, const char *serial, const char *by)
{
	sqlite3_stmt *st = q->st[SQC_SUPERSEDE];
	int bad = 0, r = 0;

	if (issuer == NULL || serial == NULL || by == NULL || by[0] == '\0')
		return -SGW_EINVAL;
	bad |= sq_bind_str(st, 1, issuer, SQ_CAP(struct store_cert, issuer));
	bad |= sq_bind_str(st, 2, serial, SQ_CAP(struct store_cert, serial));
	bad |= sq_bind_str(st, 3, by, SQ_CAP(struct store_cert, serial));
	if (bad != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
		r = sq_fail_db(q->db, "cert supersede");
	else if (sqlite3_changes(q->db) == 0)
		r = -SGW_ENOTFOUND;
	sq_reset(st);
	return r;
}
