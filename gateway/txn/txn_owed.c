/* txn_owed.c: the validator notifications still owed (txn_owed.h): the
 * request path records and sends one; the job sends again those refused,
 * unanswered, or left by an instance that died. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "log.h"
#include "profile.h"
#include "store_ca.h"
#include "txn.h"
#include "txn_csr.h"
#include "txn_owed.h"

#define TO_TID_MAX 160	    /* a transactionID (store_txn.transaction_id fits) */
#define TO_MAX 64	    /* rows sent per tick */
#define TO_BACKOFF_MIN 10   /* seconds before the 2nd attempt, doubling... */
#define TO_BACKOFF_MAX 3600 /* ... up to this */

/* One notification being sent.  The request path's waits for the validator;
 * the job's first rebuilds the request (t, csr, cert). */
struct to_call {
	struct txn_owed *ow; /* NULL: not tracked (no job: the engine's tests) */
	struct store *store;
	struct store_owed row; /* row.csr_sealed: NULL */
	char tid[TO_TID_MAX];
	int rc;
	validator_cb waiter; /* the request whose reply waits, or NULL */
	void *warg;
	struct profile *prof; /* the job's: a reference on prof->set */
	struct store_txn t;
	struct txn_csr_job *opening;
	struct csr *csr;
	X509 *cert;
	uint8_t *sealed;	 /* the job's: the row's sealed CSR (a copy) */
	struct store_owed claim; /* the job's: the row as it claims it */
	struct store_cert sc;	 /* the job's: the certificate read */
	struct to_call *next;
};

struct to_scan;

struct txn_owed {
	struct gw *gw;
	struct event *timer;
	int period;
	struct to_call *calls;
	struct to_scan *scanning; /* a pass in the store's executor, or NULL */
};

/* Seconds before attempt `attempts` + 1. */
static int64_t
backoff(int attempts)
{
	int64_t s = TO_BACKOFF_MIN;

	for (int i = 1; i < attempts && s < TO_BACKOFF_MAX; i++)
		s *= 2;
	return s < TO_BACKOFF_MAX ? s : TO_BACKOFF_MAX;
}

static struct to_call *
call_new(struct txn_owed *ow, struct store *s, const struct store_owed *o, const char *tid)
{
	struct to_call *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->ow = ow;
	c->store = s;
	c->row = *o;
	c->row.csr_sealed = NULL;
	c->row.csr_sealed_len = 0;
	snprintf(c->tid, sizeof(c->tid), "%s", tid);
	if (ow != NULL) {
		c->next = ow->calls;
		ow->calls = c;
	}
	return c;
}

static void
call_free(struct to_call *c)
{
	if (c->ow != NULL) {
		struct to_call **pp = &c->ow->calls;

		while (*pp != NULL && *pp != c)
			pp = &(*pp)->next;
		if (*pp == c)
			*pp = c->next;
	}
	txn_csr_cancel(c->opening);
	store_txn_clear(&c->t);
	csr_free(c->csr);
	X509_free(c->cert);
	free(c->sealed);
	store_cert_clear(&c->sc);
	if (c->prof != NULL)
		profiles_unref(c->prof->set);
	free(c);
}

static void
del_work(void *arg)
{
	struct to_call *c = arg;

	c->rc = store_owed_del(c->store, c->row.txn_id);
}

static void
del_done(void *arg)
{
	struct to_call *c = arg;

	if (c->rc < 0 && c->rc != -SGW_ENOTFOUND)
		log_warn("txn=%s profile=%s: the delivered validator notification is still "
			 "recorded (%s): it may be sent again",
			 c->tid, c->row.profile, sgw_strerror(c->rc));
	call_free(c);
}

/* Delivered, or nothing was owed: the row goes (in a store step). */
static void
call_finish(struct to_call *c)
{
	if (c->row.txn_id <= 0 || store_exec(c->store, del_work, del_done, c) < 0)
		call_free(c);
}

