/* validator_webhook.c: ask an HTTPS webhook whether to allow a request.
 *
 * POST url, Content-Type application/json, body {profile, transactionID,
 * nonce, csr (PEM), subject, sans {dns, ip, email, uri}, keyType, keyBits,
 * requester [, challenge when send_challenge]}, headers
 *   X-Scepgw-Timestamp: <unix seconds>
 *   X-Scepgw-Nonce: <the body's nonce: 32 hex digits, fresh per request>
 *   X-Scepgw-Signature: sha256=<hex HMAC-SHA256(secret, timestamp "." body)>
 * The answer must be 2xx {"allow": bool, "reason": "...", "nonce": <the
 * request's>, "transactionID": <the request's>} carrying
 *   X-Scepgw-Signature: sha256=<hex HMAC-SHA256(secret, timestamp "." answer)>
 * with the request's timestamp.  The signature covers the verdict, the nonce
 * and the transactionID, so an answer is bound to its one request: a spoofed
 * answer, or an allow replayed onto another request (even in the same
 * second), is refused.  A timeout, a transport error, a non-2xx status, a bad
 * signature, a missing or wrong nonce or transactionID, or a body that is not
 * that JSON all deny.  Plain http:// is refused at load unless
 * allow_insecure_http says otherwise (the body may carry the challenge). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "http_client.h"
#include "http_trust.h"
#include "log.h"
#include "secret_file.h"
#include "validator.h"

#define HMAC_SECRET_MAX 1023 /* bytes in hmac_secret_file */

#define NONCE_BYTES 16

struct webhook_conf {
	char *type, *url, *hmac_secret_file;
	struct http_trust trust; /* ca_bundle, pin_sha256 */
	int timeout, send_challenge, allow_insecure_http;
};

static const struct cfg_field webhook_fields[] = {
    {"type", CFG_STR, offsetof(struct webhook_conf, type), 1},
    {"url", CFG_STR, offsetof(struct webhook_conf, url), 1},
    {"hmac_secret_file", CFG_STR, offsetof(struct webhook_conf, hmac_secret_file), 1},
    HTTP_TRUST_FIELDS(struct webhook_conf, trust),
    {"timeout", CFG_DURATION, offsetof(struct webhook_conf, timeout), 0},
    {"send_challenge", CFG_BOOL, offsetof(struct webhook_conf, send_challenge), 0},
    {"allow_insecure_http", CFG_BOOL, offsetof(struct webhook_conf, allow_insecure_http), 0},
    {NULL},
};

struct webhook {
	struct webhook_conf conf;
	uint8_t *secret; /* secure heap (secret_file_read) */
	size_t secret_len;
	struct http_client *hc; /* a child of the daemon's (webhook_start) */
};

struct wh_call {
	struct webhook *w;
	validator_cb cb;
	void *arg;
	char ts[24];
	char nonce[2 * NONCE_BYTES + 1];
	char *txn;
};

static int
webhook_configure(void *priv, const struct cfg_node *node, const char *path, struct sgw_err *err)
{
	struct webhook *w = priv;
	int r;

	w->conf.timeout = 10;
	if ((r = cfg_parse_map(node, path, webhook_fields, &w->conf, err)) < 0)
		return r;
	if (strncmp(w->conf.url, "http://", 7) != 0 && strncmp(w->conf.url, "https://", 8) != 0)
		return sgw_err_set(err, SGW_EINVAL, "%s.url: expected http:// or https://", path);
	if (strncmp(w->conf.url, "http://", 7) == 0 && !w->conf.allow_insecure_http)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(node, "url"), path,
			       "url: plain http:// exposes the request%s and the answer to the "
			       "network; use https:// (or set allow_insecure_http: true)",
			       w->conf.send_challenge ? " (with the challenge)" : "");
	if (strncmp(w->conf.url, "http://", 7) == 0)
		log_warn("%s: INSECURE: the webhook %s is plain HTTP (allow_insecure_http: true): "
			 "anyone on the path reads the requests%s and can delay or drop answers",
			 path, w->conf.url, w->conf.send_challenge ? " and their challenges" : "");
	if (w->conf.timeout <= 0 || w->conf.timeout > 300)
		return sgw_err_set(err, SGW_EINVAL, "%s.timeout: 1s to 300s", path);
	if ((r = http_trust_check(&w->conf.trust, node, path, err)) < 0)
		return r;
	return secret_file_read_as("webhook HMAC secret file", w->conf.hmac_secret_file,
				   HMAC_SECRET_MAX, SECRET_FILE_TRIM, &w->secret, &w->secret_len,
				   err);
}

