/* store_pg_txn.c: the PostgreSQL store's request-path rows
 * (store_pg_txn.h): transactions, certificates and senderNonces.  Each
 * call takes a connection of the pool for its statements; a write that
 * must be atomic with another is one statement (store_pg_sql.c), except a
 * known row given to a new request with a one-time challenge (BEGIN, the
 * challenge, the row, COMMIT). */
#include <stdio.h>
#include <string.h>

#include "store_pg_adm.h"
#include "store_pg_row.h"
#include "store_pg_sql.h"
#include "store_pg_txn.h"

#define PG_MAX_NONCE 64
#define PG_SWEEP_CALLS 1000 /* sweep expired nonces every N checks ... */
#define PG_SWEEP_SECONDS 60 /* ... or every N seconds (per instance) */
#define PG_SWEEP_LIMIT 1000

#define PG_CAP(type, field) sizeof(((type *)0)->field)

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

int
pgt_txn_insert(struct pg_pool *pool, struct store_txn *t)
{
	struct pg_conn *c;
	int r = pg_txn_check(t);

	if (r < 0 || (r = pg_acquire(pool, &c)) < 0)
		return r;
	r = txn_insert_on(c, t, NULL);
	pg_release(pool, c);
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

int
pgt_txn_find(struct pg_pool *pool, const char *profile, const char *transaction_id,
	     const uint8_t key_sha256[32], struct store_txn *ret)
{
	struct pg_params p = {0};

	if (profile == NULL || transaction_id == NULL || key_sha256 == NULL)
		return -SGW_EINVAL;
	pg_param_str(&p, profile, PG_CAP(struct store_txn, profile));
	pg_param_str(&p, transaction_id, PG_CAP(struct store_txn, transaction_id));
	pg_param_bytes(&p, key_sha256, 32);
	return pg_fetch_txn(pool, PG_TXN_FIND, &p, ret);
}

int
pgt_txn_get(struct pg_pool *pool, int64_t id, struct store_txn *ret)
{
	struct pg_params p = {0};

	pg_param_i64(&p, id);
	return pg_fetch_txn(pool, PG_TXN_GET, &p, ret);
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

int
pgt_txn_update(struct pg_pool *pool, const struct store_txn *t)
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
	return pg_exec_changed(pool, NULL, PG_TXN_UPDATE, &p, -SGW_ENOTFOUND);
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

/* A renewal's claim on its signer (struct store_accept), in the accept's
 * transaction: the advisory lock on the signer makes a second renewal wait
 * for the first's commit, then see its row in progress. */
static int
renewal_claim(struct pg_conn *c, const struct store_txn *t, const struct store_accept *a)
{
	struct pg_params p = {0};
	PGresult *res;
	int r;

	if (a->renews_issuer == NULL)
		return -SGW_EINVAL;
	pg_param_str(&p, a->renews_issuer, PG_CAP(struct store_cert, issuer));
	pg_param_str(&p, a->renews_serial, PG_CAP(struct store_cert, serial));
	if ((r = pg_exec(c, PG_RENEWAL_LOCK, &p, &res)) < 0)
		return r;
	PQclear(res);
	pg_param_str(&p, t->profile, sizeof(t->profile));
	pg_param_bytes(&p, t->signer_key_sha256, 32);
	pg_param_i64(&p, t->id);
	if ((r = pg_exec(c, PG_RENEWAL_BUSY, &p, &res)) < 0)
		return r;
	r = PQntuples(res) > 0 ? -SGW_EBUSY : 0;
	PQclear(res);
	return r;
}

/* The renewal's claim (when given), the one-time challenge used (when
 * given) and the request recorded, in one transaction: a new row with at
 * most a challenge is one statement (PG_TXN_INSERT_OTP); otherwise BEGIN,
 * the claim, the challenge, the row, COMMIT.  A second instance using the
 * same challenge waits on its row, then finds it used. */
int
pgt_txn_accept(struct pg_pool *pool, struct store_txn *t, const struct store_accept *a)
{
	int renewal = a->renews_serial != NULL;
	int renew_otp = t->id != 0 && a->otp_sha256 != NULL;
	int several = renewal || renew_otp;
	struct pg_conn *c;
	char bound[256];
	int r = pg_txn_check(t);

	if (r < 0 || (r = pg_acquire(pool, &c)) < 0)
		return r;
	if (several)
		r = pg_begin(c);
	if (r == 0 && renewal)
		r = renewal_claim(c, t, a);
	if (r == 0 && renew_otp) {
		r = pga_otp_subject(c, PG_OTP_CONSUME, a->otp_profile, a->otp_sha256, a->now, bound,
				    sizeof(bound));
		if (r == -SGW_ENOTFOUND)
			r = -SGW_EDENIED; /* used meanwhile (or expired) */
	}
	if (r == 0)
		r = t->id != 0 ? txn_renew_on(c, t, a->seen_updated) : txn_insert_on(c, t, a);
	if (r == 0 && several)
		r = pg_commit(c);
	if (r < 0)
		pg_rollback(c);
	pg_release(pool, c);
	return r;
}

/* ---- certificates -------------------------------------------------------- */

/* One statement: the transaction ISSUED and the certificate linked to t->id
 * (c->txn_id is not consulted); a taken (issuer, serial) changes nothing. */
int
pgt_txn_issue(struct pg_pool *pool, struct store_txn *t, const struct store_cert *c)
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
	if ((r = pg_pool_exec(pool, PG_TXN_ISSUE, &p, &res)) < 0 ||
	    (r = pg_returned_id(res, &id)) < 0)
		return r;
	t->state = TXN_ISSUED;
	snprintf(t->cert_serial, sizeof(t->cert_serial), "%.*s", (int)sizeof(t->cert_serial) - 1,
		 c->serial);
	return 0;
}

int
pgt_cert_get(struct pg_pool *pool, const char *issuer, const char *serial, struct store_cert *ret)
{
	struct pg_params p = {0};
	PGresult *res;
	int r;

	if (issuer == NULL || serial == NULL)
		return -SGW_EINVAL;
	pg_param_str(&p, issuer, PG_CAP(struct store_cert, issuer));
	pg_param_str(&p, serial, PG_CAP(struct store_cert, serial));
	if ((r = pg_pool_exec(pool, PG_CERT_GET, &p, &res)) < 0)
		return r;
	r = PQntuples(res) > 0 ? pg_row_cert(res, 0, 0, ret) : -SGW_ENOTFOUND;
	PQclear(res);
	return r;
}

/* Already revoked (or absent) changes nothing: tell the two apart. */
int
pgt_cert_revoke(struct pg_pool *pool, const char *issuer, const char *serial, int reason,
		int64_t when)
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
	r = pg_exec_changed(pool, NULL, PG_CERT_REVOKE, &p, -SGW_ENOTFOUND);
	if (r != -SGW_ENOTFOUND)
		return r;
	r = pgt_cert_get(pool, issuer, serial, &c);
	if (r == 0) {
		store_cert_clear(&c);
		return -SGW_EEXIST;
	}
	return r;
}

