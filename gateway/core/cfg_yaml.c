/* cfg_yaml.c: YAML (libyaml event API) to a node tree that remembers
 * file:line, and the node getters.  Pure: no I/O.
 *
 * Bounds: input 1 MiB, nesting depth 32, 4096 entries per mapping or
 * sequence, 65536 nodes in all.  Anchors, aliases, complex (non-scalar) keys,
 * duplicate keys, several documents and NUL bytes in scalars are rejected. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "cfg_int.h"
#include "cfg_node.h"

#define CFG_MAX_INPUT (1u << 20)
#define CFG_MAX_DEPTH 32
#define CFG_MAX_ENTRIES 4096
#define CFG_MAX_NODES 65536

struct yparse {
	yaml_parser_t p;
	const char *file;
	size_t nodes;
	struct sgw_err *err;
	char path[CFG_PATH_MAX]; /* dotted path of the node being parsed */
};

static int __attribute__((format(printf, 3, 4)))
yerr(struct yparse *y, int line, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (y->path[0] != '\0')
		return sgw_err_set(y->err, SGW_EPARSE, "%s:%d: %s: %s", y->file, line, y->path,
				   what);
	return sgw_err_set(y->err, SGW_EPARSE, "%s:%d: %s", y->file, line, what);
}

/* Appends ".key" (or "[i]" when key is NULL) to y->path; returns the old
 * length for path_pop().  A path too long for the buffer is cut short. */
static size_t
path_push(struct yparse *y, const char *key, size_t i)
{
	size_t len = strlen(y->path), room = sizeof(y->path) - len;
	int r;

	if (key == NULL)
		r = snprintf(y->path + len, room, "[%zu]", i);
	else
		r = snprintf(y->path + len, room, "%s%s", len > 0 ? "." : "", key);
	if (r < 0)
		y->path[len] = '\0';
	return len;
}

static void
path_pop(struct yparse *y, size_t len)
{
	y->path[len] = '\0';
}

static int
yerr_parser(struct yparse *y)
{
	if (y->p.error == YAML_MEMORY_ERROR)
		return sgw_err_set(y->err, SGW_ENOMEM, "%s: out of memory", y->file);
	/* file:line:column, as compilers and editors take them */
	return sgw_err_set(
	    y->err, SGW_EPARSE, "%s:%d:%d: %s%s%s", y->file, (int)y->p.problem_mark.line + 1,
	    (int)y->p.problem_mark.column + 1, y->p.context != NULL ? y->p.context : "",
	    y->p.context != NULL ? ", " : "", y->p.problem != NULL ? y->p.problem : "syntax error");
}

static int
next_event(struct yparse *y, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&y->p, ev))
		return yerr_parser(y);
	return 0;
}

static struct cfg_node *
node_new(struct yparse *y, enum cfg_node_type type, const yaml_event_t *ev)
{
	struct cfg_node *n;

	if (y->nodes >= CFG_MAX_NODES)
		return NULL;
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return NULL;
	y->nodes++;
	n->type = type;
	n->line = (int)ev->start_mark.line + 1;
	n->file = y->file;
	return n;
}

void
cfg_node_free(struct cfg_node *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->n; i++) {
		if (n->keys != NULL)
			cfg_node_free(n->keys[i]);
		cfg_node_free(n->items[i]);
	}
	free(n->keys);
	free(n->items);
	free(n->scalar);
	if (n->owns_file)
		free((char *)n->file);
	free(n);
}

static const unsigned char *
event_anchor(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return ev->data.scalar.anchor;
	case YAML_SEQUENCE_START_EVENT:
		return ev->data.sequence_start.anchor;
	case YAML_MAPPING_START_EVENT:
		return ev->data.mapping_start.anchor;
	default:
		return NULL;
	}
}

static int
scalar_node(struct yparse *y, const yaml_event_t *ev, struct cfg_node **ret)
{
	struct cfg_node *n;
	size_t len = ev->data.scalar.length;

	if (memchr(ev->data.scalar.value, '\0', len) != NULL)
		return yerr(y, (int)ev->start_mark.line + 1, "NUL byte in a scalar");
	n = node_new(y, CFG_NODE_SCALAR, ev);
	if (n == NULL)
		goto nomem;
	n->scalar = strndup((const char *)ev->data.scalar.value, len);
	if (n->scalar == NULL)
		goto nomem;
	*ret = n;
	return 0;
nomem:
	cfg_node_free(n);
	if (y->nodes >= CFG_MAX_NODES)
		return yerr(y, (int)ev->start_mark.line + 1, "too many nodes");
	return sgw_err_set(y->err, SGW_ENOMEM, "%s: out of memory", y->file);
}

