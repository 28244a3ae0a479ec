/* store_sqlite_row.c: the lowest level of the SQLite store, under
 * store_sqlite.c and its spokes (store_sqlite_adm.c, store_sqlite_sync.c):
 * running a statement, mapping a failed call to an SGW code, binding text,
 * and decoding one row into a record. */
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

/* Bind at most cap - 1 bytes: what a char[cap] field holds with its NUL. */
int
sq_bind_str(sqlite3_stmt *st, int idx, const char *s, size_t cap)
{
	if (s == NULL)
		s = "";
	return sqlite3_bind_text(st, idx, s, (int)strnlen(s, cap - 1), SQLITE_STATIC);
}

static void
sq_col_str(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
	const unsigned char *p = sqlite3_column_text(st, col);
	size_t n = (size_t)sqlite3_column_bytes(st, col);

	if (p == NULL)
		n = 0;
	if (n > cap - 1)
		n = cap - 1;
	if (n > 0)
		memcpy(dst, p, n);
	dst[n] = '\0';
}

static int
sq_col_blob(sqlite3_stmt *st, int col, uint8_t **ret, size_t *ret_len)
{
	const void *p = sqlite3_column_blob(st, col);
	int n = sqlite3_column_bytes(st, col);
	uint8_t *copy;

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
	const void *key;
	int r;

	memset(&t, 0, sizeof(t));
	key = sqlite3_column_blob(st, 3);
	if (key == NULL || sqlite3_column_bytes(st, 3) != (int)sizeof(t.signer_key_sha256))
		return -SGW_EIO;
	memcpy(t.signer_key_sha256, key, sizeof(t.signer_key_sha256));
	t.id = sqlite3_column_int64(st, 0);
	sq_col_str(st, 1, t.profile, sizeof(t.profile));
	sq_col_str(st, 2, t.transaction_id, sizeof(t.transaction_id));
	t.state = sqlite3_column_int(st, 4);
	t.msg_type = sqlite3_column_int(st, 5);
	sq_col_str(st, 6, t.subject, sizeof(t.subject));
	sq_col_str(st, 7, t.peer, sizeof(t.peer));
	sq_col_str(st, 8, t.reason, sizeof(t.reason));
	sq_col_str(st, 9, t.cert_serial, sizeof(t.cert_serial));
	sq_col_str(st, 10, t.backend_handle, sizeof(t.backend_handle));
	t.created = sqlite3_column_int64(st, 12);
	t.updated = sqlite3_column_int64(st, 13);
	if (t.state < 0 || t.state >= TXN_STATE_MAX)
		return -SGW_EIO;
	r = sq_col_blob(st, 11, &t.csr_der, &t.csr_len);
	if (r < 0)
		return r;
	memcpy(ret, &t, sizeof(t));
	return 0;
}

/* Decode one certificates row (SQ_CERT_COLS order); ret is written on success. */
int
sq_row_cert(sqlite3_stmt *st, void *ret)
{
	struct store_cert c;
	int r;

	memset(&c, 0, sizeof(c));
	sq_col_str(st, 0, c.serial, sizeof(c.serial));
	sq_col_str(st, 1, c.issuer, sizeof(c.issuer));
	sq_col_str(st, 2, c.subject, sizeof(c.subject));
	c.not_before = sqlite3_column_int64(st, 3);
	c.not_after = sqlite3_column_int64(st, 4);
	c.txn_id = sqlite3_column_int64(st, 6);
	c.revoked = sqlite3_column_int(st, 7) != 0;
	c.revoked_at = sqlite3_column_int64(st, 8);
	c.revoke_reason = sqlite3_column_int(st, 9);
	r = sq_col_blob(st, 5, &c.der, &c.der_len);
	if (r < 0)
		return r;
	if (c.der == NULL)
		return -SGW_EIO;
	memcpy(ret, &c, sizeof(c));
	return 0;
}
