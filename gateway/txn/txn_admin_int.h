/* txn_admin_int.h: what the approval engine's files share (private to
 * gateway/txn/): txn_admin.c (decisions, expiry, the timer), txn_submit.c
 * (the background submission of a transaction to its backend) and
 * txn_sweep.c (the timer's tick: leases, expiry, resubmission).  Loop
 * thread, except where a comment says a store step's work. */
#ifndef SGW_TXN_ADMIN_INT_H
#define SGW_TXN_ADMIN_INT_H

#include "txn_admin.h"

#define TA_SWEEP_MAX 512    /* transactions looked at per sweep */
#define TA_MAX_INFLIGHT 256 /* approved submissions waiting for a backend */

struct ta_job;
struct ta_decision;
struct ta_tick;

struct txn_admin {
	struct gw *gw;
	struct event *timer;
	struct ta_job *jobs; /* waiting for a backend callback */
	size_t n_jobs;
	int64_t started;	       /* txn_now() when this process started */
	int period;		       /* the timer's, seconds; the leases last 3 periods */
	int sweeper;		       /* this instance held the sweeps' lease at the last tick */
	struct ta_decision *decisions; /* waiting for a store step */
	struct ta_tick *ticks;	       /* waiting for a store step */
	int first_pending;	       /* the start-up resume has not read the store yet (down) */
	int ticking;		       /* the timer's tick is one of them */
};

/* A list of transaction ids (txn_sweep.c's ta_collect_id(), a store_txn_list()
 * callback). */
struct ta_id_list {
	int64_t id[TA_SWEEP_MAX];
	size_t n;
};
int ta_collect_id(void *arg, const struct store_txn *t);

/* txn_sweep.c: has t waited longer than its profile's pending_ttl? */
int ta_expired(const struct profile *prof, const struct store_txn *t, int64_t now);
/* txn_sweep.c: expire what waited too long, by the profiles of ps; a store
 * step's work (or inline).  Returns the count. */
int ta_expire_all(struct store *s, struct profile_set *ps, int64_t now);

/* txn_submit.c: take t (its sealed CSR too) into a background submission
 * (-SGW_EAGAIN: too many, or t is in one already: the timer tries later). */
int ta_submit_start(struct txn_admin *ta, struct profile *prof, struct store_txn *t);
int ta_submit_inflight(const struct txn_admin *ta, int64_t id);
/* The ids of the submissions in flight, at most max. */
size_t ta_submit_ids(const struct txn_admin *ta, int64_t *ids, size_t max);
void ta_submit_free_all(struct txn_admin *ta);
/* A transaction that will never be submitted: FAILED with `why` (the device
 * reads it), so it enrolls again.  A store step's work. */
void ta_fail_row(struct store *s, int64_t now, struct store_txn *t, const char *why);

/* txn_sweep.c: the timer's tick (one at a time), or a CertPoll's for
 * transaction one (first: at start, resume all this instance wrote). */
void ta_tick_start(struct txn_admin *ta, int first, int64_t one);
void ta_tick_free_all(struct txn_admin *ta);

#endif
