/* txn_owed.h: the validator notifications still owed (issue 20): Intune's
 * success/failureNotification after a request it validated was issued or
 * failed.  The row (store.h struct store_owed) is committed before the
 * notification is sent and before the device's reply; it is deleted once
 * the validator confirmed it.  A notification refused or never answered is
 * sent again, with backoff, by the periodic job under the cluster lease
 * "notify-outbox": this instance's rows, and any instance's whose lease
 * "instance:<name>" expired (it died) or older than TO_STALE seconds; the
 * request is rebuilt from the store (the CSR sealed in the row, the
 * certificate by the transaction's serial).  Loop thread only. */
#ifndef SGW_TXN_OWED_H
#define SGW_TXN_OWED_H

#include "scep_req.h"
#include "validator.h"

#define TO_JOB "notify-outbox"
#define TO_STALE 600 /* seconds: a row this old is anyone's */

struct txn_owed;

/* The job, ticking every `period` seconds (>= 1); NULL without memory. */
struct txn_owed *txn_owed_new(struct gw *gw, int period);
/* Calls still in flight are dropped (their rows stay owed). */
void txn_owed_free(struct txn_owed *ow);
/* One pass of the job now (the timer's; the tests'). */
void txn_owed_tick(struct txn_owed *ow);

/* The request path, once res (ISSUED, REJECTED, FAILED) is committed for r:
 * when r's validator notifies, record r->owed in a store step, then send
 * it.  done(r) follows on the loop when the reply may go (after the
 * notification when the validator makes the reply wait); nothing to notify:
 * done(r) at once. */
void txn_owed_notify(struct req_ctx *r, const struct backend_result *res,
		     void (*done)(struct req_ctx *r));

#endif
