/* txn.h: what the operations of a PKIOperation (txn_enroll.c, txn_poll.c,
 * txn_getcert.c, txn_admin.c) share, one level below them and below the
 * entry (txn_pkiop.c): the clock, the lookup of a request's stored
 * transaction, the answer from its state and the envelope's content
 * (txn.c).  Loop thread only. */
#ifndef SGW_TXN_H
#define SGW_TXN_H

#include <stdint.h>

#include "scep_req.h"

/* The wall clock (gw->now): seconds since the epoch. */
int64_t txn_now(const struct gw *gw);

/* One store step of r (store_exec(), store.h): r->st.now = txn_now(), then
 * work(r), on a store thread when the store may block, and done(r) on the
 * loop thread, inline otherwise.  work makes plain store_* calls and writes
 * only r (its results in r->st); r stays owned by the flow, which continues
 * in done.  When the store threads stopped (shutdown), r ends with 503. */
void txn_step(struct req_ctx *r, store_step_fn work, store_step_fn done);

/* Store the backend's result res for r->txn (txn_apply_result()) in a
 * store step: res is taken (into r->st.res: its certificate and chain are
 * r's now, the backend clears the rest), then done(r) on the loop with
 * r->st.rc. */
void txn_step_result(struct req_ctx *r, struct backend_result *res, store_step_fn done);

/* End r after a store call failed with ret (`what` names it): 503 with a
 * Retry-After and "store unavailable" for -SGW_EUNAVAIL (the database is
 * unreachable: never a CertRep), else 500 "store failure". */
void txn_store_failed(struct req_ctx *r, int ret, const char *what);

/* What a backend is asked to issue for csr, as prof's RA profile says: the
 * names csr_policy_check() approved in csr (a CA issues no other), prof's
 * template and name.  Every pointer is borrowed from csr, prof and
 * transaction_id: csr (csr_req) lives until the backend's callback. */
struct backend_request txn_backend_request(const struct csr *csr, const struct profile *prof,
					   const char *transaction_id);

/* 1 when (profile, transactionID, signer key) has a transaction (loaded into
 * r->txn), 0 when not, < 0 on a store error. */
int txn_find_existing(struct req_ctx *r);

/* End r with the answer from r->txn's stored state: the certificate,
 * PENDING or FAILURE. */
void txn_reply_from_state(struct req_ctx *r);

/* Take the messageData that the decode job (txn_pkiop.c) decrypted on a
 * worker into r->content (and the request's cipher into r->cipher_nid): 0,
 * or -1 after ending r with the failInfo of the missing or undecryptable
 * envelope. */
int txn_take_content(struct req_ctx *r);

#endif