/* Two rows (LIMIT 2) mean the serial alone is ambiguous. */
int
pgt_cert_find_serial(struct pg_pool *pool, const char *serial, struct store_cert *ret)
{
	struct pg_params p = {0};
	PGresult *res;
	int r;

	if (serial == NULL)
		return -SGW_EINVAL;
	pg_param_str(&p, serial, PG_CAP(struct store_cert, serial));
	if ((r = pg_pool_exec(pool, PG_CERT_BY_SERIAL, &p, &res)) < 0)
		return r;
	r = PQntuples(res) == 0	 ? -SGW_ENOTFOUND
	    : PQntuples(res) > 1 ? -SGW_EEXIST
				 : pg_row_cert(res, 0, 0, ret);
	PQclear(res);
	return r;
}

int
pgt_cert_superseded(struct pg_pool *pool, const char *issuer, const char *serial,
		    const char *profile, const uint8_t key_sha256[32], int *ret_superseded)
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
	if ((r = pg_pool_exec(pool, PG_CERT_SUPERSEDED, &p, &res)) < 0)
		return r;
	*ret_superseded = PQntuples(res) > 0;
	PQclear(res);
	return 0;
}

int
pgt_cert_supersede(struct pg_pool *pool, const char *issuer, const char *serial, const char *by)
{
	struct pg_params p = {0};

	if (issuer == NULL || serial == NULL || by == NULL || by[0] == '\0')
		return -SGW_EINVAL;
	pg_param_str(&p, issuer, PG_CAP(struct store_cert, issuer));
	pg_param_str(&p, serial, PG_CAP(struct store_cert, serial));
	pg_param_str(&p, by, PG_CAP(struct store_cert, serial));
	return pg_exec_changed(pool, NULL, PG_CERT_SUPERSEDE, &p, -SGW_ENOTFOUND);
}

