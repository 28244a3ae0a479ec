/* store_sqlite_owed.c: the validator notifications still owed (schema:
 * migration 8), in SQLite (store_sqlite_owed.h).  Few calls (one per
 * notification and per retry): each statement is prepared per call. */
#include <stdio.h>
#include <string.h>

#include "store_sqlite_owed.h"
#include "store_sqlite_row.h"

#define SQO_COLS "txn_id, profile, kind, reason, owner, attempts, next_try, created, csr_sealed"
#define SQO_MAX_BLOB (1024 * 1024)

/* Prepare sql on db; -SGW_EIO (logged) on failure. */
static int
sqo_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **ret, const char *what)
{
	if (sqlite3_prepare_v2(db, sql, -1, ret, NULL) != SQLITE_OK) {
		sqlite3_finalize(*ret);
		*ret = NULL;
		return sq_fail_db(db, what);
	}
	return 0;
}

int
sqo_put(sqlite3 *db, const struct store_owed *o)
{
	sqlite3_stmt *st = NULL;
	int bad = 0, r;

	if (o == NULL || o->txn_id <= 0 || o->profile[0] == '\0' ||
	    o->csr_sealed_len > SQO_MAX_BLOB)
		return -SGW_EINVAL;
	if ((r = sqo_prepare(db,
			     "INSERT OR REPLACE INTO owed (" SQO_COLS
			     ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
			     &st, "owed put")) < 0)
		return r;
	bad |= sqlite3_bind_int64(st, 1, o->txn_id);
	bad |= sq_bind_str(st, 2, o->profile, sizeof(o->profile));
	bad |= sqlite3_bind_int(st, 3, o->kind);
	bad |= sq_bind_str(st, 4, o->reason, sizeof(o->reason));
	bad |= sq_bind_str(st, 5, o->owner, sizeof(o->owner));
	bad |= sqlite3_bind_int(st, 6, o->attempts);
	bad |= sqlite3_bind_int64(st, 7, o->next_try);
	bad |= sqlite3_bind_int64(st, 8, o->created);
	if (o->csr_sealed != NULL && o->csr_sealed_len > 0)
		bad |=
		    sqlite3_bind_blob(st, 9, o->csr_sealed, (int)o->csr_sealed_len, SQLITE_STATIC);
	else
		bad |= sqlite3_bind_null(st, 9);
	r = bad != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE ? sq_fail_db(db, "owed put") : 0;
	sqlite3_finalize(st);
	return r;
}

int
sqo_del(sqlite3 *db, int64_t txn_id)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = sqo_prepare(db, "DELETE FROM owed WHERE txn_id = ?1", &st, "owed del")) < 0)
		return r;
	if (sqlite3_bind_int64(st, 1, txn_id) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
		r = sq_fail_db(db, "owed del");
	else if (sqlite3_changes(db) == 0)
		r = -SGW_ENOTFOUND;
	sqlite3_finalize(st);
	return r;
}

static int
sqo_text(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	int n = sqlite3_column_bytes(st, col);

	if (s == NULL || n < 0 || (size_t)n >= cap)
		return -SGW_EIO;
	memcpy(dst, s, (size_t)n);
	dst[n] = '\0';
	return 0;
}

int
sqo_due(sqlite3 *db, const char *me, int64_t now, int64_t stale, size_t max, store_owed_each each,
	void *arg)
{
	sqlite3_stmt *st = NULL;
	int bad = 0, rc = SQLITE_DONE, r;

	if (me == NULL || each == NULL)
		return -SGW_EINVAL;
	if ((r = sqo_prepare(db,
			     "SELECT " SQO_COLS " FROM owed o WHERE next_try <= ?2 AND (owner = ?1"
			     " OR created < ?3 OR NOT EXISTS (SELECT 1 FROM leases"
			     " WHERE job = 'instance:' || o.owner AND expires > ?2))"
			     " ORDER BY next_try, txn_id LIMIT ?4",
			     &st, "owed due")) < 0)
		return r;
	bad |= sq_bind_str(st, 1, me, 64);
	bad |= sqlite3_bind_int64(st, 2, now);
	bad |= sqlite3_bind_int64(st, 3, stale);
	bad |= sqlite3_bind_int64(st, 4, (int64_t)max);
	if (bad != SQLITE_OK)
		r = sq_fail_db(db, "owed due");
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_owed o;

		memset(&o, 0, sizeof(o));
		o.txn_id = sqlite3_column_int64(st, 0);
		r = sqo_text(st, 1, o.profile, sizeof(o.profile));
		o.kind = sqlite3_column_int(st, 2);
		r |= sqo_text(st, 3, o.reason, sizeof(o.reason));
		r |= sqo_text(st, 4, o.owner, sizeof(o.owner));
		o.attempts = sqlite3_column_int(st, 5);
		o.next_try = sqlite3_column_int64(st, 6);
		o.created = sqlite3_column_int64(st, 7);
		if (sqlite3_column_type(st, 8) == SQLITE_BLOB) {
			o.csr_sealed = sqlite3_column_blob(st, 8);
			o.csr_sealed_len = (size_t)sqlite3_column_bytes(st, 8);
		}
		if (r < 0) {
			r = -SGW_EIO;
			break;
		}
		if (each(arg, &o) < 0) {
			rc = SQLITE_DONE; /* the callback stopped the walk */
			break;
		}
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = sq_fail_db(db, "owed due");
	sqlite3_finalize(st);
	return r;
}
