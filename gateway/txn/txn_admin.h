/* txn_admin.h: an operator's decisions on transactions awaiting approval
 * (admin API), the expiry of those nobody decided on, and the background
 * submission of approved ones to the backend.  Called on the loop thread. */
#ifndef SGW_TXN_ADMIN_H
#define SGW_TXN_ADMIN_H

#include "gw.h"

struct txn_admin;
struct req_ctx;

/* Starts the expiry / resume timer and submits again every transaction a
 * previous process left in SUBMITTED (kill -9 between the SUBMITTED and the
 * result commits, approved or not); the timer takes those it could not start
 * yet, and approved ones whose submission stalled.  One whose profile or
 * stored request is gone becomes FAILED, so its device enrolls again. */
struct txn_admin *txn_admin_new(struct gw *gw);
/* Frees jobs still waiting for a backend: call after the backends stopped. */
void txn_admin_free(struct txn_admin *ta);
/* The timer's period in seconds (the leases last 3). */
int txn_admin_period(const struct txn_admin *ta);

/* An operator's decision, one store step (store_exec()): done(arg, rc, t,
 * err) runs later on the loop thread (at once with an inline store) with
 * t the transaction as decided (borrowed), rc 0 or -SGW_ENOTFOUND (no such
 * transaction), -SGW_EEXIST (not awaiting approval, or decided meanwhile),
 * -SGW_EDENIED (expired: now EXPIRED), -SGW_EINVAL (its profile is gone),
 * a store error; err says why.  Returns 0, or < 0 when the step cannot
 * start (shutdown): done is not called.  A step the store threads drop at
 * shutdown never calls done: arg must be freed by its owner then. */
typedef void (*txn_decided_fn)(void *arg, int rc, const struct store_txn *t,
			       const struct sgw_err *err);
/* AWAITING_APPROVAL -> SUBMITTED, committed before done runs, then submitted
 * to the backend in the background. */
int txn_approve(struct txn_admin *ta, int64_t id, const char *admin, txn_decided_fn done,
		void *arg);
/* AWAITING_APPROVAL -> REJECTED with the operator's reason (shown to the device). */
int txn_reject(struct txn_admin *ta, int64_t id, const char *admin, const char *reason,
	       txn_decided_fn done, void *arg);
/* Expire what waited longer than its RA profile's pending_ttl; returns the count. */
int txn_expire_pending(struct txn_admin *ta);

/* CertPoll on transaction id: if it is SUBMITTED, was last written before
 * this process started and nothing here works on it, submit it again now. */
int txn_resume_stranded(struct txn_admin *ta, int64_t id);

/* A replayed senderNonce (micromdm scepclient re-sends the very same bytes
 * every 30 s while PENDING): 1 when r's transaction was held for approval,
 * so the re-send is answered from its stored state (loaded into r->txn);
 * 0 when the replay is to be refused. */
int txn_resend_of_held(struct req_ctx *r);

#endif
