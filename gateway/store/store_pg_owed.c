/* store_pg_owed.c: the validator notifications still owed, in PostgreSQL
 * (store_pg_owed.h).  Each call is one statement: a row is an upsert on
 * its transaction's id, the due rows one SELECT that reads the owners'
 * leases too. */
#include <string.h>

#include "store_pg_owed.h"
#include "store_pg_row.h"
#include "store_pg_sql.h"

#define PGO_MAX_BLOB (1024 * 1024)

int
pgo_put(struct pg_pool *pool, const struct store_owed *o)
{
	struct pg_params p = {0};
	int r;

	if (o == NULL || o->txn_id <= 0 || o->profile[0] == '\0' ||
	    o->csr_sealed_len > PGO_MAX_BLOB)
		return -SGW_EINVAL;
	pg_param_i64(&p, o->txn_id);
	pg_param_str(&p, o->profile, sizeof(o->profile));
	pg_param_i64(&p, o->kind);
	pg_param_str(&p, o->reason, sizeof(o->reason));
	pg_param_str(&p, o->owner, sizeof(o->owner));
	pg_param_i64(&p, o->attempts);
	pg_param_i64(&p, o->next_try);
	pg_param_i64(&p, o->created);
	pg_param_bytes(&p, o->csr_sealed_len > 0 ? o->csr_sealed : NULL, o->csr_sealed_len);
	r = pg_pool_exec(pool, PG_OWED_PUT, &p, NULL);
	return r;
}

int
pgo_del(struct pg_pool *pool, int64_t txn_id)
{
	struct pg_params p = {0};
	PGresult *res;
	int r;

	pg_param_i64(&p, txn_id);
	if ((r = pg_pool_exec(pool, PG_OWED_DEL, &p, &res)) < 0)
		return r;
	r = pg_changes(res) > 0 ? 0 : -SGW_ENOTFOUND;
	PQclear(res);
	return r;
}

int
pgo_due(struct pg_pool *pool, const char *me, int64_t now, int64_t stale, size_t max,
	store_owed_each each, void *arg)
{
	struct pg_params p = {0};
	PGresult *res;
	int r;

	if (me == NULL || each == NULL)
		return -SGW_EINVAL;
	pg_param_str(&p, me, 64);
	pg_param_i64(&p, now);
	pg_param_i64(&p, stale);
	pg_param_i64(&p, (int64_t)max);
	if ((r = pg_pool_exec(pool, PG_OWED_DUE, &p, &res)) < 0)
		return r;
	for (int i = 0; i < PQntuples(res); i++) {
		struct store_owed o;
		int64_t kind = 0, attempts = 0;

		memset(&o, 0, sizeof(o));
		r = pg_col_i64(res, i, 0, &o.txn_id);
		r |= pg_col_text(res, i, 1, o.profile, sizeof(o.profile));
		r |= pg_col_i64(res, i, 2, &kind);
		r |= pg_col_text(res, i, 3, o.reason, sizeof(o.reason));
		r |= pg_col_text(res, i, 4, o.owner, sizeof(o.owner));
		r |= pg_col_i64(res, i, 5, &attempts);
		r |= pg_col_i64(res, i, 6, &o.next_try);
		r |= pg_col_i64(res, i, 7, &o.created);
		if (r < 0 || kind < 0 || kind > 1 || attempts < 0 || attempts > 1000000) {
			r = -SGW_EIO;
			break;
		}
		if (!PQgetisnull(res, i, 8) && PQgetlength(res, i, 8) > 0) {
			o.csr_sealed = (const uint8_t *)PQgetvalue(res, i, 8);
			o.csr_sealed_len = (size_t)PQgetlength(res, i, 8);
		}
		o.kind = (int)kind;
		o.attempts = (int)attempts;
		if (each(arg, &o) < 0)
			break; /* the callback stopped the walk */
	}
	PQclear(res);
	return r < 0 ? r : 0;
}
