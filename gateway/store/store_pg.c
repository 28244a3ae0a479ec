/* store_pg.c: the PostgreSQL store_ops (store.type: postgresql), the
 * shared state of several gateway instances.
 *
 * Every op takes a connection from the pool (store_pg_pool.c), so ops run
 * concurrently from any thread; each returns -SGW_EUNAVAIL at once while the
 * database is unreachable, and never reports a write it has not seen
 * committed (a COMMIT with synchronous_commit on is durable when it
 * returns: no group commit, await_durable is NULL).  The schema is
 * migrated at open (store_pg_schema.c); the admin queries are in
 * store_pg_adm.c, the local CA's shared state and the cluster's leases in
 * store_pg_shared.c. */
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
#include "store_pg_row.h"
#include "store_pg_schema.h"
#include "store_pg_shared.h"
#include "store_pg_sql.h"

#define PG_POOL_DEFAULT 4
#define PG_PASSWORD_MAX 1024
#define PG_MAX_NONCE 64
#define PG_SWEEP_CALLS 1000 /* sweep expired nonces every N checks ... */
#define PG_SWEEP_SECONDS 60 /* ... or every N seconds (per instance) */
#define PG_SWEEP_LIMIT 1000

struct pg_store {
	struct pg_pool *pool;
	pthread_mutex_t sweep_mu;
	unsigned nonce_calls;
	int64_t nonce_swept;
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
	pthread_mutex_destroy(&s->sweep_mu);
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
	pthread_mutex_init(&s->sweep_mu, NULL);
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

/* ---- transactions -------------------------------------------------------- */

static int
pg_txn_check(const struct store_txn *t)
{
	if (t->state < 0 || t->state >= TXN_STATE_MAX)
		return -SGW_EINVAL;
	if (t->csr.sealed_len > PG_MAX_BLOB || (t->csr.sealed == NULL && t->csr.sealed_len != 0))
		return -SGW_EINVAL;
	return 0;
}

static void
param_csr(struct pg_params *p, const struct store_csr *c)
{
	pg_param_bytes(p, c->sealed_len > 0 ? c->sealed : NULL, c->sealed_len);
	pg_param_bytes(p, c->hashed ? c->sha256 : NULL, sizeof(c->sha256));
	pg_param_str(p, c->info, sizeof(c->info));
}

/* One row with one BIGINT (RETURNING id): *ret; -SGW_ENOTFOUND without a row. */
static int
pg_returned_id(PGresult *res, int64_t *ret)
{
	int r = PQntuples(res) == 1 ? pg_col_i64(res, 0, 0, ret) : -SGW_ENOTFOUND;

	PQclear(res);
	return r;
}

/* A new row; with a challenge (a != NULL and a->otp_sha256) it is used in
 * the same statement: -SGW_EDENIED when it is not usable. */
static int
txn_insert_on(struct pg_conn *c, struct store_txn *t, const struct store_accept *a)
{
	int otp = a != NULL && a->otp_sha256 != NULL;
	struct pg_params p = {0};
	PGresult *res;
	int64_t id = 0;
	int r;

	pg_param_str(&p, t->profile, sizeof(t->profile));
	pg_param_str(&p, t->transaction_id, sizeof(t->transaction_id));
	pg_param_bytes(&p, t->signer_key_sha256, 32);
	pg_param_i64(&p, t->state);
	pg_param_i64(&p, t->msg_type);
	pg_param_str(&p, t->subject, sizeof(t->subject));
	pg_param_str(&p, t->peer, sizeof(t->peer));
	pg_param_str(&p, t->reason, sizeof(t->reason));
	pg_param_str(&p, t->cert_serial, sizeof(t->cert_serial));
	pg_param_str(&p, t->backend_handle, sizeof(t->backend_handle));
	pg_param_bytes(&p, t->csr.sealed_len > 0 ? t->csr.sealed : NULL, t->csr.sealed_len);
	pg_param_i64(&p, t->created);
	pg_param_i64(&p, t->updated);
	pg_param_bytes(&p, t->csr.hashed ? t->csr.sha256 : NULL, sizeof(t->csr.sha256));
	pg_param_str(&p, t->csr.info, sizeof(t->csr.info));
	pg_param_str(&p, t->instance, sizeof(t->instance));
	if (otp) {
		pg_param_i64(&p, a->now);
		pg_param_str(&p, a->otp_profile, PG_CAP(struct store_otp, profile));
		pg_param_bytes(&p, a->otp_sha256, 32);
	}
	if ((r = pg_exec(c, otp ? PG_TXN_INSERT_OTP : PG_TXN_INSERT, &p, &res)) < 0)
		return r;
	if ((r = pg_returned_id(res, &id)) < 0)
		return r != -SGW_ENOTFOUND ? r : otp ? -SGW_EDENIED : -SGW_EIO;
	t->id = id;
	return 0;
}

static int
pg_txn_insert(void *priv, struct store_txn *t)
{
	struct pg_conn *c;
	int r = pg_txn_check(t);

	if (r < 0 || (r = pg_acquire(PG_POOL(priv), &c)) < 0)
		return r;
	r = txn_insert_on(c, t, NULL);
	pg_release(PG_POOL(priv), c);
	return r;
}

/* One row of PG_TXN_COLS into ret; -SGW_ENOTFOUND without one. */
static int
pg_fetch_txn(struct pg_pool *pool, int id, const struct pg_params *p, struct store_txn *ret)
{
	PGresult *res;
	int r = pg_pool_exec(pool, id, p, &res);

	if (r < 0)
		return r;
	r = PQntuples(res) > 0 ? pg_row_txn(res, 0, ret) : -SGW_ENOTFOUND;
	PQclear(res);
	return r;
}

static int
pg_txn_find(void *priv, const char *profile, const char *transaction_id,
	    const uint8_t key_sha256[32], struct store_txn *ret)
{
	struct pg_params p = {0};

	if (profile == NULL || transaction_id == NULL || key_sha256 == NULL)
		return -SGW_EINVAL;
	pg_param_str(&p, profile, PG_CAP(struct store_txn, profile));
	pg_param_str(&p, transaction_id, PG_CAP(struct store_txn, transaction_id));
	pg_param_bytes(&p, key_sha256, 32);
	return pg_fetch_txn(PG_POOL(priv), PG_TXN_FIND, &p, ret);
}

static int
pg_txn_get(void *priv, int64_t id, struct store_txn *ret)
{
	struct pg_params p = {0};

	pg_param_i64(&p, id);
	return pg_fetch_txn(PG_POOL(priv), PG_TXN_GET, &p, ret);
}

/* The statement's changed rows: 0, or `none` when it changed nothing. */
static int
pg_exec_changed(struct pg_pool *pool, struct pg_conn *c, int id, const struct pg_params *p,
		int none)
{
	PGresult *res;
	int r = c != NULL ? pg_exec(c, id, p, &res) : pg_pool_exec(pool, id, p, &res);

	if (r < 0)
		return r;
	r = pg_changes(res) > 0 ? 0 : none;
	PQclear(res);
	return r;
}

static int
pg_txn_update(void *priv, const struct store_txn *t)
{
	struct pg_params p = {0};

	if (t->state < 0 || t->state >= TXN_STATE_MAX)
		return -SGW_EINVAL;
	pg_param_i64(&p, t->state);
	pg_param_str(&p, t->reason, sizeof(t->reason));
	pg_param_str(&p, t->backend_handle, sizeof(t->backend_handle));
	pg_param_str(&p, t->cert_serial, sizeof(t->cert_serial));
	pg_param_i64(&p, t->updated);
	pg_param_str(&p, t->instance, sizeof(t->instance));
	pg_param_i64(&p, t->id);
	return pg_exec_changed(PG_POOL(priv), NULL, PG_TXN_UPDATE, &p, -SGW_ENOTFOUND);
}

/* A new request on a known row, only if the row is as it was read. */
static int
txn_renew_on(struct pg_conn *c, const struct store_txn *t, int64_t seen_updated)
{
	struct pg_params p = {0};

	pg_param_i64(&p, t->state);
	pg_param_i64(&p, t->msg_type);
	pg_param_str(&p, t->subject, sizeof(t->subject));
	pg_param_str(&p, t->peer, sizeof(t->peer));
	param_csr(&p, &t->csr);
	pg_param_i64(&p, t->created);
	pg_param_i64(&p, t->updated);
	pg_param_str(&p, t->instance, sizeof(t->instance));
	pg_param_i64(&p, t->id);
	pg_param_i64(&p, seen_updated);
	return pg_exec_changed(NULL, c, PG_TXN_RENEW, &p, -SGW_EEXIST);
}

/* The one-time challenge used (when given) and the request recorded, in one
 * transaction: a new row is one statement (PG_TXN_INSERT_OTP); a known row
 * given to a new request with a challenge is BEGIN, the challenge, the row,
 * COMMIT.  A second instance using the same challenge waits on its row,
 * then finds it used. */
static int
pg_txn_accept(void *priv, struct store_txn *t, const struct store_accept *a)
{
	int renew_otp = t->id != 0 && a->otp_sha256 != NULL;
	struct pg_conn *c;
	char bound[256];
	int r = pg_txn_check(t);

	if (r < 0 || (r = pg_acquire(PG_POOL(priv), &c)) < 0)
		return r;
	if (renew_otp && (r = pg_begin(c)) == 0) {
		r = pga_otp_subject(c, PG_OTP_CONSUME, a->otp_profile, a->otp_sha256, a->now, bound,
				    sizeof(bound));
		if (r == -SGW_ENOTFOUND)
			r = -SGW_EDENIED; /* used meanwhile (or expired) */
	}
	if (r == 0)
		r = t->id != 0 ? txn_renew_on(c, t, a->seen_updated) : txn_insert_on(c, t, a);
	if (r == 0 && renew_otp)
		r = pg_commit(c);
	if (r < 0)
		pg_rollback(c);
	pg_release(PG_POOL(priv), c);
	return r;
}

/* ---- certificates -------------------------------------------------------- */

/* One statement: the transaction ISSUED and the certificate linked to t->id
 * (c->txn_id is not consulted); a taken (issuer, serial) changes nothing. */
static int
pg_txn_issue(void *priv, struct store_txn *t, const struct store_cert *c)
{
	struct pg_params p = {0};
	PGresult *res;
	int64_t id = 0;
	int r;

	if (c->der == NULL || c->der_len == 0 || c->der_len > PG_MAX_BLOB || c->serial[0] == '\0')
		return -SGW_EINVAL;
	pg_param_str(&p, t->reason, sizeof(t->reason));
	pg_param_str(&p, t->backend_handle, sizeof(t->backend_handle));
	pg_param_str(&p, c->serial, sizeof(t->cert_serial));
	pg_param_i64(&p, t->updated);
	pg_param_str(&p, t->instance, sizeof(t->instance));
	pg_param_i64(&p, t->id);
	pg_param_str(&p, c->issuer, sizeof(c->issuer));
	pg_param_str(&p, c->subject, sizeof(c->subject));
	pg_param_i64(&p, c->not_before);
	pg_param_i64(&p, c->not_after);
	pg_param_bytes(&p, c->der, c->der_len);
	pg_param_i64(&p, c->revoked ? 1 : 0);
	pg_param_i64(&p, c->revoked_at);
	pg_param_i64(&p, c->revoke_reason);
	pg_param_str(&p, c->superseded_by, sizeof(c->superseded_by));
	if ((r = pg_pool_exec(PG_POOL(priv), PG_TXN_ISSUE, &p, &res)) < 0 ||
	    (r = pg_returned_id(res, &id)) < 0)
		return r;
	t->state = TXN_ISSUED;
	snprintf(t->cert_serial, sizeof(t->cert_serial), "%.*s", (int)sizeof(t->cert_serial) - 1,
		 c->serial);
	return 0;
}

static int
pg_cert_get(void *priv, const char *issuer, const char *serial, struct store_cert *ret)
{
	struct pg_params p = {0};
	PGresult *res;
	int r;

	if (issuer == NULL || serial == NULL)
		return -SGW_EINVAL;
	pg_param_str(&p, issuer, PG_CAP(struct store_cert, issuer));
	pg_param_str(&p, serial, PG_CAP(struct store_cert, serial));
	if ((r = pg_pool_exec(PG_POOL(priv), PG_CERT_GET, &p, &res)) < 0)
		return r;
	r = PQntuples(res) > 0 ? pg_row_cert(res, 0, 0, ret) : -SGW_ENOTFOUND;
	PQclear(res);
	return r;
}

static int
pg_cert_count(void *priv, int64_t *ret)
{
	return pga_count(PG_POOL(priv), PG_CERT_COUNT, NULL, ret);
}

/* Already revoked (or absent) changes nothing: tell the two apart. */
static int
pg_cert_revoke(void *priv, const char *issuer, const char *serial, int reason, int64_t when)
{
	struct pg_params p = {0};
	struct store_cert c;
	int r;

	if (issuer == NULL || serial == NULL || reason < 0 || reason > 10)
		return -SGW_EINVAL;
	pg_param_str(&p, issuer, PG_CAP(struct store_cert, issuer));
	pg_param_str(&p, serial, PG_CAP(struct store_cert, serial));
	pg_param_i64(&p, when);
	pg_param_i64(&p, reason);
	r = pg_exec_changed(PG_POOL(priv), NULL, PG_CERT_REVOKE, &p, -SGW_ENOTFOUND);
	if (r != -SGW_ENOTFOUND)
		return r;
	r = pg_cert_get(priv, issuer, serial, &c);
	if (r == 0) {
		store_cert_clear(&c);
		return -SGW_EEXIST;
	}
	return r;
}

/* Two rows (LIMIT 2) mean the serial alone is ambiguous. */
static int
pg_cert_find_serial(void *priv, const char *serial, struct store_cert *ret)
{
	struct pg_params p = {0};
	PGresult *res;
	int r;

	if (serial == NULL)
		return -SGW_EINVAL;
	pg_param_str(&p, serial, PG_CAP(struct store_cert, serial));
	if ((r = pg_pool_exec(PG_POOL(priv), PG_CERT_BY_SERIAL, &p, &res)) < 0)
		return r;
	r = PQntuples(res) == 0	 ? -SGW_ENOTFOUND
	    : PQntuples(res) > 1 ? -SGW_EEXIST
				 : pg_row_cert(res, 0, 0, ret);
	PQclear(res);
	return r;
}

static int
pg_cert_superseded(void *priv, const char *issuer, const char *serial, const char *profile,
		   const uint8_t key_sha256[32], int *ret_superseded)
{
	struct pg_params p = {0};
	PGresult *res;
	int r;

	if (issuer == NULL || serial == NULL || profile == NULL || key_sha256 == NULL)
		return -SGW_EINVAL;
	pg_param_str(&p, issuer, PG_CAP(struct store_cert, issuer));
	pg_param_str(&p, serial, PG_CAP(struct store_cert, serial));
	pg_param_str(&p, profile, PG_CAP(struct store_txn, profile));
	pg_param_bytes(&p, key_sha256, 32);
	if ((r = pg_pool_exec(PG_POOL(priv), PG_CERT_SUPERSEDED, &p, &res)) < 0)
		return r;
	*ret_superseded = PQntuples(res) > 0;
	PQclear(res);
	return 0;
}

static int
pg_cert_supersede(void *priv, const char *issuer, const char *serial, const char *by)
{
	struct pg_params p = {0};

	if (issuer == NULL || serial == NULL || by == NULL || by[0] == '\0')
		return -SGW_EINVAL;
	pg_param_str(&p, issuer, PG_CAP(struct store_cert, issuer));
	pg_param_str(&p, serial, PG_CAP(struct store_cert, serial));
	pg_param_str(&p, by, PG_CAP(struct store_cert, serial));
	return pg_exec_changed(PG_POOL(priv), NULL, PG_CERT_SUPERSEDE, &p, -SGW_ENOTFOUND);
}

/* ---- senderNonce replay cache -------------------------------------------- */

/* Bounded: at most PG_SWEEP_LIMIT rows per sweep, through the expires index.
 * Each instance sweeps on its own schedule; two sweeping at once delete
 * disjoint or the same rows, either is harmless. */
static int
pg_nonce_sweep(struct pg_store *s, int64_t now)
{
	struct pg_params p = {0};
	int due;

	pthread_mutex_lock(&s->sweep_mu);
	due = ++s->nonce_calls >= PG_SWEEP_CALLS || now < s->nonce_swept ||
	      now - s->nonce_swept >= PG_SWEEP_SECONDS;
	if (due) {
		s->nonce_calls = 0;
		s->nonce_swept = now;
	}
	pthread_mutex_unlock(&s->sweep_mu);
	if (!due)
		return 0;
	pg_param_i64(&p, now);
	pg_param_i64(&p, PG_SWEEP_LIMIT);
	return pg_pool_exec(s->pool, PG_NONCE_SWEEP, &p, NULL);
}

static int
pg_nonce_check(void *priv, const uint8_t *nonce, size_t len, int64_t now, int ttl)
{
	struct pg_params p = {0};
	int r;

	if (nonce == NULL || len == 0 || len > PG_MAX_NONCE || ttl <= 0)
		return -SGW_EINVAL;
	if ((r = pg_nonce_sweep(priv, now)) < 0)
		return r;
	pg_param_bytes(&p, nonce, len);
	pg_param_i64(&p, now + ttl);
	pg_param_i64(&p, now);
	return pg_exec_changed(PG_POOL(priv), NULL, PG_NONCE_PUT, &p, -SGW_EEXIST);
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
};
