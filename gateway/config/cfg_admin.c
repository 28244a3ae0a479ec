/* cfg_admin.c: the `admin:` section (the admin API listener) and the RA
 * profile's `approval:` rule (auto, manual, or manual unless auto_if holds). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "cfg.h"
#include "cfg_admin.h"
#include "cfg_dn.h"
#include "cfg_subject.h"
#include "cfg_util.h"

#define PENDING_TTL_DEFAULT (7 * 86400)

/* ---- admin.clients ------------------------------------------------------ */

struct client_raw {
	char *name, *role, *cert_sha256, *spki_sha256, *subject, *issuer;
};

#define CR(f) offsetof(struct client_raw, f)
static const struct cfg_field client_fields[] = {
    {"name", CFG_STR, CR(name), 1},
    {"role", CFG_STR, CR(role), 0},
    {"cert_sha256", CFG_STR, CR(cert_sha256), 0},
    {"spki_sha256", CFG_STR, CR(spki_sha256), 0},
    {"subject", CFG_STR, CR(subject), 0},
    {"issuer", CFG_STR, CR(issuer), 0},
    {NULL},
};
#undef CR

/* 64 hex digits, or 32 colon-separated pairs (openssl x509 -fingerprint). */
static int
pin_parse(const char *s, uint8_t out[32])
{
	char hex[65];
	size_t n = 0;

	for (; *s != '\0'; s++) {
		if (*s == ':')
			continue;
		if (n == 64)
			return -SGW_EPARSE;
		hex[n++] = *s;
	}
	return b64_hex_decode(hex, n, out, 32);
}

static int
client_pin(const struct cfg_node *it, const char *path, const char *key, const char *v,
	   uint8_t out[32], struct sgw_err *err)
{
	char sub[CFG_PATH_MAX];

	if (v != NULL && pin_parse(v, out) < 0)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(it, key), cfg_subpath(sub, path, key),
			       "expected a SHA-256: 64 hex digits (colons allowed)");
	return 0;
}

static int
client_dn(const struct cfg_node *it, const char *path, const char *key, const char *v,
	  X509_NAME **out, struct sgw_err *err)
{
	char sub[CFG_PATH_MAX];

	if (v != NULL && cfg_dn_parse(v, strlen(v), out) < 0)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(it, key), cfg_subpath(sub, path, key),
			       "expected a distinguished name as `openssl x509 -nameopt RFC2253` "
			       "prints it, e.g. \"CN=alice,O=Example\"");
	return 0;
}

static int
client_check(const struct cfg_node *it, const char *path, struct client_raw *raw,
	     struct cfg_admin_client *c, struct sgw_err *err)
{
	static const char *const roles[] = {"admin", "read", "challenge", NULL};
	char sub[CFG_PATH_MAX];
	int r;