/* "sha256=" + hex HMAC-SHA256(secret, ts "." data) into out[7 + 65]. */
static int
sign(const struct webhook *w, const char *ts, const uint8_t *data, size_t len, char out[72])
{
	uint8_t mac[32];
	size_t mlen = 0, tl = strlen(ts);
	uint8_t *msg = malloc(tl + 1 + len + 1);

	if (msg == NULL)
		return -SGW_ENOMEM;
	memcpy(msg, ts, tl);
	msg[tl] = '.';
	if (len > 0)
		memcpy(msg + tl + 1, data, len);
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, w->secret, w->secret_len, msg,
		      tl + 1 + len, mac, sizeof(mac), &mlen) == NULL ||
	    mlen != 32) {
		free(msg);
		return -SGW_EINVAL;
	}
	free(msg);
	memcpy(out, "sha256=", 7);
	for (size_t i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
	return 0;
}

static json_t *
strlist(const struct cfg_strlist *l)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < l->n; i++)
		json_array_append_new(a, json_string(l->v[i]));
	return a;
}

static char *
csr_pem(const struct csr *c)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out = NULL;
	long n;

	if (b != NULL && PEM_write_bio_X509_REQ(b, c->req) && (n = BIO_get_mem_data(b, &p)) > 0 &&
	    (out = malloc((size_t)n + 1)) != NULL) {
		memcpy(out, p, (size_t)n);
		out[n] = '\0';
	}
	BIO_free(b);
	return out;
}

static char *
build_body(const struct webhook *w, const struct validator_req *req, const char *nonce)
{
	const struct csr *c = req->csr;
	char *pem = csr_pem(c), *s = NULL;
	json_t *o;

	if (pem == NULL)
		return NULL;
	o = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:{s:o, s:o, s:o, s:o}, s:s, s:i, s:s?}",
		      "profile", req->profile, "transactionID", req->transaction_id, "nonce", nonce,
		      "csr", pem, "subject", c->subject, "sans", "dns", strlist(&c->san_dns), "ip",
		      strlist(&c->san_ip), "email", strlist(&c->san_email), "uri",
		      strlist(&c->san_uri), "keyType",
		      c->key_type == CSR_KEY_RSA  ? "RSA"
		      : c->key_type == CSR_KEY_EC ? "EC"
						  : "other",
		      "keyBits", c->key_bits, "requester", req->peer);
	free(pem);
	if (o == NULL)
		return NULL;
	if (w->conf.send_challenge && c->challenge != NULL)
		json_object_set_new(o, "challenge", json_string(c->challenge));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* 1 when the answer's string member `key` is exactly `want`. */
static int
echoes(const json_t *o, const char *key, const char *want)
{
	const json_t *v = json_object_get(o, key);
	size_t n = strlen(want);

	return json_is_string(v) && json_string_length(v) == n &&
	       CRYPTO_memcmp(json_string_value(v), want, n) == 0;
}

/* The answer is bound to this request: it echoes the nonce and the
 * transactionID (both under the signature).  0, or -SGW_EDENIED with reason. */
static int
bound(const struct wh_call *c, const json_t *o, char *reason, size_t size)
{
	if (json_object_get(o, "nonce") == NULL)
		return snprintf(reason, size,
				"webhook: the answer carries no nonce (a webhook server not "
				"upgraded: it must echo the request's nonce, docs/config.md)"),
		       -SGW_EDENIED;
	if (!echoes(o, "nonce", c->nonce))
		return snprintf(reason, size,
				"webhook: the answer's nonce is not this request's (a replayed "
				"or misrouted answer)"),
		       -SGW_EDENIED;
	if (!echoes(o, "transactionID", c->txn))
		return snprintf(reason, size,
				"webhook: the answer's transactionID is not this request's"),
		       -SGW_EDENIED;
	return 0;
}

/* The verdict in a signed answer: 0 allow, -SGW_EDENIED with reason set. */
static int
verdict(const struct wh_call *c, const struct http_response *resp, char *reason, size_t size)
{
	const char *sig = http_response_header(resp, "X-Scepgw-Signature");
	char want[72];
	json_t *o, *allow, *why;
	int r;

	if (resp->err != 0)
		return snprintf(reason, size, "webhook: %s%s", resp->timed_out ? "timeout: " : "",
				resp->error),
		       -SGW_EDENIED;
	if (resp->status < 200 || resp->status > 299)
		return snprintf(reason, size, "webhook: HTTP %ld", resp->status), -SGW_EDENIED;
	if (sig == NULL || strlen(sig) != 71 ||
	    sign(c->w, c->ts, resp->body, resp->body_len, want) < 0 ||
	    CRYPTO_memcmp(sig, want, 71) != 0)
		return snprintf(reason, size, "webhook: bad or missing response signature"),
		       -SGW_EDENIED;
	o = json_loadb((const char *)resp->body, resp->body_len, 0, NULL);
	allow = json_object_get(o, "allow");
	why = json_object_get(o, "reason");
	if (!json_is_boolean(allow)) {
		snprintf(reason, size, "webhook: answer is not {\"allow\": bool}");
		r = -SGW_EDENIED;
	} else if ((r = bound(c, o, reason, size)) < 0) {
		/* reason set */
	} else if (json_is_true(allow)) {
		r = 0;
	} else {
		snprintf(reason, size, "webhook: %s",
			 json_is_string(why) ? json_string_value(why) : "denied");
		r = -SGW_EDENIED;
	}
	json_decref(o);
	return r;
}

