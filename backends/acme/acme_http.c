/* acme_http.c: the ACME transport over gateway/http_client (RFC 8555 6).
 * Every response's Replay-Nonce goes into a small pool; a signed POST takes
 * one (GET newNonce when the pool is empty) and is sent again with the fresh
 * nonce of the error response on urn:ietf:params:acme:error:badNonce (6.5).
 * One retry is what RFC 8555 asks for, but a CA may reject any nonce at
 * random (pebble's PEBBLE_WFE_NONCEREJECT=50 rejects half of them), so up to
 * ACME_BADNONCE_RETRIES: at 50% a POST then fails once in 2^21. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme_int.h"
#include "acme_jws.h"
#include "acme_op.h"
#include "log.h"

#define ACME_BADNONCE_RETRIES 20

static void post_send(struct acme_op *op);
static void nonce_fetched(struct acme_op *op, struct acme_resp *r);

void
acme_resp_clear(struct acme_resp *r)
{
	free(r->body);
	free(r->location);
	memset(r, 0, sizeof(*r));
}

void
acme_nonces_clear(struct acme *a)
{
	for (size_t i = 0; i < a->n_nonces; i++)
		free(a->nonces[i]);
	a->n_nonces = 0;
}

/* Response headers: http_response_header() is the http_client addition the
 * ACME backend needs (Replay-Nonce, Location, Retry-After). */
static const char *
resp_header(const struct http_response *resp, const char *name)
{
#ifdef HTTP_CLIENT_RESPONSE_HEADERS
	return http_response_header(resp, name);
#else
	(void)resp;
	(void)name;
	return NULL;
#endif
}