	if (strlen(raw->name) >= 64 ||
	    strspn(raw->name, "abcdefghijklmnopqrstuvwxyz"
			      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-") != strlen(raw->name))
		return cfg_err(err, SGW_EINVAL, cfg_node_get(it, "name"),
			       cfg_subpath(sub, path, "name"), "1 to 63 of A-Z a-z 0-9 . _ @ -");
	if (raw->role != NULL &&
	    (r = cfg_check_enum(cfg_node_get(it, "role"), cfg_subpath(sub, path, "role"), raw->role,
				roles, "role", err)) < 0)
		return r;
	if ((raw->subject == NULL) != (raw->issuer == NULL))
		return cfg_err(err, SGW_EINVAL, it, path,
			       "subject and issuer go together (a subject alone names nobody)");
	if (raw->cert_sha256 == NULL && raw->spki_sha256 == NULL && raw->subject == NULL)
		return cfg_err(err, SGW_EINVAL, it, path,
			       "needs cert_sha256, spki_sha256 or subject + issuer");
	if ((r = client_pin(it, path, "cert_sha256", raw->cert_sha256, c->cert_sha256, err)) < 0 ||
	    (r = client_pin(it, path, "spki_sha256", raw->spki_sha256, c->spki_sha256, err)) < 0 ||
	    (r = client_dn(it, path, "subject", raw->subject, &c->subject, err)) < 0 ||
	    (r = client_dn(it, path, "issuer", raw->issuer, &c->issuer, err)) < 0)
		return r;
	c->has = (raw->cert_sha256 != NULL ? CFG_ADMIN_CERT_SHA256 : 0) |
		 (raw->spki_sha256 != NULL ? CFG_ADMIN_SPKI_SHA256 : 0) |
		 (raw->subject != NULL ? CFG_ADMIN_SUBJECT : 0);
	return 0;
}

static int
client_parse(const struct cfg_node *it, const char *path, struct cfg_admin_client *c,
	     struct sgw_err *err)
{
	struct client_raw raw = {0};
	int r;

	if ((r = cfg_parse_map(it, path, client_fields, &raw, err)) < 0)
		return r;
	r = client_check(it, path, &raw, c, err);
	c->name = raw.name;
	c->role = raw.role;
	raw.name = raw.role = NULL;
	cfg_fields_free(client_fields, &raw);
	return r;
}

static int
clients_parse(struct cfg_admin *a, const struct cfg_node *seq, struct sgw_err *err)
{
	char path[CFG_PATH_MAX];
	int r;

	if (cfg_node_type(seq) != CFG_NODE_SEQ)
		return cfg_err(err, SGW_EINVAL, seq, "admin.clients", "expected a list");
	if (cfg_node_count(seq) == 0)
		return 0;
	if ((a->clients = calloc(cfg_node_count(seq), sizeof(*a->clients))) == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	for (size_t i = 0; i < cfg_node_count(seq); i++) {
		a->n_clients++;
		cfg_itempath(path, "admin.clients", i);
		if ((r = client_parse(cfg_node_item(seq, i), path, &a->clients[i], err)) < 0)
			return r;
	}
	return 0;
}

/* ---- admin --------------------------------------------------------------- */

struct admin_raw {
	struct cfg_admin a;
	const struct cfg_node *tls, *clients, *client_cns;
};

#define AR(f) offsetof(struct admin_raw, f)
static const struct cfg_field admin_fields[] = {
    {"listen", CFG_STR, AR(a.listen), 1},
    {"tls", CFG_NODE, AR(tls), 0},
    {"client_ca", CFG_STR, AR(a.client_ca), 0},
    {"clients", CFG_NODE, AR(clients), 0},
    {"client_cns", CFG_NODE, AR(client_cns), 0}, /* removed: refused with a hint */
    {"tokens_file", CFG_STR, AR(a.tokens_file), 0},
    {"mscep_profile", CFG_STR, AR(a.mscep_profile), 0},
    {NULL},
};
#undef AR

static const struct cfg_field admin_tls_fields[] = {
    {"cert", CFG_STR, offsetof(struct cfg_tls, cert), 1},
    {"key", CFG_STR, offsetof(struct cfg_tls, key), 1},
    {NULL},
};

static int
loopback(const char *addr)
{
	return strncmp(addr, "127.", 4) == 0 || strncmp(addr, "[::1]:", 6) == 0 ||
	       strncmp(addr, "localhost:", 10) == 0;
}

/* Who may authenticate by client certificate: client_ca and clients go
 * together; an empty list would let nobody in, so it is refused. */
static int
admin_certs(struct cfg_admin *a, const struct admin_raw *raw, const struct cfg_node *n,
	    struct sgw_err *err)
{
	int r;

	if (raw->client_cns != NULL)
		return cfg_err(err, SGW_EINVAL, raw->client_cns, "admin.client_cns",
			       "removed: a certificate's commonName is chosen by whoever requests "
			       "it; list each administrator under admin.clients with spki_sha256, "
			       "cert_sha256 or subject + issuer (docs/config.md, admin)");
	if (raw->clients != NULL && (r = clients_parse(a, raw->clients, err)) < 0)
		return r;
	if (a->client_ca != NULL && !a->tls)
		return cfg_err(err, SGW_EINVAL, n, "admin.client_ca", "client_ca needs tls");
	if (a->client_ca != NULL && a->n_clients == 0)
		return cfg_err(err, SGW_EINVAL, raw->clients != NULL ? raw->clients : n,
			       "admin.clients",
			       "client_ca is set but no administrator is listed: nobody could "
			       "authenticate by certificate (list each one with name and "
			       "spki_sha256, cert_sha256 or subject + issuer)");
	if (a->client_ca == NULL && raw->clients != NULL)
		return cfg_err(err, SGW_EINVAL, raw->clients, "admin.clients",
			       "clients need client_ca (the CA their certificates verify against)");
	return 0;
}

int
cfg_admin_parse(struct cfg *c, const struct cfg_node *n, struct sgw_err *err)
{
	struct admin_raw raw = {0};
	struct cfg_admin *a = &c->admin;
	int r;

	if (n == NULL)
		return 0;
	r = cfg_parse_map(n, "admin", admin_fields, &raw, err);
	*a = raw.a;
	if (r < 0)
		return r;
	a->enabled = 1;
	if (raw.tls != NULL) {
		a->tls = 1;
		if ((r = cfg_parse_map(raw.tls, "admin.tls", admin_tls_fields, &a->tls_files,
				       err)) < 0)
			return r;
	}
	if (strrchr(a->listen, ':') == NULL)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(n, "listen"), "admin.listen",
			       "expected host:port, got '%s'", a->listen);
	if (!a->tls && !loopback(a->listen))
		return cfg_err(err, SGW_EINVAL, cfg_node_get(n, "listen"), "admin.listen",
			       "a non-loopback admin listener needs tls");
	if ((r = admin_certs(a, &raw, n, err)) < 0)
		return r;
	if (a->client_ca == NULL && a->tokens_file == NULL)
		return cfg_err(err, SGW_EINVAL, n, "admin",
			       "needs client_ca or tokens_file (no anonymous administration)");
	if (a->mscep_profile == NULL && c->default_profile != NULL &&
	    cfg_set_name(&a->mscep_profile, c->default_profile, err) < 0)
		return -SGW_ENOMEM;
	if (a->mscep_profile != NULL && cfg_scep_profile_find(c, a->mscep_profile) == NULL)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(n, "mscep_profile"),
			       "admin.mscep_profile", "unknown scep_profile '%s'",
			       a->mscep_profile);
	return 0;
}

void
cfg_admin_free(struct cfg_admin *a)
{
	free(a->listen);
	free(a->tls_files.cert);
	free(a->tls_files.key);
	free(a->client_ca);
	for (size_t i = 0; i < a->n_clients; i++) {
		free(a->clients[i].name);
		free(a->clients[i].role);
		X509_NAME_free(a->clients[i].subject);
		X509_NAME_free(a->clients[i].issuer);
	}
	free(a->clients);
	free(a->tokens_file);
	free(a->mscep_profile);
}

/* ---- approval ------------------------------------------------------------ */

struct rule_raw {
	struct cfg_approval_rule r;
	struct cfg_strlist key_types;
	const struct cfg_node *subject_matches;
};

#define RR(f) offsetof(struct rule_raw, f)
static const struct cfg_field rule_fields[] = {
    {"subject_matches", CFG_NODE, RR(subject_matches), 0},
    {"san_dns", CFG_STRLIST, RR(r.san_dns), 0},
    {"key_types", CFG_STRLIST, RR(key_types), 0},
    {"min_rsa_bits", CFG_INT, RR(r.min_rsa_bits), 0},
    {NULL},
};
#undef RR

struct approval_raw {
	char *mode;
	const struct cfg_node *auto_if;
};

static const struct cfg_field approval_fields[] = {
    {"default", CFG_STR, offsetof(struct approval_raw, mode), 0},
    {"auto_if", CFG_NODE, offsetof(struct approval_raw, auto_if), 1},
    {NULL},
};

static int
parse_rule(struct cfg_ra_profile *p, const struct cfg_node *n, const char *path,
	   struct sgw_err *err)
{
	struct rule_raw raw = {0};
	char sub[CFG_PATH_MAX];
	int r;

