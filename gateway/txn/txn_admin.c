/* txn_admin.c: approve / reject / expire, and the backend submission of an
 * approved transaction with no device connection waiting for it: the device
 * gets the certificate on its next CertPoll or re-sent PKCSReq.
 *
 * In a cluster (issue 20) the timer's sweeps run on one instance at a time,
 * the holder of the lease TA_JOB; every instance renews its own lease
 * "instance:<name>" on each tick.  A stranded SUBMITTED transaction is
 * resumed by the instance that wrote it (after its restart), or by the
 * sweep's holder once the writer's lease has expired (it died): never while
 * the writer lives, which may be submitting it right now. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csr.h"
#include "log.h"
#include "metrics.h"
#include "scep_envelope.h"
#include "store_ca.h"
#include "txn.h"
#include "txn_admin.h"
#include "txn_csr.h"
#include "txn_result.h"

#define TA_MAX_ATTEMPTS 3    /* submissions per approval (serial collisions) */
#define TA_STALE_SECONDS 120 /* an approved SUBMITTED one older than this is resubmitted */
#define TA_ANY INT64_MAX     /* resume(): whatever was last written */
#define TA_SWEEP_MAX 512     /* transactions looked at per sweep */
#define TA_MAX_INFLIGHT 256  /* approved submissions waiting for a backend */
#define TA_JOB "txn-sweep"   /* the lease of the sweeps: expiry, resubmission */

struct ta_job {
	struct txn_admin *ta;
	struct profile *prof;	     /* of the generation it holds (prof->set, a reference) */
	struct store_txn t;	     /* owns t.csr.sealed */
	struct txn_csr_job *opening; /* while its CSR is opened (txn_csr.c) */
	struct csr *csr;	     /* the CSR opened, its names approved by the policy: owned */
	int attempts;
	struct timespec t0;
	struct backend_result res; /* the backend's answer, being stored: owned */
	int64_t now;
	int rc;	       /* txn_apply_result()'s */
	char why[200]; /* fail_txn()'s */
	struct ta_job *next;
};

struct txn_admin {
	struct gw *gw;
	struct event *timer;
	struct ta_job *jobs; /* waiting for a backend callback */
	size_t n_jobs;
	int64_t started;	       /* txn_now() when this process started */
	int period;		       /* the timer's, seconds; the leases last 3 periods */
	int sweeper;		       /* this instance held TA_JOB at the last tick */
	struct ta_decision *decisions; /* waiting for a store step */
	struct ta_tick *ticks;	       /* waiting for a store step */
	int ticking;		       /* the timer's tick is one of them */
};

static void
job_unlink_free(struct ta_job *j)
{
	struct ta_job **pp = &j->ta->jobs;

	while (*pp != NULL && *pp != j)
		pp = &(*pp)->next;
	if (*pp == j) {
		*pp = j->next;
		j->ta->n_jobs--;
	}
	txn_csr_cancel(j->opening);
	backend_result_clear(&j->res);
	store_txn_clear(&j->t);
	csr_free(j->csr);
	profiles_unref(j->prof->set);
	free(j);
}

static void job_submit(struct ta_job *j);

/* Store step: the backend's answer into the store (the job holds its
 * profile set: prof->issuer stays). */
static void
result_work(void *arg)
{
	struct ta_job *j = arg;

	j->rc = txn_apply_result(j->ta->gw->store, j->prof->issuer, &j->t, &j->res, j->now);
}

static void
result_done(void *arg)
{
	struct ta_job *j = arg;
	int r = j->rc;

	backend_result_clear(&j->res);
	if (r == -SGW_EEXIST && j->attempts < TA_MAX_ATTEMPTS) {
		log_warn("txn=%s profile=%s: serial already issued by this CA; issuing again",
			 j->t.transaction_id, j->t.profile);
		job_submit(j);
		return;
	}
	if (r < 0)
		log_err("txn=%s profile=%s: cannot store the backend result: %s",
			j->t.transaction_id, j->t.profile, sgw_strerror(r));
	else
		log_info("txn=%s profile=%s: background submission: %s%s%s%s", j->t.transaction_id,
			 j->t.profile, txn_state_name(j->t.state),
			 j->t.cert_serial[0] ? " serial=" : "", j->t.cert_serial,
			 j->t.reason[0] ? " (see reason)" : "");
	job_unlink_free(j);
}

