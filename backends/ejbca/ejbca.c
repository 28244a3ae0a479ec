/* ejbca.c: the EJBCA REST backend: configuration, lifecycle and the
 * backend_ops vtable.  The requests are in ejbca_req.c, the REST calls
 * themselves in ejbca_flow.c, usernames in ejbca_user.c, certificate
 * decoding in ejbca_cert.c, the JSON in ejbca_json.c.  Facts about the API:
 * docs/protocol-notes.md section 1.
 *
 *   backends:
 *     ejbca:
 *       type: ejbca
 *       url: https://ejbca.example.org:8443/ejbca/ejbca-rest-api
 *       client_cert: /etc/scepgw/ejbca-admin.pem      # an EJBCA administrator (mTLS)
 *       client_key: /etc/scepgw/ejbca-admin.key       # owner-only mode
 *       ca_bundle: /etc/scepgw/ejbca-tls-ca.pem       # verifies EJBCA's TLS certificate
 *       ca_name: IssuingCA
 *       certificate_profile: ENDUSER
 *       end_entity_profile: SCEP_EEP
 *       username: { from: cn, prefix: "scep-", suffix: "" }
 *       templates: { servers: { certificate_profile: SERVER, username: { from: san_dns } } }
 *
 * Every pkcs10enroll carries a fresh random enrolment code (never the
 * device's challengePassword); a PENDING handle keeps it for finalize. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ejbca_cert.h"
#include "ejbca_int.h"
#include "keyop.h"
#include "log.h"
#include "secret_file.h"

static const struct cfg_field ejbca_fields[] = {
    {"type", CFG_STR, offsetof(struct ejbca_conf, type), 1},
    {"url", CFG_STR, offsetof(struct ejbca_conf, url), 1},
    {"client_cert", CFG_STR, offsetof(struct ejbca_conf, client_cert), 1},
    {"client_key", CFG_STR, offsetof(struct ejbca_conf, client_key), 1},
    HTTP_TRUST_FIELDS(struct ejbca_conf, trust),
    {"ca_name", CFG_STR, offsetof(struct ejbca_conf, ca_name), 1},
    {"ca_dn", CFG_STR, offsetof(struct ejbca_conf, ca_dn), 0},
    {"ca_chain", CFG_STR, offsetof(struct ejbca_conf, ca_chain), 0},
    {"certificate_profile", CFG_STR, offsetof(struct ejbca_conf, certificate_profile), 1},
    {"end_entity_profile", CFG_STR, offsetof(struct ejbca_conf, end_entity_profile), 1},
    {"username", CFG_NODE, offsetof(struct ejbca_conf, username), 0},
    {"templates", CFG_NODE, offsetof(struct ejbca_conf, templates), 0},
    {"include_chain", CFG_BOOL, offsetof(struct ejbca_conf, include_chain), 0},
    {"connect_timeout", CFG_DURATION, offsetof(struct ejbca_conf, connect_timeout), 0},
    {"timeout", CFG_DURATION, offsetof(struct ejbca_conf, timeout), 0},
    {"retries", CFG_INT, offsetof(struct ejbca_conf, retries), 0},
    {"retry_backoff", CFG_DURATION, offsetof(struct ejbca_conf, retry_backoff), 0},
    {"max_response", CFG_SIZE, offsetof(struct ejbca_conf, max_response), 0},
    {"max_connections", CFG_INT, offsetof(struct ejbca_conf, max_connections), 0},
    {NULL, 0, 0, 0},
};

struct user_conf {
	char *from;
	char *prefix;
	char *suffix;
};

static const struct cfg_field user_fields[] = {
    {"from", CFG_STR, offsetof(struct user_conf, from), 0},
    {"prefix", CFG_STR, offsetof(struct user_conf, prefix), 0},
    {"suffix", CFG_STR, offsetof(struct user_conf, suffix), 0},
    {NULL, 0, 0, 0},
};

struct tmpl_conf {
	char *certificate_profile;
	char *end_entity_profile;
	const struct cfg_node *username;
};

static const struct cfg_field tmpl_fields[] = {
    {"certificate_profile", CFG_STR, offsetof(struct tmpl_conf, certificate_profile), 0},
    {"end_entity_profile", CFG_STR, offsetof(struct tmpl_conf, end_entity_profile), 0},
    {"username", CFG_NODE, offsetof(struct tmpl_conf, username), 0},
    {NULL, 0, 0, 0},
};

static const char *const user_from_names[EJBCA_USER_FROM_MAX] = {
    [EJBCA_USER_CN] = "cn",
    [EJBCA_USER_SAN_DNS] = "san_dns",
    [EJBCA_USER_SAN_EMAIL] = "san_email",
    [EJBCA_USER_TXID] = "transaction_id",
};

/* ---- configure ----------------------------------------------------------- */

