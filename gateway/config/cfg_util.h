/* cfg_util.h: helpers shared by the schema's section parsers (cfg_schema.c,
 * cfg_profile.c, cfg_admin.c): key paths for messages, enum and range checks. */
#ifndef SGW_CFG_UTIL_H
#define SGW_CFG_UTIL_H

#include <stddef.h>

#include "cfg_node.h"
#include "err.h"

/* "path.key" (or "key" when path is empty) into buf[CFG_PATH_MAX]; returns buf. */
const char *cfg_subpath(char *buf, const char *path, const char *key);
/* "path[i]" into buf[CFG_PATH_MAX]; returns buf. */
const char *cfg_itempath(char *buf, const char *path, size_t i);
/* Fails unless `s` is one of the NULL-terminated `allowed` (the message
 * lists them). */
int cfg_check_enum(const struct cfg_node *n, const char *path, const char *s,
		   const char *const *allowed, const char *what, struct sgw_err *err);
/* Fails unless min <= v <= max; the message points at map's `key`. */
int cfg_check_range(const struct cfg_node *map, const char *path, const char *key, long v, long min,
		    long max, struct sgw_err *err);
/* A mapping with a non-empty scalar `type:`, the registry key of a backend or
 * a validator (`what` for messages); *ret_type borrows it from the tree. */
int cfg_check_typed(const struct cfg_node *n, const char *path, const char *what,
		    const char **ret_type, struct sgw_err *err);
/* *dst = strdup(name), with an "out of memory" error. */
int cfg_set_name(char **dst, const char *name, struct sgw_err *err);

#endif
