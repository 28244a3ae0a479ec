/* store_pg_shared.c: the local CA's revocations and CRL, and the cluster's
 * job leases, in PostgreSQL (store_pg_shared.h).  Each call is one
 * statement: a revocation is an INSERT ... ON CONFLICT DO NOTHING, the CRL a
 * compare-and-set on its number, a lease an upsert that only takes a free,
 * expired or already held row; the upgrade's seed of a CRL only when none
 * is stored. */
#include <stdlib.h>
#include <string.h>

#include "store_pg_row.h"
#include "store_pg_shared.h"
#include "store_pg_sql.h"

#define PGS_NAME_MAX 256 /* a CA or job name, a holder */
#define PGS_CRL_MAX (64 * 1024 * 1024)

int
pgs_ca_revoke(struct pg_pool *pool, const char *ca, const struct store_revoked *rv)
{
	struct pg_params p = {0};
	PGresult *res;
	int r;

	if (ca == NULL || rv == NULL || rv->serial[0] == '\0' || rv->reason < 0 || rv->reason > 10)
		return -SGW_EINVAL;
	pg_param_str(&p, ca, PGS_NAME_MAX);
	pg_param_str(&p, rv->serial, sizeof(rv->serial));
	pg_param_i64(&p, rv->reason);
	pg_param_i64(&p, rv->when);
	if ((r = pg_pool_exec(pool, PG_CA_REVOKE, &p, &res)) < 0)
		return r;
	r = pg_changes(res) > 0 ? 0 : -SGW_EEXIST;
	PQclear(res);
	return r;
}

int
pgs_ca_revoked_list(struct pg_pool *pool, const char *ca, store_revoked_each each, void *arg)
{
	struct pg_params p = {0};
	PGresult *res;
	int r;

	if (ca == NULL)
		return -SGW_EINVAL;
	pg_param_str(&p, ca, PGS_NAME_MAX);
	if ((r = pg_pool_exec(pool, PG_CA_REVOKED_LIST, &p, &res)) < 0)
		return r;
	for (int i = 0; i < PQntuples(res); i++) {
		struct store_revoked rv;
		int64_t reason = 0;

		memset(&rv, 0, sizeof(rv));
		r = pg_col_text(res, i, 0, rv.serial, sizeof(rv.serial));
		r |= pg_col_i64(res, i, 1, &reason);
		r |= pg_col_i64(res, i, 2, &rv.when);
		if (r < 0 || reason < 0 || reason > 10) {
			r = -SGW_EIO;
			break;
		}
		rv.reason = (int)reason;
		if (each(arg, &rv) < 0)
			break; /* the callback stopped the walk */
	}
	PQclear(res);
	return r < 0 ? r : 0;
}

int
pgs_ca_crl_get(struct pg_pool *pool, const char *ca, struct store_crl *ret)
{
	struct pg_params p = {0};
	struct store_crl c = {0};
	PGresult *res;
	int r;

	if (ca == NULL)
		return -SGW_EINVAL;
	pg_param_str(&p, ca, PGS_NAME_MAX);
	if ((r = pg_pool_exec(pool, PG_CA_CRL_GET, &p, &res)) < 0)
		return r;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return -SGW_ENOTFOUND;
	}
	r = pg_col_i64(res, 0, 0, &c.number);
	r |= pg_col_i64(res, 0, 1, &c.next_update);
	if (r == 0 && PQgetlength(res, 0, 2) > 0 && PQgetlength(res, 0, 2) <= PGS_CRL_MAX &&
	    !PQgetisnull(res, 0, 2)) {
		c.der_len = (size_t)PQgetlength(res, 0, 2);
		c.der = malloc(c.der_len);
		if (c.der == NULL)
			r = -SGW_ENOMEM;
		else
			memcpy(c.der, PQgetvalue(res, 0, 2), c.der_len);
	} else if (r == 0) {
		r = -SGW_EIO;
	}
	PQclear(res);
	if (r < 0)
		return r;
	*ret = c;
	return 0;
}

