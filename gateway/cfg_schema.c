/* cfg_schema.c: the typed schema, node tree -> struct cfg.
 *
 * Each section is a cfg_field table.  Sections with keys that need custom
 * parsing use a staging struct that embeds the target struct, so the table
 * can point into both (offsetof(struct x_raw, x.field)).  The only I/O is a
 * static challenge's secret_file, hashed at load. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cfg.h"

#define PATH_LEN 256
#define SECRET_MAX 4096

#define CAPS_DEFAULT                                                                       \
	(SCEP_CAP_POSTPKIOPERATION | SCEP_CAP_SHA1 | SCEP_CAP_SHA256 | SCEP_CAP_SHA512 |   \
	 SCEP_CAP_AES | SCEP_CAP_DES3 | SCEP_CAP_SCEPSTANDARD)

static const char *const cap_names[] = {
	"POSTPKIOperation", "SHA-1",	    "SHA-256",	    "SHA-512",	    "AES",
	"DES3",		    "Renewal",	    "SCEPStandard", "GetNextCACert",
};

unsigned
cfg_cap_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		if (strcasecmp(name, cap_names[i]) == 0)
			return 1u << i;
	return 0;
}

const char *
cfg_cap_name(unsigned cap_bit)
{
	for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		if (cap_bit == 1u << i)
			return cap_names[i];
	return NULL;
}

static const char *
subpath(char *buf, const char *path, const char *key)
{
	if (snprintf(buf, PATH_LEN, "%s%s%s", path, path[0] != '\0' ? "." : "", key) < 0)
		buf[0] = '\0';
	return buf;
}

static const char *
itempath(char *buf, const char *path, size_t i)
{
	if (snprintf(buf, PATH_LEN, "%s[%zu]", path, i) < 0)
		buf[0] = '\0';
	return buf;
}

static int
nomem(struct sgw_err *err)
{
	return sgw_err_set(err, SGW_ENOMEM, "out of memory");
}

/* Fails unless `s` is one of the NULL-terminated `allowed`. */
static int
check_enum(const struct cfg_node *n, const char *path, const char *s, const char *const *allowed,
	   const char *what, struct sgw_err *err)
{
	for (; *allowed != NULL; allowed++)
		if (strcmp(s, *allowed) == 0)
			return 0;
	return cfg_err(err, SGW_EINVAL, n, path, "unknown %s '%s'", what, s);
}

