/* cfg_profile.c: the scep_profiles section of the schema: capabilities,
 * getcacert, renewal, certrep, csr_policy, the challenge's type (its
 * validator parses the rest), and the capability keyword table. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "cfg_profile.h"
#include "cfg_util.h"

#define CAPS_DEFAULT                                                                               \
	(SCEP_CAP_POSTPKIOPERATION | SCEP_CAP_SHA1 | SCEP_CAP_SHA224 | SCEP_CAP_SHA256 |           \
	 SCEP_CAP_SHA384 | SCEP_CAP_SHA512 | SCEP_CAP_AES | SCEP_CAP_DES3 | SCEP_CAP_SCEPSTANDARD)

/* Indexed by bit number (enum scep_cap). */
static const char *const cap_names[] = {
    "POSTPKIOperation", "SHA-1",	"SHA-256",	 "SHA-512", "AES",     "DES3",
    "Renewal",		"SCEPStandard", "GetNextCACert", "SHA-224", "SHA-384",
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

/* ---- scep profiles ------------------------------------------------------- */

/* The validator named by `type` parses the rest when the profiles are built
 * (validator_new()). */
static int
parse_challenge(const struct cfg_node *n, const char *path, struct cfg_challenge *ch,
		struct sgw_err *err)
{
	const char *type;
	int r;

	if ((r = cfg_check_typed(n, path, "validator", &type, err)) < 0)
		return r;
	ch->node = n;
	if (cfg_set_name(&ch->type, type, err) < 0 || cfg_set_name(&ch->path, path, err) < 0)
		return -SGW_ENOMEM;
	return 0;
}

/* A list of keywords -> bits; unknown and repeated keywords are errors. */
static int
parse_bits(const struct cfg_node *seq, const char *path, unsigned (*lookup)(const char *),
	   const char *what, const char *allowed, unsigned *ret, struct sgw_err *err)
{
	char sub[CFG_PATH_MAX];
	unsigned bits = 0, b;

	if (cfg_node_type(seq) != CFG_NODE_SEQ)
		return cfg_err(err, SGW_EINVAL, seq, path, "expected a list");
	for (size_t i = 0; i < cfg_node_count(seq); i++) {
		const struct cfg_node *it = cfg_node_item(seq, i);
		const char *s = cfg_node_scalar(it);

		cfg_itempath(sub, path, i);
		if (s == NULL)
			return cfg_err(err, SGW_EINVAL, it, sub, "expected a %s", what);
		if ((b = lookup(s)) == 0)
			return cfg_err(err, SGW_EINVAL, it, sub, "unknown %s '%s' (one of: %s)",
				       what, s, allowed);
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
    {"san_uri", CFG_STRLIST, offsetof(struct csr_policy_raw, pol.san_uri), 0},
    {"allow_upn", CFG_BOOL, offsetof(struct csr_policy_raw, pol.allow_upn), 0},
    {"san_upn", CFG_STRLIST, offsetof(struct csr_policy_raw, pol.san_upn), 0},
    {"cn_pattern", CFG_STR, offsetof(struct csr_policy_raw, pol.cn_pattern), 0},
    {"max_sans", CFG_INT, offsetof(struct csr_policy_raw, pol.max_sans), 0},
    {"max_cn_length", CFG_INT, offsetof(struct csr_policy_raw, pol.max_cn_length), 0},
    {"max_attr_length", CFG_INT, offsetof(struct csr_policy_raw, pol.max_attr_length), 0},
    {"max_subject_length", CFG_INT, offsetof(struct csr_policy_raw, pol.max_subject_length), 0},
    {"max_name_length", CFG_INT, offsetof(struct csr_policy_raw, pol.max_name_length), 0},
    {"max_uri_length", CFG_INT, offsetof(struct csr_policy_raw, pol.max_uri_length), 0},
    {NULL},
};

/* A '*' only at the end of a san_uri pattern (a prefix); in san_upn only
 * as a whole local part ("*@corp.example.com"). */
static int
check_name_patterns(const struct cfg_node *n, const char *path, const struct cfg_csr_policy *pol,
		    struct sgw_err *err)
{
	char sub[CFG_PATH_MAX];
	const char *star;

	for (size_t i = 0; i < pol->san_uri.n; i++) {
		star = strchr(pol->san_uri.v[i], '*');
		if (pol->san_uri.v[i][0] == '\0' || (star != NULL && star[1] != '\0'))
			return cfg_err(err, SGW_EINVAL, cfg_node_get(n, "san_uri"),
				       cfg_subpath(sub, path, "san_uri"),
				       "'%s': a URI, or a prefix ending in '*'", pol->san_uri.v[i]);
	}
	for (size_t i = 0; i < pol->san_upn.n; i++) {
		star = strchr(pol->san_upn.v[i], '*');
		if (strchr(pol->san_upn.v[i], '@') == NULL ||
		    (star != NULL && (star != pol->san_upn.v[i] || star[1] != '@')))
			return cfg_err(err, SGW_EINVAL, cfg_node_get(n, "san_upn"),
				       cfg_subpath(sub, path, "san_upn"),
				       "'%s': a UPN (user@domain) or *@domain", pol->san_upn.v[i]);
	}
	if (pol->san_upn.n > 0 && !pol->allow_upn)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(n, "san_upn"),
			       cfg_subpath(sub, path, "san_upn"), "needs allow_upn: true");
	return 0;
}

/* The limits: present keys within 1..64k (absent ones keep their default). */
static int
check_limits(const struct cfg_node *n, const char *path, const struct cfg_csr_policy *pol,
	     struct sgw_err *err)
{
	const struct {
		const char *key;
		int v;
	} lim[] = {
	    {"max_sans", pol->max_sans},
	    {"max_cn_length", pol->max_cn_length},
	    {"max_attr_length", pol->max_attr_length},
	    {"max_subject_length", pol->max_subject_length},
	    {"max_name_length", pol->max_name_length},
	    {"max_uri_length", pol->max_uri_length},
	};
	int r;

	for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]); i++)
		if (cfg_node_get(n, lim[i].key) != NULL &&
		    (r = cfg_check_range(n, path, lim[i].key, lim[i].v, 1, 65536, err)) < 0)
			return r;
	return 0;
}

