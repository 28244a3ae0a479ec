/* http_client.c: libcurl multi <-> libevent (curl docs/examples/multi-event.c).
 *
 * curl tells us which sockets to watch (sock_cb) and when to wake it up
 * (timer_cb); libevent calls back into curl_multi_socket_action(), and after
 * each action the finished transfers are collected (collect_done).  A retry
 * takes the easy handle out of the multi handle, waits on a per-call timer
 * and puts it back: the connection cache lives in the multi handle, so a
 * retry or the next request to the same upstream reuses the connection.
 *
 * One `struct hc_multi` (multi handle, timer, socket events) is shared by a
 * client and its children, and lives as long as one of them does.  Each
 * client keeps its own calls and its own cap: a call over the cap waits in
 * the client's queue and starts from its (zero) timer when a slot frees.
 *
 * Re-entrancy: a completion callback may free any client.  Freeing removes
 * its calls from the multi handle (curl drops their pending messages); the
 * shared part goes when the last client does, and not before the dispatch
 * loop (`dispatching` > 0) unwinds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <curl/curl.h>

#include "http_client.h"
#include "log.h"

#define HC_DEFAULT_CONNECT_MS 10000L
#define HC_DEFAULT_TIMEOUT_MS 30000L
#define HC_DEFAULT_MAX_RESPONSE (1024 * 1024)
#define HC_DEFAULT_BACKOFF_MS 500L
#define HC_MAX_BACKOFF_MS 60000L
#define HC_MAX_RETRIES 10
#define HC_MAX_HEADERS (16 * 1024)
#define HC_DEFAULT_MAX_REQUESTS 64L

struct http_call {
	LIST_ENTRY(http_call) link;   /* every call of the client */
	TAILQ_ENTRY(http_call) queue; /* while waiting for a slot */
	struct http_client *hc;
	CURL *easy;
	struct curl_slist *hdrs;
	uint8_t *req_body;
	uint8_t *resp;
	size_t resp_len, resp_alloc, max_response;
	char rhdrs[HC_MAX_HEADERS]; /* packed "name\0value\0" of the last response */
	size_t rhdrs_len;
	int overflow;
	int queued;   /* in hc->waiting */
	int has_slot; /* counted in hc->n_active: in the multi or waiting to (re)start */
	int in_multi;
	int delivering;
	int attempts, retries;
	long backoff_ms;
	unsigned retry_on;
	struct event *retry_ev; /* retry back-off, or the start of a queued call */
	http_cb cb;
	void *arg;
	char errbuf[CURL_ERROR_SIZE];
};

/* the libcurl multi handle and its libevent glue, shared by related clients */
struct hc_multi {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	int refs;	 /* clients on it */
	int dispatching; /* collect_done() frames on the stack */
};

struct http_client {
	struct hc_multi *m;
	LIST_HEAD(, http_call) calls;
	TAILQ_HEAD(, http_call) waiting;
	size_t n_calls;	 /* started, not completed or cancelled */
	size_t n_active; /* holding a slot */
	size_t max_active;
};

/* one watched socket: the event is made once and changed only when curl
 * asks for other directions */
struct hc_sock {
	struct event *ev;
	short kind;
};

static void collect_done(struct hc_multi *m);

/* ---- curl <-> libevent -------------------------------------------------- */

static void
ev_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hc_multi *m = arg;
	int running = 0, flags = 0;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(m->multi, fd, flags, &running);
	collect_done(m);
}

static void
ev_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hc_multi *m = arg;
	int running = 0;

	(void)fd;
	(void)what;
	curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	collect_done(m);
}