static void
call_sent(void *arg, int verdict, const char *reason)
{
	struct to_call *c = arg;
	validator_cb waiter = c->waiter;
	void *warg = c->warg;

	if (verdict == 0) {
		call_finish(c);
	} else {
		log_warn("txn=%s profile=%s: validator notification failed (attempt %d): %s; "
			 "owed, sent again in %lld s",
			 c->tid, c->row.profile, c->row.attempts, reason != NULL ? reason : "?",
			 (long long)backoff(c->row.attempts));
		call_free(c); /* the row says when */
	}
	if (waiter != NULL)
		waiter(warg, verdict, reason);
}

/* Send c's notification; -SGW_EAGAIN when waiter(warg) follows (the reply
 * waits for it), else the reply need not wait (c is the validator's or
 * gone). */
static int
call_send(struct to_call *c, struct validator *v, const struct validator_req *vr, X509 *cert,
	  validator_cb waiter, void *warg)
{
	int ret;

	c->waiter = waiter;
	c->warg = warg;
	ret = validator_notify(v, vr, cert, c->row.reason, call_sent, c);
	if (ret == -SGW_EAGAIN)
		return ret;
	c->waiter = NULL;
	if (ret == 0) {
		call_finish(c); /* nothing owed for this request */
	} else if (ret < 0) {
		log_warn("txn=%s profile=%s: validator notification not sent: %s; owed, sent "
			 "again later",
			 c->tid, c->row.profile, sgw_strerror(ret));
		call_free(c);
	}
	return 0;
}

/* ---- the request path ---------------------------------------------------- */

static void
record_work(void *arg)
{
	struct req_ctx *r = arg;

	r->st.rc = store_owed_put(r->gw->store, &r->owed);
}

static void
reply_waited(void *arg, int verdict, const char *reason)
{
	struct req_ctx *r = arg;

	(void)verdict;
	(void)reason;
	r->st.next(r);
}

static void
record_done(void *arg)
{
	struct req_ctx *r = arg;
	struct validator_req vr = {r->csr,  r->prof->cfg->name, r->msg->transaction_id,
				   r->peer, r->gw->base,	0};
	struct to_call *c;

	r->owed.csr_sealed = NULL; /* lent by r->txn */
	r->owed.csr_sealed_len = 0;
	if (r->st.rc < 0) {
		log_warn("txn=%s profile=%s: cannot record the validator notification (%s): sent "
			 "once, not owed",
			 r->msg->transaction_id, r->prof->cfg->name, sgw_strerror(r->st.rc));
		r->owed.txn_id = 0;
	}
	c = call_new(r->gw->txn_owed, r->gw->store, &r->owed, r->msg->transaction_id);
	if (c == NULL || call_send(c, r->prof->validator, &vr,
				   r->owed.kind == STORE_OWED_SUCCESS ? r->new_cert : NULL,
				   reply_waited, r) != -SGW_EAGAIN)
		r->st.next(r);
}

void
txn_owed_notify(struct req_ctx *r, const struct backend_result *res,
		void (*done)(struct req_ctx *r))
{
	struct store_owed *o = &r->owed;

	if (res->status == BACKEND_PENDING || !validator_has_notify(r->prof->validator)) {
		done(r);
		return;
	}
	memset(o, 0, sizeof(*o));
	o->txn_id = r->txn.id;
	snprintf(o->profile, sizeof(o->profile), "%s", r->prof->cfg->name);
	o->kind = res->status == BACKEND_ISSUED ? STORE_OWED_SUCCESS : STORE_OWED_FAILURE;
	snprintf(o->reason, sizeof(o->reason), "%s",
		 res->status == BACKEND_ISSUED ? "" : res->reason);
	snprintf(o->owner, sizeof(o->owner), "%s", store_instance(r->gw->store));
	o->attempts = 1;
	o->created = txn_now(r->gw);
	o->next_try = o->created + backoff(1);
	o->csr_sealed = r->txn.csr.sealed; /* lent until record_done */
	o->csr_sealed_len = r->txn.csr.sealed_len;
	r->st.next = done;
	txn_step(r, record_work, record_done);
}

/* ---- the job ------------------------------------------------------------- */

/* One pass: its store calls (the lease, the due rows, their transactions)
 * in a store step, the rest on the loop. */
