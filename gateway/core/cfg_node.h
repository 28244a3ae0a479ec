/* cfg_node.h: the configuration's base layer.  YAML (libyaml) becomes a node
 * tree that remembers file:line (cfg_yaml.c); cfg_parse_map() turns a mapping
 * into a struct from a table of fields (cfg.c).  Unknown keys are errors.
 * Error text reads
 *   profiles/scepgw.yaml:42: scep_profiles.ios.challenge.type: unknown validator 'x'
 *
 * The daemon's schema (gateway/config/cfg.h) is built on this; backends and
 * validators keep a borrowed `const struct cfg_node *` and parse their own
 * keys with cfg_parse_map() in their configure() op. */
#ifndef SGW_CFG_NODE_H
#define SGW_CFG_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Size of every buffer that holds a dotted key path ("a.b[2].c"). */
#define CFG_PATH_MAX 256

/* ---- node tree (cfg_yaml.c) ---------------------------------------------- */

enum cfg_node_type { CFG_NODE_SCALAR, CFG_NODE_MAP, CFG_NODE_SEQ, CFG_NODE_TYPE_MAX };

struct cfg_node; /* opaque */

/* Parse YAML from memory; `file` is only used in messages.  Pure: no I/O. */
int cfg_node_parse(const char *file, const uint8_t *buf, size_t len, struct cfg_node **ret_root,
		   struct sgw_err *err);
void cfg_node_free(struct cfg_node *n);

enum cfg_node_type cfg_node_type(const struct cfg_node *n);
const char *cfg_node_file(const struct cfg_node *n);
int cfg_node_line(const struct cfg_node *n);
const char *cfg_node_scalar(const struct cfg_node *n); /* NULL unless scalar */
size_t cfg_node_count(const struct cfg_node *n);       /* map pairs or seq items */
const struct cfg_node *cfg_node_item(const struct cfg_node *n, size_t i); /* seq item / map value */
const char *cfg_node_key(const struct cfg_node *n, size_t i);		  /* map key */
const struct cfg_node *cfg_node_get(const struct cfg_node *map, const char *key);

/* ---- table-driven mapping parser (cfg.c) --------------------------------- */

/* nginx ngx_command_t, h2o parse_mapping.  `path` is the dotted key path of
 * `n` for messages ("backends.local-ca"). */
enum cfg_field_type {
	CFG_STR,      /* char * (strdup'd) */
	CFG_INT,      /* int, decimal */
	CFG_BOOL,     /* int 0/1: true/false/yes/no/on/off */
	CFG_SIZE,     /* size_t; accepts suffix k, m (x1024) */
	CFG_DURATION, /* int seconds; accepts suffix s, m, h, d */
	CFG_STRLIST,  /* struct cfg_strlist */
	CFG_NODE,     /* const struct cfg_node * (borrowed, for nested/custom parsing) */
	CFG_FIELD_TYPE_MAX
};

struct cfg_strlist {
	char **v;
	size_t n;
};

struct cfg_field {
	const char *key;
	enum cfg_field_type type;
	size_t offset; /* offsetof() into the target struct */
	int required;
};

/* Fields are terminated by an entry with key == NULL.  Fails on an unknown
 * key, a missing required key or a type mismatch, with file:line: path.key. */
int cfg_parse_map(const struct cfg_node *n, const char *path, const struct cfg_field *fields,
		  void *out, struct sgw_err *err);
/* Frees what cfg_parse_map allocated in `out` (strings and string lists). */
void cfg_fields_free(const struct cfg_field *fields, void *out);
/* Format "file:line: path: " + message into err, returns -code. */
int cfg_err(struct sgw_err *err, int code, const struct cfg_node *n, const char *path,
	    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
