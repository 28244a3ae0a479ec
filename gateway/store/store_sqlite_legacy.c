/* store_sqlite_legacy.c: once, at the first start after the upgrade to
 * schema 4 (store_sqlite_schema.c), the CSRs that older versions kept in
 * clear in transactions.csr, each with its challengePassword.  Every such
 * row goes through the caller's function (txn/txn_csr.c seals the CSR of a
 * request still in progress and keeps only the hash and summary of a final
 * one), the clear column is emptied, then the file is rewritten (VACUUM)
 * and the WAL truncated, so that no page, free page or WAL frame keeps a
 * copy.  csr_legacy.pending goes to 0 only after that, so an interrupted
 * pass runs again at the next start.  A spoke of store_sqlite.c, on its
 * connection, before the group-commit thread opens its own. */
#include <stdlib.h>

#include "log.h"
#include "store_sqlite_legacy.h"
#include "store_sqlite_row.h"

enum { LG_NEXT, LG_ROW, LG_SET, LG_MAX };

static const char *const lg_sql[LG_MAX] = {
    /* by rowid from the last one seen: one walk over the table */
    [LG_NEXT] = "SELECT id, csr FROM transactions WHERE id > ?1 AND csr IS NOT NULL"
		" ORDER BY id LIMIT 1",
    [LG_ROW] = "SELECT " SQ_TXN_COLS " FROM transactions WHERE id = ?1",
    [LG_SET] = "UPDATE transactions SET csr = NULL, csr_sealed = ?1, csr_sha256 = ?2,"
	       " csr_info = ?3 WHERE id = ?4",
};

/* Row id's record with its clear CSR through fn, and written back. */
static int
lg_one(sqlite3 *db, sqlite3_stmt **st, int64_t id, const void *csr, int len, store_legacy_fn fn,
       void *arg)
{
	struct store_txn t;
	int r, bad;

	r = sqlite3_bind_int64(st[LG_ROW], 1, id) == SQLITE_OK &&
		    sqlite3_step(st[LG_ROW]) == SQLITE_ROW
		? sq_row_txn(st[LG_ROW], &t)
		: sq_fail_db(db, "legacy csr: row");
	sqlite3_reset(st[LG_ROW]);
	if (r < 0)
		return r;
	store_txn_clear(&t);
	t.csr = (struct store_csr){0};
	if (fn(arg, &t, csr, (size_t)len) < 0)
		store_txn_clear(&t); /* no sealed copy; hash and summary stay */
	bad = sq_bind_csr(st[LG_SET], 1, 2, 3, &t.csr);
	bad |= sqlite3_bind_int64(st[LG_SET], 4, id);
	r = bad == SQLITE_OK && sqlite3_step(st[LG_SET]) == SQLITE_DONE
		? 0
		: sq_fail_db(db, "legacy csr: update");
	sqlite3_reset(st[LG_SET]);
	sqlite3_clear_bindings(st[LG_SET]);
	store_txn_clear(&t);
	return r;
}

/* Every row with a clear CSR, in one transaction; the number of rows. */
static int
lg_rows(sqlite3 *db, sqlite3_stmt **st, store_legacy_fn fn, void *arg)
{
	int64_t last = 0;
	int n = 0, r = 0, rc;

	while (r == 0) {
		if (sqlite3_bind_int64(st[LG_NEXT], 1, last) != SQLITE_OK)
			return sq_fail_db(db, "legacy csr: bind");
		rc = sqlite3_step(st[LG_NEXT]);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			r = sq_fail_db(db, "legacy csr: select");
			break;
		}
		/* a blob as the old versions wrote it (sqlite gives any other type as bytes) */
		r = lg_one(db, st, sqlite3_column_int64(st[LG_NEXT], 0),
			   sqlite3_column_blob(st[LG_NEXT], 1),
			   sqlite3_column_bytes(st[LG_NEXT], 1), fn, arg);
		last = sqlite3_column_int64(st[LG_NEXT], 0);
		sqlite3_reset(st[LG_NEXT]);
		n++;
	}
	sqlite3_reset(st[LG_NEXT]);
	return r < 0 ? r : n;
}

static int
lg_pending(sqlite3 *db, int *ret)
{
	sqlite3_stmt *st = NULL;
	int r = -SGW_EIO;

	if (sqlite3_prepare_v2(db, "SELECT max(pending) FROM csr_legacy", -1, &st, NULL) ==
		SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		*ret = sqlite3_column_int(st, 0);
		r = 0;
	}
	sqlite3_finalize(st);
	return r;
}

int
sql_legacy_csr(sqlite3 *db, store_legacy_fn fn, void *arg, struct sgw_err *err)
{
	sqlite3_stmt *st[LG_MAX] = {0};
	int pending = 0, n = 0, r;

	if (lg_pending(db, &pending) < 0)
		return sgw_err_set(err, SGW_EIO, "store: sqlite: csr_legacy: %s",
				   sqlite3_errmsg(db));
	if (!pending)
		return 0;
	r = sq_exec_db(db, "PRAGMA secure_delete = ON; BEGIN IMMEDIATE", err);
	for (int i = 0; r == 0 && i < LG_MAX; i++)
		if (sqlite3_prepare_v2(db, lg_sql[i], -1, &st[i], NULL) != SQLITE_OK)
			r = sgw_err_set(err, SGW_EIO, "store: sqlite: prepare: %s",
					sqlite3_errmsg(db));
	if (r == 0 && (n = lg_rows(db, st, fn, arg)) < 0)
		r = sgw_err_set(err, -n, "store: cannot seal the CSRs stored in clear");
	for (int i = 0; i < LG_MAX; i++)
		sqlite3_finalize(st[i]);
	if (r == 0)
		r = sq_exec_db(db, "COMMIT", err);
	if (r < 0 && !sqlite3_get_autocommit(db))
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	/* the rewrite: no free page, no WAL frame keeps an old clear CSR */
	if (r == 0)
		r = sq_exec_db(db, "VACUUM; PRAGMA wal_checkpoint(TRUNCATE);", err);
	if (r == 0)
		r = sq_exec_db(db, "UPDATE csr_legacy SET pending = 0", err);
	(void)sqlite3_exec(db, "PRAGMA secure_delete = OFF", NULL, NULL, NULL);
	if (r < 0)
		return r;
	if (n > 0)
		log_info("store: %d CSR(s) an older version kept in clear sealed or dropped, the "
			 "file rewritten",
			 n);
	return n;
}
