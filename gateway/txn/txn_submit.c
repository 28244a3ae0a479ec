/* txn_submit.c: the backend submission of an approved transaction with
 * no device connection waiting for it (an operator's approval, or the
 * timer resuming one a crash left SUBMITTED): the device gets the
 * certificate on its next CertPoll or re-sent PKCSReq.  The stored CSR is
 * opened on a worker (txn_csr.c), checked against the CSR policy in force,
 * submitted; the result, or the failure of one that never can be
 * submitted, is stored in a store step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csr.h"
#include "log.h"
#include "metrics.h"
#include "txn.h"
#include "txn_admin_int.h"
#include "txn_csr.h"
#include "txn_result.h"

#define TA_MAX_ATTEMPTS 3 /* submissions per approval (serial collisions) */

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
	/* j->csr lives until job_done(): it is freed with j */
	struct backend_request br = txn_backend_request(j->csr, j->prof, j->t.transaction_id);

	j->attempts++;
	clock_gettime(CLOCK_MONOTONIC, &j->t0);
	if (backend_submit(j->prof->backend, &br, job_done, j) < 0) {
		/* stays SUBMITTED: the timer tries again later (txn_sweep.c) */
		log_err("txn=%s profile=%s: backend refused the approved request",
			j->t.transaction_id, j->t.profile);
		job_unlink_free(j);
	}
}

int
ta_submit_inflight(const struct txn_admin *ta, int64_t id)
{
	for (const struct ta_job *j = ta->jobs; j != NULL; j = j->next)
		if (j->t.id == id)
			return 1;
	return 0;
}

void
ta_fail_row(struct store *s, int64_t now, struct store_txn *t, const char *why)
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

/* Store step: ta_fail_row() on what the job owns (its row, its reason). */
static void
fail_work(void *arg)
{
	struct ta_job *j = arg;

	ta_fail_row(j->ta->gw->store, j->now, &j->t, j->why);
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
	snprintf(j->why, sizeof(j->why), "%.*s", (int)sizeof(j->why) - 1, why);
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

int
ta_submit_start(struct txn_admin *ta, struct profile *prof, struct store_txn *t)
{
	struct ta_job *j;
	int r;

	if (t->csr.sealed == NULL || t->csr.sealed_len == 0)
		return -SGW_EINVAL;
	if (ta->n_jobs >= TA_MAX_INFLIGHT || ta_submit_inflight(ta, t->id))
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

size_t
ta_submit_ids(const struct txn_admin *ta, int64_t *ids, size_t max)
{
	size_t n = 0;

	for (const struct ta_job *j = ta->jobs; j != NULL && n < max; j = j->next)
		ids[n++] = j->t.id;
	return n;
}

void
ta_submit_free_all(struct txn_admin *ta)
{
	while (ta->jobs != NULL)
		job_unlink_free(ta->jobs);
}