static void
job_done(void *arg, struct backend_result *res)
{
	struct ta_job *j = arg;
	struct txn_admin *ta = j->ta;
	int r;

	metrics_backend(ta->gw->metrics, backend_name(j->prof->backend), (int)res->status, &j->t0);
	txn_log_backend(j->t.transaction_id, j->t.profile, backend_name(j->prof->backend), res,
			&j->t0);
	backend_result_clear(&j->res);
	j->res = *res; /* taken: the step outlives the callback */
	res->cert = NULL;
	res->chain = NULL;
	j->now = txn_now(ta->gw);
	if ((r = store_exec(ta->gw->store, result_work, result_done, j)) < 0) {
		/* shutdown: stays SUBMITTED, resumed by the next process */
		log_err("txn=%s profile=%s: cannot store the backend result: %s",
			j->t.transaction_id, j->t.profile, sgw_strerror(r));
		job_unlink_free(j);
	}
}

static void
job_submit(struct ta_job *j)
{
	struct backend_request br = {
	    .csr_der = j->csr->der,
	    .csr_len = j->csr->der_len,
	    .csr_req = j->csr->req, /* lives until job_done(): j->csr is freed with j */
	    .template = j->prof->ra->template,
	    .profile = j->t.profile,
	    .transaction_id = j->t.transaction_id,
	    /* the names csr_policy_check() approved: a CA issues no other */
	    .san_der = j->csr->san_der,
	    .san_len = j->csr->san_len,
	    .names_approved = 1,
	};

	j->attempts++;
	clock_gettime(CLOCK_MONOTONIC, &j->t0);
	if (backend_submit(j->prof->backend, &br, job_done, j) < 0) {
		/* stays SUBMITTED: the timer tries again after TA_STALE_SECONDS */
		log_err("txn=%s profile=%s: backend refused the approved request",
			j->t.transaction_id, j->t.profile);
		job_unlink_free(j);
	}
}

static int
job_inflight(const struct txn_admin *ta, int64_t id)
{
	for (const struct ta_job *j = ta->jobs; j != NULL; j = j->next)
		if (j->t.id == id)
			return 1;
	return 0;
}

/* The stored CSR opened: submit it.  One that cannot be opened with this RA
 * key (the key changed since) or is not the recorded request never will
 * be: the transaction fails, and the device enrolls again. */
/* A transaction that will never be submitted: FAILED with `why` (the
 * device reads it), so it enrolls again instead of polling for ever. */
static void
fail_row(struct store *s, int64_t now, struct store_txn *t, const char *why)
{
	t->state = TXN_FAILED;
	t->updated = now;
	snprintf(t->reason, sizeof(t->reason), "%.200s; enroll again", why);
	if (store_txn_update(s, t) == 0)
		log_warn("txn=%s profile=%s: failed: %s", t->transaction_id, t->profile, why);
	else
		log_err("txn=%s profile=%s: cannot record the failure", t->transaction_id,
			t->profile);
}

/* Store step: fail_row() on what the job owns (its row, its reason). */
static void
fail_work(void *arg)
{
	struct ta_job *j = arg;

	fail_row(j->ta->gw->store, j->now, &j->t, j->why);
}

static void
fail_done(void *arg)
{
	job_unlink_free(arg);
}

/* j's transaction will never be submitted: FAILED in a store step, then j
 * ends. */
static void
fail_txn(struct ta_job *j, const char *why)
{
	snprintf(j->why, sizeof(j->why), "%s", why);
	j->now = txn_now(j->ta->gw);
	if (store_exec(j->ta->gw->store, fail_work, fail_done, j) < 0)
		job_unlink_free(j); /* shutdown: the next process fails it */
}