static int
sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct hc_multi *m = userp;
	struct hc_sock *sk = socketp;
	short kind = EV_PERSIST;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (sk != NULL) {
			event_free(sk->ev);
			free(sk);
			curl_multi_assign(m->multi, s, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (sk == NULL) {
		if ((sk = calloc(1, sizeof(*sk))) == NULL ||
		    (sk->ev = event_new(m->base, s, kind, ev_sock_cb, m)) == NULL) {
			free(sk);
			return -1;
		}
		curl_multi_assign(m->multi, s, sk);
	} else if (sk->kind == kind) {
		return 0; /* already watched that way */
	} else if (event_del(sk->ev) < 0 ||
		   event_assign(sk->ev, m->base, s, kind, ev_sock_cb, m) < 0) {
		return -1;
	}
	sk->kind = kind;
	return event_add(sk->ev, NULL) < 0 ? -1 : 0;
}

static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct hc_multi *m = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0)
		return evtimer_del(m->timer) < 0 ? -1 : 0;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(m->timer, &tv) < 0 ? -1 : 0;
}

/* The last client is gone; once no dispatch loop runs, the handle goes too. */
static void
multi_release(struct hc_multi *m)
{
	if (m->refs > 0 || m->dispatching > 0)
		return;
	if (m->multi != NULL)
		curl_multi_cleanup(m->multi); /* closes the cached connections (CURL_POLL_REMOVE) */
	if (m->timer != NULL)
		event_free(m->timer);
	free(m);
	curl_global_cleanup();
}

static struct hc_multi *
multi_new(struct event_base *base)
{
	struct hc_multi *m;

	if (base == NULL || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		curl_global_cleanup();
		return NULL;
	}
	m->base = base;
	m->multi = curl_multi_init();
	m->timer = evtimer_new(base, ev_timer_cb, m);
	if (m->multi == NULL || m->timer == NULL ||
	    curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, sock_cb) != CURLM_OK ||
	    curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m) != CURLM_OK ||
	    curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, timer_cb) != CURLM_OK ||
	    curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m) != CURLM_OK) {
		multi_release(m);
		return NULL;
	}
	return m;
}

/* ---- calls -------------------------------------------------------------- */

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct http_call *c = ud;
	size_t n = size * nmemb, want;
	uint8_t *nb;

	if (n > c->max_response - c->resp_len) {
		c->overflow = 1;
		return 0;
	}
	if (c->resp_len + n + 1 > c->resp_alloc) {
		want = c->resp_alloc ? c->resp_alloc : 4096;
		while (want < c->resp_len + n + 1)
			want *= 2;
		nb = realloc(c->resp, want);
		if (nb == NULL)
			return 0;
		c->resp = nb;
		c->resp_alloc = want;
	}
	memcpy(c->resp + c->resp_len, ptr, n);
	c->resp_len += n;
	c->resp[c->resp_len] = '\0';
	return n;
}

/* One header line: "HTTP/..." starts a new response (100 Continue, retries). */
static size_t
header_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct http_call *c = ud;
	size_t n = size * nmemb, nl, vl;
	const char *colon = memchr(ptr, ':', n), *v;

	if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
		c->rhdrs_len = 0;
		return n;
	}
	if (colon == NULL || colon == ptr)
		return n;
	nl = (size_t)(colon - ptr);
	for (v = colon + 1; v < ptr + n && (*v == ' ' || *v == '\t'); v++)
		;
	vl = (size_t)(ptr + n - v);
	while (vl > 0 && strchr(" \t\r\n", v[vl - 1]) != NULL)
		vl--;
	if (c->rhdrs_len + nl + vl + 2 > sizeof(c->rhdrs))
		return n; /* over the cap: dropped */
	memcpy(c->rhdrs + c->rhdrs_len, ptr, nl);
	c->rhdrs[c->rhdrs_len + nl] = '\0';
	memcpy(c->rhdrs + c->rhdrs_len + nl + 1, v, vl);
	c->rhdrs[c->rhdrs_len + nl + 1 + vl] = '\0';
	c->rhdrs_len += nl + vl + 2;
	return n;
}

const char *
http_response_header(const struct http_response *resp, const char *name)
{
	const char *p, *end;

	if (resp == NULL || resp->hdrs == NULL || name == NULL)
		return NULL;
	for (p = resp->hdrs, end = resp->hdrs + resp->hdrs_len; p < end;) {
		const char *val = p + strlen(p) + 1;
		if (strcasecmp(p, name) == 0)
			return val;
		p = val + strlen(val) + 1;
	}
	return NULL;
}

