/* store_pg_pool.h: the PostgreSQL store's connections (store_pg_pool.c): a
 * fixed pool, each connection used by one caller at a time, every statement
 * of the store prepared on each.  A caller never waits for a connect: the
 * pool's thread (scepgw-pg) makes every connection, the first one after
 * running the migrations (cfg->setup), and re-establishes a dead one with
 * exponential backoff; while no live connection exists every call returns
 * -SGW_EUNAVAIL at once.  The database need not be reachable at open.
 * Called from any thread. */
#ifndef SGW_STORE_PG_POOL_H
#define SGW_STORE_PG_POOL_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "err.h"
#include "store.h"
#include "store_pg_param.h"

struct pg_pool;
struct pg_conn;

struct pg_pool_cfg {
	const char *conninfo;
	const char *password;	/* NULL: none (conninfo or .pgpass) */
	int size;		/* connections */
	const char *const *sql; /* statements prepared on every connection */
	int n_sql;
	/* run on the first connection before any statement is prepared (the
	 * migrations: store_pg_schema.c) */
	int (*setup)(PGconn *c, struct sgw_err *err);
};

/* Starts the reconnect thread and waits (10 s at most) for its first pass:
 * every connection live, or the first attempt that failed (logged; the
 * thread goes on trying).  Fails only for a bad size, memory or a thread. */
int pg_pool_open(const struct pg_pool_cfg *cfg, struct pg_pool **ret, struct sgw_err *err);
void pg_pool_close(struct pg_pool *p);

/* A live connection for this caller alone; -SGW_EUNAVAIL when none is live
 * (or none became free within the wait).  Give it back with pg_release. */
int pg_acquire(struct pg_pool *p, struct pg_conn **ret);
void pg_release(struct pg_pool *p, struct pg_conn *c);

/* Run prepared statement `id` with binary results.  0 and *ret (PQclear
 * it) when it succeeded; else -SGW_EEXIST (unique key), -SGW_EUNAVAIL (the
 * connection is lost: marked dead, or the statement timed out), -SGW_EIO
 * (logged).  ret may be NULL when the rows do not matter. */
int pg_exec(struct pg_conn *c, int id, const struct pg_params *p, PGresult **ret);
/* n prepared statements (ids[i] with ps[i]) in one round trip (libpq's
 * pipeline mode), in one implicit transaction: 0 and every ret[i] (PQclear
 * them), or the first failure as pg_exec's (no ret[i] then). */
int pg_exec_pipeline(struct pg_conn *c, int n, const int *ids, const struct pg_params *const *ps,
		     PGresult **ret);
/* pg_acquire, pg_exec, pg_release: a statement that is a transaction alone. */
int pg_pool_exec(struct pg_pool *p, int id, const struct pg_params *params, PGresult **ret);
/* Rows a statement returned or changed (PQcmdTuples / PQntuples). */
int64_t pg_changes(PGresult *res);
/* BEGIN / COMMIT / ROLLBACK on c.  A failed COMMIT is -SGW_EUNAVAIL when the
 * connection broke (nothing may be claimed), the error's code otherwise. */
int pg_begin(struct pg_conn *c);
int pg_commit(struct pg_conn *c);
void pg_rollback(struct pg_conn *c);

/* 0 when a connection answers now (an empty query on an idle connection),
 * else -SGW_EUNAVAIL and the reason in why (the last connect's failure). */
int pg_pool_ready(struct pg_pool *p, char *why, size_t cap);
/* Statements run and seconds spent in them since open. */
void pg_pool_stats(struct pg_pool *p, struct store_stats *ret);

#endif