static int
parse_csr_policy(const struct cfg_node *n, const char *path, struct cfg_csr_policy *pol,
		 struct sgw_err *err)
{
	struct csr_policy_raw raw = {.pol = *pol};
	char sub[CFG_PATH_MAX];
	int r;

	if ((r = cfg_parse_map(n, path, csr_policy_fields, &raw, err)) < 0)
		return r;
	*pol = raw.pol;
	cfg_subpath(sub, path, "key_types");
	if (raw.key_types != NULL && (r = parse_bits(raw.key_types, sub, key_type_parse, "key type",
						     "rsa, ec", &pol->key_types, err)) < 0)
		return r;
	if (pol->key_types == 0)
		return cfg_err(err, SGW_EINVAL, raw.key_types, sub, "expected at least one");
	if ((r = check_name_patterns(n, path, pol, err)) < 0 ||
	    (r = check_limits(n, path, pol, err)) < 0)
		return r;
	return cfg_check_range(n, path, "min_rsa_bits", pol->min_rsa_bits, 1024, 16384, err);
}

struct profile_raw {
	struct cfg_scep_profile p;
	const struct cfg_node *caps, *getcacert, *certrep, *challenge, *csr_policy, *renewal;
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
    {"getcert", CFG_BOOL, PR(p.getcert), 0},
    {"getcrl", CFG_BOOL, PR(p.getcrl), 0},
    {"next_ra_identity", CFG_STR, PR(p.next_ra_identity), 0},
    {"renewal", CFG_NODE, PR(renewal), 0},
    {"challenge", CFG_NODE, PR(challenge), 1},
    {"csr_policy", CFG_NODE, PR(csr_policy), 0},
    {NULL},
};
#undef PR

struct getcacert_raw {
	int include_root, include_chain;
	char *mode;
};

