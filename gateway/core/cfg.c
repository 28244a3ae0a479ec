/* cfg.c: the table-driven mapping parser (cfg_parse_map) and cfg_err(), on
 * the node tree that cfg_yaml.c builds.  Pure: no I/O. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg_int.h"
#include "cfg_node.h"

int
cfg_err(struct sgw_err *err, int code, const struct cfg_node *n, const char *path, const char *fmt,
	...)
{
	va_list ap;
	int off = 0;

	if (code > 0)
		code = -code;
	if (err == NULL)
		return code;
	err->msg[0] = '\0';
	if (n != NULL)
		off = snprintf(err->msg, sizeof(err->msg), "%s:%d: ", n->file, n->line);
	if (off >= 0 && (size_t)off < sizeof(err->msg) && path != NULL && path[0] != '\0')
		off += snprintf(err->msg + off, sizeof(err->msg) - (size_t)off, "%s: ", path);
	if (off >= 0 && (size_t)off < sizeof(err->msg)) {
		va_start(ap, fmt);
		vsnprintf(err->msg + off, sizeof(err->msg) - (size_t)off, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* ---- table-driven mapping parser ---------------------------------------- */

static int
parse_int(const char *s, long min, long max, long *ret)
{
	char *end;
	long v;

	if (!(s[0] >= '0' && s[0] <= '9') && !(s[0] == '-' && s[1] >= '0' && s[1] <= '9'))
		return -SGW_EPARSE;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -SGW_EPARSE;
	*ret = v;
	return 0;
}

/* Decimal with an optional suffix: the char suffixes[i] multiplies by mult[i]. */
static int
parse_scaled(const char *s, const char *suffixes, const long *mult, long max, long *ret)
{
	char num[32];
	size_t len = strlen(s);
	const char *u;
	long v, m = 1;

	if (len == 0 || len >= sizeof(num))
		return -SGW_EPARSE;
	memcpy(num, s, len + 1);
	u = strchr(suffixes, num[len - 1]);
	if (u != NULL && num[len - 1] != '\0') {
		m = mult[u - suffixes];
		num[--len] = '\0';
	}
	if (len == 0 || num[0] == '-' || parse_int(num, 0, max, &v) < 0 || v > max / m)
		return -SGW_EPARSE;
	*ret = v * m;
	return 0;
}

static int
parse_bool(const char *s, int *ret)
{
	static const char *const t[] = {"true", "yes", "on"}, *const f[] = {"false", "no", "off"};

	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(s, t[i]) == 0) {
			*ret = 1;
			return 0;
		}
		if (strcasecmp(s, f[i]) == 0) {
			*ret = 0;
			return 0;
		}
	}
	return -SGW_EPARSE;
}

