/* admin.h: the admin API listener (docs/architecture.md, admin API): JSON over HTTPS on its own
 * socket, authenticated by client certificate (mTLS) and/or bearer tokens
 * stored hashed; the NDES-compatible /certsrv/mscep_admin/ page; /metrics. */
#ifndef SGW_ADMIN_H
#define SGW_ADMIN_H

#include "err.h"
#include "gw.h"
#include "txn_admin.h"

struct admin;

/* Loads the credentials and binds the listener (before the privilege drop).
 * *ret is NULL when the configuration has no admin: section. */
int admin_new(struct gw *gw, struct txn_admin *ta, struct admin **ret, struct sgw_err *err);
void admin_free(struct admin *a); /* accepts NULL */

#endif
