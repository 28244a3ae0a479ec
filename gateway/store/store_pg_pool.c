/* store_pg_pool.c: the PostgreSQL store's connection pool (store_pg_pool.h).
 *
 * One mutex guards the slots; a caller takes a live, free connection (or
 * waits on `freed` a bounded time while all are busy) and gets -SGW_EUNAVAIL
 * at once when none is live.  A connection that breaks during a statement
 * is dropped when it is given back, with every idle one (a lost connection
 * usually means the server went away: a restart or a failover), and the
 * reconnect thread (scepgw-pg) connects them again, 100 ms after the
 * failure, then doubling up to 5 s between attempts.  Each connection sets
 * a statement timeout and TCP keepalives, so a stuck or vanished server
 * holds a caller seconds, not forever. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store_pg_dial.h"
#include "store_pg_pool.h"

#define PG_POOL_MAX 64
#define PG_BACKOFF_MIN_MS 100
#define PG_BACKOFF_MAX_MS 5000
#define PG_ACQUIRE_WAIT_MS 5000 /* all connections busy: how long a caller waits */
#define PG_OPEN_WAIT_MS 10000	/* pg_pool_open: for the first pass, at most */

struct pg_conn {
	struct pg_pool *pool;
	PGconn *pc;
	int live;     /* connected, statements prepared */
	int busy;     /* taken by a caller */
	int broken;   /* the caller saw the connection fail */
	int was_live; /* connected before: a reconnect is logged */
};

struct pg_pool {
	pthread_mutex_t mu;
	pthread_cond_t freed; /* a connection was given back or is live, or the first pass ended */
	pthread_cond_t wake;  /* the reconnect thread has work (or must stop) */
	pthread_t thread;
	int thread_started;
	int stop;
	int starting;	   /* the reconnect thread's first pass (pg_pool_open waits) */
	int migrated;	   /* a connection ran the migrations: the schema is current */
	unsigned failures; /* attempts failed since the last success */
	char why[512];	   /* the last attempt's failure, as logged ("" after a success) */
	int (*setup)(PGconn *c, struct sgw_err *err);
	PGcancel *setting_up; /* the connection the thread sets up (migrations) */
	char *conninfo;
	char *password;
	const char *const *sql;
	int n_sql;
	int n;
	struct pg_conn conns[PG_POOL_MAX];
	uint64_t statements; /* __atomic */
	uint64_t nanoseconds;
};

/* ---- connecting ---------------------------------------------------------- */

/* A connection ready for callers: the schema migrated (the first one to
 * connect, under the migration lock), the session set, every statement
 * prepared.  *ret_code: what pg_dial or the setup said. */
static PGconn *
pg_connect(struct pg_pool *p, int migrate, int *ret_code, struct sgw_err *err)
{
	PGconn *pc = NULL;
	int stopping, r;

	if ((r = pg_dial(p->conninfo, p->password, &pc, err)) < 0)
		goto out;
	pthread_mutex_lock(&p->mu); /* pg_pool_close may cancel what follows */
	stopping = p->stop;
	p->setting_up = stopping ? NULL : PQgetCancel(pc);
	pthread_mutex_unlock(&p->mu);
	/* the migrations before the timeouts: one may wait for another
	 * instance's, or rebuild an index, longer than a request may */
	if (stopping)
		r = sgw_err_set(err, SGW_EUNAVAIL, "the store is closing");
	else if (migrate && p->setup != NULL)
		r = p->setup(pc, err);
	if (r == 0)
		r = pg_session(pc, p->sql, p->n_sql, err);
	pthread_mutex_lock(&p->mu);
	PQfreeCancel(p->setting_up);
	p->setting_up = NULL;
	pthread_mutex_unlock(&p->mu);
out:
	if (r == 0)
		return pc;
	PQfinish(pc);
	*ret_code = r;
	return NULL;
}

static void
pg_deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static int
pg_dead_slot(struct pg_pool *p)
{
	for (int i = 0; i < p->n; i++)
		if (!p->conns[i].live && !p->conns[i].busy)
			return i;
	return -1;
}

/* Under p->mu: a failed attempt.  Its reason is logged when it differs
 * from the last one logged (an outage is one line, not one per attempt),
 * at error level when retrying cannot help until someone acts. */