/* The stored CSR opened: the CSR policy in force now approves its names
 * (the configuration may have changed since it was recorded), then it is
 * submitted.  One that cannot be opened with this RA key (the key changed
 * since), is not the recorded request, or that the policy now refuses
 * never will be: the transaction fails, and the device enrolls again. */
static void
job_opened(void *arg, int rc, struct csr *csr)
{
	struct ta_job *j = arg;
	struct sgw_err err = {{0}};

	j->opening = NULL; /* done */
	j->csr = csr;
	if (rc == 0) {
		if (csr_policy_check(&j->prof->cfg->csr_policy, j->csr, &err) == 0) {
			job_submit(j);
			return;
		}
		fail_txn(j, err.msg);
		return;
	}
	if (rc == -SGW_EAUTH) {
		fail_txn(j, "stored request unreadable");
		return;
	}
	job_unlink_free(j); /* otherwise the timer tries again */
}

/* Take t (its sealed CSR too) into a background submission. */
static int
job_start(struct txn_admin *ta, struct profile *prof, struct store_txn *t)
{
	struct ta_job *j;
	int r;

	if (t->csr.sealed == NULL || t->csr.sealed_len == 0)
		return -SGW_EINVAL;
	if (ta->n_jobs >= TA_MAX_INFLIGHT || job_inflight(ta, t->id))
		return -SGW_EAGAIN; /* the timer picks it up later */
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -SGW_ENOMEM;
	j->ta = ta;
	j->prof = prof;
	profiles_ref(prof->set);
	j->t = *t;
	t->csr.sealed = NULL;
	t->csr.sealed_len = 0;
	j->next = ta->jobs;
	ta->jobs = j;
	ta->n_jobs++;
	if ((r = txn_csr_open(ta->gw, prof, &j->t, job_opened, j, &j->opening)) < 0)
		job_unlink_free(j);
	return r;
}

/* ---- decisions ----------------------------------------------------------- */

static int
expired(const struct profile *prof, const struct store_txn *t, int64_t now)
{
	return prof != NULL && t->created + prof->ra->pending_ttl <= now;
}

struct id_list {
	int64_t id[TA_SWEEP_MAX];
	size_t n;
};

static int
collect_id(void *arg, const struct store_txn *t)
{
	struct id_list *l = arg;

	if (l->n == TA_SWEEP_MAX)
		return -1;
	l->id[l->n++] = t->id;
	return 0;
}

/* Expire what waited too long, by the profiles of ps; thread-safe (a store
 * step's work, or inline). */
static int
expire_all(struct store *s, struct profile_set *ps, int64_t now)
{
	struct store_txn_filter f = {.state = TXN_AWAITING_APPROVAL, .max = TA_SWEEP_MAX};
	struct id_list *l = calloc(1, sizeof(*l));
	int n = 0;

	if (l == NULL || store_txn_list(s, &f, collect_id, l) < 0)
		goto out;
	for (size_t i = 0; i < l->n; i++) {
		struct store_txn t = {0};
		struct profile *prof;

		if (store_txn_get(s, l->id[i], &t) < 0)
			continue;
		prof = profiles_find(ps, t.profile);
		if (t.state == TXN_AWAITING_APPROVAL && expired(prof, &t, now)) {
			t.state = TXN_EXPIRED;
			t.updated = now;
			snprintf(t.reason, sizeof(t.reason), "not approved within %d s",
				 prof->ra->pending_ttl);
			if (store_txn_decide(s, &t, "-") == 0) {
				log_info("txn=%s profile=%s: expired: %s", t.transaction_id,
					 t.profile, t.reason);
				n++;
			}
		}
		store_txn_clear(&t);
	}
out:
	free(l);
	return n;
}

/* An operator's decision, one store step: what its work reads is copied
 * here or held (the profile set, a reference), so a reload or the admin
 * request going away frees nothing it uses.  On ta->decisions until done;
 * txn_admin_free() frees those the store threads dropped at shutdown. */