static char *
dup_or(const char *s, const char *dflt)
{
	return strdup(s != NULL ? s : dflt);
}

/* username: {from, prefix, suffix} into t; inherit from `parent` when absent */
static int
parse_user(const struct cfg_node *n, const char *path, const struct ejbca_tmpl *parent,
	   struct ejbca_tmpl *t, struct sgw_err *err)
{
	struct user_conf u = {0};
	char sub[300];
	int r = 0, i;

	t->user_from = parent != NULL ? parent->user_from : EJBCA_USER_CN;
	snprintf(sub, sizeof(sub), "%s.username", path);
	if (n != NULL && (r = cfg_parse_map(n, sub, user_fields, &u, err)) < 0)
		return r;
	if (u.from != NULL) {
		for (i = 0; i < EJBCA_USER_FROM_MAX && strcmp(u.from, user_from_names[i]) != 0; i++)
			;
		if (i == EJBCA_USER_FROM_MAX)
			r = cfg_err(
			    err, SGW_EINVAL, cfg_node_get(n, "from"), sub,
			    "from: '%s' is not one of cn, san_dns, san_email, transaction_id",
			    u.from);
		t->user_from = (enum ejbca_user_from)i;
	}
	t->user_prefix = dup_or(u.prefix, parent != NULL ? parent->user_prefix : "");
	t->user_suffix = dup_or(u.suffix, parent != NULL ? parent->user_suffix : "");
	if (r == 0 && (t->user_prefix == NULL || t->user_suffix == NULL))
		r = sgw_err_set(err, SGW_ENOMEM, "out of memory");
	cfg_fields_free(user_fields, &u);
	return r;
}

static int
parse_templates(struct ejbca *e, struct sgw_err *err)
{
	const struct cfg_node *n = e->conf.templates;
	char sub[300];
	int r;

	if (n == NULL)
		return 0;
	if (cfg_node_type(n) != CFG_NODE_MAP)
		return cfg_err(err, SGW_EINVAL, n, e->path, "templates: expected a mapping");
	e->tmpls = calloc(cfg_node_count(n) + 1, sizeof(*e->tmpls));
	if (e->tmpls == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	for (size_t i = 0; i < cfg_node_count(n); i++) {
		struct ejbca_tmpl *t = &e->tmpls[e->n_tmpls++];
		struct tmpl_conf tc = {0};

		snprintf(sub, sizeof(sub), "%s.templates.%s", e->path, cfg_node_key(n, i));
		r = cfg_parse_map(cfg_node_item(n, i), sub, tmpl_fields, &tc, err);
		t->name = strdup(cfg_node_key(n, i));
		t->certificate_profile =
		    dup_or(tc.certificate_profile, e->dflt.certificate_profile);
		t->end_entity_profile = dup_or(tc.end_entity_profile, e->dflt.end_entity_profile);
		if (r == 0)
			r = parse_user(tc.username, sub, &e->dflt, t, err);
		cfg_fields_free(tmpl_fields, &tc);
		if (r == 0 && (t->name == NULL || t->certificate_profile == NULL ||
			       t->end_entity_profile == NULL))
			r = sgw_err_set(err, SGW_ENOMEM, "out of memory");
		if (r < 0)
			return r;
	}
	return 0;
}

static int
check_file(const struct ejbca *e, const char *key, const char *file, struct sgw_err *err)
{
	FILE *f;

	if (file == NULL)
		return 0;
	f = fopen(file, "r");
	if (f == NULL)
		return sgw_err_set(err, SGW_EIO, "%s.%s: %s: cannot read", e->path, key, file);
	fclose(f);
	return 0;
}

static int
load_chain_file(struct ejbca *e, struct sgw_err *err)
{
	struct sgw_err lerr = {{0}};
	int r = ejbca_chain_load(e->conf.ca_chain, &e->chain, &lerr);

	return r < 0 ? sgw_err_set(err, r, "%s.ca_chain: %s", e->path, lerr.msg) : 0;
}

static int
check_conf(struct ejbca *e, const struct cfg_node *node, struct sgw_err *err)
{
	struct ejbca_conf *c = &e->conf;
	struct sgw_err kerr = {{0}};
	size_t n = strlen(c->url);
	int r;

	if (strncmp(c->url, "https://", 8) != 0)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(node, "url"), e->path,
			       "url: must start with https:// (EJBCA authenticates by TLS client "
			       "certificate)");
	while (n > 8 && c->url[n - 1] == '/')
		c->url[--n] = '\0';
	if (c->retries < 0 || c->retries > 10 || c->timeout <= 0 || c->connect_timeout <= 0 ||
	    c->retry_backoff < 0 || c->max_connections <= 0 || c->max_response < 4096)
		return cfg_err(err, SGW_EINVAL, node, e->path,
			       "retries must be 0-10, timeouts > 0, max_connections > 0, "
			       "max_response >= 4k");
	if (c->ca_dn != NULL && strlen(c->ca_dn) >= sizeof(e->dn))
		return cfg_err(err, SGW_EINVAL, cfg_node_get(node, "ca_dn"), e->path,
			       "ca_dn: too long");
	if ((r = check_file(e, "client_cert", c->client_cert, err)) < 0 ||
	    (r = http_trust_check(&c->trust, node, e->path, err)) < 0)
		return r;
	if ((r = secret_file_check_as("EJBCA client key", c->client_key, &kerr)) < 0)
		return sgw_err_set(err, -r, "%s.client_key: %s", e->path, kerr.msg);
	if (c->ca_dn != NULL)
		snprintf(e->dn, sizeof(e->dn), "%s", c->ca_dn);
	return c->ca_chain != NULL ? load_chain_file(e, err) : 0;
}

