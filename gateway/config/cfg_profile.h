/* cfg_profile.h: the scep_profiles section, parsed for cfg_schema.c. */
#ifndef SGW_CFG_PROFILE_H
#define SGW_CFG_PROFILE_H

#include <stddef.h>

#include "cfg.h"
#include "err.h"

/* One scep_profiles entry into `elem` (a struct cfg_scep_profile); a
 * parse_one_fn for cfg_schema.c's each_named(). */
int cfg_profile_parse(struct cfg *c, void *elem, const char *name, const struct cfg_node *n,
		      const char *path, struct sgw_err *err);
void cfg_profiles_free(struct cfg_scep_profile *p, size_t n);

#endif
