/* txn_pkiop.h: the PKIOperation entry (txn_pkiop.c), called by the SCEP
 * HTTP surface (scep_http.c) once the message body is taken. */
#ifndef SGW_TXN_PKIOP_H
#define SGW_TXN_PKIOP_H

#include "scep_req.h"

/* Decode r->body (owned by r from now) on a worker, check it on the loop
 * (signingTime, senderNonce replay) and hand it to the operation's file:
 * txn_enroll.c, txn_poll.c or txn_getcert.c.  r ends through req_end(). */
void txn_pkioperation(struct req_ctx *r);

#endif