static int
append(struct yparse *y, struct cfg_node *parent, struct cfg_node *key, struct cfg_node *item)
{
	struct cfg_node **items, **keys;

	if (parent->n >= CFG_MAX_ENTRIES)
		return yerr(y, item->line, "too many entries in a mapping or sequence");
	items = reallocarray(parent->items, parent->n + 1, sizeof(*items));
	if (items == NULL)
		return sgw_err_set(y->err, SGW_ENOMEM, "%s: out of memory", y->file);
	parent->items = items;
	if (key != NULL) {
		keys = reallocarray(parent->keys, parent->n + 1, sizeof(*keys));
		if (keys == NULL)
			return sgw_err_set(y->err, SGW_ENOMEM, "%s: out of memory", y->file);
		parent->keys = keys;
		keys[parent->n] = key;
	}
	items[parent->n++] = item;
	return 0;
}

static int parse_node(struct yparse *y, yaml_event_t *ev, int depth, struct cfg_node **ret);

/* Reads the key of the next map entry into *ret_key, or NULL at the end. */
static int
map_key(struct yparse *y, struct cfg_node **ret_key)
{
	yaml_event_t ev;
	int r;

	if ((r = next_event(y, &ev)) < 0)
		return r;
	*ret_key = NULL;
	if (ev.type == YAML_MAPPING_END_EVENT) {
		r = 0;
	} else if (ev.type != YAML_SCALAR_EVENT) {
		r = yerr(y, (int)ev.start_mark.line + 1, "mapping keys must be scalars");
	} else if (ev.data.scalar.anchor != NULL) {
		r = yerr(y, (int)ev.start_mark.line + 1, "anchors are not supported");
	} else {
		r = scalar_node(y, &ev, ret_key);
	}
	yaml_event_delete(&ev);
	return r;
}

static int
parse_map(struct yparse *y, struct cfg_node *map, int depth)
{
	struct cfg_node *key, *val = NULL;
	yaml_event_t ev;
	size_t plen;
	int r;

	for (;;) {
		if ((r = map_key(y, &key)) < 0 || key == NULL)
			return r;
		plen = path_push(y, key->scalar, 0);
		if (cfg_node_get(map, key->scalar) != NULL) {
			r = yerr(y, key->line, "duplicate key");
		} else if ((r = next_event(y, &ev)) == 0) {
			r = parse_node(y, &ev, depth + 1, &val);
			yaml_event_delete(&ev);
		}
		if (r == 0 && val->type != CFG_NODE_SCALAR)
			val->line = key->line; /* "devices:", not its first key */
		if (r == 0 && (r = append(y, map, key, val)) < 0)
			cfg_node_free(val);
		if (r < 0) {
			cfg_node_free(key);
			return r;
		}
		path_pop(y, plen);
	}
}

static int
parse_seq(struct yparse *y, struct cfg_node *seq, int depth)
{
	struct cfg_node *val;
	yaml_event_t ev;
	size_t plen;
	int r;

	for (;;) {
		if ((r = next_event(y, &ev)) < 0)
			return r;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		plen = path_push(y, NULL, seq->n);
		r = parse_node(y, &ev, depth + 1, &val);
		yaml_event_delete(&ev);
		if (r == 0 && (r = append(y, seq, NULL, val)) < 0)
			cfg_node_free(val);
		if (r < 0)
			return r;
		path_pop(y, plen);
	}
}

/* `ev` is the node's first event; the caller deletes it. */
static int
parse_node(struct yparse *y, yaml_event_t *ev, int depth, struct cfg_node **ret)
{
	struct cfg_node *n;
	int line = (int)ev->start_mark.line + 1, r;

	if (ev->type == YAML_ALIAS_EVENT || event_anchor(ev) != NULL)
		return yerr(y, line, "anchors and aliases are not supported");
	if (depth > CFG_MAX_DEPTH)
		return yerr(y, line, "nested too deeply");
	if (ev->type == YAML_SCALAR_EVENT)
		return scalar_node(y, ev, ret);
	if (ev->type != YAML_MAPPING_START_EVENT && ev->type != YAML_SEQUENCE_START_EVENT)
		return yerr(y, line, "unexpected YAML event");
	n = node_new(y, ev->type == YAML_MAPPING_START_EVENT ? CFG_NODE_MAP : CFG_NODE_SEQ, ev);
	if (n == NULL) {
		if (y->nodes >= CFG_MAX_NODES)
			return yerr(y, line, "too many nodes");
		return sgw_err_set(y->err, SGW_ENOMEM, "%s: out of memory", y->file);
	}
	r = n->type == CFG_NODE_MAP ? parse_map(y, n, depth) : parse_seq(y, n, depth);
	if (r < 0) {
		cfg_node_free(n);
		return r;
	}
	*ret = n;
	return 0;
}