static int
check_range(const struct cfg_node *map, const char *path, const char *key, long v, long min,
	    long max, struct sgw_err *err)
{
	const struct cfg_node *n = cfg_node_get(map, key);
	char sub[PATH_LEN];

	if (v >= min && v <= max)
		return 0;
	return cfg_err(err, SGW_EINVAL, n != NULL ? n : map, subpath(sub, path, key),
		       "must be between %ld and %ld", min, max);
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
	char path[PATH_LEN], sub[PATH_LEN];
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

		itempath(path, "listen", i);
		if ((r = cfg_parse_map(it, path, listen_fields, &raw, err)) < 0)
			return r;
		c->listen[i] = raw.l;
		if (check_address(raw.l.address) < 0)
			return cfg_err(err, SGW_EINVAL, cfg_node_get(it, "address"),
				       subpath(sub, path, "address"),
				       "expected host:port or [v6]:port, got '%s'", raw.l.address);
		if (raw.tls == NULL)
			continue;
		c->listen[i].tls = 1;
		if ((r = cfg_parse_map(raw.tls, subpath(sub, path, "tls"), tls_fields,
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
	if ((r = check_range(n, "limits", "max_body", (long)l->max_body, 1, 1L << 30, err)) < 0 ||
	    (r = check_range(n, "limits", "max_headers", (long)l->max_headers, 1, 1L << 20, err)) <
		    0 ||
	    (r = check_range(n, "limits", "timeout", l->timeout, 1, 86400, err)) < 0)
		return r;
	return check_range(n, "limits", "max_connections", l->max_connections, 1, 1000000, err);
}

static const struct cfg_field store_fields[] = {
	{"type", CFG_STR, offsetof(struct cfg_store, type), 1},
	{"path", CFG_STR, offsetof(struct cfg_store, path), 1},
	{"nonce_ttl", CFG_DURATION, offsetof(struct cfg_store, nonce_ttl), 0},
	{NULL},
};

static int
parse_store(struct cfg *c, const struct cfg_node *n, struct sgw_err *err)
{
	static const char *const types[] = {"sqlite", NULL};
	int r;

	if ((r = cfg_parse_map(n, "store", store_fields, &c->store, err)) < 0)
		return r;
	if ((r = check_enum(cfg_node_get(n, "type"), "store.type", c->store.type, types,
			    "store type", err)) < 0)
		return r;
	return check_range(n, "store", "nonce_ttl", c->store.nonce_ttl, 1, 365 * 86400, err);
}

/* ---- named sections ------------------------------------------------------ */

typedef int (*parse_one_fn)(struct cfg *c, void *elem, const char *name,
			    const struct cfg_node *n, const char *path, struct sgw_err *err);

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
	char sub[PATH_LEN];
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

		subpath(sub, path, name);
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
set_name(char **dst, const char *name, struct sgw_err *err)
{
	*dst = strdup(name);
	return *dst == NULL ? nomem(err) : 0;
}

static int
parse_backend(struct cfg *c, void *elem, const char *name, const struct cfg_node *n,
	      const char *path, struct sgw_err *err)
{
	struct cfg_backend *b = elem;
	const struct cfg_node *type = cfg_node_get(n, "type");
	char sub[PATH_LEN];

	(void)c;
	if (cfg_node_type(n) != CFG_NODE_MAP)
		return cfg_err(err, SGW_EINVAL, n, path, "expected a mapping");
	if (type == NULL)
		return cfg_err(err, SGW_EINVAL, n, subpath(sub, path, "type"),
			       "missing required key");
	if (cfg_node_scalar(type) == NULL || cfg_node_scalar(type)[0] == '\0')
		return cfg_err(err, SGW_EINVAL, type, subpath(sub, path, "type"),
			       "expected a backend type");
	b->node = n;
	if (set_name(&b->name, name, err) < 0 || set_name(&b->path, path, err) < 0)
		return -SGW_ENOMEM;
	return set_name(&b->type, cfg_node_scalar(type), err);
}

static const struct cfg_field ra_profile_fields[] = {
	{"backend", CFG_STR, offsetof(struct cfg_ra_profile, backend), 1},
	{"template", CFG_STR, offsetof(struct cfg_ra_profile, template), 0},
	{"approval", CFG_STR, offsetof(struct cfg_ra_profile, approval), 0},
	{NULL},
};

static int
parse_ra_profile(struct cfg *c, void *elem, const char *name, const struct cfg_node *n,
		 const char *path, struct sgw_err *err)
{
	static const char *const approvals[] = {"auto", NULL};
	struct cfg_ra_profile *p = elem;
	char sub[PATH_LEN];
	int r;

	if ((r = cfg_parse_map(n, path, ra_profile_fields, p, err)) < 0)
		return r;
	if (set_name(&p->name, name, err) < 0)
		return -SGW_ENOMEM;
	if (cfg_backend_find(c, p->backend) == NULL)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(n, "backend"),
			       subpath(sub, path, "backend"), "unknown backend '%s'", p->backend);
	if (p->approval != NULL && (r = check_enum(cfg_node_get(n, "approval"),
						   subpath(sub, path, "approval"), p->approval,
						   approvals, "approval", err)) < 0)
		return r;
	if (p->template == NULL && set_name(&p->template, "default", err) < 0)
		return -SGW_ENOMEM;
	if (p->approval == NULL && set_name(&p->approval, "auto", err) < 0)
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
	char sub[PATH_LEN];
	int r;

	(void)c;
	if ((r = cfg_parse_map(n, path, ra_identity_fields, &raw, err)) < 0)
		return r;
	*id = raw.id;
	if (set_name(&id->name, name, err) < 0)
		return -SGW_ENOMEM;
	if ((r = cfg_parse_map(raw.sign, subpath(sub, path, "sign"), keypair_fields, &id->sign,
			       err)) < 0)
		return r;
	if (raw.encrypt != NULL)
		return cfg_parse_map(raw.encrypt, subpath(sub, path, "encrypt"), keypair_fields,
				     &id->encrypt, err);
	if (set_name(&id->encrypt.cert, id->sign.cert, err) < 0 ||
	    set_name(&id->encrypt.key, id->sign.key, err) < 0)
		return -SGW_ENOMEM;
	return 0;
}

/* ---- scep profiles ------------------------------------------------------- */

struct challenge_raw {
	char *type;
	char *sha256;
	char *secret_file;
};

static const struct cfg_field challenge_fields[] = {
	{"type", CFG_STR, offsetof(struct challenge_raw, type), 1},
	{"sha256", CFG_STR, offsetof(struct challenge_raw, sha256), 0},
	{"secret_file", CFG_STR, offsetof(struct challenge_raw, secret_file), 0},
	{NULL},
};

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static int
parse_hex32(const char *s, uint8_t out[32])
{
	if (strlen(s) != 64)
		return -SGW_EINVAL;
	for (size_t i = 0; i < 32; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -SGW_EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* SHA-256 of a regular file's contents, minus one trailing newline. */
static int
hash_secret_file(const struct cfg_node *n, const char *path, const char *file, uint8_t out[32],
		 struct sgw_err *err)
{
	uint8_t buf[SECRET_MAX + 1];
	struct stat st;
	ssize_t len;
	int fd, r = -SGW_EINVAL;

	fd = open(file, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return cfg_err(err, SGW_EIO, n, path, "cannot open '%s': %s", file,
			       strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > SECRET_MAX) {
		r = cfg_err(err, SGW_EINVAL, n, path, "'%s' is not a regular file of at most %d bytes",
			    file, SECRET_MAX);
		goto out;
	}
	len = read(fd, buf, sizeof(buf));
	if (len > 0 && buf[len - 1] == '\n')
		len -= len > 1 && buf[len - 2] == '\r' ? 2 : 1;
	if (len <= 0 || len > SECRET_MAX) {
		r = cfg_err(err, SGW_EINVAL, n, path, "'%s' is empty or unreadable", file);
		goto out;
	}
	if (!EVP_Digest(buf, (size_t)len, out, NULL, EVP_sha256(), NULL)) {
		r = cfg_err(err, SGW_EINVAL, n, path, "SHA-256 failed");
		goto out;
	}
	r = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return r;
}

static int
challenge_eval(const struct cfg_node *n, const char *path, const struct challenge_raw *raw,
	       struct cfg_challenge *ch, struct sgw_err *err)
{
	static const char *const types[] = {"static", "none", NULL};
	char sub[PATH_LEN];
	int r;

	if ((r = check_enum(cfg_node_get(n, "type"), subpath(sub, path, "type"), raw->type, types,
			    "validator", err)) < 0)
		return r;
	if (strcmp(raw->type, "none") == 0) {
		ch->type = CHALLENGE_NONE;
		if (raw->sha256 != NULL || raw->secret_file != NULL)
			return cfg_err(err, SGW_EINVAL, n, path,
				       "sha256 and secret_file need type static");
		return 0;
	}
	ch->type = CHALLENGE_STATIC;
	if ((raw->sha256 != NULL) == (raw->secret_file != NULL))
		return cfg_err(err, SGW_EINVAL, n, path,
			       "type static needs exactly one of sha256 or secret_file");
	if (raw->secret_file != NULL)
		return hash_secret_file(cfg_node_get(n, "secret_file"),
					subpath(sub, path, "secret_file"), raw->secret_file,
					ch->sha256, err);
	if (parse_hex32(raw->sha256, ch->sha256) < 0)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(n, "sha256"),
			       subpath(sub, path, "sha256"), "expected 64 hex characters");
	return 0;
}

static int
parse_challenge(const struct cfg_node *n, const char *path, struct cfg_challenge *ch,
		struct sgw_err *err)
{
	struct challenge_raw raw = {0};
	int r;

	if ((r = cfg_parse_map(n, path, challenge_fields, &raw, err)) < 0)
		return r;
	r = challenge_eval(n, path, &raw, ch, err);
	cfg_fields_free(challenge_fields, &raw);
	return r;
}

/* A list of keywords -> bits; unknown and repeated keywords are errors. */
static int
parse_bits(const struct cfg_node *seq, const char *path, unsigned (*lookup)(const char *),
	   const char *what, unsigned *ret, struct sgw_err *err)
{
	char sub[PATH_LEN];
	unsigned bits = 0, b;

	if (cfg_node_type(seq) != CFG_NODE_SEQ)
		return cfg_err(err, SGW_EINVAL, seq, path, "expected a list");
	for (size_t i = 0; i < cfg_node_count(seq); i++) {
		const struct cfg_node *it = cfg_node_item(seq, i);
		const char *s = cfg_node_scalar(it);

		itempath(sub, path, i);
		if (s == NULL)
			return cfg_err(err, SGW_EINVAL, it, sub, "expected a %s", what);
		if ((b = lookup(s)) == 0)
			return cfg_err(err, SGW_EINVAL, it, sub, "unknown %s '%s'", what, s);
		if (bits & b)
			return cfg_err(err, SGW_EINVAL, it, sub, "duplicate %s '%s'", what, s);
		bits |= b;
	}
	*ret = bits;
	return 0;
}

static unsigned
key_type_parse(const char *s)
{
	if (strcmp(s, "rsa") == 0)
		return CSR_KEY_RSA;
	return strcmp(s, "ec") == 0 ? CSR_KEY_EC : 0;
}

struct csr_policy_raw {
	struct cfg_csr_policy pol;
	const struct cfg_node *key_types;
};

static const struct cfg_field csr_policy_fields[] = {
	{"key_types", CFG_NODE, offsetof(struct csr_policy_raw, key_types), 0},
	{"min_rsa_bits", CFG_INT, offsetof(struct csr_policy_raw, pol.min_rsa_bits), 0},
	{"san_dns", CFG_STRLIST, offsetof(struct csr_policy_raw, pol.san_dns), 0},
	{"allow_san_ip", CFG_BOOL, offsetof(struct csr_policy_raw, pol.allow_san_ip), 0},
	{"allow_san_email", CFG_BOOL, offsetof(struct csr_policy_raw, pol.allow_san_email), 0},
	{"require_cn", CFG_BOOL, offsetof(struct csr_policy_raw, pol.require_cn), 0},
	{NULL},
};

static int
parse_csr_policy(const struct cfg_node *n, const char *path, struct cfg_csr_policy *pol,
		 struct sgw_err *err)
{
	struct csr_policy_raw raw = {.pol = *pol};
	char sub[PATH_LEN];
	int r;

	if ((r = cfg_parse_map(n, path, csr_policy_fields, &raw, err)) < 0)
		return r;
	*pol = raw.pol;
	subpath(sub, path, "key_types");
	if (raw.key_types != NULL &&
	    (r = parse_bits(raw.key_types, sub, key_type_parse,
			    "key type", &pol->key_types, err)) < 0)
		return r;
	if (pol->key_types == 0)
		return cfg_err(err, SGW_EINVAL, raw.key_types, sub, "expected at least one");
	return check_range(n, path, "min_rsa_bits", pol->min_rsa_bits, 1024, 16384, err);
}

struct profile_raw {
	struct cfg_scep_profile p;
	const struct cfg_node *caps, *getcacert, *certrep, *challenge, *csr_policy;
};

#define PR(f) offsetof(struct profile_raw, f)
static const struct cfg_field profile_fields[] = {
	{"ra_identity", CFG_STR, PR(p.ra_identity), 1},
	{"ra_profile", CFG_STR, PR(p.ra_profile), 1},
	{"capabilities", CFG_NODE, PR(caps), 0},
	{"allow_single_des", CFG_BOOL, PR(p.allow_single_des), 0},
	{"allow_md5", CFG_BOOL, PR(p.allow_md5), 0},
	{"getcacert", CFG_NODE, PR(getcacert), 0},
	{"certrep", CFG_NODE, PR(certrep), 0},
	{"signing_time_skew", CFG_DURATION, PR(p.signing_time_skew), 0},
	{"challenge", CFG_NODE, PR(challenge), 1},
	{"csr_policy", CFG_NODE, PR(csr_policy), 0},
	{NULL},
};
#undef PR

static const struct cfg_field getcacert_fields[] = {
	{"include_root", CFG_BOOL, offsetof(struct cfg_scep_profile, getcacert_include_root), 0},
	{"include_chain", CFG_BOOL, offsetof(struct cfg_scep_profile, getcacert_include_chain), 0},
	{NULL},
};

static const struct cfg_field certrep_fields[] = {
	{"include_ca", CFG_BOOL, offsetof(struct cfg_scep_profile, certrep_include_ca), 0},
	{NULL},
};

static const struct cfg_scep_profile profile_defaults = {
	.caps = CAPS_DEFAULT,
	.getcacert_include_root = 1,
	.getcacert_include_chain = 1,
	.csr_policy = {.key_types = CSR_KEY_RSA | CSR_KEY_EC,
		       .min_rsa_bits = 2048,
		       .allow_san_ip = 1,
		       .allow_san_email = 1,
		       .require_cn = 1},
};

static int
check_refs(const struct cfg *c, const struct cfg_node *n, const char *path,
	   const struct cfg_scep_profile *p, struct sgw_err *err)
{
	char sub[PATH_LEN];

	if (cfg_ra_identity_find(c, p->ra_identity) == NULL)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(n, "ra_identity"),
			       subpath(sub, path, "ra_identity"), "unknown ra_identity '%s'",
			       p->ra_identity);
	if (cfg_ra_profile_find(c, p->ra_profile) == NULL)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(n, "ra_profile"),
			       subpath(sub, path, "ra_profile"), "unknown ra_profile '%s'",
			       p->ra_profile);
	return 0;
}

static int
parse_profile(struct cfg *c, void *elem, const char *name, const struct cfg_node *n,
	      const char *path, struct sgw_err *err)
{
	struct profile_raw raw = {.p = profile_defaults};
	struct cfg_scep_profile *p = elem;
	char sub[PATH_LEN];
	int r;

	if ((r = cfg_parse_map(n, path, profile_fields, &raw, err)) < 0)
		return r;
	*p = raw.p;
	if (set_name(&p->name, name, err) < 0)
		return -SGW_ENOMEM;
	if ((r = check_refs(c, n, path, p, err)) < 0)
		return r;
	if (raw.caps != NULL && (r = parse_bits(raw.caps, subpath(sub, path, "capabilities"),
						cfg_cap_parse, "capability", &p->caps, err)) < 0)
		return r;
	if (raw.getcacert != NULL && (r = cfg_parse_map(raw.getcacert, subpath(sub, path, "getcacert"),
							getcacert_fields, p, err)) < 0)
		return r;
	if (raw.certrep != NULL && (r = cfg_parse_map(raw.certrep, subpath(sub, path, "certrep"),
						      certrep_fields, p, err)) < 0)
		return r;
	if (raw.csr_policy != NULL &&
	    (r = parse_csr_policy(raw.csr_policy, subpath(sub, path, "csr_policy"), &p->csr_policy,
				  err)) < 0)
		return r;
	return parse_challenge(raw.challenge, subpath(sub, path, "challenge"), &p->challenge, err);
}

/* ---- top level ----------------------------------------------------------- */

struct top_raw {
	char *log_level, *user, *default_profile;
	int workers;
	const struct cfg_node *limits, *listen, *store, *ra_identities, *scep_profiles,
		*ra_profiles, *backends;
};

#define TR(f) offsetof(struct top_raw, f)
static const struct cfg_field top_fields[] = {
	{"log_level", CFG_STR, TR(log_level), 0},
	{"user", CFG_STR, TR(user), 0},
	{"default_profile", CFG_STR, TR(default_profile), 0},
	{"workers", CFG_INT, TR(workers), 0},
	{"limits", CFG_NODE, TR(limits), 0},
	{"listen", CFG_NODE, TR(listen), 1},
	{"store", CFG_NODE, TR(store), 1},
	{"ra_identities", CFG_NODE, TR(ra_identities), 1},
	{"scep_profiles", CFG_NODE, TR(scep_profiles), 1},
	{"ra_profiles", CFG_NODE, TR(ra_profiles), 1},
	{"backends", CFG_NODE, TR(backends), 1},
	{NULL},
};
#undef TR

static int
parse_sections(struct cfg *c, const struct top_raw *t, struct sgw_err *err)
{
	int r;

	if ((r = each_named(c, t->backends, "backends", sizeof(*c->backends),
			    (void **)&c->backends, &c->n_backends, parse_backend, err)) < 0 ||
	    (r = each_named(c, t->ra_profiles, "ra_profiles", sizeof(*c->ra_profiles),
			    (void **)&c->ra_profiles, &c->n_ra_profiles, parse_ra_profile, err)) <
		    0 ||
	    (r = each_named(c, t->ra_identities, "ra_identities", sizeof(*c->ra_identities),
			    (void **)&c->ra_identities, &c->n_ra_identities, parse_ra_identity,
			    err)) < 0 ||
	    (r = each_named(c, t->scep_profiles, "scep_profiles", sizeof(*c->scep_profiles),
			    (void **)&c->scep_profiles, &c->n_scep_profiles, parse_profile, err)) <
		    0)
		return r;
	if ((r = parse_listen(c, t->listen, err)) < 0 || (r = parse_store(c, t->store, err)) < 0)
		return r;
	return parse_limits(c, t->limits, err);
}

static int
parse_top(struct cfg *c, struct sgw_err *err)
{
	static const char *const levels[] = {"error", "warn", "info", "debug", NULL};
	struct top_raw t = {0};
	int r;

	if ((r = cfg_parse_map(c->root, "", top_fields, &t, err)) < 0)
		return r;
	c->log_level = t.log_level;
	c->user = t.user;
	c->default_profile = t.default_profile;
	c->workers = t.workers;
	if (c->log_level != NULL && (r = check_enum(cfg_node_get(c->root, "log_level"),
						    "log_level", c->log_level, levels,
						    "log level", err)) < 0)
		return r;
	if (c->log_level == NULL && (c->log_level = strdup("info")) == NULL)
		return nomem(err);
	if ((r = check_range(c->root, "", "workers", c->workers, 0, 1024, err)) < 0 ||
	    (r = parse_sections(c, &t, err)) < 0)
		return r;
	if (c->default_profile != NULL && cfg_scep_profile_find(c, c->default_profile) == NULL)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(c->root, "default_profile"),
			       "default_profile", "unknown scep_profile '%s'", c->default_profile);
	return 0;
}

static const struct cfg_limits limits_defaults = {
	.max_body = 64 * 1024, .max_headers = 8 * 1024, .timeout = 30, .max_connections = 1024};

int
cfg_parse(const char *file, const uint8_t *buf, size_t len, struct cfg **ret,
	  struct sgw_err *err)
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

#define FIND(arr, n, name)                                                                 \
	do {                                                                               \
		for (size_t i_ = 0; c != NULL && name != NULL && i_ < (n); i_++)           \
			if ((arr)[i_].name != NULL && strcmp((arr)[i_].name, name) == 0)   \
				return &(arr)[i_];                                         \
		return NULL;                                                               \
	} while (0)

const struct cfg_scep_profile *
cfg_scep_profile_find(const struct cfg *c, const char *name)
{
	FIND(c->scep_profiles, c->n_scep_profiles, name);
}

const struct cfg_ra_profile *
cfg_ra_profile_find(const struct cfg *c, const char *name)
{
	FIND(c->ra_profiles, c->n_ra_profiles, name);
}

const struct cfg_ra_identity *
cfg_ra_identity_find(const struct cfg *c, const char *name)
{
	FIND(c->ra_identities, c->n_ra_identities, name);
}

const struct cfg_backend *
cfg_backend_find(const struct cfg *c, const char *name)
{
	FIND(c->backends, c->n_backends, name);
}
#undef FIND

static void
strlist_free(struct cfg_strlist *sl)
{
	for (size_t i = 0; i < sl->n; i++)
		free(sl->v[i]);
	free(sl->v);
}

static void
profiles_free(struct cfg_scep_profile *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].ra_identity);
		free(p[i].ra_profile);
		strlist_free(&p[i].csr_policy.san_dns);
	}
	free(p);
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
	identities_free(c->ra_identities, c->n_ra_identities);
	profiles_free(c->scep_profiles, c->n_scep_profiles);
	for (size_t i = 0; i < c->n_ra_profiles; i++) {
		free(c->ra_profiles[i].name);
		free(c->ra_profiles[i].backend);
		free(c->ra_profiles[i].template);
		free(c->ra_profiles[i].approval);
	}
	free(c->ra_profiles);
	for (size_t i = 0; i < c->n_backends; i++) {
		free(c->backends[i].name);
		free(c->backends[i].type);
		free(c->backends[i].path);
	}
	free(c->backends);
	free(c->log_level);
	free(c->user);
	free(c->default_profile);
	cfg_node_free(c->root);
	free(c->file);
	free(c);
}
