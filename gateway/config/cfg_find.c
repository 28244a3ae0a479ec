/* cfg_find.c: the lookups by name in a parsed config (cfg.h), used by the
 * section parsers for cross references and by the daemon. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cfg.h"

/* Every named element starts with `char *name`; unset ones (after a failed
 * parse) are NULL and skipped. */
static const void *
find_named(const void *arr, size_t count, size_t size, const char *key)
{
	for (size_t i = 0; arr != NULL && key != NULL && i < count; i++) {
		const char *const *name = (const void *)((const char *)arr + i * size);

		if (*name != NULL && strcmp(*name, key) == 0)
			return name;
	}
	return NULL;
}

const struct cfg_scep_profile *
cfg_scep_profile_find(const struct cfg *c, const char *name)
{
	return c == NULL ? NULL
			 : find_named(c->scep_profiles, c->n_scep_profiles,
				      sizeof(*c->scep_profiles), name);
}

const struct cfg_ra_profile *
cfg_ra_profile_find(const struct cfg *c, const char *name)
{
	return c == NULL
		   ? NULL
		   : find_named(c->ra_profiles, c->n_ra_profiles, sizeof(*c->ra_profiles), name);
}

const struct cfg_ra_identity *
cfg_ra_identity_find(const struct cfg *c, const char *name)
{
	return c == NULL ? NULL
			 : find_named(c->ra_identities, c->n_ra_identities,
				      sizeof(*c->ra_identities), name);
}

const struct cfg_backend *
cfg_backend_find(const struct cfg *c, const char *name)
{
	return c == NULL ? NULL
			 : find_named(c->backends, c->n_backends, sizeof(*c->backends), name);
}

const struct cfg_node *
cfg_node_at(const struct cfg *c, const char *section, const char *name, const char *keys)
{
	const struct cfg_node *n = cfg_node_get(cfg_node_get(c->root, section), name), *k = n;
	char part[64];

	for (const char *p = keys; k != NULL && p != NULL && *p != '\0';) {
		size_t len = strcspn(p, ".");

		snprintf(part, sizeof(part), "%.*s", (int)len, p);
		k = cfg_node_get(k, part);
		p += len + (p[len] == '.');
	}
	return k != NULL ? k : n != NULL ? n : c->root;
}

_Static_assert(offsetof(struct cfg_scep_profile, name) == 0 &&
		   offsetof(struct cfg_ra_profile, name) == 0 &&
		   offsetof(struct cfg_ra_identity, name) == 0 &&
		   offsetof(struct cfg_backend, name) == 0,
	       "find_named() needs `name` first");
