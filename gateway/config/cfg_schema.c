/* cfg_schema.c: the typed schema, node tree -> struct cfg.
 *
 * Each section is a cfg_field table.  Sections with keys that need custom
 * parsing use a staging struct that embeds the target struct, so the table
 * can point into both (offsetof(struct x_raw, x.field)).  The scep_profiles
 * section is in cfg_profile.c. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "cfg_admin.h"
#include "cfg_profile.h"
#include "cfg_util.h"

static int
nomem(struct sgw_err *err)
{
	return sgw_err_set(err, SGW_ENOMEM, "out of memory");
}

/* ---- listen -------------------------------------------------------------- */

static const struct cfg_field tls_fields[] = {
    {"cert", CFG_STR, offsetof(struct cfg_tls, cert), 1},
    {"key", CFG_STR, offsetof(struct cfg_tls, key), 1},
    {NULL},
};

struct listen_raw {
	struct cfg_listen l;
	const struct cfg_node *tls;
};

static const struct cfg_field listen_fields[] = {
    {"address", CFG_STR, offsetof(struct listen_raw, l.address), 1},
    {"tls", CFG_NODE, offsetof(struct listen_raw, tls), 0},
    {"proxy_protocol", CFG_BOOL, offsetof(struct listen_raw, l.proxy_protocol), 0},
    {NULL},
};

/* "host:port" or "[v6]:port"; the host may be empty ("any"). */
static int
check_address(const char *a)
{
	const char *colon = strrchr(a, ':');
	char *end;
	long port;

	if (colon == NULL || colon[1] < '0' || colon[1] > '9')
		return -SGW_EINVAL;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		return -SGW_EINVAL;
	if (a[0] == '[')
		return colon > a + 2 && colon[-1] == ']' ? 0 : -SGW_EINVAL;
	return memchr(a, ':', (size_t)(colon - a)) == NULL ? 0 : -SGW_EINVAL;
}

static int
parse_listen(struct cfg *c, const struct cfg_node *seq, struct sgw_err *err)
{
	char path[CFG_PATH_MAX], sub[CFG_PATH_MAX];
	int r;

	if (cfg_node_type(seq) != CFG_NODE_SEQ || cfg_node_count(seq) == 0)
		return cfg_err(err, SGW_EINVAL, seq, "listen", "expected a non-empty list");
	c->listen = calloc(cfg_node_count(seq), sizeof(*c->listen));
	if (c->listen == NULL)
		return nomem(err);
	c->n_listen = cfg_node_count(seq);
	for (size_t i = 0; i < c->n_listen; i++) {
		const struct cfg_node *it = cfg_node_item(seq, i);
		struct listen_raw raw = {0};

		cfg_itempath(path, "listen", i);
		if ((r = cfg_parse_map(it, path, listen_fields, &raw, err)) < 0)
			return r;
		c->listen[i] = raw.l;
		if (check_address(raw.l.address) < 0)
			return cfg_err(err, SGW_EINVAL, cfg_node_get(it, "address"),
				       cfg_subpath(sub, path, "address"),
				       "expected host:port or [v6]:port, got '%s'", raw.l.address);
		if (raw.tls == NULL)
			continue;
		c->listen[i].tls = 1;
		if ((r = cfg_parse_map(raw.tls, cfg_subpath(sub, path, "tls"), tls_fields,
				       &c->listen[i].tls_files, err)) < 0)
			return r;
	}
	return 0;
}

/* ---- limits, store ------------------------------------------------------- */

static const struct cfg_field limits_fields[] = {
    {"max_body", CFG_SIZE, offsetof(struct cfg_limits, max_body), 0},
    {"max_headers", CFG_SIZE, offsetof(struct cfg_limits, max_headers), 0},
    {"timeout", CFG_DURATION, offsetof(struct cfg_limits, timeout), 0},
    {"max_connections", CFG_INT, offsetof(struct cfg_limits, max_connections), 0},
    {"max_sockets", CFG_INT, offsetof(struct cfg_limits, max_sockets), 0},
    {"max_sockets_per_peer", CFG_INT, offsetof(struct cfg_limits, max_sockets_per_peer), 0},
    {"request_timeout", CFG_DURATION, offsetof(struct cfg_limits, request_timeout), 0},
    {NULL},
};