struct ta_decision {
	struct txn_admin *ta;
	struct store *store;
	struct profile_set *ps; /* a reference */
	int64_t id, now;
	int state; /* TXN_SUBMITTED or TXN_REJECTED */
	char admin[128];
	char why[200];
	txn_decided_fn done;
	void *arg;
	/* the work's results */
	int rc;
	struct sgw_err err;
	struct profile *prof; /* of ps */
	struct store_txn t;   /* owns t.csr.sealed */
	struct ta_decision *next;
};

static void
decision_free(struct ta_decision *d)
{
	struct ta_decision **pp = &d->ta->decisions;

	while (*pp != NULL && *pp != d)
		pp = &(*pp)->next;
	if (*pp == d)
		*pp = d->next;
	store_txn_clear(&d->t);
	profiles_unref(d->ps);
	free(d);
}

/* Store thread (or inline): load, check, commit the decision, or the expiry
 * of one that waited too long.  No profile set but d->ps is read. */
static void
decision_work(void *arg)
{
	struct ta_decision *d = arg;
	struct store_txn *t = &d->t;
	int r = store_txn_get(d->store, d->id, t);

	if (r == -SGW_ENOTFOUND) {
		d->rc =
		    sgw_err_set(&d->err, SGW_ENOTFOUND, "no transaction %lld", (long long)d->id);
		return;
	}
	if (r < 0) {
		d->rc = sgw_err_set(&d->err, -r, "store failure");
		return;
	}
	d->prof = profiles_find(d->ps, t->profile);
	if (t->state != TXN_AWAITING_APPROVAL) {
		d->rc = sgw_err_set(&d->err, SGW_EEXIST,
				    "transaction %lld is %s, not awaiting approval",
				    (long long)d->id, txn_state_name(t->state));
		return;
	}
	if (d->prof == NULL) {
		d->rc = sgw_err_set(&d->err, SGW_EINVAL, "profile %s is no longer configured",
				    t->profile);
		return;
	}
	if (expired(d->prof, t, d->now)) { /* and what else waited too long */
		(void)expire_all(d->store, d->ps, d->now);
		d->rc =
		    sgw_err_set(&d->err, SGW_EDENIED, "transaction %lld expired", (long long)d->id);
		return;
	}
	t->state = d->state;
	t->updated = d->now;
	snprintf(t->reason, sizeof(t->reason), "%s", d->state == TXN_REJECTED ? d->why : "");
	if ((r = store_txn_decide(d->store, t, d->admin)) < 0) {
		d->rc = sgw_err_set(&d->err, r == -SGW_ENOTFOUND ? SGW_EEXIST : -r, "%s%s",
				    d->state == TXN_REJECTED ? "not rejected: " : "",
				    r == -SGW_ENOTFOUND ? "decided meanwhile" : "store failure");
		return;
	}
	d->rc = 0;
}

/* Loop thread: log, start the approved one's submission, tell the caller. */
static void
decision_done(void *arg)
{
	struct ta_decision *d = arg;
	struct store_txn *t = &d->t;

	if (d->rc == 0 && d->state == TXN_SUBMITTED)
		log_info("txn=%s profile=%s: approved by %s (subject %s)", t->transaction_id,
			 t->profile, d->admin, t->subject);
	else if (d->rc == 0)
		log_info("txn=%s profile=%s: rejected by %s: %s", t->transaction_id, t->profile,
			 d->admin, d->why);
	d->done(d->arg, d->rc, t, &d->err);
	/* committed: the submission is best effort now (the timer retries) */
	if (d->rc == 0 && d->state == TXN_SUBMITTED)
		(void)job_start(d->ta, d->prof, t);
	decision_free(d);
}