static const struct cfg_field getcacert_fields[] = {
    {"include_root", CFG_BOOL, offsetof(struct getcacert_raw, include_root), 0},
    {"include_chain", CFG_BOOL, offsetof(struct getcacert_raw, include_chain), 0},
    {"mode", CFG_STR, offsetof(struct getcacert_raw, mode), 0},
    {NULL},
};

#define RN(f) offsetof(struct cfg_renewal, f)
static const struct cfg_field renewal_fields[] = {
    {"enabled", CFG_BOOL, RN(enabled), 0},
    {"window_percent", CFG_INT, RN(window_percent), 0},
    {"same_subject", CFG_BOOL, RN(same_subject), 0},
    {"allow_key_reuse", CFG_BOOL, RN(allow_key_reuse), 0},
    {"require_challenge", CFG_BOOL, RN(require_challenge), 0},
    {"require_issued_here", CFG_BOOL, RN(require_issued_here), 0},
    {"allow_new_names", CFG_BOOL, RN(allow_new_names), 0},
    {"revoke_superseded", CFG_BOOL, RN(revoke_superseded), 0},
    {NULL},
};
#undef RN

static const struct cfg_field certrep_fields[] = {
    {"include_ca", CFG_BOOL, offsetof(struct cfg_scep_profile, certrep_include_ca), 0},
    {NULL},
};

static const struct cfg_scep_profile profile_defaults = {
    .caps = CAPS_DEFAULT,
    .getcacert_include_root = 1,
    .getcacert_include_chain = 1,
    .renewal = {.window_percent = 100, .same_subject = 1, .require_issued_here = 1},
    .csr_policy = {.key_types = CSR_KEY_RSA | CSR_KEY_EC,
		   .min_rsa_bits = 2048,
		   .allow_san_ip = 1,
		   .allow_san_email = 1,
		   .require_cn = 1,
		   .max_sans = 50,
		   .max_cn_length = 64,
		   .max_attr_length = 255,
		   .max_subject_length = 1024,
		   .max_name_length = 255,
		   .max_uri_length = 1024},
};

static int
check_refs(const struct cfg *c, const struct cfg_node *n, const char *path,
	   const struct cfg_scep_profile *p, struct sgw_err *err)
{
	char sub[CFG_PATH_MAX];

	if (cfg_ra_identity_find(c, p->ra_identity) == NULL)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(n, "ra_identity"),
			       cfg_subpath(sub, path, "ra_identity"), "unknown ra_identity '%s'",
			       p->ra_identity);
	if (cfg_ra_profile_find(c, p->ra_profile) == NULL)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(n, "ra_profile"),
			       cfg_subpath(sub, path, "ra_profile"), "unknown ra_profile '%s'",
			       p->ra_profile);
	if (p->next_ra_identity != NULL && cfg_ra_identity_find(c, p->next_ra_identity) == NULL)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(n, "next_ra_identity"),
			       cfg_subpath(sub, path, "next_ra_identity"),
			       "unknown ra_identity '%s'", p->next_ra_identity);
	return 0;
}

/* getcacert: { include_root, include_chain, mode: ra | single } */
static int
parse_getcacert(const struct cfg_node *n, const char *path, struct cfg_scep_profile *p,
		struct sgw_err *err)
{
	static const char *const modes[] = {"ra", "single", NULL};
	struct getcacert_raw raw = {p->getcacert_include_root, p->getcacert_include_chain, NULL};
	char sub[CFG_PATH_MAX];
	int r;

	if ((r = cfg_parse_map(n, path, getcacert_fields, &raw, err)) < 0)
		return r;
	if (raw.mode != NULL)
		r = cfg_check_enum(cfg_node_get(n, "mode"), cfg_subpath(sub, path, "mode"),
				   raw.mode, modes, "GetCACert mode", err);
	p->getcacert_include_root = raw.include_root;
	p->getcacert_include_chain = raw.include_chain;
	p->getcacert_single = raw.mode != NULL && strcmp(raw.mode, "single") == 0;
	free(raw.mode);
	return r;
}

/* The Renewal and GetNextCACert keywords follow renewal.enabled and
 * next_ra_identity, so the caps never promise what the profile refuses. */
