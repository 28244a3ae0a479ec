/* cfg_util.c: helpers of the schema's section parsers (cfg_util.h), below
 * cfg_schema.c and the sections it calls (cfg_profile.c, cfg_admin.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_util.h"

const char *
cfg_subpath(char *buf, const char *path, const char *key)
{
	if (snprintf(buf, CFG_PATH_MAX, "%s%s%s", path, path[0] != '\0' ? "." : "", key) < 0)
		buf[0] = '\0';
	return buf;
}

const char *
cfg_itempath(char *buf, const char *path, size_t i)
{
	if (snprintf(buf, CFG_PATH_MAX, "%s[%zu]", path, i) < 0)
		buf[0] = '\0';
	return buf;
}

int
cfg_check_enum(const struct cfg_node *n, const char *path, const char *s,
	       const char *const *allowed, const char *what, struct sgw_err *err)
{
	char list[256] = "";
	size_t len = 0;

	for (const char *const *a = allowed; *a != NULL; a++)
		if (strcmp(s, *a) == 0)
			return 0;
	for (const char *const *a = allowed; *a != NULL && len < sizeof(list); a++)
		len +=
		    (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", len ? ", " : "", *a);
	return cfg_err(err, SGW_EINVAL, n, path, "unknown %s '%s' (one of: %s)", what, s, list);
}

int
cfg_check_range(const struct cfg_node *map, const char *path, const char *key, long v, long min,
		long max, struct sgw_err *err)
{
	const struct cfg_node *n = cfg_node_get(map, key);
	char sub[CFG_PATH_MAX];

	if (v >= min && v <= max)
		return 0;
	return cfg_err(err, SGW_EINVAL, n != NULL ? n : map, cfg_subpath(sub, path, key),
		       "must be between %ld and %ld", min, max);
}

int
cfg_check_typed(const struct cfg_node *n, const char *path, const char *what, const char **ret_type,
		struct sgw_err *err)
{
	const struct cfg_node *type = cfg_node_get(n, "type");
	char sub[CFG_PATH_MAX];

	if (cfg_node_type(n) != CFG_NODE_MAP)
		return cfg_err(err, SGW_EINVAL, n, path, "expected a mapping");
	cfg_subpath(sub, path, "type");
	if (type == NULL)
		return cfg_err(err, SGW_EINVAL, n, sub, "missing required key");
	if (cfg_node_scalar(type) == NULL || cfg_node_scalar(type)[0] == '\0')
		return cfg_err(err, SGW_EINVAL, type, sub, "expected a %s type", what);
	*ret_type = cfg_node_scalar(type);
	return 0;
}

int
cfg_set_name(char **dst, const char *name, struct sgw_err *err)
{
	*dst = strdup(name);
	return *dst == NULL ? sgw_err_set(err, SGW_ENOMEM, "out of memory") : 0;
}