struct to_scan {
	struct txn_owed *ow;
	char me[64];
	int64_t now;
	int ttl, rc, held;
	size_t n;
	struct store_owed v[TO_MAX];
	uint8_t *sealed[TO_MAX];
	struct store_txn t[TO_MAX];
	int trc[TO_MAX];
};

static void
scan_free(struct to_scan *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->sealed[i]);
		store_txn_clear(&s->t[i]);
	}
	free(s);
}

static int
collect(void *arg, const struct store_owed *o)
{
	struct to_scan *s = arg;
	struct store_owed *d;

	if (s->n == TO_MAX)
		return -1;
	d = &s->v[s->n];
	*d = *o;
	d->csr_sealed = NULL;
	d->csr_sealed_len = 0;
	if (o->csr_sealed_len > 0 && (s->sealed[s->n] = malloc(o->csr_sealed_len)) != NULL) {
		memcpy(s->sealed[s->n], o->csr_sealed, o->csr_sealed_len);
		d->csr_sealed = s->sealed[s->n];
		d->csr_sealed_len = o->csr_sealed_len;
	}
	s->n++;
	return 0;
}

/* A notification nobody can send any more: logged, its row deleted. */
static void
drop(struct txn_owed *ow, const struct store_owed *o, const char *why)
{
	struct to_call *c = call_new(ow, ow->gw->store, o, "");

	log_warn("txn_id=%lld profile=%s: owed validator notification dropped: %s",
		 (long long)o->txn_id, o->profile, why);
	if (c != NULL)
		call_finish(c);
}

static void
opened(void *arg, int rc, struct csr *csr)
{
	struct to_call *c = arg;
	struct validator_req vr = {csr, c->prof->cfg->name, c->tid, c->t.peer, c->ow->gw->base, 1};

	c->opening = NULL; /* done */
	c->csr = csr;
	if (rc < 0) {
		if (rc == -SGW_EAUTH)
			drop(c->ow, &c->row, "its stored request cannot be opened");
		call_free(c);
		return;
	}
	(void)call_send(c, c->prof->validator, &vr, c->cert, NULL, NULL);
}

/* Store step: the certificate of a success, then the row claimed. */
static void
claim_work(void *arg)
{
	struct to_call *c = arg;

	c->rc = 0;
	if (c->row.kind == STORE_OWED_SUCCESS)
		c->rc = store_cert_get(c->store, c->prof->issuer, c->t.cert_serial, &c->sc);
	if (c->rc == 0)
		c->rc = store_owed_put(c->store, &c->claim);
}

static void
claim_done(void *arg)
{
	struct to_call *c = arg;
	const char *me = c->claim.owner;
	const unsigned char *p = c->sc.der;
	int r;

	if (c->rc == -SGW_ENOTFOUND) {
		drop(c->ow, &c->row, "its certificate is gone");
		call_free(c);
		return;
	}
	if (c->rc < 0 || (c->row.kind == STORE_OWED_SUCCESS &&
			  (c->cert = d2i_X509(NULL, &p, (long)c->sc.der_len)) == NULL)) {
		call_free(c); /* the next pass tries again */
		return;
	}
	log_info("txn=%s profile=%s: sending the owed validator notification (%s, attempt %d%s%s)",
		 c->tid, c->row.profile, c->row.kind == STORE_OWED_SUCCESS ? "success" : "failure",
		 c->claim.attempts,
		 strcmp(c->row.owner, me) != 0 ? ", taken over from instance " : "",
		 strcmp(c->row.owner, me) != 0 ? c->row.owner : "");
	c->row.attempts = c->claim.attempts;
	snprintf(c->row.owner, sizeof(c->row.owner), "%s", me);
	c->t.csr.sealed = c->sealed; /* lent: txn_csr_open copies it */
	c->t.csr.sealed_len = c->claim.csr_sealed_len;
	r = txn_csr_open(c->ow->gw, c->prof, &c->t, opened, c, &c->opening);
	c->t.csr.sealed = NULL;
	c->t.csr.sealed_len = 0;
	if (r < 0)
		call_free(c);
}

/* Claim row o of transaction t (taken) and send it: the claim makes it this
 * instance's, its next try later, whatever happens to this attempt. */
