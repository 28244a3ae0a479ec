/* store_sqlite_row.c: the lowest level of the SQLite store, under
 * store_sqlite.c and its spokes (store_sqlite_adm.c, store_sqlite_cert.c,
 * store_sqlite_sync.c):
 * running a statement, mapping a failed call to an SGW code, binding text,
 * and decoding one row into a record. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_sqlite_row.h"

int
sq_exec_db(sqlite3 *db, const char *sql, struct sgw_err *err)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sgw_err_set(err, SGW_EIO, "store: sqlite: %s", sqlite3_errmsg(db));
	return 0;
}

int
sq_prepare_n(sqlite3 *db, const char *const *sql, sqlite3_stmt **st, int n, struct sgw_err *err)
{
	for (int i = 0; i < n; i++)
		if (sqlite3_prepare_v3(db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st[i], NULL) !=
		    SQLITE_OK)
			return sgw_err_set(err, SGW_EIO, "store: sqlite: prepare: %s",
					   sqlite3_errmsg(db));
	return 0;
}

/* Map a failed sqlite call to an SGW code; unique-key clashes are not logged. */
int
sq_fail_db(sqlite3 *db, const char *what)
{
	int ext = sqlite3_extended_errcode(db);

	if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
		return -SGW_EEXIST;
	log_err("store: sqlite: %s: %s", what, sqlite3_errmsg(db));
	if (ext == SQLITE_NOMEM)
		return -SGW_ENOMEM;
	return -SGW_EIO;
}

void
sq_reset(sqlite3_stmt *st)
{
	(void)sqlite3_reset(st);
	(void)sqlite3_clear_bindings(st);
}

int
sq_fetch(sqlite3 *db, sqlite3_stmt *st, int bad, int (*decode)(sqlite3_stmt *, void *), void *ret)
{
	int rc = bad != SQLITE_OK ? SQLITE_ERROR : sqlite3_step(st);
	int r;

	if (rc == SQLITE_ROW) {
		r = decode(st, ret);
		if (r == -SGW_EIO)
			log_err("store: sqlite: corrupt row for: %s", sqlite3_sql(st));
	} else if (rc == SQLITE_DONE) {
		r = -SGW_ENOTFOUND;
	} else {
		r = sq_fail_db(db, "select");
	}
	sq_reset(st);
	return r;
}

/* Bind at most cap - 1 bytes: what a char[cap] field holds with its NUL. */
int
sq_bind_str(sqlite3_stmt *st, int idx, const char *s, size_t cap)
{
	if (s == NULL)
		s = "";
	return sqlite3_bind_text(st, idx, s, (int)strnlen(s, cap - 1), SQLITE_STATIC);
}

int
sq_bind_csr(sqlite3_stmt *st, int i_sealed, int i_sha256, int i_info, const struct store_csr *c)
{
	int bad = 0;

	if (c->sealed != NULL && c->sealed_len > 0)
		bad |=
		    sqlite3_bind_blob(st, i_sealed, c->sealed, (int)c->sealed_len, SQLITE_STATIC);
	else
		bad |= sqlite3_bind_null(st, i_sealed);
	if (c->hashed)
		bad |= sqlite3_bind_blob(st, i_sha256, c->sha256, sizeof(c->sha256), SQLITE_STATIC);
	else
		bad |= sqlite3_bind_null(st, i_sha256);
	bad |= sq_bind_str(st, i_info, c->info, sizeof(c->info));
	return bad;
}

/* Each column of a row is checked for its type and size before it is read
 * (a conversion first would hide a wrong type).  The checks return 0 or
 * -SGW_EIO, so a decoder ORs them together. */

static int
col_int64(sqlite3_stmt *st, int col, int64_t *ret)
{
	if (sqlite3_column_type(st, col) != SQLITE_INTEGER)
		return -SGW_EIO;
	*ret = sqlite3_column_int64(st, col);
	return 0;
}

static int
col_int(sqlite3_stmt *st, int col, int lo, int hi, int *ret)
{
	int64_t v = 0;

	if (col_int64(st, col, &v) < 0 || v < lo || v > hi)
		return -SGW_EIO;
	*ret = (int)v;
	return 0;
}

/* Text that fits a char[cap] with its NUL. */
static int
col_text(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
	const unsigned char *p;
	size_t n;

	if (sqlite3_column_type(st, col) != SQLITE_TEXT)
		return -SGW_EIO;
	p = sqlite3_column_text(st, col);
	n = (size_t)sqlite3_column_bytes(st, col);
	if (p == NULL || n > cap - 1)
		return -SGW_EIO;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}

/* A blob of exactly len bytes. */
static int
col_fixed(sqlite3_stmt *st, int col, uint8_t *dst, size_t len)
{
	const void *p;

	if (sqlite3_column_type(st, col) != SQLITE_BLOB)
		return -SGW_EIO;
	p = sqlite3_column_blob(st, col);
	if (p == NULL || sqlite3_column_bytes(st, col) != (int)len)
		return -SGW_EIO;
	memcpy(dst, p, len);
	return 0;
}

