/* txn_enroll.h: PKCSReq and RenewalReq (txn_enroll.c). */
#ifndef SGW_TXN_ENROLL_H
#define SGW_TXN_ENROLL_H

#include "scep_req.h"

/* A decoded PKCSReq or RenewalReq: answered from its stored transaction, or
 * authorized, recorded and submitted to the backend. */
void txn_op_enroll(struct req_ctx *r);

#endif