static void
resume_one(struct txn_owed *ow, struct to_scan *s, size_t i)
{
	const struct store_owed *o = &s->v[i];
	struct profile *prof = profiles_find(ow->gw->profiles, o->profile);
	struct to_call *c;

	if (prof == NULL || !validator_has_notify(prof->validator)) {
		drop(ow, o, "its profile no longer notifies a validator");
		return;
	}
	if (o->csr_sealed == NULL) {
		drop(ow, o, "its request was not recorded");
		return;
	}
	if ((c = call_new(ow, ow->gw->store, o, s->t[i].transaction_id)) == NULL)
		return;
	c->t = s->t[i];
	memset(&s->t[i], 0, sizeof(s->t[i]));
	c->prof = prof;
	profiles_ref(prof->set);
	c->sealed = s->sealed[i];
	s->sealed[i] = NULL;
	c->claim = *o;
	c->claim.csr_sealed = c->sealed;
	snprintf(c->claim.owner, sizeof(c->claim.owner), "%s", s->me);
	c->claim.attempts = o->attempts + 1;
	c->claim.next_try = txn_now(ow->gw) + backoff(c->claim.attempts);
	if (store_exec(ow->gw->store, claim_work, claim_done, c) < 0)
		call_free(c);
}

static int
inflight(const struct txn_owed *ow, int64_t txn_id)
{
	for (const struct to_call *c = ow->calls; c != NULL; c = c->next)
		if (c->row.txn_id == txn_id)
			return 1;
	return 0;
}

static void
scan_work(void *arg)
{
	struct to_scan *s = arg;
	struct store *st = s->ow->gw->store;

	s->rc = store_lease_hold(st, TO_JOB, s->me, s->now, s->ttl, &s->held);
	if (s->rc < 0 || !s->held)
		return;
	s->rc = store_owed_due(st, s->me, s->now, s->now - TO_STALE, TO_MAX, collect, s);
	for (size_t i = 0; i < s->n; i++)
		s->trc[i] = store_txn_get(st, s->v[i].txn_id, &s->t[i]);
}

static void
scan_done(void *arg)
{
	struct to_scan *s = arg;
	struct txn_owed *ow = s->ow;

	ow->scanning = NULL;
	for (size_t i = 0; s->rc == 0 && i < s->n; i++) {
		if (inflight(ow, s->v[i].txn_id))
			continue;
		if (s->trc[i] == -SGW_ENOTFOUND)
			drop(ow, &s->v[i], "its transaction is gone");
		else if (s->trc[i] == 0)
			resume_one(ow, s, i);
	}
	scan_free(s);
}

void
txn_owed_tick(struct txn_owed *ow)
{
	struct gw *gw = ow->gw;
	struct to_scan *s;

	if (gw->draining || ow->scanning != NULL || (s = calloc(1, sizeof(*s))) == NULL)
		return;
	s->ow = ow;
	snprintf(s->me, sizeof(s->me), "%s", store_instance(gw->store));
	s->now = txn_now(gw);
	s->ttl = 3 * ow->period;
	ow->scanning = s;
	if (store_exec(gw->store, scan_work, scan_done, s) < 0) {
		ow->scanning = NULL;
		scan_free(s);
	}
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	txn_owed_tick(arg);
}

struct txn_owed *
txn_owed_new(struct gw *gw, int period)
{
	struct txn_owed *ow = calloc(1, sizeof(*ow));
	struct timeval tv = {period < 1 ? 1 : period, 0};

	if (ow == NULL)
		return NULL;
	ow->gw = gw;
	ow->period = (int)tv.tv_sec;
	ow->timer = event_new(gw->base, -1, EV_PERSIST, on_timer, ow);
	if (ow->timer == NULL || event_add(ow->timer, &tv) != 0) {
		txn_owed_free(ow);
		return NULL;
	}
	return ow;
}

/* After store_drain(): no step of ours runs any more. */
void
txn_owed_free(struct txn_owed *ow)
{
	if (ow == NULL)
		return;
	if (ow->scanning != NULL)
		scan_free(ow->scanning);
	while (ow->calls != NULL)
		call_free(ow->calls);
	if (ow->timer != NULL)
		event_free(ow->timer);
	free(ow);
}