static void
pg_attempt_failed(struct pg_pool *p, int code, const struct sgw_err *err, int next_ms)
{
	p->failures++;
	if (strcmp(p->why, err->msg) == 0) {
		log_debug("store: postgresql: %s (attempt %u, next in %d ms)", err->msg,
			  p->failures, next_ms);
		return;
	}
	memcpy(p->why, err->msg, sizeof(p->why));
	if (code == -SGW_EUNAVAIL)
		log_warn("store: postgresql: %s; PKIOperation answers 503 until it connects "
			 "(retrying every %d s at most)",
			 err->msg, PG_BACKOFF_MAX_MS / 1000);
	else
		log_err("store: postgresql: %s; %s (retrying every %d s at most)", err->msg,
			code == -SGW_EDENIED ? "check store.conninfo, store.password_file and the "
					       "server's pg_hba.conf"
					     : "the store stays unavailable",
			PG_BACKOFF_MAX_MS / 1000);
}

/* Under p->mu: connection i is live. */
static void
pg_attempt_done(struct pg_pool *p, int i, PGconn *pc)
{
	p->conns[i].pc = pc;
	p->conns[i].live = 1;
	p->conns[i].broken = 0;
	if (!p->migrated)
		log_info("store: postgresql: connected, schema up to date: the store is ready");
	else if (p->failures > 0)
		log_info("store: postgresql: the database answers again (after %u failed "
			 "attempt(s))",
			 p->failures);
	if (p->conns[i].was_live)
		log_info("store: postgresql: connection %d re-established", i);
	p->conns[i].was_live = 1;
	p->migrated = 1;
	p->failures = 0;
	p->why[0] = '\0';
	pthread_cond_broadcast(&p->freed);
}

/* The scepgw-pg thread: connects every dead connection, one after the
 * other, the first (in the life of the pool) after running the
 * migrations; waits only after a failure (backoff) or when a connection
 * was just dropped.  The first pass (pg_pool_open waits for it) ends when
 * every connection is live or an attempt failed. */
static void *
pg_reconnect_main(void *arg)
{
	struct pg_pool *p = arg;
	int backoff = PG_BACKOFF_MIN_MS, wait_ms = 0, i;
	struct timespec ts;

	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		struct sgw_err err = {{0}};
		PGconn *pc;
		int code = 0;

		if ((i = pg_dead_slot(p)) < 0) {
			p->starting = 0;
			pthread_cond_broadcast(&p->freed);
			pthread_cond_wait(&p->wake, &p->mu);
			/* a connection was dropped: the server that just went
			 * away is seldom back within the same millisecond */
			wait_ms = PG_BACKOFF_MIN_MS;
			continue;
		}
		pg_deadline(&ts, wait_ms);
		while (wait_ms > 0 && !p->stop &&
		       pthread_cond_timedwait(&p->wake, &p->mu, &ts) != ETIMEDOUT)
			;
		if (p->stop)
			break;
		p->conns[i].busy = 1; /* ours while we connect */
		pthread_mutex_unlock(&p->mu);
		pc = pg_connect(p, !p->migrated, &code, &err);
		pthread_mutex_lock(&p->mu);
		p->conns[i].busy = 0;
		if (p->stop) { /* closing: a cancelled migration is no failure */
			PQfinish(pc);
			break;
		}
		if (pc != NULL) {
			pg_attempt_done(p, i, pc);
			backoff = PG_BACKOFF_MIN_MS;
			wait_ms = 0;
		} else {
			pg_attempt_failed(p, code, &err, backoff);
			p->starting = 0;
			pthread_cond_broadcast(&p->freed);
			wait_ms = backoff;
			backoff = backoff * 2 > PG_BACKOFF_MAX_MS ? PG_BACKOFF_MAX_MS : backoff * 2;
		}
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* ---- open / close -------------------------------------------------------- */

void
pg_pool_close(struct pg_pool *p)
{
	if (p == NULL)
		return;
	if (p->thread_started) {
		char buf[64];

		pthread_mutex_lock(&p->mu);
		p->stop = 1;
		/* a migration waiting for another instance's lock ends now */
		if (p->setting_up != NULL)
			(void)PQcancel(p->setting_up, buf, sizeof(buf));
		pthread_cond_broadcast(&p->wake);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
	}
	for (int i = 0; i < p->n; i++)
		PQfinish(p->conns[i].pc);
	pthread_cond_destroy(&p->freed);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->mu);
	free(p->conninfo);
	if (p->password != NULL) {
		explicit_bzero(p->password, strlen(p->password));
		free(p->password);
	}
	free(p);
}