static void
call_free(struct http_call *c)
{
	if (c == NULL)
		return;
	if (c->in_multi && c->hc != NULL)
		curl_multi_remove_handle(c->hc->m->multi, c->easy);
	if (c->retry_ev != NULL)
		event_free(c->retry_ev);
	curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->hdrs);
	free(c->req_body);
	free(c->resp);
	free(c);
}

/* Give the free slots to queued calls; each starts from its zero timer, so
 * never inside the caller's stack. */
static void
client_pump(struct http_client *hc)
{
	static const struct timeval now = {0, 0};
	struct http_call *c;

	while (hc->n_active < hc->max_active && (c = TAILQ_FIRST(&hc->waiting)) != NULL) {
		if (evtimer_add(c->retry_ev, &now) < 0) {
			log_err("http: cannot schedule a queued request");
			return; /* stays first in line: the next freed slot tries again */
		}
		TAILQ_REMOVE(&hc->waiting, c, queue);
		c->queued = 0;
		c->has_slot = 1;
		hc->n_active++;
	}
}

/* The call leaves its client (completed or cancelled); its slot goes on. */
static void
call_unlink(struct http_call *c)
{
	struct http_client *hc = c->hc;

	LIST_REMOVE(c, link);
	hc->n_calls--;
	if (c->queued)
		TAILQ_REMOVE(&hc->waiting, c, queue);
	c->queued = 0;
	if (c->has_slot) {
		hc->n_active--;
		c->has_slot = 0;
		client_pump(hc);
	}
}

static int
is_conn_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
		return 1;
	default:
		return 0;
	}
}

static int
should_retry(const struct http_call *c, CURLcode rc, long status)
{
	if (c->attempts > c->retries || c->overflow)
		return 0;
	if (rc == CURLE_OK)
		return status == 503 ? (c->retry_on & HTTP_RETRY_503) != 0
				     : status >= 500 && (c->retry_on & HTTP_RETRY_5XX) != 0;
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return (c->retry_on & HTTP_RETRY_TIMEOUT) != 0;
	return is_conn_error(rc) && (c->retry_on & HTTP_RETRY_CONNECT) != 0;
}

static void
call_deliver(struct http_call *c, CURLcode rc, long status)
{
	struct http_response resp = {0};
	char *ctype = NULL;
	char why[CURL_ERROR_SIZE + 64];

	curl_easy_getinfo(c->easy, CURLINFO_CONTENT_TYPE, &ctype);
	curl_easy_getinfo(c->easy, CURLINFO_TOTAL_TIME, &resp.total_seconds);
	why[0] = '\0';
	if (c->overflow)
		snprintf(why, sizeof(why), "response body over %zu bytes", c->max_response);
	else if (rc != CURLE_OK)
		snprintf(why, sizeof(why), "%s", c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
	resp.err = rc == CURLE_OK ? 0 : c->overflow ? -SGW_EPARSE : -SGW_EIO;
	resp.status = rc == CURLE_OK ? status : 0;
	resp.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
	resp.attempts = c->attempts;
	resp.body = c->resp != NULL ? c->resp : (const uint8_t *)"";
	resp.body_len = c->resp_len;
	resp.ctype = ctype != NULL ? ctype : "";
	resp.error = why;
	resp.hdrs = c->rhdrs;
	resp.hdrs_len = c->rhdrs_len;
	call_unlink(c);
	c->delivering = 1;
	c->cb(c->arg, &resp);
	c->hc = NULL; /* the client may be gone now */
	call_free(c);
}

/* A retry after its back-off, or a queued call's first attempt. */
static void
retry_fire(evutil_socket_t fd, short what, void *arg)
{
	struct http_call *c = arg;

	(void)fd;
	(void)what;
	c->resp_len = 0;
	c->rhdrs_len = 0;
	c->overflow = 0;
	c->errbuf[0] = '\0';
	if (curl_multi_add_handle(c->hc->m->multi, c->easy) != CURLM_OK) {
		snprintf(c->errbuf, sizeof(c->errbuf), "cannot start the transfer");
		call_deliver(c, CURLE_OUT_OF_MEMORY, 0);
		return;
	}
	c->in_multi = 1;
}

static void
call_finished(struct http_call *c, CURLcode rc)
{
	long status = 0, delay;
	struct timeval tv;

	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_FILESIZE_EXCEEDED)
		c->overflow = 1; /* announced by Content-Length: refused before reading */
	curl_multi_remove_handle(c->hc->m->multi, c->easy);
	c->in_multi = 0;
	c->attempts++;
	if (should_retry(c, rc, status)) {
		delay = c->backoff_ms;
		for (int i = 1; i < c->attempts && delay < HC_MAX_BACKOFF_MS; i++)
			delay *= 2;
		if (delay > HC_MAX_BACKOFF_MS)
			delay = HC_MAX_BACKOFF_MS;
		log_debug("http: attempt %d failed (%s, HTTP %ld), retrying in %ld ms", c->attempts,
			  curl_easy_strerror(rc), status, delay);
		tv.tv_sec = delay / 1000;
		tv.tv_usec = (delay % 1000) * 1000;
		if (evtimer_add(c->retry_ev, &tv) == 0)
			return;
	}
	call_deliver(c, rc, status);
}

