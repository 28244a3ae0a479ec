/* acme.c: the ACME upstream backend (RFC 8555 with external account binding).
 *
 *   backends:
 *     acme-ca:
 *       type: acme
 *       directory: https://acme.example.org/directory
 *       ca_bundle: /etc/scepgw/acme-ca.pem      # TLS trust for the ACME server
 *       state_dir: /var/lib/scepgw/acme-ca      # account key + URL, issued certificates
 *       account_key_file: /etc/scepgw/acme-account.key  # shared by a cluster
 *       eab: { kid: kid-1, mac_key_file: /etc/scepgw/acme-eab.key }
 *       challenge: preauthorized                # or dns-01 (with dns01_hook)
 *       cn_rule: dns                            # reject | dns | suffix
 *
 * The backend has no store access (backend.h), so what it must remember
 * across restarts lives in state_dir: account.key (0600, made on first use)
 * and account.url, unless account_key_file names a key the instances of a
 * cluster share (then the CA finds the account again by its key), and
 * issued/<serial>.pem (for revokeCert, which wants the whole certificate).
 * A pending order is its URL (the handle in the store); poll() gets the
 * CSR that finalize needs from the caller, who keeps it with the
 * transaction. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "acme_account.h"
#include "acme_int.h"
#include "acme_jws.h"
#include "acme_op.h"
#include "log.h"
#include "secret_file.h"

#define ACME_MAX_EAB_FILE 1024 /* the EAB MAC key file, at most */

static const struct cfg_field acme_fields[] = {
    {"type", CFG_STR, offsetof(struct acme_conf, type), 1},
    {"directory", CFG_STR, offsetof(struct acme_conf, directory), 1},
    HTTP_TRUST_FIELDS(struct acme_conf, trust),
    {"state_dir", CFG_STR, offsetof(struct acme_conf, state_dir), 1},
    {"account_key", CFG_STR, offsetof(struct acme_conf, account_key), 0},
    {"account_key_file", CFG_STR, offsetof(struct acme_conf, account_key_file), 0},
    {"contact", CFG_STRLIST, offsetof(struct acme_conf, contact), 0},
    {"eab", CFG_NODE, offsetof(struct acme_conf, eab), 0},
    {"challenge", CFG_STR, offsetof(struct acme_conf, challenge), 0},
    {"dns01_hook", CFG_STR, offsetof(struct acme_conf, dns01_hook), 0},
    {"dns01_delay", CFG_DURATION, offsetof(struct acme_conf, dns01_delay), 0},
    {"cn_rule", CFG_STR, offsetof(struct acme_conf, cn_rule), 0},
    {"cn_domains", CFG_STRLIST, offsetof(struct acme_conf, cn_domains), 0},
    {"cn_suffix", CFG_STR, offsetof(struct acme_conf, cn_suffix), 0},
    {"wait", CFG_DURATION, offsetof(struct acme_conf, wait), 0},
    {"validation_timeout", CFG_DURATION, offsetof(struct acme_conf, validation_timeout), 0},
    {"timeout", CFG_DURATION, offsetof(struct acme_conf, timeout), 0},
    {NULL, 0, 0, 0},
};

static const struct cfg_field eab_fields[] = {
    {"kid", CFG_STR, offsetof(struct acme_eab_conf, kid), 1},
    {"mac_key_file", CFG_STR, offsetof(struct acme_eab_conf, mac_key_file), 1},
    {NULL, 0, 0, 0},
};

/* ---- configure ----------------------------------------------------------- */