static int
ejbca_configure(void *priv, const char *bname, const struct cfg_node *node, const char *path,
		struct sgw_err *err)
{
	struct ejbca *e = priv;
	int r;

	LIST_INIT(&e->ops);
	e->name = strdup(bname);
	e->path = strdup(path);
	if (e->name == NULL || e->path == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	e->conf.include_chain = 1;
	e->conf.connect_timeout = 10;
	e->conf.timeout = 30;
	e->conf.retries = 2;
	e->conf.retry_backoff = 1;
	e->conf.max_response = 1024 * 1024;
	e->conf.max_connections = 16;
	if ((r = cfg_parse_map(node, path, ejbca_fields, &e->conf, err)) < 0)
		return r;
	if ((r = check_conf(e, node, err)) < 0)
		return r;
	e->dflt.name = strdup("default");
	e->dflt.certificate_profile = strdup(e->conf.certificate_profile);
	e->dflt.end_entity_profile = strdup(e->conf.end_entity_profile);
	if (e->dflt.name == NULL || e->dflt.certificate_profile == NULL ||
	    e->dflt.end_entity_profile == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	if ((r = parse_user(e->conf.username, path, NULL, &e->dflt, err)) < 0)
		return r;
	r = parse_templates(e, err);
	e->conf.username = NULL; /* borrowed from the config tree: not kept */
	e->conf.templates = NULL;
	return r;
}

/* ---- lifecycle ----------------------------------------------------------- */

static int
ejbca_start(void *priv, const struct backend_env *env, struct sgw_err *err)
{
	struct ejbca *e = priv;

	e->hc = http_client_new_child(env->http, e->conf.max_connections);
	if (e->hc == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "%s: cannot create the HTTP client", e->path);
	e->evbase = env->base;
	e->running = 1;
	log_info("backend %s: EJBCA at %s, CA '%s', profiles %s / %s", e->name, e->conf.url,
		 e->conf.ca_name, e->conf.certificate_profile, e->conf.end_entity_profile);
	ejbca_flow_init(e);
	return 0;
}

static STACK_OF(X509) * ejbca_ca_chain(void *priv)
{
	struct ejbca *e = priv;

	return e->chain;
}

static void
ejbca_stop(void *priv)
{
	struct ejbca *e = priv;

	ejbca_flow_stop(e);
	http_client_free(e->hc);
	e->hc = NULL;
	e->running = 0;
}

static void
tmpl_free(struct ejbca_tmpl *t)
{
	free(t->name);
	free(t->certificate_profile);
	free(t->end_entity_profile);
	free(t->user_prefix);
	free(t->user_suffix);
}

static void
ejbca_free(void *priv)
{
	struct ejbca *e = priv;

	ejbca_stop(e);
	cfg_fields_free(ejbca_fields, &e->conf);
	tmpl_free(&e->dflt);
	for (size_t i = 0; i < e->n_tmpls; i++)
		tmpl_free(&e->tmpls[i]);
	free(e->tmpls);
	sk_X509_pop_free(e->chain, X509_free);
	free(e->name);
	free(e->path);
}

const struct backend_ops backend_ejbca = {
    .name = "ejbca",
    .caps = BACKEND_CAP_REVOKE | BACKEND_CAP_CRL | BACKEND_CAP_POLL,
    .priv_size = sizeof(struct ejbca),
    .configure = ejbca_configure,
    .start = ejbca_start,
    .submit = ejbca_submit,
    .poll = ejbca_poll,
    .ca_chain = ejbca_ca_chain,
    .revoke = ejbca_revoke,
    .get_crl = ejbca_get_crl,
    .stop = ejbca_stop,
    .free = ejbca_free,
};
