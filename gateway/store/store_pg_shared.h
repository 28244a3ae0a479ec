/* store_pg_shared.h: the PostgreSQL store's state shared by every instance
 * beyond transactions (store_pg_shared.c): the local CA's revocations and
 * current CRL, and the leases of once-per-cluster jobs.  Called by
 * store_pg.c only; see store.h for each call's contract. */
#ifndef SGW_STORE_PG_SHARED_H
#define SGW_STORE_PG_SHARED_H

#include "store.h"
#include "store_pg_pool.h"

int pgs_ca_revoke(struct pg_pool *pool, const char *ca, const struct store_revoked *r);
int pgs_ca_revoked_list(struct pg_pool *pool, const char *ca, store_revoked_each each, void *arg);
int pgs_ca_crl_get(struct pg_pool *pool, const char *ca, struct store_crl *ret);
int pgs_ca_crl_put(struct pg_pool *pool, const char *ca, const struct store_crl *c);
int pgs_lease_take(struct pg_pool *pool, const char *job, const char *holder, int64_t now, int ttl,
		   int *ret_held);
int pgs_ca_crl_seed(struct pg_pool *pool, const char *ca, const struct store_crl *c);
int pgs_lease_get(struct pg_pool *pool, const char *job, char *ret_holder, size_t cap,
		  int64_t *ret_expires);
int pgs_ca_crl_number(struct pg_pool *pool, const char *ca, int64_t *ret);

#endif
