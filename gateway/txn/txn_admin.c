/* txn_admin.c: an operator's approval or rejection, each one store step,
 * the expiry of what nobody decided on, and the timer that runs the sweeps
 * (txn_sweep.c); an approved transaction is submitted in the background
 * (txn_submit.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "scep_envelope.h"
#include "txn.h"
#include "txn_admin_int.h"

/* ---- decisions ----------------------------------------------------------- */

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
	if (ta_expired(d->prof, t, d->now)) { /* and what else waited too long */
		(void)ta_expire_all(d->store, d->ps, d->now);
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
		(void)ta_submit_start(d->ta, d->prof, t);
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

int
txn_expire_pending(struct txn_admin *ta)
{
	return ta_expire_all(ta->gw->store, ta->gw->profiles, txn_now(ta->gw));
}

/* ---- the timer ------------------------------------------------------------ */

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct txn_admin *ta = arg;

	(void)fd;
	(void)what;
	if (ta->gw->draining)
		return;
	ta_tick_start(ta, 0, 0);
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
	ta_tick_start(ta, 1, 0);
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
	ta_submit_free_all(ta);
	while (ta->decisions != NULL) /* dropped by the store threads at shutdown */
		decision_free(ta->decisions);
	ta_tick_free_all(ta);
	if (ta->timer != NULL)
		event_free(ta->timer);
	free(ta);
}
