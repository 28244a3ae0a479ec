/* store_pg.c: the PostgreSQL store_ops (store.type: postgresql), the
 * shared state of several gateway instances.
 *
 * Every op takes a connection from the pool (store_pg_pool.c), so ops run
 * concurrently from any thread; each returns -SGW_EUNAVAIL at once while the
 * database is unreachable, and never reports a write it has not seen
 * committed (a COMMIT with synchronous_commit on is durable when it
 * returns: no group commit, await_durable is NULL).  This file opens the
 * store (the pool connects and migrates on its own thread:
 * store_pg_pool.c, store_pg_schema.c) and holds the vtable; the request
 * path's rows are in store_pg_txn.c, the admin queries in store_pg_adm.c,
 * the local CA's shared state and the cluster's leases in
 * store_pg_shared.c, the owed notifications in store_pg_owed.c. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "secret_file.h"
#include "store.h"
#include "store_pg_adm.h"
#include "store_pg_dial.h"
#include "store_pg_owed.h"
#include "store_pg_pool.h"
#include "store_pg_schema.h"
#include "store_pg_shared.h"
#include "store_pg_sql.h"
#include "store_pg_txn.h"

#define PG_POOL_DEFAULT 4
#define PG_PASSWORD_MAX 1024

struct pg_store {
	struct pg_pool *pool;
	struct pg_sweep sweep;
};

#define PG_CAP(type, field) sizeof(((type *)0)->field)
#define PG_POOL(priv) (((struct pg_store *)(priv))->pool)

/* ---- open / close -------------------------------------------------------- */

/* Validate the conninfo without ever printing it (it may hold a password)
 * and name the server for the log: host, port and database only. */
static int
pg_conninfo_check(const char *conninfo, char *where, size_t cap, struct sgw_err *err)
{
	const char *host = "", *port = "", *db = "";
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);

	if (opts == NULL)
		return sgw_err_set(err, SGW_EINVAL,
				   "store.conninfo: not a libpq connection string or URI");
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL)
			continue;
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			db = o->val;
		else if (strcmp(o->keyword, "password") == 0 && o->val[0] != '\0')
			log_warn("store.conninfo holds a password: prefer store.password_file");
	}
	snprintf(where, cap, "host '%.64s' port '%.8s' database '%.64s'", host, port, db);
	PQconninfoFree(opts);
	return 0;
}

static void
pg_close(void *priv)
{
	struct pg_store *s = priv;

	if (s == NULL)
		return;
	pg_pool_close(s->pool);
	pthread_mutex_destroy(&s->sweep.mu);
	free(s);
}

/* The conninfo checked (where: the server for the log) and the password
 * read from its file (*ret_pw NULL without one: secret_file_free it). */
static int
pg_cfg_read(const struct cfg_store *cfg, char *where, size_t cap, uint8_t **ret_pw, size_t *ret_len,
	    struct sgw_err *err)
{
	int r;

	*ret_pw = NULL;
	*ret_len = 0;
	if (cfg->conninfo == NULL || cfg->conninfo[0] == '\0')
		return sgw_err_set(err, SGW_EINVAL, "store.conninfo: missing");
	if ((r = pg_conninfo_check(cfg->conninfo, where, cap, err)) < 0)
		return r;
	if (cfg->password_file != NULL)
		return secret_file_read_as("PostgreSQL password file", cfg->password_file,
					   PG_PASSWORD_MAX, SECRET_FILE_TRIM, ret_pw, ret_len, err);
	return 0;
}

/* The pool starts connecting (and migrating) on its own thread: the
 * database need not be up for the gateway to start. */
static int
pg_open(void **ret_priv, const struct cfg_store *cfg, struct sgw_err *err)
{
	struct pg_pool_cfg pc = {.sql = pg_sql, .n_sql = PG_STMT_MAX, .setup = pg_schema_migrate};
	uint8_t *pw = NULL;
	size_t pw_len = 0;
	struct pg_store *s;
	char where[192];
	int r;

	if ((r = pg_cfg_read(cfg, where, sizeof(where), &pw, &pw_len, err)) < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		secret_file_free(pw, pw_len);
		return sgw_err_set(err, SGW_ENOMEM, "store: out of memory");
	}
	pthread_mutex_init(&s->sweep.mu, NULL);
	pc.conninfo = cfg->conninfo;
	pc.password = (const char *)pw;
	pc.size = cfg->pool > 0 ? cfg->pool : PG_POOL_DEFAULT;
	log_info("store: postgresql: %d connection(s) to %s", pc.size, where);
	r = pg_pool_open(&pc, &s->pool, err);
	secret_file_free(pw, pw_len);
	if (r < 0) {
		pg_close(s);
		return r;
	}
	*ret_priv = s;
	return 0;
}