static void
nonce_put(struct acme *a, const char *nonce)
{
	size_t n;

	if (nonce == NULL || (n = strlen(nonce)) == 0 || n > 256 ||
	    strspn(nonce, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != n)
		return;
	if (a->n_nonces == ACME_MAX_NONCES) { /* drop the oldest */
		free(a->nonces[0]);
		memmove(a->nonces, a->nonces + 1, (ACME_MAX_NONCES - 1) * sizeof(a->nonces[0]));
		a->n_nonces--;
	}
	if ((a->nonces[a->n_nonces] = strdup(nonce)) != NULL)
		a->n_nonces++;
}

static char *
nonce_take(struct acme *a)
{
	return a->n_nonces > 0 ? a->nonces[--a->n_nonces] : NULL;
}

/* Copy what the steps need out of the borrowed response. */
static void
resp_copy(struct acme *a, const struct http_response *hr, struct acme_resp *r)
{
	const char *v;

	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
	r->err = hr->err;
	r->status = hr->status;
	if (hr->err != 0) {
		snprintf(r->error, sizeof(r->error), "%s%s", hr->error,
			 hr->timed_out ? " (timeout)" : "");
		return;
	}
	nonce_put(a, resp_header(hr, "Replay-Nonce"));
	if ((v = resp_header(hr, "Location")) != NULL && strlen(v) <= ACME_MAX_URL)
		r->location = strdup(v);
	if ((v = resp_header(hr, "Retry-After")) != NULL &&
	    acme_retry_after(v, time(NULL), 3600, &r->retry_after) < 0)
		r->retry_after = -1;
	if (hr->body_len > 0 && (r->body = malloc(hr->body_len + 1)) != NULL) {
		memcpy(r->body, hr->body, hr->body_len);
		r->body[hr->body_len] = '\0';
		r->len = hr->body_len;
	}
	if (hr->status >= 400 && r->body != NULL &&
	    acme_problem_parse(r->body, r->len, &r->prob) == 0)
		r->has_problem = 1;
}

static void
op_http_done(void *arg, const struct http_response *hr)
{
	struct acme_op *op = arg;
	struct acme_resp r;
	acme_step next = op->next;

	op->call = NULL;
	resp_copy(op->a, hr, &r);
	if (r.has_problem && strcmp(acme_problem_short(&r.prob), "badNonce") == 0 &&
	    op->req_url != NULL && op->req_retried < ACME_BADNONCE_RETRIES) {
		op->req_retried++;
		log_info("acme %s: txn=%s: badNonce from %s: sending again with the fresh nonce "
			 "(%d)",
			 op->a->name, op->txn, op->req_url, op->req_retried);
		acme_resp_clear(&r);
		post_send(op);
		return;
	}
	if (next != nonce_fetched) { /* the signed POST is done */
		free(op->req_url);
		free(op->req_payload);
		op->req_url = op->req_payload = NULL;
	}
	next(op, &r);
	acme_resp_clear(&r);
}

static int
start(struct acme_op *op, const char *method, const char *url, const char *body)
{
	struct acme *a = op->a;
	struct http_request req = {
	    .method = method,
	    .url = url,
	    .headers = {"Content-Type: application/jose+json", "Accept: */*"},
	    .body = (const uint8_t *)body,
	    .body_len = body != NULL ? strlen(body) : 0,
	    .timeout_ms = (long)a->conf.timeout * 1000,
	    .max_response = ACME_MAX_RESPONSE,
	    /* a signed POST is never re-sent as is: its nonce is spent */
	    .retries = body != NULL ? 0 : 2,
	};

	http_trust_apply(&a->conf.trust, &req);

	if (body == NULL)
		req.headers[0] = NULL;
	return http_client_start(a->hc, &req, op_http_done, op, &op->call);
}

int
acme_get(struct acme_op *op, const char *url, acme_step next)
{
	op->next = next;
	return start(op, "GET", url, NULL);
}

static int
sign_cb(void *ctx, const uint8_t *in, size_t len, uint8_t **sig, size_t *siglen)
{
	return keyop_sign_jws(ctx, in, len, sig, siglen);
}

static void fail_now(struct acme_op *op, const char *why);

static void
nonce_fetched(struct acme_op *op, struct acme_resp *r)
{
	if (r->err != 0 || r->status >= 400 || op->a->n_nonces == 0) {
		acme_op_fail_resp(op, "newNonce", r);
		return;
	}
	post_send(op);
}

static void
post_send(struct acme_op *op)
{
	struct acme *a = op->a;
	struct acme_jws_hdr h = {.alg = a->alg, .url = op->req_url};
	char *nonce, *body = NULL;
	int r;

	if ((nonce = nonce_take(a)) == NULL) {
		op->next = nonce_fetched;
		if (start(op, "GET", a->dir.new_nonce, NULL) < 0)
			fail_now(op, "cannot start the newNonce request");
		return;
	}
	h.nonce = nonce;
	if (op->req_jwk)
		h.jwk = a->jwk;
	else
		h.kid = a->kid;
	r = acme_jws_body(&h, op->req_payload, sign_cb, (void *)a->key, &body);
	free(nonce);
	if (r < 0) {
		fail_now(op, "cannot sign the request with the account key");
		return;
	}
	op->next = op->post_next;
	r = start(op, "POST", op->req_url, body);
	free(body);
	if (r < 0)
		fail_now(op, "cannot start the request");
}

int
acme_post(struct acme_op *op, const char *url, const char *payload, int use_jwk, acme_step next)
{
	free(op->req_url);
	free(op->req_payload);
	op->req_url = strdup(url);
	op->req_payload = payload != NULL ? strdup(payload) : NULL;
	if (op->req_url == NULL || (payload != NULL && op->req_payload == NULL))
		return -SGW_ENOMEM;
	op->req_jwk = use_jwk;
	op->req_retried = 0;
	op->next = op->post_next = next;
	post_send(op);
	return 0;
}

/* A failure before any request went out: deliver it from the loop, never
 * from inside the caller (the backend contract). */
static void
fail_now(struct acme_op *op, const char *why)
{
	struct acme_resp r = {.err = -SGW_EBACKEND, .retry_after = -1};

	snprintf(r.error, sizeof(r.error), "%s", why);
	op->next(op, &r);
}