/* Wait (bounded) for the reconnect thread's first pass. */
static void
pg_wait_first_pass(struct pg_pool *p)
{
	struct timespec ts;

	pg_deadline(&ts, PG_OPEN_WAIT_MS);
	pthread_mutex_lock(&p->mu);
	while (p->starting && pthread_cond_timedwait(&p->freed, &p->mu, &ts) != ETIMEDOUT)
		;
	if (p->starting)
		log_warn("store: postgresql: no answer from the database within %d s; going on "
			 "without it, connecting in the background",
			 PG_OPEN_WAIT_MS / 1000);
	pthread_mutex_unlock(&p->mu);
}

int
pg_pool_open(const struct pg_pool_cfg *cfg, struct pg_pool **ret, struct sgw_err *err)
{
	struct pg_pool *p;
	int r = 0;

	if (cfg->size < 1 || cfg->size > PG_POOL_MAX)
		return sgw_err_set(err, SGW_EINVAL, "store.pool: %d is not in 1..%d", cfg->size,
				   PG_POOL_MAX);
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "store: out of memory");
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->freed, NULL);
	pthread_cond_init(&p->wake, NULL);
	p->conninfo = strdup(cfg->conninfo);
	p->password = cfg->password != NULL ? strdup(cfg->password) : NULL;
	p->sql = cfg->sql;
	p->n_sql = cfg->n_sql;
	p->setup = cfg->setup;
	p->n = cfg->size;
	p->starting = 1;
	for (int i = 0; i < PG_POOL_MAX; i++)
		p->conns[i].pool = p;
	if (p->conninfo == NULL || (cfg->password != NULL && p->password == NULL)) {
		r = sgw_err_set(err, SGW_ENOMEM, "store: out of memory");
		goto fail;
	}
	if (pthread_create(&p->thread, NULL, pg_reconnect_main, p) != 0) {
		r = sgw_err_set(err, SGW_EIO, "store: postgresql: cannot start a thread");
		goto fail;
	}
	(void)pthread_setname_np(p->thread, "scepgw-pg");
	p->thread_started = 1;
	pg_wait_first_pass(p);
	*ret = p;
	return 0;
fail:
	pg_pool_close(p);
	return r;
}

/* ---- taking and giving back ---------------------------------------------- */

int
pg_acquire(struct pg_pool *p, struct pg_conn **ret)
{
	struct timespec ts;
	int any_live, i;

	pg_deadline(&ts, PG_ACQUIRE_WAIT_MS);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		any_live = 0;
		for (i = 0; i < p->n; i++) {
			if (!p->conns[i].live)
				continue;
			any_live = 1;
			if (!p->conns[i].busy) {
				p->conns[i].busy = 1;
				pthread_mutex_unlock(&p->mu);
				*ret = &p->conns[i];
				return 0;
			}
		}
		if (!any_live || p->stop ||
		    pthread_cond_timedwait(&p->freed, &p->mu, &ts) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&p->mu);
	return -SGW_EUNAVAIL;
}

/* Under p->mu: drop c (and the idle ones with it) for the reconnect thread. */
static void
pg_drop_locked(struct pg_pool *p, struct pg_conn *c)
{
	int dropped = 0;

	for (int i = 0; i < p->n; i++) {
		struct pg_conn *o = &p->conns[i];

		if (o != c && (o->busy || !o->live))
			continue;
		PQfinish(o->pc);
		o->pc = NULL;
		o->live = 0;
		o->broken = 0;
		dropped++;
	}
	log_warn("store: postgresql: connection lost; %d connection(s) dropped, reconnecting",
		 dropped);
	pthread_cond_signal(&p->wake);
}

void
pg_release(struct pg_pool *p, struct pg_conn *c)
{
	if (c == NULL)
		return;
	if (!c->broken && PQtransactionStatus(c->pc) != PQTRANS_IDLE)
		pg_rollback(c); /* a caller's path that forgot it: never leak a transaction */
	pthread_mutex_lock(&p->mu);
	if (c->broken)
		pg_drop_locked(p, c);
	c->busy = 0;
	pthread_cond_broadcast(&p->freed);
	pthread_mutex_unlock(&p->mu);
}

/* ---- running statements -------------------------------------------------- */

static int
pg_sqlstate_is(const char *state, const char *prefix)
{
	return state != NULL && strncmp(state, prefix, strlen(prefix)) == 0;
}