/* ---- senderNonce replay cache -------------------------------------------- */

/* Bounded: at most PG_SWEEP_LIMIT rows per sweep, through the expires index.
 * Each instance sweeps on its own schedule; two sweeping at once delete
 * disjoint or the same rows, either is harmless. */
static int
pg_nonce_sweep(struct pg_pool *pool, struct pg_sweep *sw, int64_t now)
{
	struct pg_params p = {0};
	int due;

	pthread_mutex_lock(&sw->mu);
	due = ++sw->calls >= PG_SWEEP_CALLS || now < sw->last || now - sw->last >= PG_SWEEP_SECONDS;
	if (due) {
		sw->calls = 0;
		sw->last = now;
	}
	pthread_mutex_unlock(&sw->mu);
	if (!due)
		return 0;
	pg_param_i64(&p, now);
	pg_param_i64(&p, PG_SWEEP_LIMIT);
	return pg_pool_exec(pool, PG_NONCE_SWEEP, &p, NULL);
}

int
pgt_nonce_check(struct pg_pool *pool, struct pg_sweep *sw, const uint8_t *nonce, size_t len,
		int64_t now, int ttl)
{
	struct pg_params p = {0};
	int r;

	if (nonce == NULL || len == 0 || len > PG_MAX_NONCE || ttl <= 0)
		return -SGW_EINVAL;
	if ((r = pg_nonce_sweep(pool, sw, now)) < 0)
		return r;
	pg_param_bytes(&p, nonce, len);
	pg_param_i64(&p, now + ttl);
	pg_param_i64(&p, now);
	return pg_exec_changed(pool, NULL, PG_NONCE_PUT, &p, -SGW_EEXIST);
}

/* The senderNonce recorded and the transaction looked up in one round trip
 * (pipeline mode, one implicit transaction). */
int
pgt_nonce_find(struct pg_pool *pool, struct pg_sweep *sw, const uint8_t *nonce, size_t len,
	       int64_t now, int ttl, const char *profile, const char *transaction_id,
	       const uint8_t key_sha256[32], struct store_txn *ret, int *ret_found)
{
	static const int ids[2] = {PG_NONCE_PUT, PG_TXN_FIND};
	struct pg_params pn = {0}, pf = {0};
	const struct pg_params *ps[2] = {&pn, &pf};
	PGresult *res[2];
	struct pg_conn *c;
	int r;

	if (nonce == NULL || len == 0 || len > PG_MAX_NONCE || ttl <= 0 || profile == NULL ||
	    transaction_id == NULL || key_sha256 == NULL)
		return -SGW_EINVAL;
	if ((r = pg_nonce_sweep(pool, sw, now)) < 0)
		return r;
	pg_param_bytes(&pn, nonce, len);
	pg_param_i64(&pn, now + ttl);
	pg_param_i64(&pn, now);
	pg_param_str(&pf, profile, PG_CAP(struct store_txn, profile));
	pg_param_str(&pf, transaction_id, PG_CAP(struct store_txn, transaction_id));
	pg_param_bytes(&pf, key_sha256, 32);
	if ((r = pg_acquire(pool, &c)) < 0)
		return r;
	r = pg_exec_pipeline(c, 2, ids, ps, res);
	pg_release(pool, c);
	if (r < 0)
		return r;
	*ret_found = PQntuples(res[1]) > 0 ? pg_row_txn(res[1], 0, ret) : -SGW_ENOTFOUND;
	r = pg_changes(res[0]) > 0 ? 0 : -SGW_EEXIST;
	PQclear(res[0]);
	PQclear(res[1]);
	return r;
}
