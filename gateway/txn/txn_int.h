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
/* Take the messageData that the decode job (txn.c) decrypted on a worker
 * into r->content (and the request's cipher into r->cipher_nid): 0, or -1
 * after replying with the failInfo of the missing or undecryptable
 * envelope. */
int txn_take_content(struct req_ctx *r);

void txn_op_enroll(struct req_ctx *r);	 /* txn_enroll.c: PKCSReq, RenewalReq */
void txn_op_certpoll(struct req_ctx *r); /* txn_poll.c: CertPoll */
void txn_op_getcert(struct req_ctx *r);	 /* txn_getcert.c: GetCert, GetCRL */

#endif