static int
configure_rules(struct acme *a, const struct cfg_node *node, struct sgw_err *err)
{
	const struct acme_conf *c = &a->conf;

	if (c->cn_rule != NULL && acme_cn_mode_parse(c->cn_rule, &a->rule.cn_mode) < 0)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(node, "cn_rule"), a->path,
			       "cn_rule: '%s' is not one of reject, dns, suffix", c->cn_rule);
	if (a->rule.cn_mode == ACME_CN_SUFFIX &&
	    (c->cn_suffix == NULL || !acme_dns_name_ok(c->cn_suffix)))
		return cfg_err(err, SGW_EINVAL, node, a->path,
			       "cn_rule suffix needs cn_suffix, a lower-case DNS name");
	for (size_t i = 0; i < c->cn_domains.n; i++)
		if (!acme_dns_name_ok(c->cn_domains.v[i]))
			return cfg_err(err, SGW_EINVAL, cfg_node_get(node, "cn_domains"), a->path,
				       "cn_domains: '%s' is not a lower-case DNS name",
				       c->cn_domains.v[i]);
	a->rule.suffix = c->cn_suffix;
	a->rule.cn_domains = c->cn_domains.v;
	a->rule.n_cn_domains = c->cn_domains.n;
	if (c->challenge != NULL && strcmp(c->challenge, "preauthorized") != 0 &&
	    strcmp(c->challenge, "dns-01") != 0)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(node, "challenge"), a->path,
			       "challenge: '%s' is not one of preauthorized, dns-01", c->challenge);
	a->dns01 = c->challenge != NULL && strcmp(c->challenge, "dns-01") == 0;
	if (a->dns01 && c->dns01_hook == NULL)
		return cfg_err(err, SGW_EINVAL, node, a->path, "challenge dns-01 needs dns01_hook");
	if (c->account_key != NULL && strcmp(c->account_key, "ec") != 0 &&
	    strcmp(c->account_key, "rsa") != 0)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(node, "account_key"), a->path,
			       "account_key: '%s' is not one of ec, rsa", c->account_key);
	return 0;
}

/* account_key_file: an owner-only PEM key (read at start); the type is the
 * key's, so account_key (the type of a key made on first use) goes without. */
static int
configure_key_file(struct acme *a, const struct cfg_node *node, struct sgw_err *err)
{
	struct sgw_err kerr = {{0}};
	int r;

	if (a->conf.account_key_file == NULL)
		return 0;
	if (a->conf.account_key != NULL)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(node, "account_key"), a->path,
			       "account_key: not with account_key_file (the file's key has its "
			       "own type)");
	if ((r = secret_file_check_as("ACME account key", a->conf.account_key_file, &kerr)) < 0)
		return cfg_err(err, -r, cfg_node_get(node, "account_key_file"), a->path,
			       "account_key_file: %s", kerr.msg);
	a->shared_key = 1;
	return 0;
}

static int
acme_configure(void *priv, const char *bname, const struct cfg_node *node, const char *path,
	       struct sgw_err *err)
{
	struct acme *a = priv;
	char sub[300];
	int r;

	LIST_INIT(&a->ops);
	a->name = strdup(bname);
	a->path = strdup(path);
	if (a->name == NULL || a->path == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	a->conf.wait = 10;
	a->conf.timeout = 30;
	a->conf.validation_timeout = 30;
	if ((r = cfg_parse_map(node, path, acme_fields, &a->conf, err)) < 0)
		return r;
	if (strncmp(a->conf.directory, "https://", 8) != 0 &&
	    strncmp(a->conf.directory, "http://", 7) != 0)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(node, "directory"), path,
			       "directory: not an http(s) URL");
	if (a->conf.timeout <= 0 || a->conf.wait < 0 || a->conf.validation_timeout <= 0)
		return cfg_err(err, SGW_EINVAL, node, path,
			       "timeout and validation_timeout must be > 0, wait >= 0");
	if ((r = http_trust_check(&a->conf.trust, node, path, err)) < 0)
		return r;
	if (a->conf.eab != NULL) {
		snprintf(sub, sizeof(sub), "%s.eab", path);
		if ((r = cfg_parse_map(a->conf.eab, sub, eab_fields, &a->eab, err)) < 0)
			return r;
	}
	a->conf.eab = NULL; /* borrowed from the config tree: not kept */
	if ((r = configure_rules(a, node, err)) < 0)
		return r;
	return configure_key_file(a, node, err);
}

/* ---- start --------------------------------------------------------------- */

