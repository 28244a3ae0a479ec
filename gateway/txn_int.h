/* txn_int.h: shared between the txn*.c files (PKIOperation processing). */
#ifndef SGW_TXN_INT_H
#define SGW_TXN_INT_H

#include <stdint.h>

#include "scep_req.h"
#include "txn.h"

#define TXN_MAX_ATTEMPTS 3    /* backend submissions per request (serial collisions) */
#define TXN_STALE_SECONDS 120 /* an in-progress transaction older than this is retried */

int64_t txn_now(void);
/* 1 when (profile, transactionID, signer key) has a transaction (loaded into
 * r->txn), 0 when not, < 0 on a store error. */
int txn_find_existing(struct req_ctx *r);
/* Answer from r->txn's stored state: the certificate, PENDING or FAILURE. */
void txn_reply_from_state(struct req_ctx *r);
/* Decrypt r->msg's envelope on a worker into r->content, then run `then` on
 * the loop; on failure reply with the matching failInfo instead. */
void txn_decrypt(struct req_ctx *r, void (*then)(struct req_ctx *r));

void txn_op_enroll(struct req_ctx *r);	 /* txn_enroll.c: PKCSReq, RenewalReq */
void txn_op_certpoll(struct req_ctx *r); /* txn_poll.c: CertPoll */
void txn_op_getcert(struct req_ctx *r);	 /* txn_getcert.c: GetCert, GetCRL */

#endif