static void
collect_done(struct hc_multi *m)
{
	struct http_call *c;
	CURLMsg *msg;
	char *p;
	int left;

	m->dispatching++;
	while (m->refs > 0 && (msg = curl_multi_info_read(m->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		p = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &p);
		c = (struct http_call *)(void *)p;
		if (c != NULL)
			call_finished(c, msg->data.result);
	}
	m->dispatching--;
	multi_release(m);
}

/* ---- setup -------------------------------------------------------------- */

static int
call_setup(struct http_call *c, const struct http_request *req)
{
	const char *m = req->method != NULL ? req->method : "GET";
	CURL *e = c->easy;
	int bad = 0;

	c->hdrs = curl_slist_append(NULL, "Expect:");
	for (size_t i = 0; c->hdrs != NULL && i < HTTP_MAX_HEADERS && req->headers[i]; i++) {
		struct curl_slist *n = curl_slist_append(c->hdrs, req->headers[i]);
		if (n == NULL)
			return -SGW_ENOMEM;
		c->hdrs = n;
	}
	if (c->hdrs == NULL)
		return -SGW_ENOMEM;
	bad |= curl_easy_setopt(e, CURLOPT_URL, req->url) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, c) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, SGW_USER_AGENT) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, c) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, c) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->hdrs) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
				req->connect_timeout_ms > 0 ? req->connect_timeout_ms
							    : HC_DEFAULT_CONNECT_MS) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
				req->timeout_ms > 0 ? req->timeout_ms : HC_DEFAULT_TIMEOUT_MS) !=
	       CURLE_OK;
	bad |=
	    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_response) != CURLE_OK;
	if (strcmp(m, "GET") == 0) {
		bad |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK;
	} else {
		if (strcmp(m, "POST") != 0)
			bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
					(curl_off_t)req->body_len) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS,
					c->req_body != NULL ? (char *)c->req_body : "") != CURLE_OK;
	}
	if (req->ca_bundle != NULL) {
		/* the bundle is the only trust: libcurl's compiled-in CA directory
		 * (e.g. /etc/ssl/certs) would otherwise stay active beside it; no
		 * CURLSSLOPT_NATIVE_CA, no CA blob */
		bad |= curl_easy_setopt(e, CURLOPT_CAINFO, req->ca_bundle) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_CAPATH, NULL) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_SSL_OPTIONS, 0L) != CURLE_OK;
	}
	if (req->pinned_pubkey != NULL)
		bad |= curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, req->pinned_pubkey) != CURLE_OK;
	if (req->client_cert != NULL) {
		bad |= curl_easy_setopt(e, CURLOPT_SSLCERT, req->client_cert) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM") != CURLE_OK;
	}
	if (req->client_key != NULL)
		bad |= curl_easy_setopt(e, CURLOPT_SSLKEY, req->client_key) != CURLE_OK;
	return bad ? -SGW_EINVAL : 0;
}