/* Map a failed result on c to an SGW code (res is cleared). */
static int
pg_fail(struct pg_conn *c, PGresult *res, const char *what)
{
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	char msg[256];
	int r;

	pg_msg(c->pc, msg, sizeof(msg));
	if (PQstatus(c->pc) == CONNECTION_BAD || res == NULL || pg_sqlstate_is(state, "08") ||
	    pg_sqlstate_is(state, "57P")) {
		c->broken = 1; /* 08: connection exception; 57P: the server is going away */
		log_warn("store: postgresql: %s: connection lost: %s", what, msg);
		r = -SGW_EUNAVAIL;
	} else if (pg_sqlstate_is(state, "25006")) {
		/* read_only_sql_transaction: a standby (the conninfo let libpq land on
		 * one after a failover): dropped, so that the reconnect looks again */
		c->broken = 1;
		log_warn("store: postgresql: %s: the server is read-only (a standby): %s", what,
			 msg);
		r = -SGW_EUNAVAIL;
	} else if (pg_sqlstate_is(state, "23505")) {
		r = -SGW_EEXIST; /* unique_violation: an answer, not logged */
	} else if (pg_sqlstate_is(state, "57014") || pg_sqlstate_is(state, "40") ||
		   pg_sqlstate_is(state, "55P03")) {
		/* statement timeout, serialization failure or deadlock, lock timeout */
		log_warn("store: postgresql: %s: %s", what, msg);
		r = -SGW_EUNAVAIL;
	} else {
		log_err("store: postgresql: %s: %s", what, msg);
		r = -SGW_EIO;
	}
	PQclear(res);
	return r;
}

static void
pg_count(struct pg_conn *c, const struct timespec *t0)
{
	struct timespec t1;
	int64_t ns;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = (int64_t)(t1.tv_sec - t0->tv_sec) * 1000000000 + (t1.tv_nsec - t0->tv_nsec);
	__atomic_add_fetch(&c->pool->statements, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->pool->nanoseconds, (uint64_t)(ns > 0 ? ns : 0), __ATOMIC_RELAXED);
}

int
pg_exec(struct pg_conn *c, int id, const struct pg_params *p, PGresult **ret)
{
	static const struct pg_params none = {0};
	struct timespec t0;
	char name[16];
	PGresult *res;
	ExecStatusType st;

	if (p == NULL)
		p = &none;
	snprintf(name, sizeof(name), "s%d", id);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	res = PQexecPrepared(c->pc, name, p->n, p->val, p->len, p->fmt, 1);
	pg_count(c, &t0);
	st = PQresultStatus(res);
	if (res == NULL || (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK))
		return pg_fail(c, res, name);
	if (ret != NULL)
		*ret = res;
	else
		PQclear(res);
	return 0;
}

/* Pipeline mode: n statements sent at once, one Sync, one round trip; they
 * run in one implicit transaction (a failure aborts the rest).  The
 * results are read to the Sync whatever happens, so the connection is
 * clean (or marked broken) after. */
int
pg_exec_pipeline(struct pg_conn *c, int n, const int *ids, const struct pg_params *const *ps,
		 PGresult **ret)
{
	struct timespec t0;
	char name[16];
	int r = 0, i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++)
		ret[i] = NULL;
	if (PQenterPipelineMode(c->pc) != 1)
		return pg_fail(c, NULL, "pipeline");
	for (i = 0; i < n && r == 0; i++) {
		snprintf(name, sizeof(name), "s%d", ids[i]);
		if (PQsendQueryPrepared(c->pc, name, ps[i]->n, ps[i]->val, ps[i]->len, ps[i]->fmt,
					1) != 1)
			r = -SGW_EUNAVAIL;
	}
	if (r == 0 && PQpipelineSync(c->pc) != 1)
		r = -SGW_EUNAVAIL;
	for (i = 0; i < n && r == 0; i++) {
		PGresult *res = PQgetResult(c->pc);
		ExecStatusType st = PQresultStatus(res);

		if (res == NULL || (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)) {
			r = pg_fail(c, res, "pipeline");
			break;
		}
		ret[i] = res;
		PQclear(PQgetResult(c->pc)); /* NULL: the end of this query's results */
	}
	/* to the Sync (the rest of an aborted pipeline answers ABORTED) */
	for (PGresult *res; !c->broken && (res = PQgetResult(c->pc)) != NULL;) {
		ExecStatusType st = PQresultStatus(res);

		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			break;
		}
		if (st == PGRES_FATAL_ERROR && r == 0)
			r = pg_fail(c, res, "pipeline"); /* the implicit COMMIT failed */
		else
			PQclear(res);
	}
	if (r < 0 && !c->broken && PQstatus(c->pc) == CONNECTION_BAD)
		c->broken = 1;
	if (!c->broken && PQexitPipelineMode(c->pc) != 1)
		c->broken = 1;
	if (r == 0 && c->broken)
		r = -SGW_EUNAVAIL;
	pg_count(c, &t0);
	if (r < 0)
		for (i = 0; i < n; i++) {
			PQclear(ret[i]);
			ret[i] = NULL;
		}
	return r;
}