static int
parse_limits(struct cfg *c, const struct cfg_node *n, struct sgw_err *err)
{
	struct cfg_limits *l = &c->limits;
	int r;

	if (n == NULL)
		return 0;
	if ((r = cfg_parse_map(n, "limits", limits_fields, l, err)) < 0)
		return r;
	if ((r = cfg_check_range(n, "limits", "max_body", (long)l->max_body, 1, 1L << 30, err)) <
		0 ||
	    (r = cfg_check_range(n, "limits", "max_headers", (long)l->max_headers, 1, 1L << 20,
				 err)) < 0 ||
	    (r = cfg_check_range(n, "limits", "timeout", l->timeout, 1, 86400, err)) < 0 ||
	    (r = cfg_check_range(n, "limits", "request_timeout", l->request_timeout, 1, 86400,
				 err)) < 0 ||
	    (r = cfg_check_range(n, "limits", "max_sockets", l->max_sockets, 1, 1000000, err)) <
		0 ||
	    (r = cfg_check_range(n, "limits", "max_sockets_per_peer", l->max_sockets_per_peer, 0,
				 1000000, err)) < 0)
		return r;
	return cfg_check_range(n, "limits", "max_connections", l->max_connections, 1, 1000000, err);
}

static const struct cfg_field store_fields[] = {
    {"type", CFG_STR, offsetof(struct cfg_store, type), 1},
    {"path", CFG_STR, offsetof(struct cfg_store, path), 0},
    {"nonce_ttl", CFG_DURATION, offsetof(struct cfg_store, nonce_ttl), 0},
    {"synchronous", CFG_STR, offsetof(struct cfg_store, synchronous), 0},
    {"offload", CFG_BOOL, offsetof(struct cfg_store, offload), 0},
    {"conninfo", CFG_STR, offsetof(struct cfg_store, conninfo), 0},
    {"password_file", CFG_STR, offsetof(struct cfg_store, password_file), 0},
    {"pool", CFG_INT, offsetof(struct cfg_store, pool), 0},
    {NULL},
};

/* Each store type's own keys: required for it, refused for the other. */
static int
check_store_keys(const struct cfg_node *n, const struct cfg_store *st, struct sgw_err *err)
{
	static const char *const sqlite_only[] = {"path", "synchronous", "offload", NULL};
	static const char *const pg_only[] = {"conninfo", "password_file", "pool", NULL};
	int pg = strcmp(st->type, "postgresql") == 0;
	const char *const *other = pg ? sqlite_only : pg_only;
	const char *need = pg ? "conninfo" : "path";

	char sub[64];

	for (int i = 0; other[i] != NULL; i++)
		if (cfg_node_get(n, other[i]) != NULL) {
			snprintf(sub, sizeof(sub), "store.%s", other[i]);
			return cfg_err(err, SGW_EINVAL, cfg_node_get(n, other[i]), sub,
				       "not a key of a %s store", st->type);
		}
	if (cfg_node_get(n, need) == NULL) {
		snprintf(sub, sizeof(sub), "store.%s", need);
		return cfg_err(err, SGW_EINVAL, n, sub, "missing required key");
	}
	if (pg && (st->pool != 0 || cfg_node_get(n, "pool") != NULL))
		return cfg_check_range(n, "store", "pool", st->pool, 1, 64, err);
	return 0;
}