static int
decision_start(struct txn_admin *ta, int64_t id, int state, const char *admin, const char *why,
	       txn_decided_fn done, void *arg)
{
	struct ta_decision *d = calloc(1, sizeof(*d));
	int r;

	if (d == NULL)
		return -SGW_ENOMEM;
	*d = (struct ta_decision){.ta = ta,
				  .store = ta->gw->store,
				  .ps = profiles_ref(ta->gw->profiles),
				  .id = id,
				  .now = txn_now(ta->gw),
				  .state = state,
				  .done = done,
				  .arg = arg,
				  .rc = -SGW_EIO,
				  .next = ta->decisions};
	snprintf(d->admin, sizeof(d->admin), "%s", admin);
	snprintf(d->why, sizeof(d->why), "%s", why != NULL ? why : "");
	ta->decisions = d;
	if ((r = store_exec(d->store, decision_work, decision_done, d)) < 0)
		decision_free(d);
	return r;
}

int
txn_approve(struct txn_admin *ta, int64_t id, const char *admin, txn_decided_fn done, void *arg)
{
	return decision_start(ta, id, TXN_SUBMITTED, admin, NULL, done, arg);
}

int
txn_reject(struct txn_admin *ta, int64_t id, const char *admin, const char *reason,
	   txn_decided_fn done, void *arg)
{
	char why[200];

	snprintf(why, sizeof(why), "%s", reason != NULL && reason[0] ? reason : "rejected");
	log_safe(why);
	return decision_start(ta, id, TXN_REJECTED, admin, why, done, arg);
}

int
txn_resend_of_held(struct req_ctx *r)
{
	char who[64];
	int st;

	if (r->msg->msg_type != SCEP_MSG_PKCSREQ && r->msg->msg_type != SCEP_MSG_RENEWALREQ &&
	    r->msg->msg_type != SCEP_MSG_CERTPOLL)
		return 0;
	if (txn_find_existing(r) != 1)
		return 0;
	st = r->txn.state;
	if (st != TXN_AWAITING_APPROVAL && st != TXN_EXPIRED &&
	    store_txn_decider(r->gw->store, r->txn.id, who, sizeof(who)) < 0)
		return 0;
	if (r->msg->envelope != NULL &&
	    scep_envelope_cipher(r->msg->envelope, r->msg->envelope_len, &r->cipher_nid) < 0)
		r->cipher_nid = 0;
	return 1;
}

/* ---- the timer: expiry, and resubmission after a crash ------------------- */

int
txn_expire_pending(struct txn_admin *ta)
{
	return expire_all(ta->gw->store, ta->gw->profiles, txn_now(ta->gw));
}

/* ---- the timer's tick: one store step ---------------------------------------- */

/* A tick: renew the leases, expire, find what to submit again (the store
 * calls, in tick_work()), then start those submissions (tick_done(), on the
 * loop).  Its work reads only what it holds: the profile set (a reference),
 * the ids of the submissions in flight when it started. */
struct ta_tick {
	struct txn_admin *ta;
	struct store *store;
	struct profile_set *ps; /* a reference */
	int64_t now, started, period;
	int first;   /* at start: resume all this instance wrote */
	int64_t one; /* a CertPoll's: only this transaction (no leases, no sweep) */
	int sweeper;
	int64_t inflight[TA_MAX_INFLIGHT];
	size_t n_inflight;
	struct ta_resume {
		struct store_txn t; /* owns t.csr.sealed */
		const char *why;
	} * todo;
	size_t n_todo;
	struct ta_tick *next;
};

static void
tick_free(struct ta_tick *k)
{
	struct ta_tick **pp = &k->ta->ticks;

	for (size_t i = 0; i < k->n_todo; i++)
		store_txn_clear(&k->todo[i].t);
	free(k->todo);
	while (*pp != NULL && *pp != k)
		pp = &(*pp)->next;
	if (*pp == k)
		*pp = k->next;
	if (k->one == 0)
		k->ta->ticking = 0;
	profiles_unref(k->ps);
	free(k);
}

static int
tick_busy(const struct ta_tick *k, int64_t id)
{
	for (size_t i = 0; i < k->n_inflight; i++)
		if (k->inflight[i] == id)
			return 1;
	for (size_t i = 0; i < k->n_todo; i++)
		if (k->todo[i].t.id == id)
			return 1;
	return 0;
}