int64_t
pg_changes(PGresult *res)
{
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		return PQntuples(res);
	return strtoll(PQcmdTuples(res), NULL, 10);
}

/* A simple query (BEGIN, COMMIT, ROLLBACK) with the statement's checks. */
static int
pg_simple(struct pg_conn *c, const char *sql, PGresult **ret)
{
	struct timespec t0;
	PGresult *res;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	res = PQexec(c->pc, sql);
	pg_count(c, &t0);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
		return pg_fail(c, res, sql);
	*ret = res;
	return 0;
}

int
pg_begin(struct pg_conn *c)
{
	PGresult *res = NULL;
	int r = pg_simple(c, "BEGIN", &res);

	PQclear(res);
	return r;
}

/* COMMIT of a transaction that failed answers ROLLBACK: never a success. */
int
pg_commit(struct pg_conn *c)
{
	PGresult *res = NULL;
	int r = pg_simple(c, "COMMIT", &res);

	if (r == 0 && strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		log_err("store: postgresql: COMMIT answered %s", PQcmdStatus(res));
		r = -SGW_EIO;
	}
	PQclear(res);
	return r;
}

void
pg_rollback(struct pg_conn *c)
{
	PGresult *res = NULL;

	if (c->broken || PQtransactionStatus(c->pc) == PQTRANS_IDLE)
		return;
	if (pg_simple(c, "ROLLBACK", &res) < 0)
		c->broken = 1; /* a connection in an unknown state is not reused */
	PQclear(res);
}

int
pg_pool_ready(struct pg_pool *p, char *why, size_t cap)
{
	struct pg_conn *c = NULL;
	const char *hs;
	PGresult *res;
	int any_live = 0, r;

	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < p->n && c == NULL; i++) {
		any_live |= p->conns[i].live;
		if (p->conns[i].live && !p->conns[i].busy) {
			c = &p->conns[i];
			c->busy = 1;
		}
	}
	if (c == NULL && !any_live) {
		snprintf(why, cap, "%s (reconnecting)",
			 p->why[0] != '\0' ? p->why : "no connection to the database");
		pthread_mutex_unlock(&p->mu);
		return -SGW_EUNAVAIL;
	}
	pthread_mutex_unlock(&p->mu);
	if (c == NULL)
		return 0; /* every connection is in use: the database answers */
	res = PQexec(c->pc, "");
	r = PQresultStatus(res) == PGRES_EMPTY_QUERY ? 0 : pg_fail(c, res, "ping");
	if (r == 0)
		PQclear(res);
	else
		snprintf(why, cap, "the database does not answer (reconnecting)");
	/* a hot standby answers, but refuses every write (PostgreSQL >= 14 reports it) */
	if (r == 0 && (hs = PQparameterStatus(c->pc, "in_hot_standby")) != NULL &&
	    strcmp(hs, "on") == 0) {
		c->broken = 1;
		r = -SGW_EUNAVAIL;
		snprintf(why, cap, "the database is a read-only standby (reconnecting)");
	}
	pg_release(p, c);
	return r < 0 ? -SGW_EUNAVAIL : 0;
}

void
pg_pool_stats(struct pg_pool *p, struct store_stats *ret)
{
	ret->statements = __atomic_load_n(&p->statements, __ATOMIC_RELAXED);
	ret->seconds = (double)__atomic_load_n(&p->nanoseconds, __ATOMIC_RELAXED) / 1e9;
}

int
pg_pool_exec(struct pg_pool *p, int id, const struct pg_params *params, PGresult **ret)
{
	struct pg_conn *c;
	int r = pg_acquire(p, &c);

	if (r < 0)
		return r;
	r = pg_exec(c, id, params, ret);
	pg_release(p, c);
	return r;
}