	r = cfg_parse_map(n, path, rule_fields, &raw, err);
	p->auto_if = raw.r;
	for (size_t i = 0; r == 0 && i < raw.key_types.n; i++) {
		const char *k = raw.key_types.v[i];

		if (strcmp(k, "rsa") == 0)
			p->auto_if.key_types |= CSR_KEY_RSA;
		else if (strcmp(k, "ec") == 0)
			p->auto_if.key_types |= CSR_KEY_EC;
		else
			r = cfg_err(err, SGW_EINVAL, cfg_node_get(n, "key_types"),
				    cfg_subpath(sub, path, "key_types"),
				    "unknown key type '%s' (one of: rsa, ec)", k);
	}
	cfg_fields_free(rule_fields + 2, &raw); /* key_types only */
	if (r == 0 && raw.subject_matches != NULL)
		r = cfg_subject_matches_parse(raw.subject_matches,
					      cfg_subpath(sub, path, "subject_matches"),
					      &p->auto_if, err);
	if (r == 0 && p->auto_if.min_rsa_bits != 0)
		r = cfg_check_range(n, path, "min_rsa_bits", p->auto_if.min_rsa_bits, 1024, 16384,
				    err);
	return r;
}

/* `n` is the approval value: a scalar (auto, manual) or a mapping
 * {default: manual, auto_if: {...}}. */
int
cfg_approval_parse(struct cfg_ra_profile *p, const struct cfg_node *n, const char *path,
		   struct sgw_err *err)
{
	static const char *const modes[] = {"auto", "manual", NULL};
	struct approval_raw raw = {0};
	char sub[CFG_PATH_MAX];
	int r;

	if (p->pending_ttl == 0)
		p->pending_ttl = PENDING_TTL_DEFAULT;
	if (n == NULL)
		return cfg_set_name(&p->approval, "auto", err);
	if (cfg_node_scalar(n) != NULL) {
		if ((r = cfg_check_enum(n, path, cfg_node_scalar(n), modes, "approval", err)) < 0)
			return r;
		return cfg_set_name(&p->approval, cfg_node_scalar(n), err);
	}
	if ((r = cfg_parse_map(n, path, approval_fields, &raw, err)) < 0)
		return r;
	if (raw.mode != NULL && strcmp(raw.mode, "manual") != 0)
		r = cfg_err(err, SGW_EINVAL, cfg_node_get(n, "default"),
			    cfg_subpath(sub, path, "default"),
			    "must be manual (auto_if lists when to skip approval)");
	free(raw.mode);
	if (r == 0)
		r = parse_rule(p, raw.auto_if, cfg_subpath(sub, path, "auto_if"), err);
	if (r == 0)
		r = cfg_set_name(&p->approval, "rules", err);
	return r;
}

void
cfg_approval_free(struct cfg_ra_profile *p)
{
	free(p->approval);
	cfg_subject_matches_free(&p->auto_if);
	for (size_t i = 0; i < p->auto_if.san_dns.n; i++)
		free(p->auto_if.san_dns.v[i]);
	free(p->auto_if.san_dns.v);
}
