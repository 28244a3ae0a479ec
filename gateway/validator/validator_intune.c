/* validator_intune.c: Microsoft Intune SCEP challenge validation
 * (docs/protocol-notes.md section 2): validateRequest decides; after the backend
 * answered an allowed request, successNotification (thumbprint, serial,
 * expiry, issuer) or failureNotification, exactly once per transaction.
 * Whether the device's reply waits for the notification is notify_wait. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "b64.h"
#include "http_client.h"
#include "log.h"
#include "secret_file.h"
#include "validator.h"
#include "validator_intune.h"

#define F(k, t, m, req)                                                                            \
	{                                                                                          \
		k, t, offsetof(struct intune_conf, m), req                                         \
	}
static const struct cfg_field intune_fields[] = {
    F("type", CFG_STR, type, 1),
    F("tenant", CFG_STR, tenant, 1),
    F("client_id", CFG_STR, client_id, 1),
    F("client_secret_file", CFG_STR, client_secret_file, 1),
    F("authority_url", CFG_STR, authority_url, 0),
    F("graph_url", CFG_STR, graph_url, 0),
    F("intune_url", CFG_STR, intune_url, 0),
    F("graph_scope", CFG_STR, graph_scope, 0),
    F("intune_scope", CFG_STR, intune_scope, 0),
    F("provider_name", CFG_STR, provider_name, 0),
    HTTP_TRUST_FIELDS(struct intune_conf, trust),
    F("timeout", CFG_DURATION, timeout, 0),
    F("notify_wait", CFG_BOOL, notify_wait, 0),
    F("revocation_interval", CFG_DURATION, revocation_interval, 0),
    F("revocation_max", CFG_INT, revocation_max, 0),
    {NULL},
};
#undef F

static int
dflt(char **s, const char *v)
{
	if (*s == NULL && (*s = strdup(v)) == NULL)
		return -SGW_ENOMEM;
	return 0;
}

static int
intune_configure(void *priv, const struct cfg_node *node, const char *path, struct sgw_err *err)
{
	struct intune *in = priv;
	struct intune_conf *c = &in->conf;
	int r;

	LIST_INIT(&in->ops);
	snprintf(in->feed_job, sizeof(in->feed_job), "intune-feed:%s", path);
	c->timeout = 30;
	c->notify_wait = -1;
	if ((r = cfg_parse_map(node, path, intune_fields, c, err)) < 0)
		return r;
	c->notify_wait = c->notify_wait != 0;
	if (dflt(&c->authority_url, "https://login.microsoftonline.com/") < 0 ||
	    dflt(&c->graph_url, "https://graph.microsoft.com/") < 0 ||
	    dflt(&c->graph_scope, "https://graph.microsoft.com/.default") < 0 ||
	    dflt(&c->intune_scope, "https://api.manage.microsoft.com//.default") < 0 ||
	    dflt(&c->provider_name, "scepgw/1.0") < 0)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	if (c->revocation_max == 0)
		c->revocation_max = 100;
	if (c->revocation_max < 1 || c->revocation_max > 500 || c->revocation_interval < 0)
		return sgw_err_set(err, SGW_EINVAL, "%s: revocation_max 1..500", path);
	if (c->timeout <= 0 || c->timeout > 300)
		return sgw_err_set(err, SGW_EINVAL, "%s.timeout: 1s to 300s", path);
	if ((r = http_trust_check(&c->trust, node, path, err)) < 0)
		return r;
	if (c->authority_url[strlen(c->authority_url) - 1] != '/' ||
	    c->graph_url[strlen(c->graph_url) - 1] != '/')
		return sgw_err_set(err, SGW_EINVAL, "%s: authority_url and graph_url end with '/'",
				   path);
	if (c->intune_url != NULL && c->intune_url[strlen(c->intune_url) - 1] == '/')
		c->intune_url[strlen(c->intune_url) - 1] = '\0';
	return secret_file_read_as("Intune client secret file", c->client_secret_file,
				   VI_SECRET_MAX - 1, SECRET_FILE_TRIM, &in->secret,
				   &in->secret_len, err);
}

static char *
b64(const uint8_t *der, size_t len)
{
	char *out = NULL;

	return b64_encode(der, len, B64_STD, B64_STRICT, &out) < 0 ? NULL : out;
}

/* ---- validateRequest ------------------------------------------------------ */