/* May this instance submit t again?  It wrote t (then only when t was last
 * written no later than `before`), or this instance runs the sweeps and
 * t's writer is dead (its lease "instance:<name>" expired), or nobody
 * knows who wrote it (a row of a version without instances). */
static int
may_resume(struct ta_tick *k, const struct store_txn *t, int64_t before)
{
	const char *me = store_instance(k->store);
	char job[96], holder[128];
	int64_t until = 0;
	int r;

	if (strcmp(t->instance, me) == 0)
		return t->updated <= before;
	if (!k->sweeper)
		return 0;
	if (t->instance[0] == '\0')
		return t->updated <= before;
	snprintf(job, sizeof(job), "instance:%s", t->instance);
	r = store_lease_get(k->store, job, holder, sizeof(holder), &until);
	if (r < 0 && r != -SGW_ENOTFOUND)
		return 0;
	if (r == 0 && until > k->now)
		return 0; /* its writer lives: its work */
	log_warn("txn=%s profile=%s: instance %s took it over from instance %s (no lease since "
		 "%lld)",
		 t->transaction_id, t->profile, me, t->instance, (long long)until);
	return 1;
}

/* Stored transaction t, SUBMITTED, that no job here works on: to submit
 * again (taken into k->todo) if this instance may; FAILED if it never can
 * be (its profile or its stored request is gone). */
static void
resume_one(struct ta_tick *k, struct store_txn *t, int64_t before, const char *why)
{
	struct ta_resume *v;

	if (t->state != TXN_SUBMITTED || !may_resume(k, t, before))
		return;
	if (profiles_find(k->ps, t->profile) == NULL) {
		fail_row(k->store, k->now, t, "its profile is no longer configured");
		return;
	}
	if (t->csr.sealed == NULL || t->csr.sealed_len == 0) {
		fail_row(k->store, k->now, t, "the stored request is missing");
		return;
	}
	if ((v = realloc(k->todo, (k->n_todo + 1) * sizeof(*v))) == NULL)
		return; /* the next tick */
	k->todo = v;
	k->todo[k->n_todo].t = *t;
	k->todo[k->n_todo++].why = why;
	t->csr.sealed = NULL;
	t->csr.sealed_len = 0;
}

/* The SUBMITTED transactions (only those an administrator approved, or
 * all) last written no later than `before`. */
static void
resume(struct ta_tick *k, int approved, int64_t before, const char *why)
{
	struct store_txn_filter f = {
	    .state = TXN_SUBMITTED, .approved = approved, .max = TA_SWEEP_MAX};
	struct id_list *l = calloc(1, sizeof(*l));

	if (l == NULL || store_txn_list(k->store, &f, collect_id, l) < 0) {
		free(l);
		return;
	}
	for (size_t i = 0; i < l->n; i++) {
		struct store_txn t = {0};

		if (tick_busy(k, l->id[i]) || store_txn_get(k->store, l->id[i], &t) < 0)
			continue;
		resume_one(k, &t, before, why);
		store_txn_clear(&t);
	}
	free(l);
}

/* Renew this instance's lease and take (or renew) the sweeps' one. */
static void
leases(struct ta_tick *k)
{
	const char *me = store_instance(k->store);
	char job[96];
	int held = 0;

	snprintf(job, sizeof(job), "instance:%s", me);
	(void)store_lease_hold(k->store, job, me, k->now, 3 * k->period, &held);
	held = 0;
	(void)store_lease_hold(k->store, TA_JOB, me, k->now, 3 * k->period, &held);
	k->sweeper = held;
}

static void
tick_work(void *arg)
{
	struct ta_tick *k = arg;
	struct store_txn t = {0};

	if (k->one != 0) {
		if (store_txn_get(k->store, k->one, &t) == 0)
			resume_one(k, &t, k->started - 1,
				   "interrupted by a restart, asked by CertPoll");
		store_txn_clear(&t);
		return;
	}
	leases(k);
	if (k->sweeper) {
		(void)expire_all(k->store, k->ps, k->now);
		if (!k->first)
			resume(k, 1, k->now - TA_STALE_SECONDS, "approved");
	}
	resume(k, 0, k->first ? TA_ANY : k->started - 1, "interrupted by a restart");
}