/* A copy of a blob of at most SQ_MAX_BLOB bytes; NULL (when the column may
 * be NULL) or an empty blob give *ret = NULL, *ret_len = 0. */
static int
col_blob(sqlite3_stmt *st, int col, int nullable, uint8_t **ret, size_t *ret_len)
{
	int type = sqlite3_column_type(st, col);
	const void *p;
	uint8_t *copy;
	int n;

	if (type != SQLITE_BLOB && !(nullable && type == SQLITE_NULL))
		return -SGW_EIO;
	p = sqlite3_column_blob(st, col);
	n = sqlite3_column_bytes(st, col);
	if (p == NULL || n <= 0) {
		*ret = NULL;
		*ret_len = 0;
		return 0;
	}
	if (n > SQ_MAX_BLOB)
		return -SGW_EIO;
	copy = malloc((size_t)n);
	if (copy == NULL)
		return -SGW_ENOMEM;
	memcpy(copy, p, (size_t)n);
	*ret = copy;
	*ret_len = (size_t)n;
	return 0;
}

/* Decode one transactions row (SQ_TXN_COLS order); ret is written on success. */
int
sq_row_txn(sqlite3_stmt *st, void *ret)
{
	struct store_txn t;
	int r = 0;

	if (sqlite3_column_count(st) != SQ_TXN_NCOLS)
		return -SGW_EIO;
	memset(&t, 0, sizeof(t));
	r |= col_int64(st, 0, &t.id);
	r |= col_text(st, 1, t.profile, sizeof(t.profile));
	r |= col_text(st, 2, t.transaction_id, sizeof(t.transaction_id));
	r |= col_fixed(st, 3, t.signer_key_sha256, sizeof(t.signer_key_sha256));
	r |= col_int(st, 4, 0, TXN_STATE_MAX - 1, &t.state);
	r |= col_int(st, 5, INT_MIN, INT_MAX, &t.msg_type);
	r |= col_text(st, 6, t.subject, sizeof(t.subject));
	r |= col_text(st, 7, t.peer, sizeof(t.peer));
	r |= col_text(st, 8, t.reason, sizeof(t.reason));
	r |= col_text(st, 9, t.cert_serial, sizeof(t.cert_serial));
	r |= col_text(st, 10, t.backend_handle, sizeof(t.backend_handle));
	r |= col_int64(st, 12, &t.created);
	r |= col_int64(st, 13, &t.updated);
	if (sqlite3_column_type(st, 14) != SQLITE_NULL) { /* none: a row without a CSR */
		r |= col_fixed(st, 14, t.csr.sha256, sizeof(t.csr.sha256));
		t.csr.hashed = 1;
	}
	r |= col_text(st, 15, t.csr.info, sizeof(t.csr.info));
	r |= col_text(st, 16, t.instance, sizeof(t.instance));
	if (r == 0) /* last: nothing to free on the way out */
		r = col_blob(st, 11, 1, &t.csr.sealed, &t.csr.sealed_len);
	if (r < 0)
		return r;
	memcpy(ret, &t, sizeof(t));
	return 0;
}

/* SQ_CERT_COLS followed by `extra` columns the caller reads. */
static int
row_cert(sqlite3_stmt *st, int extra, struct store_cert *ret)
{
	struct store_cert c;
	int r = 0;

	if (sqlite3_column_count(st) != SQ_CERT_NCOLS + extra)
		return -SGW_EIO;
	memset(&c, 0, sizeof(c));
	r |= col_text(st, 0, c.serial, sizeof(c.serial));
	r |= col_text(st, 1, c.issuer, sizeof(c.issuer));
	r |= col_text(st, 2, c.subject, sizeof(c.subject));
	r |= col_int64(st, 3, &c.not_before);
	r |= col_int64(st, 4, &c.not_after);
	if (sqlite3_column_type(st, 6) != SQLITE_NULL) /* no transaction: 0 */
		r |= col_int64(st, 6, &c.txn_id);
	r |= col_int(st, 7, 0, 1, &c.revoked);
	r |= col_int64(st, 8, &c.revoked_at);
	r |= col_int(st, 9, INT_MIN, INT_MAX, &c.revoke_reason);
	r |= col_text(st, 10, c.superseded_by, sizeof(c.superseded_by));
	if (r == 0)
		r = col_blob(st, 5, 0, &c.der, &c.der_len);
	if (r == 0 && c.der == NULL)
		r = -SGW_EIO;
	if (r < 0)
		return r;
	memcpy(ret, &c, sizeof(c));
	return 0;
}

/* Decode one certificates row (SQ_CERT_COLS order); ret is written on success. */
int
sq_row_cert(sqlite3_stmt *st, void *ret)
{
	return row_cert(st, 0, ret);
}

int
sq_row_cert_at(sqlite3_stmt *st, struct store_cert *ret, int64_t *ret_id)
{
	int64_t id = 0;
	int r;

	if (sqlite3_column_count(st) != SQ_CERT_NCOLS + 1 || col_int64(st, SQ_CERT_NCOLS, &id) < 0)
		return -SGW_EIO;
	r = row_cert(st, 1, ret);
	if (r == 0)
		*ret_id = id;
	return r;
}
