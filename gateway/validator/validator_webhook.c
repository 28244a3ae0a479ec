/* validator_webhook.c: ask an HTTP(S) webhook whether to allow a request.
 *
 * POST url, Content-Type application/json, body {profile, transactionID, csr
 * (PEM), subject, sans {dns, ip, email, uri}, keyType, keyBits, requester
 * [, challenge when send_challenge]}, headers
 *   X-Scepgw-Timestamp: <unix seconds>
 *   X-Scepgw-Signature: sha256=<hex HMAC-SHA256(secret, timestamp "." body)>
 * The answer must be 2xx {"allow": bool, "reason": "..."} carrying
 *   X-Scepgw-Signature: sha256=<hex HMAC-SHA256(secret, timestamp "." answer)>
 * with the request's timestamp, so a spoofed or replayed answer is refused.
 * A timeout, a transport error, a non-2xx status, a bad signature or a body
 * that is not that JSON all deny. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "http_client.h"
#include "log.h"
#include "secret_file.h"
#include "validator.h"

#define HMAC_SECRET_MAX 1023 /* bytes in hmac_secret_file */

struct webhook_conf {
	char *type, *url, *hmac_secret_file, *ca_bundle;
	int timeout, send_challenge;
};

static const struct cfg_field webhook_fields[] = {
    {"type", CFG_STR, offsetof(struct webhook_conf, type), 1},
    {"url", CFG_STR, offsetof(struct webhook_conf, url), 1},
    {"hmac_secret_file", CFG_STR, offsetof(struct webhook_conf, hmac_secret_file), 1},
    {"ca_bundle", CFG_STR, offsetof(struct webhook_conf, ca_bundle), 0},
    {"timeout", CFG_DURATION, offsetof(struct webhook_conf, timeout), 0},
    {"send_challenge", CFG_BOOL, offsetof(struct webhook_conf, send_challenge), 0},
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
	char txn[128];
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
	if (w->conf.timeout <= 0 || w->conf.timeout > 300)
		return sgw_err_set(err, SGW_EINVAL, "%s.timeout: 1s to 300s", path);
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
build_body(const struct webhook *w, const struct validator_req *req)
{
	const struct csr *c = req->csr;
	char *pem = csr_pem(c), *s = NULL;
	json_t *o;

	if (pem == NULL)
		return NULL;
	o = json_pack("{s:s, s:s, s:s, s:s?, s:{s:o, s:o, s:o, s:o}, s:s, s:i, s:s?}", "profile",
		      req->profile, "transactionID", req->transaction_id, "csr", pem, "subject",
		      c->subject, "sans", "dns", strlist(&c->san_dns), "ip", strlist(&c->san_ip),
		      "email", strlist(&c->san_email), "uri", strlist(&c->san_uri), "keyType",
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
	free(c);
}

static int
webhook_check(void *priv, const struct validator_req *req, validator_cb cb, void *arg,
	      struct sgw_err *err)
{
	struct webhook *w = priv;
	struct http_request hr = {.method = "POST", .url = w->conf.url};
	char tsh[48], sigh[96], sig[72];
	struct wh_call *c;
	char *body;
	int r;

	if (cb == NULL || w->hc == NULL)
		return sgw_err_set(err, SGW_EINVAL, "webhook: no HTTP client");
	if ((c = calloc(1, sizeof(*c))) == NULL || (body = build_body(w, req)) == NULL) {
		free(c);
		return sgw_err_set(err, SGW_ENOMEM, "webhook: out of memory");
	}
	*c = (struct wh_call){.w = w, .cb = cb, .arg = arg};
	snprintf(c->ts, sizeof(c->ts), "%lld", (long long)time(NULL));
	snprintf(c->txn, sizeof(c->txn), "%s", req->transaction_id);
	if ((r = sign(w, c->ts, (const uint8_t *)body, strlen(body), sig)) == 0) {
		snprintf(tsh, sizeof(tsh), "X-Scepgw-Timestamp: %s", c->ts);
		snprintf(sigh, sizeof(sigh), "X-Scepgw-Signature: %s", sig);
		hr.headers[0] = "Content-Type: application/json";
		hr.headers[1] = "Accept: application/json";
		hr.headers[2] = tsh;
		hr.headers[3] = sigh;
		hr.body = (const uint8_t *)body;
		hr.body_len = strlen(body);
		hr.ca_bundle = w->conf.ca_bundle;
		hr.timeout_ms = w->conf.timeout * 1000L;
		hr.connect_timeout_ms = hr.timeout_ms;
		hr.max_response = 64 * 1024;
		hr.retry_on = HTTP_RETRY_CONNECT;
		r = http_client_start(w->hc, &hr, webhook_done, c, NULL);
	}
	OPENSSL_cleanse(body, strlen(body));
	free(body);
	if (r < 0) {
		free(c);
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