/* scepgw -n: one connection, no migration, nothing prepared. */
static int
pg_check(const struct cfg_store *cfg, struct sgw_err *err)
{
	uint8_t *pw = NULL;
	size_t pw_len = 0;
	PGconn *pc = NULL;
	struct sgw_err e = {{0}};
	char where[192];
	int r;

	if ((r = pg_cfg_read(cfg, where, sizeof(where), &pw, &pw_len, err)) < 0)
		return r;
	r = pg_dial(cfg->conninfo, (const char *)pw, &pc, &e);
	secret_file_free(pw, pw_len);
	PQfinish(pc);
	if (r < 0)
		return sgw_err_set(err, -r, "store: postgresql at %s: %s", where, e.msg);
	return 0;
}

/* ---- request-path rows (store_pg_txn.c) ---------------------------------- */

static int
pg_txn_insert(void *priv, struct store_txn *t)
{
	return pgt_txn_insert(PG_POOL(priv), t);
}

static int
pg_txn_find(void *priv, const char *profile, const char *transaction_id,
	    const uint8_t key_sha256[32], struct store_txn *ret)
{
	return pgt_txn_find(PG_POOL(priv), profile, transaction_id, key_sha256, ret);
}

static int
pg_txn_get(void *priv, int64_t id, struct store_txn *ret)
{
	return pgt_txn_get(PG_POOL(priv), id, ret);
}

static int
pg_txn_update(void *priv, const struct store_txn *t)
{
	return pgt_txn_update(PG_POOL(priv), t);
}

static int
pg_txn_accept(void *priv, struct store_txn *t, const struct store_accept *a)
{
	return pgt_txn_accept(PG_POOL(priv), t, a);
}

static int
pg_txn_issue(void *priv, struct store_txn *t, const struct store_cert *c)
{
	return pgt_txn_issue(PG_POOL(priv), t, c);
}

static int
pg_cert_get(void *priv, const char *issuer, const char *serial, struct store_cert *ret)
{
	return pgt_cert_get(PG_POOL(priv), issuer, serial, ret);
}

static int
pg_cert_revoke(void *priv, const char *issuer, const char *serial, int reason, int64_t when)
{
	return pgt_cert_revoke(PG_POOL(priv), issuer, serial, reason, when);
}

static int
pg_cert_find_serial(void *priv, const char *serial, struct store_cert *ret)
{
	return pgt_cert_find_serial(PG_POOL(priv), serial, ret);
}

static int
pg_cert_superseded(void *priv, const char *issuer, const char *serial, const char *profile,
		   const uint8_t key_sha256[32], int *ret_superseded)
{
	return pgt_cert_superseded(PG_POOL(priv), issuer, serial, profile, key_sha256,
				   ret_superseded);
}

static int
pg_cert_supersede(void *priv, const char *issuer, const char *serial, const char *by)
{
	return pgt_cert_supersede(PG_POOL(priv), issuer, serial, by);
}

static int
pg_nonce_check(void *priv, const uint8_t *nonce, size_t len, int64_t now, int ttl)
{
	return pgt_nonce_check(PG_POOL(priv), &((struct pg_store *)priv)->sweep, nonce, len, now,
			       ttl);
}

static int
pg_nonce_find(void *priv, const uint8_t *nonce, size_t len, int64_t now, int ttl,
	      const char *profile, const char *transaction_id, const uint8_t key_sha256[32],
	      struct store_txn *ret, int *ret_found)
{
	return pgt_nonce_find(PG_POOL(priv), &((struct pg_store *)priv)->sweep, nonce, len, now,
			      ttl, profile, transaction_id, key_sha256, ret, ret_found);
}

static int
pg_cert_count(void *priv, int64_t *ret)
{
	return pga_count(PG_POOL(priv), PG_CERT_COUNT, NULL, ret);
}

/* ---- the rest ------------------------------------------------------------ */

/* No clear CSR was ever stored in a PostgreSQL store: nothing is due. */
static int
pg_txn_legacy_csr(void *priv, store_legacy_fn fn, void *arg, struct sgw_err *err)
{
	(void)priv;
	(void)fn;
	(void)arg;
	(void)err;
	return 0;
}

static int
pg_stats(void *priv, struct store_stats *ret)
{
	pg_pool_stats(PG_POOL(priv), ret);
	return 0;
}

static int
pg_ready(void *priv, char *why, size_t cap)
{
	return pg_pool_ready(PG_POOL(priv), why, cap);
}

static int
pg_txn_list(void *priv, const struct store_txn_filter *f, store_txn_each each, void *arg)
{
	return pga_txn_list(PG_POOL(priv), f, each, arg);
}

static int
pg_txn_count(void *priv, int state, int64_t *ret)
{
	struct pg_params p = {0};

	pg_param_i64(&p, state);
	return pga_count(PG_POOL(priv), PG_TXN_COUNT, &p, ret);
}

static int
pg_txn_decide(void *priv, const struct store_txn *t, const char *admin)
{
	return pga_txn_decide(PG_POOL(priv), t, admin);
}

static int
pg_txn_decider(void *priv, int64_t id, char *ret_admin, size_t cap)
{
	return pga_txn_decider(PG_POOL(priv), id, ret_admin, cap);
}

static int
pg_otp_put(void *priv, const struct store_otp *o)
{
	return pga_otp_put(PG_POOL(priv), o);
}

