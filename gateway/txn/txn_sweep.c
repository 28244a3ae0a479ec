/* txn_sweep.c: the timer's tick of the approval engine, one store step.
 *
 * In a cluster (issue 20) the sweeps (expiry, resubmission of approved
 * requests whose submission stalled) run on one instance at a time, the
 * holder of the lease TA_JOB; every instance renews its own lease
 * "instance:<name>" on each tick.  A stranded SUBMITTED transaction is
 * resumed by the instance that wrote it (after its restart), or by the
 * sweep's holder once the writer's lease has expired (it died): never while
 * the writer lives, which may be submitting it right now. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_ca.h"
#include "txn.h"
#include "txn_admin_int.h"

#define TA_STALE_SECONDS 120 /* an approved SUBMITTED one older than this is resubmitted */
#define TA_ANY INT64_MAX     /* resume(): whatever was last written */
#define TA_JOB "txn-sweep"   /* the lease of the sweeps: expiry, resubmission */

/* ---- expiry ------------------------------------------------------------- */

int
ta_expired(const struct profile *prof, const struct store_txn *t, int64_t now)
{
	return prof != NULL && t->created + prof->ra->pending_ttl <= now;
}

int
ta_collect_id(void *arg, const struct store_txn *t)
{
	struct ta_id_list *l = arg;

	if (l->n == TA_SWEEP_MAX)
		return -1;
	l->id[l->n++] = t->id;
	return 0;
}

int
ta_expire_all(struct store *s, struct profile_set *ps, int64_t now)
{
	struct store_txn_filter f = {.state = TXN_AWAITING_APPROVAL, .max = TA_SWEEP_MAX};
	struct ta_id_list *l = calloc(1, sizeof(*l));
	int n = 0;

	if (l == NULL || store_txn_list(s, &f, ta_collect_id, l) < 0)
		goto out;
	for (size_t i = 0; i < l->n; i++) {
		struct store_txn t = {0};
		struct profile *prof;

		if (store_txn_get(s, l->id[i], &t) < 0)
			continue;
		prof = profiles_find(ps, t.profile);
		if (t.state == TXN_AWAITING_APPROVAL && ta_expired(prof, &t, now)) {
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

/* ---- the tick ------------------------------------------------------------ */

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
	int resumed; /* the resume's list was read (first: done) */
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
		ta_fail_row(k->store, k->now, t, "its profile is no longer configured");
		return;
	}
	if (t->csr.sealed == NULL || t->csr.sealed_len == 0) {
		ta_fail_row(k->store, k->now, t, "the stored request is missing");
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
 * all) last written no later than `before`; < 0 when the store could not
 * list them (unavailable). */
static int
resume(struct ta_tick *k, int approved, int64_t before, const char *why)
{
	struct store_txn_filter f = {
	    .state = TXN_SUBMITTED, .approved = approved, .max = TA_SWEEP_MAX};
	struct ta_id_list *l = calloc(1, sizeof(*l));

	int r = l == NULL ? -SGW_ENOMEM : store_txn_list(k->store, &f, ta_collect_id, l);

	if (r < 0) {
		free(l);
		return r;
	}
	for (size_t i = 0; i < l->n; i++) {
		struct store_txn t = {0};

		if (tick_busy(k, l->id[i]) || store_txn_get(k->store, l->id[i], &t) < 0)
			continue;
		resume_one(k, &t, before, why);
		store_txn_clear(&t);
	}
	free(l);
	return 0;
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
		(void)ta_expire_all(k->store, k->ps, k->now);
		if (!k->first)
			resume(k, 1, k->now - TA_STALE_SECONDS, "approved");
	}
	k->resumed =
	    resume(k, 0, k->first ? TA_ANY : k->started - 1, "interrupted by a restart") == 0;
}

static void
tick_done(void *arg)
{
	struct ta_tick *k = arg;
	struct txn_admin *ta = k->ta;

	ta->sweeper = k->sweeper;
	if (k->first && k->resumed)
		ta->first_pending = 0; /* else the next tick resumes all again */
	for (size_t i = 0; i < k->n_todo; i++) {
		struct store_txn *t = &k->todo[i].t;
		struct profile *prof = profiles_find(k->ps, t->profile);

		if (prof == NULL || ta_submit_inflight(ta, t->id))
			continue;
		log_info("txn=%s profile=%s: submitting again (%s)", t->transaction_id, t->profile,
			 k->todo[i].why);
		(void)ta_submit_start(ta, prof, t); /* not started: the next tick */
	}
	tick_free(k);
}

/* One still waiting for the store skips the timer's next tick. */
void
ta_tick_start(struct txn_admin *ta, int first, int64_t one)
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
			      .first = one == 0 && (first || ta->first_pending),
			      .one = one,
			      .sweeper = ta->sweeper,
			      .next = ta->ticks};
	k->n_inflight = ta_submit_ids(ta, k->inflight, TA_MAX_INFLIGHT);
	ta->ticks = k;
	ta->ticking |= one == 0;
	if (first)
		ta->first_pending = 1;
	if (store_exec(k->store, tick_work, tick_done, k) < 0)
		tick_free(k);
}

int
txn_resume_stranded(struct txn_admin *ta, int64_t id)
{
	if (ta != NULL && id > 0 && !ta_submit_inflight(ta, id))
		ta_tick_start(ta, 0, id);
	return 0;
}

void
ta_tick_free_all(struct txn_admin *ta)
{
	while (ta->ticks != NULL)
		tick_free(ta->ticks);
}