static int
parse_renewal_caps(const char *path, const struct profile_raw *raw, struct cfg_scep_profile *p,
		   struct sgw_err *err)
{
	char sub[CFG_PATH_MAX];
	const char *why = NULL;
	int r;

	if (raw->renewal != NULL) {
		cfg_subpath(sub, path, "renewal");
		if ((r = cfg_parse_map(raw->renewal, sub, renewal_fields, &p->renewal, err)) < 0)
			return r;
		if ((r = cfg_check_range(raw->renewal, sub, "window_percent",
					 p->renewal.window_percent, 1, 100, err)) < 0)
			return r;
	}
	if (raw->caps != NULL && (p->caps & SCEP_CAP_RENEWAL) && !p->renewal.enabled)
		why = "Renewal needs renewal: { enabled: true }";
	if (raw->caps != NULL && (p->caps & SCEP_CAP_GETNEXTCACERT) && p->next_ra_identity == NULL)
		why = "GetNextCACert needs next_ra_identity";
	if (why != NULL)
		return cfg_err(err, SGW_EINVAL, raw->caps, cfg_subpath(sub, path, "capabilities"),
			       "%s", why);
	p->caps &= ~(unsigned)(SCEP_CAP_RENEWAL | SCEP_CAP_GETNEXTCACERT);
	if (p->renewal.enabled)
		p->caps |= SCEP_CAP_RENEWAL;
	if (p->next_ra_identity != NULL)
		p->caps |= SCEP_CAP_GETNEXTCACERT;
	return 0;
}

int
cfg_profile_parse(struct cfg *c, void *elem, const char *name, const struct cfg_node *n,
		  const char *path, struct sgw_err *err)
{
	struct profile_raw raw = {.p = profile_defaults};
	struct cfg_scep_profile *p = elem;
	char sub[CFG_PATH_MAX];
	int r;

	if ((r = cfg_parse_map(n, path, profile_fields, &raw, err)) < 0)
		return r;
	*p = raw.p;
	if (cfg_set_name(&p->name, name, err) < 0)
		return -SGW_ENOMEM;
	if ((r = check_refs(c, n, path, p, err)) < 0)
		return r;
	if (raw.caps != NULL &&
	    (r = parse_bits(raw.caps, cfg_subpath(sub, path, "capabilities"), cfg_cap_parse,
			    "capability",
			    "POSTPKIOperation, SHA-1, SHA-256, SHA-512, AES, DES3, "
			    "Renewal, SCEPStandard, GetNextCACert",
			    &p->caps, err)) < 0)
		return r;
	if (raw.getcacert != NULL &&
	    (r = parse_getcacert(raw.getcacert, cfg_subpath(sub, path, "getcacert"), p, err)) < 0)
		return r;
	if ((r = parse_renewal_caps(path, &raw, p, err)) < 0)
		return r;
	if (raw.certrep != NULL &&
	    (r = cfg_parse_map(raw.certrep, cfg_subpath(sub, path, "certrep"), certrep_fields, p,
			       err)) < 0)
		return r;
	if (raw.csr_policy != NULL &&
	    (r = parse_csr_policy(raw.csr_policy, cfg_subpath(sub, path, "csr_policy"),
				  &p->csr_policy, err)) < 0)
		return r;
	return parse_challenge(raw.challenge, cfg_subpath(sub, path, "challenge"), &p->challenge,
			       err);
}

static void
strlist_free(struct cfg_strlist *sl)
{
	for (size_t i = 0; i < sl->n; i++)
		free(sl->v[i]);
	free(sl->v);
}

void
cfg_profiles_free(struct cfg_scep_profile *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].ra_identity);
		free(p[i].ra_profile);
		free(p[i].next_ra_identity);
		strlist_free(&p[i].csr_policy.san_dns);
		strlist_free(&p[i].csr_policy.san_uri);
		strlist_free(&p[i].csr_policy.san_upn);
		free(p[i].csr_policy.cn_pattern);
		free(p[i].challenge.type);
		free(p[i].challenge.path);
	}
	free(p);
}