/* PG_CA_CRL_FIRST/NEXT (put) or PG_CA_CRL_SEED: -SGW_EEXIST when nothing
 * changed (another instance stored that number first, or one is stored) */
static int
crl_store(struct pg_pool *pool, int seed, const char *ca, const struct store_crl *c)
{
	struct pg_params p = {0};
	enum pg_stmt id;
	PGresult *res;
	int r;

	if (ca == NULL || c == NULL || c->number < 1 || c->der == NULL || c->der_len == 0 ||
	    c->der_len > PGS_CRL_MAX)
		return -SGW_EINVAL;
	id = seed ? PG_CA_CRL_SEED : c->number == 1 ? PG_CA_CRL_FIRST : PG_CA_CRL_NEXT;
	pg_param_str(&p, ca, PGS_NAME_MAX);
	if (id != PG_CA_CRL_FIRST)
		pg_param_i64(&p, c->number);
	pg_param_i64(&p, c->next_update);
	pg_param_bytes(&p, c->der, c->der_len);
	if ((r = pg_pool_exec(pool, id, &p, &res)) < 0)
		return r;
	r = pg_changes(res) > 0 ? 0 : -SGW_EEXIST;
	PQclear(res);
	return r;
}

int
pgs_ca_crl_put(struct pg_pool *pool, const char *ca, const struct store_crl *c)
{
	return crl_store(pool, 0, ca, c);
}

int
pgs_ca_crl_seed(struct pg_pool *pool, const char *ca, const struct store_crl *c)
{
	return crl_store(pool, 1, ca, c);
}

int
pgs_lease_take(struct pg_pool *pool, const char *job, const char *holder, int64_t now, int ttl,
	       int *ret_held)
{
	struct pg_params p = {0};
	PGresult *res;
	int r;

	if (job == NULL || holder == NULL || ttl <= 0)
		return -SGW_EINVAL;
	pg_param_str(&p, job, PGS_NAME_MAX);
	pg_param_str(&p, holder, PGS_NAME_MAX);
	pg_param_i64(&p, now);
	pg_param_i64(&p, ttl);
	if ((r = pg_pool_exec(pool, PG_LEASE_TAKE, &p, &res)) < 0)
		return r;
	*ret_held = PQntuples(res) > 0;
	PQclear(res);
	return 0;
}

int
pgs_lease_get(struct pg_pool *pool, const char *job, char *ret_holder, size_t cap,
	      int64_t *ret_expires)
{
	struct pg_params p = {0};
	PGresult *res;
	int r;

	if (job == NULL || ret_holder == NULL || cap == 0 || ret_expires == NULL)
		return -SGW_EINVAL;
	pg_param_str(&p, job, PGS_NAME_MAX);
	if ((r = pg_pool_exec(pool, PG_LEASE_GET, &p, &res)) < 0)
		return r;
	if (PQntuples(res) == 0)
		r = -SGW_ENOTFOUND;
	else if (pg_col_text(res, 0, 0, ret_holder, cap) < 0 ||
		 pg_col_i64(res, 0, 1, ret_expires) < 0)
		r = -SGW_EIO;
	PQclear(res);
	return r;
}

int
pgs_ca_crl_number(struct pg_pool *pool, const char *ca, int64_t *ret)
{
	struct pg_params p = {0};
	PGresult *res;
	int r;

	if (ca == NULL || ret == NULL)
		return -SGW_EINVAL;
	pg_param_str(&p, ca, PGS_NAME_MAX);
	if ((r = pg_pool_exec(pool, PG_CA_CRL_NUMBER, &p, &res)) < 0)
		return r;
	if (PQntuples(res) == 0)
		r = -SGW_ENOTFOUND;
	else if (pg_col_i64(res, 0, 0, ret) < 0)
		r = -SGW_EIO;
	PQclear(res);
	return r;
}
