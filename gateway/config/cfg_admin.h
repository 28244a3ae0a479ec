/* cfg_admin.h: the `admin:` section and an RA profile's `approval:` value,
 * parsed for cfg_schema.c. */
#ifndef SGW_CFG_ADMIN_H
#define SGW_CFG_ADMIN_H

#include "cfg.h"
#include "err.h"

/* The `admin:` mapping (n may be NULL: no admin listener) into c->admin. */
int cfg_admin_parse(struct cfg *c, const struct cfg_node *n, struct sgw_err *err);
void cfg_admin_free(struct cfg_admin *a);
/* An ra_profiles entry's `approval:` value (n may be NULL: auto). */
int cfg_approval_parse(struct cfg_ra_profile *p, const struct cfg_node *n, const char *path,
		       struct sgw_err *err);
void cfg_approval_free(struct cfg_ra_profile *p);

#endif
