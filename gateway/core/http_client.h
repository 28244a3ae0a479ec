/* http_client.h: outbound HTTP(S) for backends and validators (docs/architecture.md).
 *
 * One libcurl multi handle driven by the libevent base (CURLMOPT_SOCKETFUNCTION
 * and CURLMOPT_TIMERFUNCTION, curl's docs/examples/multi-event.c): a request
 * never blocks the loop.  Each request carries its own TLS material (client
 * certificate + key for mutual TLS, CA bundle), connect and total timeouts, a
 * response body cap and a retry policy (exponential backoff on a timer).
 * Connections are kept in the multi handle's cache and reused (curl reuses a
 * connection only for a request with the same host and TLS settings).
 *
 * The daemon owns one client (main.c: http_client_new) and hands it to the
 * backends (backend_env.http) and validators.  Each of those makes its own
 * client on it with http_client_new_child(): its own cap on requests in
 * flight, and http_client_free() cancels its requests only, while the multi
 * handle, its connection cache and its timer stay shared.
 *
 * The completion callback runs exactly once per started request, on the loop
 * thread, unless the request was cancelled or its client freed first.  A
 * callback may start new requests, cancel others, or free any client. */
#ifndef SGW_HTTP_CLIENT_H
#define SGW_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "err.h"

#define HTTP_MAX_HEADERS 8

struct http_client; /* one user's requests, on a multi handle shared with its parent */
struct http_call;   /* one request in flight, including its retries */

/* What gets retried (bits of http_request.retry_on). */
enum http_retry {
	HTTP_RETRY_CONNECT = 1u << 0, /* could not connect, resolve, or the connection broke */
	HTTP_RETRY_503 = 1u << 1,     /* 503 Service Unavailable */
	HTTP_RETRY_5XX = 1u << 2,     /* any other 5xx */
	HTTP_RETRY_TIMEOUT = 1u << 3, /* connect or total timeout (not idempotent for POST!) */
};

struct http_request {
	const char *method; /* "GET" (default), "POST", "PUT" */
	const char *url;
	const char *headers[HTTP_MAX_HEADERS]; /* "Name: value", NULL-terminated early */
	const uint8_t *body;		       /* copied at start */
	size_t body_len;
	const char
	    *ca_bundle; /* PEM file: the only CAs trusted for the server; NULL: system store */
	const char
	    *pinned_pubkey;	 /* "sha256//b64[;sha256//b64]" SPKI pins (http_trust.h), or NULL */
	const char *client_cert; /* PEM certificate (chain) for mutual TLS, or NULL */
	const char *client_key;	 /* PEM private key of client_cert */
	long connect_timeout_ms; /* 0: 10 s */
	long timeout_ms;	 /* whole transfer; 0: 30 s */
	size_t max_response;	 /* body cap; 0: 1 MiB */
	int retries;		 /* extra attempts after the first */
	long backoff_ms;	 /* wait before the first retry, doubled each time; 0: 500 ms */
	unsigned retry_on;	 /* HTTP_RETRY_* bits; 0: CONNECT | 503 */
};

struct http_response {
	int err;	      /* 0 when an HTTP status arrived, else -SGW_E* */
	long status;	      /* HTTP status, 0 when none */
	int timed_out;	      /* err != 0 because of a timeout */
	int attempts;	      /* how many times it was sent */
	const uint8_t *body;  /* borrowed for the callback; NUL-terminated */
	size_t body_len;      /* the terminator is not counted */
	const char *ctype;    /* Content-Type or "" */
	const char *error;    /* transport error text ("" when err == 0) */
	const char *hdrs;     /* response headers as packed "name\0value\0" pairs; */
	size_t hdrs_len;      /* read them with http_response_header() */
	double total_seconds; /* of the last attempt */
};

typedef void (*http_cb)(void *arg, const struct http_response *resp);

/* A client with a new multi handle on `base`.  max_requests caps the client's
 * requests in flight, so its connections (HTTP/1.1: one request per
 * connection); beyond it requests wait in order, and their timeouts start
 * when they leave the queue.  0: 64. */
struct http_client *http_client_new(struct event_base *base, long max_requests);
/* A client of its own (requests, cap, cancellation) on parent's multi handle,
 * connection cache and event base.  NULL when parent is NULL or out of memory.
 * The shared handle lives until the last client on it is freed. */
struct http_client *http_client_new_child(struct http_client *parent, long max_requests);
/* Cancels this client's requests (no callbacks).  Accepts NULL.  Safe inside a
 * callback.  Children of hc are not affected. */
void http_client_free(struct http_client *hc);

/* Start a request.  0 with *ret_call set (may be NULL if unwanted), or -SGW_E*
 * with no callback to follow.  The call handle is valid until its callback
 * returns or it is cancelled. */
int http_client_start(struct http_client *hc, const struct http_request *req, http_cb cb, void *arg,
		      struct http_call **ret_call);
/* No callback after this.  Accepts NULL. */
void http_call_cancel(struct http_call *c);
/* Requests started (queued ones too) and not yet completed or cancelled. */
size_t http_client_inflight(const struct http_client *hc);

/* The value of response header `name` (case-insensitive; the first one when
 * repeated), borrowed for the callback, or NULL.  Headers beyond 16 KiB per
 * response are dropped. */
#define HTTP_CLIENT_RESPONSE_HEADERS 1
const char *http_response_header(const struct http_response *resp, const char *name);

/* Percent-encode everything but RFC 3986 unreserved characters, for a path
 * segment or a query value.  -SGW_EINVAL when it does not fit.  Pure. */
int http_escape(const char *in, char *out, size_t size);

#endif
