/* cfg_int.h: private to the cfg module, not for other modules.
 *
 * The node tree layout is shared by cfg_yaml.c, which builds it, and cfg.c,
 * whose table-driven parser walks it; everyone else uses the cfg_node_*()
 * getters.  The schema helpers live in cfg_schema.c and are shared with
 * cfg_profile.c (the scep_profiles section). */
#ifndef SGW_CFG_INT_H
#define SGW_CFG_INT_H

#include <stddef.h>

#include "cfg.h"
#include "err.h"

/* Size of every buffer that holds a dotted key path ("a.b[2].c"). */
#define CFG_PATH_MAX 256

/* ---- node tree (cfg_yaml.c) ---------------------------------------------- */

struct cfg_node {
	enum cfg_node_type type;
	int line;
	const char *file; /* owned by the root (owns_file) */
	int owns_file;
	char *scalar;
	size_t n;
	struct cfg_node **keys;	 /* map: scalar key nodes */
	struct cfg_node **items; /* map values or sequence items */
};

/* ---- schema helpers (cfg_schema.c) --------------------------------------- */

/* "path.key" (or "key" when path is empty) into buf[CFG_PATH_MAX]; returns buf. */
const char *cfg_subpath(char *buf, const char *path, const char *key);
/* "path[i]" into buf[CFG_PATH_MAX]; returns buf. */
const char *cfg_itempath(char *buf, const char *path, size_t i);
/* Fails unless `s` is one of the NULL-terminated `allowed`. */
int cfg_check_enum(const struct cfg_node *n, const char *path, const char *s,
		   const char *const *allowed, const char *what, struct sgw_err *err);
/* Fails unless min <= v <= max; the message points at map's `key`. */
int cfg_check_range(const struct cfg_node *map, const char *path, const char *key, long v, long min,
		    long max, struct sgw_err *err);
/* *dst = strdup(name), with an "out of memory" error. */
int cfg_set_name(char **dst, const char *name, struct sgw_err *err);

/* ---- admin, approval (cfg_admin.c) ---------------------------------------- */

/* The `admin:` mapping (n may be NULL: no admin listener) into c->admin. */
int cfg_admin_parse(struct cfg *c, const struct cfg_node *n, struct sgw_err *err);
void cfg_admin_free(struct cfg_admin *a);
/* An ra_profiles entry's `approval:` value (n may be NULL: auto). */
int cfg_approval_parse(struct cfg_ra_profile *p, const struct cfg_node *n, const char *path,
		       struct sgw_err *err);
void cfg_approval_free(struct cfg_ra_profile *p);

/* ---- scep_profiles (cfg_profile.c) --------------------------------------- */

/* One scep_profiles entry into `elem` (a struct cfg_scep_profile); a
 * parse_one_fn for each_named(). */
int cfg_profile_parse(struct cfg *c, void *elem, const char *name, const struct cfg_node *n,
		      const char *path, struct sgw_err *err);
void cfg_profiles_free(struct cfg_scep_profile *p, size_t n);

#endif
