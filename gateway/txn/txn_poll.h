/* txn_poll.h: CertPoll, also called GetCertInitial (txn_poll.c). */
#ifndef SGW_TXN_POLL_H
#define SGW_TXN_POLL_H

#include "scep_req.h"

/* A decoded CertPoll: the stored transaction's state, after asking a backend
 * that is still working. */
void txn_op_certpoll(struct req_ctx *r);

#endif