static int
parse_store(struct cfg *c, const struct cfg_node *n, struct sgw_err *err)
{
	static const char *const types[] = {"sqlite", "postgresql", NULL};
	static const char *const syncs[] = {"full", "normal", NULL};
	int r;

	if ((r = cfg_parse_map(n, "store", store_fields, &c->store, err)) < 0)
		return r;
	if ((r = cfg_check_enum(cfg_node_get(n, "type"), "store.type", c->store.type, types,
				"store type", err)) < 0)
		return r;
	if ((r = check_store_keys(n, &c->store, err)) < 0)
		return r;
	if (c->store.synchronous != NULL &&
	    (r = cfg_check_enum(cfg_node_get(n, "synchronous"), "store.synchronous",
				c->store.synchronous, syncs, "synchronous mode", err)) < 0)
		return r;
	return cfg_check_range(n, "store", "nonce_ttl", c->store.nonce_ttl, 1, 365 * 86400, err);
}

static const struct cfg_field pkcs11_fields[] = {
    {"module", CFG_STR, offsetof(struct cfg_pkcs11, module), 1},
    {"pin_file", CFG_STR, offsetof(struct cfg_pkcs11, pin_file), 1},
    {NULL},
};

static int
parse_pkcs11(struct cfg *c, const struct cfg_node *n, struct sgw_err *err)
{
	if (n == NULL)
		return 0;
	return cfg_parse_map(n, "pkcs11", pkcs11_fields, &c->pkcs11, err);
}

/* ---- named sections ------------------------------------------------------ */

typedef int (*parse_one_fn)(struct cfg *c, void *elem, const char *name, const struct cfg_node *n,
			    const char *path, struct sgw_err *err);

static int
check_name(const char *s)
{
	if (s[0] == '\0')
		return -SGW_EINVAL;
	for (; *s != '\0'; s++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
			   *s) == NULL)
			return -SGW_EINVAL;
	return 0;
}

/* Allocates *arr with one zeroed element per entry of the mapping `map`
 * (so cfg_free can always clean up), then parses each with `fn`. */