static int
set_strlist(const struct cfg_node *n, const char *path, struct cfg_strlist *sl, struct sgw_err *err)
{
	if (n->type != CFG_NODE_SEQ)
		return cfg_err(err, SGW_EINVAL, n, path, "expected a list of strings");
	sl->v = calloc(n->n + 1, sizeof(*sl->v));
	if (sl->v == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	for (size_t i = 0; i < n->n; i++) {
		const struct cfg_node *it = n->items[i];
		char sub[CFG_PATH_MAX];

		if (snprintf(sub, sizeof(sub), "%s[%zu]", path, i) < 0)
			sub[0] = '\0';
		if (it->type != CFG_NODE_SCALAR || it->scalar[0] == '\0')
			return cfg_err(err, SGW_EINVAL, it, sub, "expected a non-empty string");
		sl->v[i] = strdup(it->scalar);
		if (sl->v[i] == NULL)
			return sgw_err_set(err, SGW_ENOMEM, "out of memory");
		sl->n++;
	}
	return 0;
}

static int
set_scalar(const struct cfg_node *n, const char *path, enum cfg_field_type type, void *p,
	   struct sgw_err *err)
{
	static const char sz_sfx[] = "kKmM", du_sfx[] = "smhd";
	static const long sz_mul[] = {1024, 1024, 1048576, 1048576};
	static const long du_mul[] = {1, 60, 3600, 86400};
	const char *s = n->scalar;
	long v;

	switch (type) {
	case CFG_STR:
		if (s[0] == '\0')
			return cfg_err(err, SGW_EINVAL, n, path, "empty value");
		*(char **)p = strdup(s);
		if (*(char **)p == NULL)
			return sgw_err_set(err, SGW_ENOMEM, "out of memory");
		return 0;
	case CFG_INT:
		if (parse_int(s, INT_MIN, INT_MAX, &v) < 0)
			return cfg_err(err, SGW_EINVAL, n, path, "expected an integer, got '%s'",
				       s);
		*(int *)p = (int)v;
		return 0;
	case CFG_BOOL:
		if (parse_bool(s, (int *)p) < 0)
			return cfg_err(err, SGW_EINVAL, n, path, "expected true or false, got '%s'",
				       s);
		return 0;
	case CFG_SIZE:
		if (parse_scaled(s, sz_sfx, sz_mul, LONG_MAX, &v) < 0)
			return cfg_err(err, SGW_EINVAL, n, path,
				       "expected a size (e.g. 512, 64k, 1m), got '%s'", s);
		*(size_t *)p = (size_t)v;
		return 0;
	case CFG_DURATION:
		if (parse_scaled(s, du_sfx, du_mul, INT_MAX, &v) < 0)
			return cfg_err(err, SGW_EINVAL, n, path,
				       "expected a duration (e.g. 30, 30s, 5m, 2h, 1d), got '%s'",
				       s);
		*(int *)p = (int)v;
		return 0;
	default:
		return cfg_err(err, SGW_EINVAL, n, path, "bad field type");
	}
}

static int
set_field(const struct cfg_field *f, const struct cfg_node *n, const char *path, void *out,
	  struct sgw_err *err)
{
	void *p = (char *)out + f->offset;

	switch (f->type) {
	case CFG_NODE:
		*(const struct cfg_node **)p = n;
		return 0;
	case CFG_STRLIST:
		return set_strlist(n, path, p, err);
	default:
		if (n->type != CFG_NODE_SCALAR)
			return cfg_err(err, SGW_EINVAL, n, path, "expected a scalar value");
		return set_scalar(n, path, f->type, p, err);
	}
}

static const char *
join(char *buf, size_t sz, const char *path, const char *key)
{
	int r;

	if (path == NULL || path[0] == '\0')
		r = snprintf(buf, sz, "%s", key);
	else
		r = snprintf(buf, sz, "%s.%s", path, key);
	if (r < 0)
		buf[0] = '\0';
	return buf;
}

static const struct cfg_field *
field_find(const struct cfg_field *fields, const char *key)
{
	for (const struct cfg_field *f = fields; f->key != NULL; f++)
		if (strcmp(f->key, key) == 0)
			return f;
	return NULL;
}

static int
parse_fields(const struct cfg_node *n, const char *path, const struct cfg_field *fields, void *out,
	     struct sgw_err *err)
{
	char sub[CFG_PATH_MAX];
	const struct cfg_field *f;
	int r;

	if (n == NULL || n->type != CFG_NODE_MAP)
		return cfg_err(err, SGW_EINVAL, n, path, "expected a mapping");
	for (size_t i = 0; i < n->n; i++) {
		join(sub, sizeof(sub), path, n->keys[i]->scalar);
		f = field_find(fields, n->keys[i]->scalar);
		if (f == NULL)
			return cfg_err(err, SGW_EINVAL, n->keys[i], sub, "unknown key");
		if ((r = set_field(f, n->items[i], sub, out, err)) < 0)
			return r;
	}
	for (f = fields; f->key != NULL; f++)
		if (f->required && cfg_node_get(n, f->key) == NULL)
			return cfg_err(err, SGW_EINVAL, n, join(sub, sizeof(sub), path, f->key),
				       "missing required key");
	return 0;
}

/* Fields absent from the mapping are left untouched (preset defaults stay).
 * String fields must be NULL (or owned) on entry.  On failure the strings and
 * lists of all fields are freed and reset, so `out` needs no cleanup. */
int
cfg_parse_map(const struct cfg_node *n, const char *path, const struct cfg_field *fields, void *out,
	      struct sgw_err *err)
{
	int r = parse_fields(n, path, fields, out, err);

	if (r < 0)
		cfg_fields_free(fields, out);
	return r;
}

void
cfg_fields_free(const struct cfg_field *fields, void *out)
{
	for (const struct cfg_field *f = fields; f->key != NULL; f++) {
		void *p = (char *)out + f->offset;

		if (f->type == CFG_STR) {
			free(*(char **)p);
			*(char **)p = NULL;
		} else if (f->type == CFG_STRLIST) {
			struct cfg_strlist *sl = p;

			for (size_t i = 0; i < sl->n; i++)
				free(sl->v[i]);
			free(sl->v);
			sl->v = NULL;
			sl->n = 0;
		}
	}
}