/* The EAB MAC key: base64url text in an owner-only file. */
static int
load_eab(struct acme *a, struct sgw_err *err)
{
	uint8_t *buf = NULL;
	size_t len = 0, n;
	int r;

	if (a->eab.kid == NULL)
		return 0;
	r = secret_file_read_as("ACME EAB MAC key file", a->eab.mac_key_file, ACME_MAX_EAB_FILE, 0,
				&buf, &len, err);
	if (r < 0)
		return r;
	for (n = len; n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '); n--)
		;
	r = acme_b64u_decode((const char *)buf, n, &a->eab_mac, &a->eab_mac_len);
	secret_file_free(buf, len);
	if (r < 0 || a->eab_mac_len == 0)
		return sgw_err_set(err, SGW_EPARSE, "%s.eab.mac_key_file: not base64url", a->path);
	return 0;
}

static int
mkdir_private(const char *dir, struct sgw_err *err)
{
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return sgw_err_set(err, SGW_EIO, "%s: %s", dir, strerror(errno));
	return 0;
}

static int
acme_start(void *priv, const struct backend_env *env, struct sgw_err *err)
{
	struct acme *a = priv;
	char p[1100], id[300], sub[1100];
	EVP_PKEY *pub;
	int r, rsa = a->conf.account_key != NULL && strcmp(a->conf.account_key, "rsa") == 0;

#ifndef HTTP_CLIENT_RESPONSE_HEADERS
	return sgw_err_set(err, SGW_EINVAL,
			   "%s: this build's http_client cannot read response headers "
			   "(Replay-Nonce, Location): ACME cannot work",
			   a->path);
#endif
	if ((r = mkdir_private(a->conf.state_dir, err)) < 0 ||
	    (r = acme_state_path(a, NULL, "issued", sub, sizeof(sub))) < 0 ||
	    (r = mkdir_private(sub, err)) < 0 || (r = load_eab(a, err)) < 0)
		return r;
	if (acme_state_path(a, NULL, "account.key", p, sizeof(p)) < 0)
		return sgw_err_set(err, SGW_EINVAL, "%s: state_dir too long", a->path);
	snprintf(id, sizeof(id), "acme:%s:account", a->name);
	if (a->shared_key) {
		struct sgw_err kerr = {{0}};

		snprintf(p, sizeof(p), "%s", a->conf.account_key_file);
		if ((r = keyop_load(env->keys, id, p, &kerr)) < 0)
			return sgw_err_set(err, -r, "%s.account_key_file: %s", a->path, kerr.msg);
	} else {
		r = keyop_load_or_create(env->keys, id, p, rsa ? EVP_PKEY_RSA : EVP_PKEY_EC, 2048,
					 err);
	}
	if (r < 0)
		return r;
	if (r == 1)
		log_info("acme %s: created the account key %s", a->name, p);
	a->key = keyop_find(env->keys, id);
	pub = a->key != NULL ? keyop_public(a->key) : NULL;
	r = pub != NULL ? acme_jwk_new(pub, &a->jwk, &a->alg) : -SGW_ENOMEM;
	EVP_PKEY_free(pub);
	if (r < 0 || (r = acme_jwk_thumbprint(a->jwk, &a->thumbprint)) < 0)
		return sgw_err_set(err, SGW_EALG, "%s: account key %s: not P-256 or RSA >= 2048",
				   a->path, p);
	if (!a->shared_key)
		acme_account_load_url(a);
	a->hc = http_client_new_child(env->http, 16);
	if (a->hc == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	a->base = env->base;
	a->running = 1;
	return 0;
}

/* ---- submit, poll -------------------------------------------------------- */

static void
denied_later(struct acme_op *op, struct acme_resp *r)
{
	(void)r;
	acme_op_result(op, BACKEND_REJECTED, "%s", op->txt_value);
}

static int
acme_submit(void *priv, const struct backend_request *req, backend_cb cb, void *arg)
{
	struct acme *a = priv;
	struct acme_op *op;
	char reason[256] = "";
	int r;

	if (!a->running || cb == NULL)
		return -SGW_EINVAL;
	if ((op = acme_op_new(a, ACME_OP_ORDER, req->transaction_id)) == NULL)
		return -SGW_ENOMEM;
	op->cb = cb;
	op->arg = arg;
	r = acme_idents_from_csr(req->csr_der, req->csr_len, &a->rule, op->ids, &op->n_ids, reason,
				 sizeof(reason));
	if (r < 0) { /* refused before anything reaches the CA */
		op->txt_value = strdup(reason);
		r = op->txt_value != NULL ? acme_op_later(op, 0, denied_later) : -SGW_ENOMEM;
	} else if ((op->csr = malloc(req->csr_len)) == NULL) {
		r = -SGW_ENOMEM;
	} else {
		memcpy(op->csr, req->csr_der, req->csr_len);
		op->csr_len = req->csr_len;
		op->after_ready = acme_order_start;
		r = acme_op_later(op, 0, acme_account_ready_step);
	}
	if (r < 0)
		acme_op_free(op);
	return r;
}

/* req: the stored request (its CSR for finalize), or NULL: enough for an
 * order past finalize. */
static int
acme_poll(void *priv, const char *handle, const struct backend_request *req, backend_cb cb,
	  void *arg)
{
	struct acme *a = priv;
	struct acme_op *op;

	if (!a->running || cb == NULL || handle == NULL || strlen(handle) > ACME_MAX_URL)
		return -SGW_EINVAL;
	if ((op = acme_op_new(a, ACME_OP_ORDER,
			      req != NULL && req->transaction_id != NULL ? req->transaction_id
									 : "poll")) == NULL)
		return -SGW_ENOMEM;
	op->cb = cb;
	op->arg = arg;
	op->after_ready = acme_order_resume;
	if (req != NULL && req->csr_der != NULL && req->csr_len > 0 &&
	    (op->csr = malloc(req->csr_len)) != NULL) {
		memcpy(op->csr, req->csr_der, req->csr_len);
		op->csr_len = req->csr_len;
	}
	if ((op->order_url = strdup(handle)) == NULL ||
	    (req != NULL && req->csr_len > 0 && op->csr == NULL) ||
	    acme_op_later(op, 0, acme_account_ready_step) < 0) {
		acme_op_free(op);
		return -SGW_ENOMEM;
	}
	return 0;
}

/* ---- the rest of the contract -------------------------------------------- */

static STACK_OF(X509) * acme_ca_chain(void *priv)
{
	(void)priv;
	return NULL; /* the upstream decides; GetCACert uses the RA identity's ca_chain */
}

static void
acme_stop(void *priv)
{
	struct acme *a = priv;
	struct acme_op *op;

	while ((op = LIST_FIRST(&a->ops)) != NULL)
		acme_op_free(op); /* no callbacks after stop */
	http_client_free(a->hc);
	a->hc = NULL;
	a->running = 0;
}

static void
acme_free(void *priv)
{
	struct acme *a = priv;

	if (a->name == NULL)
		return;
	acme_stop(a);
	acme_nonces_clear(a);
	acme_dir_clear(&a->dir);
	json_decref(a->jwk);
	free(a->thumbprint);
	free(a->kid);
	if (a->eab_mac != NULL)
		OPENSSL_clear_free(a->eab_mac, a->eab_mac_len);
	cfg_fields_free(eab_fields, &a->eab);
	cfg_fields_free(acme_fields, &a->conf);
	free(a->name);
	free(a->path);
}

const struct backend_ops backend_acme = {
    .name = "acme",
    .caps = BACKEND_CAP_REVOKE | BACKEND_CAP_POLL | BACKEND_CAP_POLL_CSR,
    .priv_size = sizeof(struct acme),
    .configure = acme_configure,
    .start = acme_start,
    .submit = acme_submit,
    .poll = acme_poll,
    .ca_chain = acme_ca_chain,
    .revoke = acme_revoke,
    .stop = acme_stop,
    .free = acme_free,
};