static void
tick_done(void *arg)
{
	struct ta_tick *k = arg;
	struct txn_admin *ta = k->ta;

	ta->sweeper = k->sweeper;
	for (size_t i = 0; i < k->n_todo; i++) {
		struct store_txn *t = &k->todo[i].t;
		struct profile *prof = profiles_find(k->ps, t->profile);

		if (prof == NULL || job_inflight(ta, t->id))
			continue;
		log_info("txn=%s profile=%s: submitting again (%s)", t->transaction_id, t->profile,
			 k->todo[i].why);
		(void)job_start(ta, prof, t); /* not started: the next tick */
	}
	tick_free(k);
}

/* The timer's tick (one at a time: one still waiting for the store skips
 * this one), or a CertPoll's for transaction one. */
static void
tick_start(struct txn_admin *ta, int first, int64_t one)
{
	struct ta_tick *k;

	if ((one == 0 && ta->ticking) || (k = calloc(1, sizeof(*k))) == NULL)
		return;
	*k = (struct ta_tick){.ta = ta,
			      .store = ta->gw->store,
			      .ps = profiles_ref(ta->gw->profiles),
			      .now = txn_now(ta->gw),
			      .started = ta->started,
			      .period = ta->period,
			      .first = first,
			      .one = one,
			      .sweeper = ta->sweeper,
			      .next = ta->ticks};
	for (const struct ta_job *j = ta->jobs; j != NULL && k->n_inflight < TA_MAX_INFLIGHT;
	     j = j->next)
		k->inflight[k->n_inflight++] = j->t.id;
	ta->ticks = k;
	ta->ticking |= one == 0;
	if (store_exec(k->store, tick_work, tick_done, k) < 0)
		tick_free(k);
}

int
txn_resume_stranded(struct txn_admin *ta, int64_t id)
{
	if (ta != NULL && id > 0 && !job_inflight(ta, id))
		tick_start(ta, 0, id);
	return 0;
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct txn_admin *ta = arg;

	(void)fd;
	(void)what;
	if (ta->gw->draining)
		return;
	tick_start(ta, 0, 0);
}

struct txn_admin *
txn_admin_new(struct gw *gw)
{
	struct txn_admin *ta = calloc(1, sizeof(*ta));
	struct timeval tv = {60, 0};

	if (ta == NULL)
		return NULL;
	ta->gw = gw;
	/* the sweep runs at least 4 times per shortest pending_ttl (1 s .. 60 s) */
	for (size_t i = 0; i < gw->profiles->n; i++) {
		long q = gw->profiles->v[i].ra->pending_ttl / 4;

		if (q < tv.tv_sec)
			tv.tv_sec = q < 1 ? 1 : q;
	}
	ta->period = (int)tv.tv_sec;
	ta->timer = event_new(gw->base, -1, EV_PERSIST, on_timer, ta);
	if (ta->timer == NULL || event_add(ta->timer, &tv) != 0) {
		txn_admin_free(ta);
		return NULL;
	}
	/* nothing is in flight yet: every SUBMITTED transaction this instance
	 * wrote was left by a process that stopped between its SUBMITTED and
	 * result commits */
	ta->started = txn_now(gw);
	tick_start(ta, 1, 0);
	return ta;
}

int
txn_admin_period(const struct txn_admin *ta)
{
	return ta->period;
}

void
txn_admin_free(struct txn_admin *ta)
{
	if (ta == NULL)
		return;
	while (ta->jobs != NULL)
		job_unlink_free(ta->jobs);
	while (ta->decisions != NULL) /* dropped by the store threads at shutdown */
		decision_free(ta->decisions);
	while (ta->ticks != NULL)
		tick_free(ta->ticks);
	if (ta->timer != NULL)
		event_free(ta->timer);
	free(ta);
}