struct vi_check {
	struct intune *in;
	validator_cb cb;
	void *arg;
	char txn[128];
};

static void
remember(struct intune *in, const char *txn)
{
	snprintf(in->allowed[in->next_allowed++ % VI_ALLOWED], sizeof(in->allowed[0]), "%s", txn);
}

/* 1 when txn was allowed and not yet notified; forgets it */
static int
forget(struct intune *in, const char *txn)
{
	for (size_t i = 0; i < VI_ALLOWED; i++)
		if (in->allowed[i][0] != '\0' && strcmp(in->allowed[i], txn) == 0) {
			in->allowed[i][0] = '\0';
			return 1;
		}
	return 0;
}

static void
check_done(void *arg, int rc, const char *code, const char *desc, const char *reason,
	   const uint8_t *body, size_t len)
{
	struct vi_check *c = arg;
	char why[256];

	(void)body;
	(void)len;
	if (rc < 0) {
		log_err("txn=%s: intune validateRequest: %s", c->txn, reason);
		c->cb(c->arg, -SGW_EDENIED, reason);
	} else if (strcasecmp(code, "Success") == 0) {
		log_info("txn=%s: intune validateRequest: Success", c->txn);
		remember(c->in, c->txn);
		c->cb(c->arg, 0, NULL);
	} else {
		log_warn("txn=%s: intune validateRequest: %s (%s)", c->txn, code, desc);
		snprintf(why, sizeof(why), "%s", code);
		c->cb(c->arg, -SGW_EDENIED, why);
	}
	free(c);
}

static int
intune_check(void *priv, const struct validator_req *req, validator_cb cb, void *arg,
	     struct sgw_err *err)
{
	struct intune *in = priv;
	struct vi_check *c;
	char *csr = b64(req->csr->der, req->csr->der_len), *body = NULL;
	json_t *o;
	int r = -SGW_ENOMEM;

	if (cb == NULL)
		return sgw_err_set(err, SGW_EINVAL, "intune: needs a callback");
	o = csr != NULL
		? json_pack("{s:{s:s, s:s, s:s}}", "request", "transactionId", req->transaction_id,
			    "certificateRequest", csr, "callerInfo", in->conf.provider_name)
		: NULL;
	if (o != NULL)
		body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(csr);
	if (body != NULL && (c = calloc(1, sizeof(*c))) != NULL) {
		*c = (struct vi_check){.in = in, .cb = cb, .arg = arg};
		snprintf(c->txn, sizeof(c->txn), "%s", req->transaction_id);
		if ((r = vi_call(in, req->base, VI_SVC_SCEP, "validateRequest", body, c->txn,
				 check_done, c)) < 0)
			free(c);
	}
	free(body);
	if (r < 0)
		return sgw_err_set(err, SGW_EDENIED, "intune: cannot validate: %s",
				   sgw_strerror(r));
	return -SGW_EAGAIN;
}

/* ---- notifications -------------------------------------------------------- */

struct vi_notify {
	validator_cb cb; /* the caller's: the store's outbox, the waiting reply */
	void *arg;
	char txn[128];
	char action[40];
};

static void
notify_done(void *arg, int rc, const char *code, const char *desc, const char *reason,
	    const uint8_t *body, size_t len)
{
	struct vi_notify *n = arg;
	int ok = rc == 0 && strcasecmp(code, "Success") == 0;

	(void)body;
	(void)len;
	if (rc < 0)
		log_err("txn=%s: intune %s: %s", n->txn, n->action, reason);
	else if (!ok)
		log_warn("txn=%s: intune %s: %s (%s)", n->txn, n->action, code, desc);
	else
		log_info("txn=%s: intune %s: Success", n->txn, n->action);
	if (n->cb != NULL)
		n->cb(n->arg, ok ? 0 : -SGW_EBACKEND, ok ? NULL : "intune notification failed");
	free(n);
}