static void
wh_call_free(struct wh_call *c)
{
	if (c != NULL)
		free(c->txn);
	free(c);
}

/* A call with its timestamp and a fresh nonce, or NULL. */
static struct wh_call *
wh_call_new(struct webhook *w, const struct validator_req *req, validator_cb cb, void *arg)
{
	struct wh_call *c = calloc(1, sizeof(*c));
	uint8_t rnd[NONCE_BYTES];

	if (c == NULL)
		return NULL;
	*c = (struct wh_call){.w = w, .cb = cb, .arg = arg, .txn = strdup(req->transaction_id)};
	if (c->txn == NULL || RAND_bytes(rnd, sizeof(rnd)) != 1) {
		wh_call_free(c);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(c->nonce + 2 * i, 3, "%02x", rnd[i]);
	snprintf(c->ts, sizeof(c->ts), "%lld", (long long)time(NULL));
	return c;
}

static void
webhook_done(void *arg, const struct http_response *resp)
{
	struct wh_call *c = arg;
	char reason[256] = "";
	int r = verdict(c, resp, reason, sizeof(reason));

	if (r < 0)
		log_warn("txn=%s: webhook denied: %s", c->txn, reason);
	else
		log_info("txn=%s: webhook allowed", c->txn);
	c->cb(c->arg, r, reason);
	wh_call_free(c);
}

static int
webhook_check(void *priv, const struct validator_req *req, validator_cb cb, void *arg,
	      struct sgw_err *err)
{
	struct webhook *w = priv;
	struct http_request hr = {.method = "POST", .url = w->conf.url};
	char tsh[48], nh[64], sigh[96], sig[72];
	struct wh_call *c = NULL;
	char *body = NULL;
	int r;

	if (cb == NULL || w->hc == NULL)
		return sgw_err_set(err, SGW_EINVAL, "webhook: no HTTP client");
	if ((c = wh_call_new(w, req, cb, arg)) == NULL ||
	    (body = build_body(w, req, c->nonce)) == NULL) {
		wh_call_free(c);
		return sgw_err_set(err, SGW_ENOMEM, "webhook: out of memory or no randomness");
	}
	if ((r = sign(w, c->ts, (const uint8_t *)body, strlen(body), sig)) == 0) {
		snprintf(tsh, sizeof(tsh), "X-Scepgw-Timestamp: %s", c->ts);
		snprintf(nh, sizeof(nh), "X-Scepgw-Nonce: %s", c->nonce);
		snprintf(sigh, sizeof(sigh), "X-Scepgw-Signature: %s", sig);
		hr.headers[0] = "Content-Type: application/json";
		hr.headers[1] = "Accept: application/json";
		hr.headers[2] = tsh;
		hr.headers[3] = nh;
		hr.headers[4] = sigh;
		hr.body = (const uint8_t *)body;
		hr.body_len = strlen(body);
		http_trust_apply(&w->conf.trust, &hr);
		hr.timeout_ms = w->conf.timeout * 1000L;
		hr.connect_timeout_ms = hr.timeout_ms;
		hr.max_response = 64 * 1024;
		hr.retry_on = HTTP_RETRY_CONNECT;
		r = http_client_start(w->hc, &hr, webhook_done, c, NULL);
	}
	OPENSSL_cleanse(body, strlen(body));
	free(body);
	if (r < 0) {
		wh_call_free(c);
		return sgw_err_set(err, SGW_EDENIED, "webhook: cannot send: %s", sgw_strerror(r));
	}
	return -SGW_EAGAIN;
}

static int
webhook_start(void *priv, const struct validator_env *env, struct sgw_err *err)
{
	struct webhook *w = priv;

	if ((w->hc = http_client_new_child(env->http, 16)) == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "the validator has no HTTP client");
	return 0;
}

static void
webhook_free(void *priv)
{
	struct webhook *w = priv;

	http_client_free(w->hc);
	cfg_fields_free(webhook_fields, &w->conf);
	secret_file_free(w->secret, w->secret_len);
}

const struct validator_ops validator_webhook = {
    .name = "webhook",
    .priv_size = sizeof(struct webhook),
    .configure = webhook_configure,
    .start = webhook_start,
    .check = webhook_check,
    .free = webhook_free,
};