/* Expects an event of `type`; on success the event is deleted. */
static int
expect(struct yparse *y, yaml_event_type_t type, const char *what)
{
	yaml_event_t ev;
	int r;

	if ((r = next_event(y, &ev)) < 0)
		return r;
	if (ev.type != type)
		r = yerr(y, (int)ev.start_mark.line + 1, "%s", what);
	yaml_event_delete(&ev);
	return r;
}

static int
parse_document(struct yparse *y, struct cfg_node **ret)
{
	struct cfg_node *root = NULL;
	yaml_event_t ev;
	int r;

	if ((r = expect(y, YAML_STREAM_START_EVENT, "expected a YAML stream")) < 0)
		return r;
	if ((r = next_event(y, &ev)) < 0)
		return r;
	if (ev.type != YAML_DOCUMENT_START_EVENT) {
		yaml_event_delete(&ev);
		return yerr(y, 1, "empty document");
	}
	yaml_event_delete(&ev);
	if ((r = next_event(y, &ev)) < 0)
		return r;
	r = parse_node(y, &ev, 1, &root);
	yaml_event_delete(&ev);
	if (r == 0)
		r = expect(y, YAML_DOCUMENT_END_EVENT, "expected the end of the document");
	if (r == 0)
		r = expect(y, YAML_STREAM_END_EVENT, "only one YAML document is supported");
	if (r < 0) {
		cfg_node_free(root);
		return r;
	}
	*ret = root;
	return 0;
}

int
cfg_node_parse(const char *file, const uint8_t *buf, size_t len, struct cfg_node **ret_root,
	       struct sgw_err *err)
{
	struct yparse y = {.file = file, .err = err};
	struct cfg_node *root = NULL;
	char *fcopy;
	int r;

	if (len > CFG_MAX_INPUT)
		return sgw_err_set(err, SGW_EPARSE, "%s: larger than %u bytes", file,
				   CFG_MAX_INPUT);
	fcopy = strdup(file);
	if (fcopy == NULL || !yaml_parser_initialize(&y.p)) {
		free(fcopy);
		return sgw_err_set(err, SGW_ENOMEM, "%s: out of memory", file);
	}
	y.file = fcopy;
	yaml_parser_set_input_string(&y.p, buf, len);
	r = parse_document(&y, &root);
	yaml_parser_delete(&y.p);
	if (r < 0) {
		/* messages were formatted with fcopy; keep them, drop the copy */
		free(fcopy);
		return r;
	}
	root->owns_file = 1;
	*ret_root = root;
	return 0;
}

enum cfg_node_type
cfg_node_type(const struct cfg_node *n)
{
	return n != NULL ? n->type : CFG_NODE_TYPE_MAX;
}

const char *
cfg_node_file(const struct cfg_node *n)
{
	return n != NULL ? n->file : NULL;
}

int
cfg_node_line(const struct cfg_node *n)
{
	return n != NULL ? n->line : 0;
}

const char *
cfg_node_scalar(const struct cfg_node *n)
{
	return n != NULL && n->type == CFG_NODE_SCALAR ? n->scalar : NULL;
}

size_t
cfg_node_count(const struct cfg_node *n)
{
	return n != NULL && n->type != CFG_NODE_SCALAR ? n->n : 0;
}

const struct cfg_node *
cfg_node_item(const struct cfg_node *n, size_t i)
{
	return i < cfg_node_count(n) ? n->items[i] : NULL;
}

const char *
cfg_node_key(const struct cfg_node *n, size_t i)
{
	if (n == NULL || n->type != CFG_NODE_MAP || i >= n->n)
		return NULL;
	return n->keys[i]->scalar;
}

const struct cfg_node *
cfg_node_get(const struct cfg_node *map, const char *key)
{
	if (map == NULL || map->type != CFG_NODE_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(map->keys[i]->scalar, key) == 0)
			return map->items[i];
	return NULL;
}
