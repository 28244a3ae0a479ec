/* store_sqlite.c: the SQLite store_ops (the default, embedded store).
 *
 * WAL + synchronous=FULL: every statement or explicit transaction is durable
 * when it returns (kill -9 or power loss loses nothing committed).  In the
 * daemon (store_attach_loop) the commits are made durable by group commit
 * instead (store_sqlite_sync.c), and replies wait for it.  Statements
 * are prepared once at open and reset after each use.  Schema changes are
 * numbered migrations recorded in schema_version and applied in one
 * transaction at open (store_sqlite_schema.c). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_sqlite_adm.h"
#include "store_sqlite_cert.h"
#include "store_sqlite_legacy.h"
#include "store_sqlite_nonce.h"
#include "store_sqlite_owed.h"
#include "store_sqlite_row.h"
#include "store_sqlite_schema.h"
#include "store_sqlite_shared.h"
#include "store_sqlite_sql.h"
#include "store_sqlite_sync.h"

struct sq_store {
	sqlite3 *db;
	sqlite3_stmt *st[SQ_STMT_MAX];
	struct sq_adm *adm;	  /* store_sqlite_adm.c */
	struct sq_cert *cert;	  /* store_sqlite_cert.c */
	struct sq_nonce *nonce;	  /* store_sqlite_nonce.c */
	struct sq_shared *shared; /* store_sqlite_shared.c */
	char *path;
	int group_commit;     /* store.synchronous: full */
	struct sq_sync *sync; /* store_sqlite_sync.c, once attached */
};

/* ---- small helpers ------------------------------------------------------ */

static int
sq_fail(struct sq_store *q, const char *what)
{
	return sq_fail_db(q->db, what);
}

/* Run a prepared statement that returns no rows. */
static int
sq_step_done(struct sq_store *q, enum sq_stmt id, const char *what)
{
	sqlite3_stmt *st = q->st[id];
	int r = 0;

	if (sqlite3_step(st) != SQLITE_DONE)
		r = sq_fail(q, what);
	sq_reset(st);
	return r;
}

static void
sq_rollback(struct sq_store *q)
{
	if (!sqlite3_get_autocommit(q->db))
		(void)sq_step_done(q, SQ_ROLLBACK, "rollback");
}

/* ---- open / close (the file and its schema: store_sqlite_schema.c) ------ */

static void
sq_close(void *priv)
{
	struct sq_store *q = priv;
	int i;

	if (q == NULL)
		return;
	sqs_detach(q->db, q->sync);
	sqa_close(q->adm);
	sqc_close(q->cert);
	sqn_close(q->nonce);
	sqh_close(q->shared);
	for (i = 0; i < SQ_STMT_MAX; i++)
		sqlite3_finalize(q->st[i]);
	if (q->db != NULL && sqlite3_close(q->db) != SQLITE_OK)
		log_err("store: sqlite: close: %s", sqlite3_errmsg(q->db));
	free(q->path);
	free(q);
}