static int
each_named(struct cfg *c, const struct cfg_node *map, const char *path, size_t elem_size,
	   void **arr, size_t *count, parse_one_fn fn, struct sgw_err *err)
{
	char sub[CFG_PATH_MAX];
	size_t n = cfg_node_count(map);
	int r;

	if (cfg_node_type(map) != CFG_NODE_MAP || n == 0)
		return cfg_err(err, SGW_EINVAL, map, path, "expected a non-empty mapping");
	*arr = calloc(n, elem_size);
	if (*arr == NULL)
		return nomem(err);
	*count = n;
	for (size_t i = 0; i < n; i++) {
		const char *name = cfg_node_key(map, i);

		cfg_subpath(sub, path, name);
		if (check_name(name) < 0)
			return cfg_err(err, SGW_EINVAL, cfg_node_item(map, i), sub,
				       "name must match [A-Za-z0-9._-]+");
		r = fn(c, (char *)*arr + i * elem_size, name, cfg_node_item(map, i), sub, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int
parse_backend(struct cfg *c, void *elem, const char *name, const struct cfg_node *n,
	      const char *path, struct sgw_err *err)
{
	struct cfg_backend *b = elem;
	const char *type;
	int r;

	(void)c;
	if ((r = cfg_check_typed(n, path, "backend", &type, err)) < 0)
		return r;
	b->node = n;
	if (cfg_set_name(&b->name, name, err) < 0 || cfg_set_name(&b->path, path, err) < 0)
		return -SGW_ENOMEM;
	return cfg_set_name(&b->type, type, err);
}

struct ra_profile_raw {
	struct cfg_ra_profile p;
	const struct cfg_node *approval;
};

static const struct cfg_field ra_profile_fields[] = {
    {"backend", CFG_STR, offsetof(struct ra_profile_raw, p.backend), 1},
    {"template", CFG_STR, offsetof(struct ra_profile_raw, p.template), 0},
    {"approval", CFG_NODE, offsetof(struct ra_profile_raw, approval), 0},
    {"pending_ttl", CFG_DURATION, offsetof(struct ra_profile_raw, p.pending_ttl), 0},
    {NULL},
};

static int
parse_ra_profile(struct cfg *c, void *elem, const char *name, const struct cfg_node *n,
		 const char *path, struct sgw_err *err)
{
	struct cfg_ra_profile *p = elem;
	struct ra_profile_raw raw = {0};
	char sub[CFG_PATH_MAX];
	int r;

	r = cfg_parse_map(n, path, ra_profile_fields, &raw, err);
	*p = raw.p;
	if (r < 0)
		return r;
	if (cfg_set_name(&p->name, name, err) < 0)
		return -SGW_ENOMEM;
	if (cfg_backend_find(c, p->backend) == NULL)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(n, "backend"),
			       cfg_subpath(sub, path, "backend"), "unknown backend '%s'",
			       p->backend);
	if (cfg_node_get(n, "pending_ttl") != NULL &&
	    (r = cfg_check_range(n, path, "pending_ttl", p->pending_ttl, 1, 365 * 86400, err)) < 0)
		return r;
	if ((r = cfg_approval_parse(p, raw.approval, cfg_subpath(sub, path, "approval"), err)) < 0)
		return r;
	if (p->template == NULL && cfg_set_name(&p->template, "default", err) < 0)
		return -SGW_ENOMEM;
	return 0;
}

static const struct cfg_field keypair_fields[] = {
    {"cert", CFG_STR, offsetof(struct cfg_keypair, cert), 1},
    {"key", CFG_STR, offsetof(struct cfg_keypair, key), 1},
    {NULL},
};

struct ra_identity_raw {
	struct cfg_ra_identity id;
	const struct cfg_node *sign, *encrypt;
};

static const struct cfg_field ra_identity_fields[] = {
    {"sign", CFG_NODE, offsetof(struct ra_identity_raw, sign), 1},
    {"encrypt", CFG_NODE, offsetof(struct ra_identity_raw, encrypt), 0},
    {"ca_chain", CFG_STR, offsetof(struct ra_identity_raw, id.ca_chain), 1},
    {NULL},
};

static int
parse_ra_identity(struct cfg *c, void *elem, const char *name, const struct cfg_node *n,
		  const char *path, struct sgw_err *err)
{
	struct cfg_ra_identity *id = elem;
	struct ra_identity_raw raw = {0};
	char sub[CFG_PATH_MAX];
	int r;

	(void)c;
	if ((r = cfg_parse_map(n, path, ra_identity_fields, &raw, err)) < 0)
		return r;
	*id = raw.id;
	if (cfg_set_name(&id->name, name, err) < 0)
		return -SGW_ENOMEM;
	if ((r = cfg_parse_map(raw.sign, cfg_subpath(sub, path, "sign"), keypair_fields, &id->sign,
			       err)) < 0)
		return r;
	if (raw.encrypt != NULL)
		return cfg_parse_map(raw.encrypt, cfg_subpath(sub, path, "encrypt"), keypair_fields,
				     &id->encrypt, err);
	if (cfg_set_name(&id->encrypt.cert, id->sign.cert, err) < 0 ||
	    cfg_set_name(&id->encrypt.key, id->sign.key, err) < 0)
		return -SGW_ENOMEM;
	return 0;
}

/* ---- top level ----------------------------------------------------------- */

/* trusted_proxies: a list of CIDR ranges ("10.0.0.0/8", "2001:db8::1"). */
static int
parse_trusted_proxies(struct cfg *c, const struct cfg_node *n, struct sgw_err *err)
{
	size_t count;

	if (n == NULL)
		return 0;
	if (cfg_node_type(n) != CFG_NODE_SEQ)
		return cfg_err(err, SGW_EINVAL, n, "trusted_proxies",
			       "a list of CIDR ranges, e.g. [\"10.0.0.0/8\"]");
	count = cfg_node_count(n);
	if (count > CFG_TRUSTED_PROXIES_MAX)
		return cfg_err(err, SGW_EINVAL, n, "trusted_proxies", "at most %d ranges",
			       CFG_TRUSTED_PROXIES_MAX);
	if (count > 0 && (c->trusted_proxies = calloc(count, sizeof(struct cidr))) == NULL)
		return nomem(err);
	for (size_t i = 0; i < count; i++) {
		const struct cfg_node *it = cfg_node_item(n, i);
		const char *v = cfg_node_scalar(it);

		if (v == NULL || cidr_parse(v, &c->trusted_proxies[i]) < 0)
			return cfg_err(err, SGW_EINVAL, it, "trusted_proxies",
				       "'%s' is not an address or CIDR range with its host bits "
				       "clear (\"10.0.0.0/8\", \"2001:db8::/32\")",
				       v != NULL ? v : "(not a string)");
		c->n_trusted_proxies++;
	}
	return 0;
}

/* A proxy_protocol listener takes its header only from trusted_proxies. */
static int
check_proxy_protocol(const struct cfg *c, struct sgw_err *err)
{
	const struct cfg_node *seq = cfg_node_get(c->root, "listen");
	char path[CFG_PATH_MAX], sub[CFG_PATH_MAX];

	for (size_t i = 0; i < c->n_listen; i++) {
		if (!c->listen[i].proxy_protocol || c->n_trusted_proxies > 0)
			continue;
		cfg_itempath(path, "listen", i);
		return cfg_err(err, SGW_EINVAL,
			       cfg_node_get(cfg_node_item(seq, i), "proxy_protocol"),
			       cfg_subpath(sub, path, "proxy_protocol"),
			       "needs trusted_proxies: the load balancers allowed to send the "
			       "PROXY header");
	}
	return 0;
}

struct top_raw {
	char *log_level, *log_format, *user, *default_profile, *ndes_profile, *instance;
	int workers, expiry_warning;
	const struct cfg_node *limits, *listen, *store, *ra_identities, *scep_profiles,
	    *ra_profiles, *backends, *admin, *trusted_proxies, *pkcs11;
};

#define TR(f) offsetof(struct top_raw, f)
static const struct cfg_field top_fields[] = {
    {"instance", CFG_STR, TR(instance), 0},
    {"log_level", CFG_STR, TR(log_level), 0},
    {"log_format", CFG_STR, TR(log_format), 0},
    {"user", CFG_STR, TR(user), 0},
    {"default_profile", CFG_STR, TR(default_profile), 0},
    {"ndes_profile", CFG_STR, TR(ndes_profile), 0},
    {"trusted_proxies", CFG_NODE, TR(trusted_proxies), 0},
    {"workers", CFG_INT, TR(workers), 0},
    {"expiry_warning", CFG_DURATION, TR(expiry_warning), 0},
    {"limits", CFG_NODE, TR(limits), 0},
    {"listen", CFG_NODE, TR(listen), 1},
    {"store", CFG_NODE, TR(store), 1},
    {"ra_identities", CFG_NODE, TR(ra_identities), 1},
    {"scep_profiles", CFG_NODE, TR(scep_profiles), 1},
    {"ra_profiles", CFG_NODE, TR(ra_profiles), 1},
    {"backends", CFG_NODE, TR(backends), 1},
    {"admin", CFG_NODE, TR(admin), 0},
    {"pkcs11", CFG_NODE, TR(pkcs11), 0},
    {NULL},
};
#undef TR

static int
parse_sections(struct cfg *c, const struct top_raw *t, struct sgw_err *err)
{
	int r;

	if ((r = each_named(c, t->backends, "backends", sizeof(*c->backends), (void **)&c->backends,
			    &c->n_backends, parse_backend, err)) < 0 ||
	    (r = each_named(c, t->ra_profiles, "ra_profiles", sizeof(*c->ra_profiles),
			    (void **)&c->ra_profiles, &c->n_ra_profiles, parse_ra_profile, err)) <
		0 ||
	    (r = each_named(c, t->ra_identities, "ra_identities", sizeof(*c->ra_identities),
			    (void **)&c->ra_identities, &c->n_ra_identities, parse_ra_identity,
			    err)) < 0 ||
	    (r = each_named(c, t->scep_profiles, "scep_profiles", sizeof(*c->scep_profiles),
			    (void **)&c->scep_profiles, &c->n_scep_profiles, cfg_profile_parse,
			    err)) < 0)
		return r;
	if ((r = parse_listen(c, t->listen, err)) < 0 || (r = parse_store(c, t->store, err)) < 0 ||
	    (r = parse_pkcs11(c, t->pkcs11, err)) < 0)
		return r;
	return parse_limits(c, t->limits, err);
}

/* instance: this gateway's name in a cluster (logs, metrics, the store);
 * default the host name, cut to what the name may hold. */
static int
parse_instance(struct cfg *c, char *name, struct sgw_err *err)
{
	char host[256] = "";
	size_t n;

	c->instance = name;
	if (c->instance == NULL) {
		if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
			snprintf(host, sizeof(host), "scepgw");
		n = strspn(host, CFG_INSTANCE_CHARS);
		host[n < CFG_INSTANCE_MAX ? n : CFG_INSTANCE_MAX] = '\0';
		if ((c->instance = strdup(host[0] != '\0' ? host : "scepgw")) == NULL)
			return nomem(err);
		return 0;
	}
	n = strlen(c->instance);
	if (n == 0 || n > CFG_INSTANCE_MAX || strspn(c->instance, CFG_INSTANCE_CHARS) != n)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(c->root, "instance"), "instance",
			       "'%s' is not a name of 1 to %d letters, digits, '.', '_' or '-'",
			       c->instance, CFG_INSTANCE_MAX);
	return 0;
}

static int
parse_top(struct cfg *c, struct sgw_err *err)
{
	static const char *const levels[] = {"error", "warn", "info", "debug", NULL};
	static const char *const formats[] = {"auto", "text", "journal", "json", NULL};
	struct top_raw t = {0};
	int r;

	if ((r = cfg_parse_map(c->root, "", top_fields, &t, err)) < 0)
		return r;
	c->log_level = t.log_level;
	c->log_format = t.log_format;
	c->user = t.user;
	c->default_profile = t.default_profile;
	c->ndes_profile = t.ndes_profile;
	c->workers = t.workers;
	c->expiry_warning =
	    cfg_node_get(c->root, "expiry_warning") != NULL ? t.expiry_warning : 30 * 86400;
	if ((r = parse_instance(c, t.instance, err)) < 0)
		return r;
	if (c->log_level != NULL &&
	    (r = cfg_check_enum(cfg_node_get(c->root, "log_level"), "log_level", c->log_level,
				levels, "log level", err)) < 0)
		return r;
	if (c->log_level == NULL && (c->log_level = strdup("info")) == NULL)
		return nomem(err);
	if (c->log_format != NULL &&
	    (r = cfg_check_enum(cfg_node_get(c->root, "log_format"), "log_format", c->log_format,
				formats, "log format", err)) < 0)
		return r;
	if (c->log_format == NULL && (c->log_format = strdup("auto")) == NULL)
		return nomem(err);
	if ((r = cfg_check_range(c->root, "", "workers", c->workers, 0, 1024, err)) < 0 ||
	    (r = cfg_check_range(c->root, "", "expiry_warning", c->expiry_warning, 0, 3650 * 86400,
				 err)) < 0 ||
	    (r = parse_sections(c, &t, err)) < 0)
		return r;
	if (c->default_profile != NULL && cfg_scep_profile_find(c, c->default_profile) == NULL)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(c->root, "default_profile"),
			       "default_profile", "unknown scep_profile '%s'", c->default_profile);
	if ((r = parse_trusted_proxies(c, t.trusted_proxies, err)) < 0 ||
	    (r = check_proxy_protocol(c, err)) < 0)
		return r;
	if (c->ndes_profile != NULL && cfg_scep_profile_find(c, c->ndes_profile) == NULL)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(c->root, "ndes_profile"),
			       "ndes_profile", "unknown scep_profile '%s'", c->ndes_profile);
	return cfg_admin_parse(c, t.admin, err);
}

