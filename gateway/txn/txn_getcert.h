/* txn_getcert.h: GetCert and GetCRL (txn_getcert.c). */
#ifndef SGW_TXN_GETCERT_H
#define SGW_TXN_GETCERT_H

#include "scep_req.h"

/* A decoded GetCert (from the store) or GetCRL (from the backend). */
void txn_op_getcert(struct req_ctx *r);

#endif