static int
sq_open(void **ret_priv, const struct cfg_store *cfg, struct sgw_err *err)
{
	struct sq_store *q;
	int r;

	if (cfg->path == NULL || cfg->path[0] == '\0')
		return sgw_err_set(err, SGW_EINVAL, "store.path: missing");
	r = sq_schema_create(cfg->path, err);
	if (r < 0)
		return r;
	q = calloc(1, sizeof(*q));
	if (q == NULL || (q->path = strdup(cfg->path)) == NULL) {
		free(q);
		return sgw_err_set(err, SGW_ENOMEM, "store: out of memory");
	}
	q->group_commit = cfg->synchronous == NULL || strcmp(cfg->synchronous, "full") == 0;
	if (sqlite3_open_v2(cfg->path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		r = sgw_err_set(err, SGW_EIO, "store.path: %s: %s", cfg->path,
				q->db != NULL ? sqlite3_errmsg(q->db) : "out of memory");
		goto fail;
	}
	r = sq_schema_setup(q->db, cfg, err);
	if (r == 0)
		r = sq_prepare_n(q->db, sq_sql, q->st, SQ_STMT_MAX, err);
	if (r == 0)
		r = sqa_open(q->db, &q->adm, err);
	if (r == 0)
		r = sqc_open(q->db, &q->cert, err);
	if (r == 0)
		r = sqn_open(q->db, &q->nonce, err);
	if (r == 0)
		r = sqh_open(q->db, &q->shared, err);
	if (r < 0)
		goto fail;
	*ret_priv = q;
	return 0;
fail:
	sq_close(q);
	return r;
}

/* ---- transactions ------------------------------------------------------- */

static int
sq_txn_check(const struct store_txn *t)
{
	if (t->state < 0 || t->state >= TXN_STATE_MAX)
		return -SGW_EINVAL;
	if (t->csr.sealed_len > SQ_MAX_BLOB || (t->csr.sealed == NULL && t->csr.sealed_len != 0))
		return -SGW_EINVAL;
	return 0;
}

static int
sq_txn_insert(void *priv, struct store_txn *t)
{
	struct sq_store *q = priv;
	sqlite3_stmt *st = q->st[SQ_TXN_INSERT];
	int bad = 0, r;

	r = sq_txn_check(t);
	if (r < 0)
		return r;
	bad |= sq_bind_str(st, 1, t->profile, sizeof(t->profile));
	bad |= sq_bind_str(st, 2, t->transaction_id, sizeof(t->transaction_id));
	bad |= sqlite3_bind_blob(st, 3, t->signer_key_sha256, 32, SQLITE_STATIC);
	bad |= sqlite3_bind_int(st, 4, t->state);
	bad |= sqlite3_bind_int(st, 5, t->msg_type);
	bad |= sq_bind_str(st, 6, t->subject, sizeof(t->subject));
	bad |= sq_bind_str(st, 7, t->peer, sizeof(t->peer));
	bad |= sq_bind_str(st, 8, t->reason, sizeof(t->reason));
	bad |= sq_bind_str(st, 9, t->cert_serial, sizeof(t->cert_serial));
	bad |= sq_bind_str(st, 10, t->backend_handle, sizeof(t->backend_handle));
	bad |= sq_bind_csr(st, 11, 14, 15, &t->csr);
	bad |= sqlite3_bind_int64(st, 12, t->created);
	bad |= sqlite3_bind_int64(st, 13, t->updated);
	bad |= sq_bind_str(st, 16, t->instance, sizeof(t->instance));
	if (bad != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
		r = sq_fail(q, "txn insert");
	else
		t->id = sqlite3_last_insert_rowid(q->db);
	sq_reset(st);
	return r;
}

static int
sq_txn_find(void *priv, const char *profile, const char *transaction_id,
	    const uint8_t key_sha256[32], struct store_txn *ret)
{
	struct sq_store *q = priv;
	sqlite3_stmt *st = q->st[SQ_TXN_FIND];
	int bad = 0;

	if (profile == NULL || transaction_id == NULL || key_sha256 == NULL)
		return -SGW_EINVAL;
	bad |= sq_bind_str(st, 1, profile, SQ_CAP(struct store_txn, profile));
	bad |= sq_bind_str(st, 2, transaction_id, SQ_CAP(struct store_txn, transaction_id));
	bad |= sqlite3_bind_blob(st, 3, key_sha256, 32, SQLITE_STATIC);
	return sq_fetch(q->db, st, bad, sq_row_txn, ret);
}

static int
sq_txn_get(void *priv, int64_t id, struct store_txn *ret)
{
	struct sq_store *q = priv;
	sqlite3_stmt *st = q->st[SQ_TXN_GET];

	return sq_fetch(q->db, st, sqlite3_bind_int64(st, 1, id), sq_row_txn, ret);
}

/* UPDATE the mutable columns; state and serial given separately for txn_issue. */
static int
sq_txn_set(struct sq_store *q, const struct store_txn *t, int state, const char *serial)
{
	sqlite3_stmt *st = q->st[SQ_TXN_UPDATE];
	int bad = 0, r = 0;

	bad |= sqlite3_bind_int(st, 1, state);
	bad |= sq_bind_str(st, 2, t->reason, sizeof(t->reason));
	bad |= sq_bind_str(st, 3, t->backend_handle, sizeof(t->backend_handle));
	bad |= sq_bind_str(st, 4, serial, sizeof(t->cert_serial));
	bad |= sqlite3_bind_int64(st, 5, t->updated);
	bad |= sqlite3_bind_int64(st, 6, t->id);
	bad |= sq_bind_str(st, 7, t->instance, sizeof(t->instance));
	if (bad != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
		r = sq_fail(q, "txn update");
	else if (sqlite3_changes(q->db) == 0)
		r = -SGW_ENOTFOUND;
	sq_reset(st);
	return r;
}

static int
sq_txn_update(void *priv, const struct store_txn *t)
{
	if (t->state < 0 || t->state >= TXN_STATE_MAX)
		return -SGW_EINVAL;
	return sq_txn_set(priv, t, t->state, t->cert_serial);
}

/* A new request on a known row: every column of the request, the row as read. */
static int
sq_txn_renew(struct sq_store *q, const struct store_txn *t, int64_t seen_updated)
{
	sqlite3_stmt *st = q->st[SQ_TXN_RENEW];
	int bad = 0, r = 0;

	bad |= sqlite3_bind_int(st, 1, t->state);
	bad |= sqlite3_bind_int(st, 2, t->msg_type);
	bad |= sq_bind_str(st, 3, t->subject, sizeof(t->subject));
	bad |= sq_bind_str(st, 4, t->peer, sizeof(t->peer));
	bad |= sq_bind_csr(st, 5, 6, 7, &t->csr);
	bad |= sqlite3_bind_int64(st, 8, t->created);
	bad |= sqlite3_bind_int64(st, 9, t->updated);
	bad |= sqlite3_bind_int64(st, 10, t->id);
	bad |= sqlite3_bind_int64(st, 11, seen_updated);
	bad |= sq_bind_str(st, 12, t->instance, sizeof(t->instance));
	if (bad != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
		r = sq_fail(q, "txn renew");
	else if (sqlite3_changes(q->db) == 0)
		r = -SGW_EEXIST; /* changed since it was read */
	sq_reset(st);
	return r;
}

/* A renewal's claim on its signer (struct store_accept), inside the
 * accept's commit: SQLite has one writer, so of two renewals signed by one
 * certificate at once the second sees the first's row in progress. */
static int
sq_renewal_claim(struct sq_store *q, const struct store_txn *t, const struct store_accept *a)
{
	sqlite3_stmt *st = q->st[SQ_TXN_RENEWING];
	int superseded = 0, bad = 0, rc, r;

	if (a->renews_serial == NULL)
		return 0;
	r = sqc_superseded(q->cert, a->renews_issuer, a->renews_serial, t->profile,
			   t->signer_key_sha256, &superseded);
	if (r < 0 || superseded)
		return r < 0 ? r : -SGW_EBUSY;
	bad |= sq_bind_str(st, 1, t->profile, sizeof(t->profile));
	bad |= sqlite3_bind_blob(st, 2, t->signer_key_sha256, 32, SQLITE_STATIC);
	bad |= sqlite3_bind_int64(st, 3, t->id);
	rc = bad == SQLITE_OK ? sqlite3_step(st) : SQLITE_ERROR;
	r = rc == SQLITE_ROW ? -SGW_EBUSY : rc == SQLITE_DONE ? 0 : sq_fail(q, "renewal claim");
	sq_reset(st);
	return r;
}

/* One commit: the renewal's claim on its signer (when given), the one-time
 * challenge used (when given), the request recorded (a new row, or a known
 * row taken over by a new request). */
static int
sq_txn_accept(void *priv, struct store_txn *t, const struct store_accept *a)
{
	struct sq_store *q = priv;
	char bound[256];
	int r = sq_txn_check(t);

	if (r < 0)
		return r;
	if ((r = sq_step_done(q, SQ_BEGIN, "begin")) < 0)
		return r;
	r = sq_renewal_claim(q, t, a);
	if (r == 0 && a->otp_sha256 != NULL) {
		r = sqa_otp_consume(q->adm, a->otp_profile, a->otp_sha256, a->now, bound,
				    sizeof(bound));
		if (r == -SGW_ENOTFOUND)
			r = -SGW_EDENIED; /* used meanwhile (or expired) */
	}
	if (r == 0)
		r = t->id != 0 ? sq_txn_renew(q, t, a->seen_updated) : sq_txn_insert(q, t);
	if (r == 0)
		r = sq_step_done(q, SQ_COMMIT, "commit");
	if (r < 0)
		sq_rollback(q);
	return r;
}

/* ---- certificates: store_sqlite_cert.c, on its own statements ----------- */

/* The certificate row is linked to t->id (c->txn_id is not consulted).  On
 * success t->state is ISSUED and t->cert_serial is c->serial. */
static int
sq_txn_issue(void *priv, struct store_txn *t, const struct store_cert *c)
{
	struct sq_store *q = priv;
	int r;

	if (c->der == NULL || c->der_len == 0 || c->der_len > SQ_MAX_BLOB || c->serial[0] == '\0')
		return -SGW_EINVAL;
	r = sq_step_done(q, SQ_BEGIN, "begin");
	if (r < 0)
		return r;
	r = sq_txn_set(q, t, TXN_ISSUED, c->serial);
	if (r == 0)
		r = sqc_put(q->cert, c, t->id);
	if (r == 0)
		r = sq_step_done(q, SQ_COMMIT, "commit");
	if (r < 0) {
		sq_rollback(q);
		return r;
	}
	t->state = TXN_ISSUED;
	snprintf(t->cert_serial, sizeof(t->cert_serial), "%.*s", (int)sizeof(t->cert_serial) - 1,
		 c->serial);
	return 0;
}

#define SQ_CERT(priv) (((struct sq_store *)(priv))->cert)

static int
sq_cert_get(void *priv, const char *issuer, const char *serial, struct store_cert *ret)
{
	return sqc_get(SQ_CERT(priv), issuer, serial, ret);
}

static int
sq_cert_count(void *priv, int64_t *ret)
{
	return sqc_count(SQ_CERT(priv), ret);
}

static int
sq_cert_revoke(void *priv, const char *issuer, const char *serial, int reason, int64_t when)
{
	return sqc_revoke(SQ_CERT(priv), issuer, serial, reason, when);
}

static int
sq_cert_find_serial(void *priv, const char *serial, struct store_cert *ret)
{
	return sqc_find_serial(SQ_CERT(priv), serial, ret);
}

static int
sq_cert_superseded(void *priv, const char *issuer, const char *serial, const char *profile,
		   const uint8_t key_sha256[32], int *ret_superseded)
{
	return sqc_superseded(SQ_CERT(priv), issuer, serial, profile, key_sha256, ret_superseded);
}

static int
sq_cert_supersede(void *priv, const char *issuer, const char *serial, const char *by)
{
	return sqc_supersede(SQ_CERT(priv), issuer, serial, by);
}

/* ---- senderNonce replay cache: store_sqlite_nonce.c ---------------------- */

static int
sq_nonce_check(void *priv, const uint8_t *nonce, size_t len, int64_t now, int ttl)
{
	return sqn_check(((struct sq_store *)priv)->nonce, nonce, len, now, ttl);
}

/* ---- admin queries: store_sqlite_adm.c, on its own state ------------------ */

#define SQ_ADM(priv) (((struct sq_store *)(priv))->adm)

static int
sq_txn_list(void *priv, const struct store_txn_filter *f, store_txn_each each, void *arg)
{
	return sqa_txn_list(SQ_ADM(priv), f, each, arg);
}

static int
sq_txn_count(void *priv, int state, int64_t *ret)
{
	return sqa_txn_count(SQ_ADM(priv), state, ret);
}

static int
sq_txn_decide(void *priv, const struct store_txn *t, const char *admin)
{
	return sqa_txn_decide(SQ_ADM(priv), t, admin);
}

static int
sq_txn_decider(void *priv, int64_t id, char *ret_admin, size_t cap)
{
	return sqa_txn_decider(SQ_ADM(priv), id, ret_admin, cap);
}

static int
sq_otp_put(void *priv, const struct store_otp *o)
{
	return sqa_otp_put(SQ_ADM(priv), o);
}

static int
sq_otp_consume(void *priv, const char *profile, const uint8_t sha256[32], int64_t now,
	       char *ret_subject, size_t cap)
{
	return sqa_otp_consume(SQ_ADM(priv), profile, sha256, now, ret_subject, cap);
}

static int
sq_otp_peek(void *priv, const char *profile, const uint8_t sha256[32], int64_t now,
	    char *ret_subject, size_t cap)
{
	return sqa_otp_peek(SQ_ADM(priv), profile, sha256, now, ret_subject, cap);
}

static int
sq_txn_legacy_csr(void *priv, store_legacy_fn fn, void *arg, struct sgw_err *err)
{
	return sql_legacy_csr(((struct sq_store *)priv)->db, fn, arg, err);
}

static int
sq_otp_count(void *priv, const char *profile, int64_t now, int64_t *ret)
{
	return sqa_otp_count(SQ_ADM(priv), profile, now, ret);
}

static int
sq_cert_search(void *priv, const struct store_cert_filter *f, store_cert_each each, void *arg,
	       int64_t *next)
{
	return sqa_cert_search(SQ_ADM(priv), f, each, arg, next);
}

static int
sq_stats(void *priv, struct store_stats *ret)
{
	return sqa_stats(SQ_ADM(priv), ret);
}

#define SQ_SHARED(priv) (((struct sq_store *)(priv))->shared)

static int
sq_ca_revoke(void *priv, const char *ca, const struct store_revoked *r)
{
	return sqh_ca_revoke(SQ_SHARED(priv), ca, r);
}

static int
sq_ca_revoked_list(void *priv, const char *ca, store_revoked_each each, void *arg)
{
	return sqh_ca_revoked_list(SQ_SHARED(priv), ca, each, arg);
}

static int
sq_ca_crl_get(void *priv, const char *ca, struct store_crl *ret)
{
	return sqh_ca_crl_get(SQ_SHARED(priv), ca, ret);
}

static int
sq_ca_crl_put(void *priv, const char *ca, const struct store_crl *c)
{
	return sqh_ca_crl_put(SQ_SHARED(priv), ca, c);
}

static int
sq_lease_take(void *priv, const char *job, const char *holder, int64_t now, int ttl, int *ret_held)
{
	return sqh_lease_take(SQ_SHARED(priv), job, holder, now, ttl, ret_held);
}

static int
sq_ca_crl_seed(void *priv, const char *ca, const struct store_crl *c)
{
	return sqh_ca_crl_seed(SQ_SHARED(priv), ca, c);
}

static int
sq_lease_get(void *priv, const char *job, char *ret_holder, size_t cap, int64_t *ret_expires)
{
	return sqh_lease_get(SQ_SHARED(priv), job, ret_holder, cap, ret_expires);
}

static int
sq_ca_crl_number(void *priv, const char *ca, int64_t *ret)
{
	return sqh_ca_crl_number(SQ_SHARED(priv), ca, ret);
}

static int
sq_owed_put(void *priv, const struct store_owed *o)
{
	return sqo_put(((struct sq_store *)priv)->db, o);
}

static int
sq_owed_del(void *priv, int64_t txn_id)
{
	return sqo_del(((struct sq_store *)priv)->db, txn_id);
}

static int
sq_owed_due(void *priv, const char *me, int64_t now, int64_t stale, size_t max,
	    store_owed_each each, void *arg)
{
	return sqo_due(((struct sq_store *)priv)->db, me, now, stale, max, each, arg);
}

/* store.synchronous: full: group commit from now on (store_sqlite_sync.c);
 * normal: nothing to wait for, SQLite checkpoints as it commits. */
static int
sq_attach_loop(void *priv, struct event_base *base, struct sgw_err *err)
{
	struct sq_store *q = priv;

	if (!q->group_commit || q->sync != NULL)
		return 0;
	return sqs_attach(q->db, q->path, base, &q->sync, err);
}

static int
sq_await_durable(void *priv, store_durable_fn cb, void *arg)
{
	return sqs_await(((struct sq_store *)priv)->sync, cb, arg);
}

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .txn_insert = sq_txn_insert,
    .txn_find = sq_txn_find,
    .txn_get = sq_txn_get,
    .txn_update = sq_txn_update,
    .txn_accept = sq_txn_accept,
    .txn_issue = sq_txn_issue,
    .cert_get = sq_cert_get,
    .cert_count = sq_cert_count,
    .cert_revoke = sq_cert_revoke,
    .cert_find_serial = sq_cert_find_serial,
    .cert_superseded = sq_cert_superseded,
    .cert_supersede = sq_cert_supersede,
    .nonce_check = sq_nonce_check,
    .txn_list = sq_txn_list,
    .txn_count = sq_txn_count,
    .txn_decide = sq_txn_decide,
    .txn_decider = sq_txn_decider,
    .otp_put = sq_otp_put,
    .otp_consume = sq_otp_consume,
    .otp_peek = sq_otp_peek,
    .txn_legacy_csr = sq_txn_legacy_csr,
    .otp_count = sq_otp_count,
    .cert_search = sq_cert_search,
    .stats = sq_stats,
    .ca_revoke = sq_ca_revoke,
    .ca_revoked_list = sq_ca_revoked_list,
    .ca_crl_get = sq_ca_crl_get,
    .ca_crl_put = sq_ca_crl_put,
    .lease_take = sq_lease_take,
    .ca_crl_seed = sq_ca_crl_seed,
    .lease_get = sq_lease_get,
    .ca_crl_number = sq_ca_crl_number,
    .owed_put = sq_owed_put,
    .owed_del = sq_owed_del,
    .owed_due = sq_owed_due,
    .attach_loop = sq_attach_loop,
    .await_durable = sq_await_durable,
};