static json_t *
success_fields(X509 *cert)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char thumb[2 * EVP_MAX_MD_SIZE + 1], when[40], issuer[256] = "";
	struct tm tm;
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *serial = bn != NULL ? BN_bn2hex(bn) : NULL;
	json_t *o = NULL;

	if (serial != NULL && X509_digest(cert, EVP_sha1(), md, &mdlen) &&
	    ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm)) {
		for (unsigned i = 0; i < mdlen; i++)
			snprintf(thumb + 2 * i, 3, "%02X", md[i]);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S.0000000Z", &tm);
		X509_NAME_get_text_by_NID(X509_get_issuer_name(cert), NID_commonName, issuer,
					  sizeof(issuer));
		o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "certificateThumbprint", thumb,
			      "certificateSerialNumber", serial, "certificateExpirationDateUtc",
			      when, "issuingCertificateAuthority", issuer, "caConfiguration",
			      issuer, "certificateAuthority", issuer);
	}
	OPENSSL_free(serial);
	BN_free(bn);
	return o;
}

static int
intune_notify(void *priv, const struct validator_req *req, X509 *cert, const char *reason,
	      validator_cb cb, void *arg)
{
	struct intune *in = priv;
	struct vi_notify *n;
	char *csr, *body = NULL, desc[256];
	json_t *o = NULL, *inner;
	int r = -SGW_ENOMEM;

	if (req->csr == NULL || (!forget(in, req->transaction_id) && !req->owed))
		return 0; /* not validated by Intune, or already notified */
	csr = b64(req->csr->der, req->csr->der_len);
	inner = cert != NULL ? success_fields(cert) : json_object();
	snprintf(desc, sizeof(desc), "%.255s", reason != NULL && *reason ? reason : "failed");
	if (csr != NULL && inner != NULL &&
	    json_object_set_new(inner, "transactionId", json_string(req->transaction_id)) == 0 &&
	    json_object_set_new(inner, "certificateRequest", json_string(csr)) == 0 &&
	    json_object_set_new(inner, "callerInfo", json_string(in->conf.provider_name)) == 0 &&
	    (cert != NULL ||
	     (json_object_set_new(inner, "hResult", json_integer(2147500037LL)) == 0 &&
	      json_object_set_new(inner, "errorDescription", json_string(desc)) == 0)))
		o = json_pack("{s:O}", "notification", inner);
	json_decref(inner);
	free(csr);
	if (o != NULL)
		body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (body != NULL && (n = calloc(1, sizeof(*n))) != NULL) {
		n->cb = cb;
		n->arg = arg;
		snprintf(n->txn, sizeof(n->txn), "%s", req->transaction_id);
		snprintf(n->action, sizeof(n->action), "%s",
			 cert != NULL ? "successNotification" : "failureNotification");
		if ((r = vi_call(in, req->base, VI_SVC_SCEP, n->action, body, n->txn, notify_done,
				 n)) < 0)
			free(n);
	}
	free(body);
	if (r < 0)
		return r;
	return in->conf.notify_wait ? -SGW_EAGAIN : 1;
}

static void
intune_free(void *priv)
{
	struct intune *in = priv;

	vi_feed_stop(in);
	http_client_free(in->hc);
	vi_cancel_all(in);
	cfg_fields_free(intune_fields, &in->conf);
	secret_file_free(in->secret, in->secret_len);
	OPENSSL_cleanse(in->tok, sizeof(in->tok));
}

/* The calls go through a child of the daemon's HTTP client; the revocation
 * feed (when configured) revokes through the profile's backend. */
static int
intune_start(void *priv, const struct validator_env *env, struct sgw_err *err)
{
	struct intune *in = priv;

	if ((in->hc = http_client_new_child(env->http, 16)) == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "the validator has no HTTP client");
	in->store = env->store;
	vi_feed_start(in, env->base, env->backend);
	return 0;
}

const struct validator_ops validator_intune = {
    .name = "intune",
    .priv_size = sizeof(struct intune),
    .configure = intune_configure,
    .start = intune_start,
    .check = intune_check,
    .notify = intune_notify,
    .free = intune_free,
};
