/* cfg_int.h: the node tree's layout, private to gateway/core: cfg_yaml.c
 * builds it and cfg.c's table-driven parser walks it; everyone else uses the
 * cfg_node_*() getters of cfg_node.h. */
#ifndef SGW_CFG_INT_H
#define SGW_CFG_INT_H

#include <stddef.h>

#include "cfg_node.h"

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

#endif
