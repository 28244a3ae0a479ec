/* admin_trust.h: admin.client_ca holds no CA of a profile (admin_trust.c). */
#ifndef SGW_ADMIN_TRUST_H
#define SGW_ADMIN_TRUST_H

#include "cfg.h"
#include "err.h"
#include "profile.h"

/* -SGW_EINVAL, with the file, the CA and the profile in err's text, when
 * admin.client_ca holds a certificate (or a key) of a profile's CA chain or
 * of its backend's; 0 when it holds none, or without client_ca. */
int admin_trust_check(const struct cfg_admin *c, const struct profile_set *ps, struct sgw_err *err);

#endif
