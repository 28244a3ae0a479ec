/* store_pg_owed.h: the PostgreSQL store's owed validator notifications
 * (store_pg_owed.c); the ops of store.h on the store's pool. */
#ifndef SGW_STORE_PG_OWED_H
#define SGW_STORE_PG_OWED_H

#include "store.h"
#include "store_pg_pool.h"

int pgo_put(struct pg_pool *pool, const struct store_owed *o);
int pgo_del(struct pg_pool *pool, int64_t txn_id);
int pgo_due(struct pg_pool *pool, const char *me, int64_t now, int64_t stale, size_t max,
	    store_owed_each each, void *arg);

#endif