static struct http_client *
client_new(struct hc_multi *m, long max_requests)
{
	struct http_client *hc = calloc(1, sizeof(*hc));

	if (hc == NULL)
		return NULL;
	hc->m = m;
	LIST_INIT(&hc->calls);
	TAILQ_INIT(&hc->waiting);
	hc->max_active = (size_t)(max_requests > 0 ? max_requests : HC_DEFAULT_MAX_REQUESTS);
	m->refs++;
	return hc;
}

struct http_client *
http_client_new(struct event_base *base, long max_requests)
{
	struct hc_multi *m = multi_new(base);
	struct http_client *hc = m != NULL ? client_new(m, max_requests) : NULL;

	if (m != NULL && hc == NULL)
		multi_release(m);
	return hc;
}

struct http_client *
http_client_new_child(struct http_client *parent, long max_requests)
{
	return parent != NULL ? client_new(parent->m, max_requests) : NULL;
}

void
http_client_free(struct http_client *hc)
{
	struct http_call *c;
	struct hc_multi *m;

	if (hc == NULL)
		return;
	hc->max_active = 0; /* no queued call takes a freed slot */
	while ((c = LIST_FIRST(&hc->calls)) != NULL) {
		call_unlink(c);
		call_free(c);
	}
	m = hc->m;
	free(hc);
	m->refs--;
	multi_release(m);
}

int
http_client_start(struct http_client *hc, const struct http_request *req, http_cb cb, void *arg,
		  struct http_call **ret_call)
{
	struct http_call *c;
	int r = -SGW_ENOMEM;

	if (hc == NULL || req == NULL || req->url == NULL || cb == NULL)
		return -SGW_EINVAL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return r;
	c->hc = hc;
	c->cb = cb;
	c->arg = arg;
	c->max_response = req->max_response > 0 ? req->max_response : HC_DEFAULT_MAX_RESPONSE;
	c->retries = req->retries < 0		     ? 0
		     : req->retries > HC_MAX_RETRIES ? HC_MAX_RETRIES
						     : req->retries;
	c->backoff_ms = req->backoff_ms > 0 ? req->backoff_ms : HC_DEFAULT_BACKOFF_MS;
	c->retry_on = req->retry_on != 0 ? req->retry_on : HTTP_RETRY_CONNECT | HTTP_RETRY_503;
	c->easy = curl_easy_init();
	c->retry_ev = evtimer_new(hc->m->base, retry_fire, c);
	if (req->body_len > 0) {
		c->req_body = malloc(req->body_len + 1);
		if (c->req_body != NULL) {
			memcpy(c->req_body, req->body, req->body_len);
			c->req_body[req->body_len] = '\0';
		}
	}
	if (c->easy == NULL || c->retry_ev == NULL || (req->body_len > 0 && c->req_body == NULL))
		goto fail;
	if ((r = call_setup(c, req)) < 0)
		goto fail;
	if (hc->n_active < hc->max_active) {
		if (curl_multi_add_handle(hc->m->multi, c->easy) != CURLM_OK) {
			r = -SGW_EIO;
			goto fail;
		}
		c->in_multi = 1;
		c->has_slot = 1;
		hc->n_active++;
	} else {
		c->queued = 1;
		TAILQ_INSERT_TAIL(&hc->waiting, c, queue);
	}
	LIST_INSERT_HEAD(&hc->calls, c, link);
	hc->n_calls++;
	if (ret_call != NULL)
		*ret_call = c;
	return 0;
fail:
	c->hc = NULL;
	call_free(c);
	return r;
}

void
http_call_cancel(struct http_call *c)
{
	if (c == NULL || c->hc == NULL || c->delivering)
		return;
	call_unlink(c);
	call_free(c);
}

size_t
http_client_inflight(const struct http_client *hc)
{
	return hc != NULL ? hc->n_calls : 0;
}

int
http_escape(const char *in, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	if (in == NULL || out == NULL || size == 0)
		return -SGW_EINVAL;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		int plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
			    *p == '~';
		if (o + (plain ? 1 : 3) >= size)
			return -SGW_EINVAL;
		if (plain) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
	return 0;
}