static int
pg_otp_consume(void *priv, const char *profile, const uint8_t sha256[32], int64_t now,
	       char *ret_subject, size_t cap)
{
	return pga_otp(PG_POOL(priv), PG_OTP_CONSUME, profile, sha256, now, ret_subject, cap);
}

static int
pg_otp_peek(void *priv, const char *profile, const uint8_t sha256[32], int64_t now,
	    char *ret_subject, size_t cap)
{
	return pga_otp(PG_POOL(priv), PG_OTP_PEEK, profile, sha256, now, ret_subject, cap);
}

static int
pg_otp_count(void *priv, const char *profile, int64_t now, int64_t *ret)
{
	struct pg_params p = {0};

	pg_param_str(&p, profile, PG_CAP(struct store_otp, profile));
	pg_param_i64(&p, now);
	return pga_count(PG_POOL(priv), PG_OTP_COUNT, &p, ret);
}

static int
pg_cert_search(void *priv, const struct store_cert_filter *f, store_cert_each each, void *arg,
	       int64_t *next)
{
	return pga_cert_search(PG_POOL(priv), f, each, arg, next);
}

static int
pg_ca_revoke(void *priv, const char *ca, const struct store_revoked *r)
{
	return pgs_ca_revoke(PG_POOL(priv), ca, r);
}

static int
pg_ca_revoked_list(void *priv, const char *ca, store_revoked_each each, void *arg)
{
	return pgs_ca_revoked_list(PG_POOL(priv), ca, each, arg);
}

static int
pg_ca_crl_get(void *priv, const char *ca, struct store_crl *ret)
{
	return pgs_ca_crl_get(PG_POOL(priv), ca, ret);
}

static int
pg_ca_crl_put(void *priv, const char *ca, const struct store_crl *c)
{
	return pgs_ca_crl_put(PG_POOL(priv), ca, c);
}

static int
pg_lease_take(void *priv, const char *job, const char *holder, int64_t now, int ttl, int *ret_held)
{
	return pgs_lease_take(PG_POOL(priv), job, holder, now, ttl, ret_held);
}

static int
pg_ca_crl_seed(void *priv, const char *ca, const struct store_crl *c)
{
	return pgs_ca_crl_seed(PG_POOL(priv), ca, c);
}

static int
pg_lease_get(void *priv, const char *job, char *ret_holder, size_t cap, int64_t *ret_expires)
{
	return pgs_lease_get(PG_POOL(priv), job, ret_holder, cap, ret_expires);
}

static int
pg_ca_crl_number(void *priv, const char *ca, int64_t *ret)
{
	return pgs_ca_crl_number(PG_POOL(priv), ca, ret);
}

static int
pg_owed_put(void *priv, const struct store_owed *o)
{
	return pgo_put(PG_POOL(priv), o);
}

static int
pg_owed_del(void *priv, int64_t txn_id)
{
	return pgo_del(PG_POOL(priv), txn_id);
}

static int
pg_owed_due(void *priv, const char *me, int64_t now, int64_t stale, size_t max,
	    store_owed_each each, void *arg)
{
	return pgo_due(PG_POOL(priv), me, now, stale, max, each, arg);
}

const struct store_ops store_pg_ops = {
    .name = "postgresql",
    .blocking = 1,
    .open = pg_open,
    .close = pg_close,
    .txn_insert = pg_txn_insert,
    .txn_find = pg_txn_find,
    .txn_get = pg_txn_get,
    .txn_update = pg_txn_update,
    .txn_accept = pg_txn_accept,
    .txn_issue = pg_txn_issue,
    .cert_get = pg_cert_get,
    .cert_count = pg_cert_count,
    .cert_revoke = pg_cert_revoke,
    .cert_find_serial = pg_cert_find_serial,
    .cert_superseded = pg_cert_superseded,
    .cert_supersede = pg_cert_supersede,
    .nonce_check = pg_nonce_check,
    .txn_list = pg_txn_list,
    .txn_count = pg_txn_count,
    .txn_decide = pg_txn_decide,
    .txn_decider = pg_txn_decider,
    .otp_put = pg_otp_put,
    .otp_consume = pg_otp_consume,
    .otp_peek = pg_otp_peek,
    .txn_legacy_csr = pg_txn_legacy_csr,
    .otp_count = pg_otp_count,
    .cert_search = pg_cert_search,
    .stats = pg_stats,
    .ca_revoke = pg_ca_revoke,
    .ca_revoked_list = pg_ca_revoked_list,
    .ca_crl_get = pg_ca_crl_get,
    .ca_crl_put = pg_ca_crl_put,
    .lease_take = pg_lease_take,
    .ca_crl_seed = pg_ca_crl_seed,
    .lease_get = pg_lease_get,
    .ca_crl_number = pg_ca_crl_number,
    .ready = pg_ready,
    .owed_put = pg_owed_put,
    .owed_del = pg_owed_del,
    .owed_due = pg_owed_due,
    .check = pg_check,
    .nonce_find = pg_nonce_find,
};