static const struct cfg_limits limits_defaults = {.max_body = 64 * 1024,
						  .max_headers = 8 * 1024,
						  .timeout = 60,
						  .max_connections = 1024,
						  .max_sockets = 4096,
						  .max_sockets_per_peer = 256,
						  .request_timeout = 30};

int
cfg_parse(const char *file, const uint8_t *buf, size_t len, struct cfg **ret, struct sgw_err *err)
{
	struct cfg *c = calloc(1, sizeof(*c));
	int r;

	if (c == NULL || (c->file = strdup(file)) == NULL) {
		free(c);
		return nomem(err);
	}
	c->limits = limits_defaults;
	c->store.nonce_ttl = 86400;
	if ((r = cfg_node_parse(file, buf, len, &c->root, err)) < 0 ||
	    (r = parse_top(c, err)) < 0) {
		cfg_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

int
cfg_load(const char *path, struct cfg **ret, struct sgw_err *err)
{
	FILE *f = fopen(path, "re");
	uint8_t *buf = NULL;
	size_t len;
	int r;

	if (f == NULL)
		return sgw_err_set(err, SGW_EIO, "%s: %s", path, strerror(errno));
	buf = malloc((1u << 20) + 1);
	if (buf == NULL) {
		fclose(f);
		return nomem(err);
	}
	len = fread(buf, 1, (1u << 20) + 1, f);
	if (ferror(f))
		r = sgw_err_set(err, SGW_EIO, "%s: read error", path);
	else
		r = cfg_parse(path, buf, len, ret, err); /* rejects > 1 MiB */
	fclose(f);
	free(buf);
	return r;
}

static void
identities_free(struct cfg_ra_identity *id, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(id[i].name);
		free(id[i].sign.cert);
		free(id[i].sign.key);
		free(id[i].encrypt.cert);
		free(id[i].encrypt.key);
		free(id[i].ca_chain);
	}
	free(id);
}

void
cfg_free(struct cfg *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_listen; i++) {
		free(c->listen[i].address);
		free(c->listen[i].tls_files.cert);
		free(c->listen[i].tls_files.key);
	}
	free(c->listen);
	free(c->store.type);
	free(c->store.path);
	free(c->store.conninfo);
	free(c->store.password_file);
	free(c->store.synchronous);
	free(c->pkcs11.module);
	free(c->pkcs11.pin_file);
	identities_free(c->ra_identities, c->n_ra_identities);
	cfg_profiles_free(c->scep_profiles, c->n_scep_profiles);
	for (size_t i = 0; i < c->n_ra_profiles; i++) {
		free(c->ra_profiles[i].name);
		free(c->ra_profiles[i].backend);
		free(c->ra_profiles[i].template);
		cfg_approval_free(&c->ra_profiles[i]);
	}
	free(c->ra_profiles);
	for (size_t i = 0; i < c->n_backends; i++) {
		free(c->backends[i].name);
		free(c->backends[i].type);
		free(c->backends[i].path);
	}
	free(c->backends);
	cfg_admin_free(&c->admin);
	free(c->log_level);
	free(c->instance);
	free(c->log_format);
	free(c->user);
	free(c->default_profile);
	free(c->ndes_profile);
	free(c->trusted_proxies);
	cfg_node_free(c->root);
	free(c->file);
	free(c);
}
