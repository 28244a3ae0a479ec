/* cfg_admin.c: the `admin:` section (the admin API listener) and the RA
 * profile's `approval:` rule (auto, manual, or manual unless auto_if holds). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cfg_admin.h"
#include "cfg_subject.h"
#include "cfg_util.h"

#define PENDING_TTL_DEFAULT (7 * 86400)

/* ---- admin --------------------------------------------------------------- */

struct admin_raw {
	struct cfg_admin a;
	const struct cfg_node *tls;
};

#define AR(f) offsetof(struct admin_raw, f)
static const struct cfg_field admin_fields[] = {
    {"listen", CFG_STR, AR(a.listen), 1},
    {"tls", CFG_NODE, AR(tls), 0},
    {"client_ca", CFG_STR, AR(a.client_ca), 0},
    {"client_cns", CFG_STRLIST, AR(a.client_cns), 0},
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
	if (a->client_ca != NULL && !a->tls)
		return cfg_err(err, SGW_EINVAL, n, "admin.client_ca", "client_ca needs tls");
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
	for (size_t i = 0; i < a->client_cns.n; i++)
		free(a->client_cns.v[i]);
	free(a->client_cns.v);
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
				    cfg_subpath(sub, path, "key_types"), "unknown key type '%s'",
				    k);
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
