/* tests for gateway/core/http_client.c: an in-process evhttp server (plain and
 * mutual TLS) on 127.0.0.1 shares the event base with the client, so a test
 * that blocks the loop would deadlock and fail by the watchdog. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <sched.h>

#include "b64.h"
#include "fixture/http_fixture.h"
#include "fixture/pki_fixture.h"
#include "http_client.h"

#define MAX_SLOW 16

struct fx;

struct slow {
	struct fx *fx;
	struct evhttp_request *req;
	struct evhttp_connection *conn;
	int dead;
};

struct fx {
	struct http_fixture h; /* the loop, the client, its answers */
	struct evhttp *http, *https;
	int port, tls_port, closed_port;
	int conns;	/* plain connections accepted */
	int flaky_left; /* 503s still to send on /flaky */
	int flaky_hits;
	struct slow slow[MAX_SLOW];
	int slow_now, slow_max; /* slow requests being answered, and the most at once */
	SSL_CTX *sctx;
	struct pki_fixture_tls pki;
	/* results */
	struct http_response last;
	char body[4096];
	char nonce[64], ctype[64];
	int ticks;
	int want; /* count_cb: calls before the loop stops */
};

/* ---- the server ---------------------------------------------------------- */

static void
reply(struct evhttp_request *req, int code, const char *body)
{
	struct evbuffer *b = evbuffer_new();

	evbuffer_add(b, body, strlen(body));
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Replay-Nonce", "  abc-123 ");
	evhttp_send_reply(req, code, code == 200 ? "OK" : "Err", b);
	evbuffer_free(b);
}

static void
slow_close(struct evhttp_connection *conn, void *arg)
{
	struct fx *f = arg;

	for (int i = 0; i < MAX_SLOW; i++)
		if (f->slow[i].conn == conn)
			f->slow[i].dead = 1;
}

static void
slow_fire(evutil_socket_t fd, short what, void *arg)
{
	struct slow *s = arg;

	(void)fd;
	(void)what;
	if (!s->dead)
		reply(s->req, 200, "slow");
	s->dead = 1;
	s->conn = NULL;
	s->fx->slow_now--;
}

static void
handle_slow(struct fx *f, struct evhttp_request *req, long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	for (int i = 0; i < MAX_SLOW; i++) {
		struct slow *s = &f->slow[i];
		if (s->req != NULL && !s->dead)
			continue;
		s->fx = f;
		s->req = req;
		s->dead = 0;
		if (++f->slow_now > f->slow_max)
			f->slow_max = f->slow_now;
		s->conn = evhttp_request_get_connection(req);
		evhttp_connection_set_closecb(s->conn, slow_close, f);
		assert_int_equal(event_base_once(f->h.base, -1, EV_TIMEOUT, slow_fire, s, &tv), 0);
		return;
	}
	fail_msg("too many slow requests");
}

static void
server_cb(struct evhttp_request *req, void *arg)
{
	struct fx *f = arg;
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const char *hdr = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Test");
	char out[2048];
	size_t n = evbuffer_get_length(in);

	if (strncmp(uri, "/slow/", 6) == 0) {
		handle_slow(f, req, strtol(uri + 6, NULL, 10));
		return;
	}
	if (strcmp(uri, "/flaky") == 0) {
		f->flaky_hits++;
		if (f->flaky_left > 0) {
			f->flaky_left--;
			reply(req, 503, "{\"error_code\":503}");
		} else {
			reply(req, 200, "ok");
		}
		return;
	}
	if (strcmp(uri, "/big") == 0) {
		char *big = malloc(100001);
		memset(big, 'x', 100000);
		big[100000] = '\0';
		reply(req, 200, big);
		free(big);
		return;
	}
	snprintf(out, sizeof(out), "%d:%s:%.*s:%s", (int)evhttp_request_get_command(req), uri,
		 (int)(n < 1000 ? n : 1000), (const char *)evbuffer_pullup(in, -1),
		 hdr != NULL ? hdr : "-");
	reply(req, 200, out);
}

static struct bufferevent *
plain_bevcb(struct event_base *base, void *arg)
{
	struct fx *f = arg;

	f->conns++;
	return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
}

static struct bufferevent *
tls_bevcb(struct event_base *base, void *arg)
{
	struct fx *f = arg;

	return bufferevent_openssl_socket_new(base, -1, SSL_new(f->sctx), BUFFEREVENT_SSL_ACCEPTING,
					      BEV_OPT_CLOSE_ON_FREE);
}

static int
bind_any(struct evhttp *h)
{
	struct evhttp_bound_socket *s = evhttp_bind_socket_with_handle(h, "127.0.0.1", 0);

	assert_non_null(s);
	return http_fixture_port(s);
}

/* ---- TLS ----------------------------------------------------------------- */

/* The TLS server's context: srv.pem, and a client certificate of ca.pem. */
static void
make_sctx(struct fx *f)
{
	pki_fixture_tls_make(&f->pki, "hc");
	f->sctx = SSL_CTX_new(TLS_server_method());
	assert_int_equal(SSL_CTX_use_certificate_file(f->sctx, f->pki.srv, SSL_FILETYPE_PEM), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey_file(f->sctx, f->pki.srv_key, SSL_FILETYPE_PEM), 1);
	X509_STORE_load_file(SSL_CTX_get_cert_store(f->sctx), f->pki.ca);
	SSL_CTX_set_verify(f->sctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
}

/* ---- fixture ------------------------------------------------------------- */

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	http_fixture_init(&f->h);
	make_sctx(f);
	f->http = evhttp_new(f->h.base);
	f->https = evhttp_new(f->h.base);
	evhttp_set_gencb(f->http, server_cb, f);
	evhttp_set_gencb(f->https, server_cb, f);
	evhttp_set_bevcb(f->http, plain_bevcb, f);
	evhttp_set_bevcb(f->https, tls_bevcb, f);
	f->port = bind_any(f->http);
	f->tls_port = bind_any(f->https);
	{ /* a port that nothing listens on */
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sin = {.sin_family = AF_INET};
		socklen_t len = sizeof(sin);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		bind(s, (struct sockaddr *)&sin, sizeof(sin));
		getsockname(s, (struct sockaddr *)&sin, &len);
		f->closed_port = ntohs(sin.sin_port);
		close(s);
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	evhttp_free(f->http);
	evhttp_free(f->https);
	SSL_CTX_free(f->sctx);
	http_fixture_clean(&f->h);
	pki_fixture_tls_remove(&f->pki);
	free(f);
	return 0;
}

static void
done_cb(void *arg, const struct http_response *resp)
{
	struct fx *f = arg;

	const char *nonce = http_response_header(resp, "replay-nonce");

	snprintf(f->nonce, sizeof(f->nonce), "%s", nonce != NULL ? nonce : "(none)");
	snprintf(f->ctype, sizeof(f->ctype), "%s", resp->ctype);
	assert_null(http_response_header(resp, "X-Absent"));
	f->h.calls++;
	f->last = *resp;
	snprintf(f->body, sizeof(f->body), "%.*s",
		 (int)(resp->body_len < 4000 ? resp->body_len : 4000), (const char *)resp->body);
	f->last.body = NULL;
	f->last.ctype = NULL;
	f->last.error = NULL;
	event_base_loopbreak(f->h.base);
}

static void
run(struct fx *f, struct http_request *rq)
{
	http_fixture_run(&f->h, rq, done_cb, f);
}

static void
url(struct fx *f, char *buf, size_t size, int tls, const char *path)
{
	snprintf(buf, size, "%s://127.0.0.1:%d%s", tls ? "https" : "http",
		 tls ? f->tls_port : f->port, path);
}

/* ---- tests --------------------------------------------------------------- */

static void
test_methods(void **state)
{
	struct fx *f = *state;
	char u[128];
	struct http_request rq = {.url = u, .headers = {"X-Test: yes"}};

	url(f, u, sizeof(u), 0, "/echo");
	run(f, &rq);
	assert_int_equal(f->last.err, 0);
	assert_int_equal(f->last.status, 200);
	assert_string_equal(f->body, "1:/echo::yes"); /* EVHTTP_REQ_GET */
	assert_string_equal(f->nonce, "abc-123");     /* response headers, trimmed */
	assert_string_equal(f->ctype, "text/plain");
	rq.method = "POST";
	rq.body = (const uint8_t *)"{\"a\":1}";
	rq.body_len = 7;
	run(f, &rq);
	assert_string_equal(f->body, "2:/echo:{\"a\":1}:yes"); /* EVHTTP_REQ_POST */
	rq.method = "PUT";
	rq.body = NULL;
	rq.body_len = 0;
	run(f, &rq);
	assert_string_equal(f->body, "8:/echo::yes"); /* EVHTTP_REQ_PUT */
	assert_int_equal(f->last.attempts, 1);
	/* three requests, one connection: reused */
	assert_int_equal(f->conns, 1);
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	struct fx *f = arg;

	(void)fd;
	(void)what;
	f->ticks++;
}

static void
test_loop_not_blocked(void **state)
{
	struct fx *f = *state;
	struct timeval tv = {0, 50000};
	struct event *t = event_new(f->h.base, -1, EV_PERSIST, tick, f);
	char u[128];
	struct http_request rq = {.url = u};

	url(f, u, sizeof(u), 0, "/slow/1000");
	event_add(t, &tv);
	run(f, &rq);
	event_free(t);
	assert_int_equal(f->last.status, 200);
	assert_string_equal(f->body, "slow");
	/* a 50 ms timer kept firing while the response was pending */
	assert_true(f->ticks >= 15);
	assert_true(f->last.total_seconds >= 0.9);
}

static void
test_retry_503(void **state)
{
	struct fx *f = *state;
	char u[128];
	struct http_request rq = {.url = u, .retries = 3, .backoff_ms = 20};

	url(f, u, sizeof(u), 0, "/flaky");
	f->flaky_left = 2;
	run(f, &rq);
	assert_int_equal(f->last.status, 200);
	assert_int_equal(f->last.attempts, 3);
	assert_int_equal(f->flaky_hits, 3);
	/* retries exhausted: the last 503 is delivered */
	f->flaky_left = 5;
	rq.retries = 1;
	run(f, &rq);
	assert_int_equal(f->last.err, 0);
	assert_int_equal(f->last.status, 503);
	assert_int_equal(f->last.attempts, 2);
	/* 503 not in retry_on: no retry */
	rq.retries = 3;
	rq.retry_on = HTTP_RETRY_CONNECT;
	run(f, &rq);
	assert_int_equal(f->last.attempts, 1);
}

static void
test_connect_error(void **state)
{
	struct fx *f = *state;
	char u[128];
	struct http_request rq = {.url = u, .retries = 2, .backoff_ms = 10};

	snprintf(u, sizeof(u), "http://127.0.0.1:%d/x", f->closed_port);
	run(f, &rq);
	assert_int_equal(f->last.err, -SGW_EIO);
	assert_int_equal(f->last.status, 0);
	assert_int_equal(f->last.attempts, 3);
}

static void
test_body_cap(void **state)
{
	struct fx *f = *state;
	char u[128];
	struct http_request rq = {.url = u, .max_response = 1000, .retries = 2};

	url(f, u, sizeof(u), 0, "/big");
	run(f, &rq);
	assert_int_equal(f->last.err, -SGW_EPARSE);
	assert_int_equal(f->last.attempts, 1);
	rq.max_response = 200000;
	run(f, &rq);
	assert_int_equal(f->last.err, 0);
	assert_int_equal(strlen(f->body), 4000);
}

static void
test_timeout(void **state)
{
	struct fx *f = *state;
	char u[128];
	struct http_request rq = {.url = u, .timeout_ms = 300, .retries = 1, .backoff_ms = 10};

	url(f, u, sizeof(u), 0, "/slow/5000");
	run(f, &rq);
	assert_int_equal(f->last.err, -SGW_EIO);
	assert_true(f->last.timed_out);
	assert_int_equal(f->last.attempts, 1); /* timeouts are not retried by default */
	rq.retry_on = HTTP_RETRY_TIMEOUT;
	run(f, &rq);
	assert_int_equal(f->last.attempts, 2);
}

static void
free_in_cb(void *arg, const struct http_response *resp)
{
	struct fx *f = arg;

	(void)resp;
	f->h.calls++;
	http_client_free(f->h.hc);
	f->h.hc = NULL;
	event_base_loopbreak(f->h.base);
}

static void
test_cancel_and_free(void **state)
{
	struct fx *f = *state;
	char u1[128], u2[128], u3[128];
	struct http_request r1 = {.url = u1}, r2 = {.url = u2}, r3 = {.url = u3};
	struct http_call *c1 = NULL;

	url(f, u1, sizeof(u1), 0, "/slow/200");
	url(f, u2, sizeof(u2), 0, "/echo");
	url(f, u3, sizeof(u3), 0, "/slow/300");
	f->h.calls = 0;
	assert_int_equal(http_client_start(f->h.hc, &r1, done_cb, f, &c1), 0);
	assert_int_equal(http_client_start(f->h.hc, &r3, done_cb, f, NULL), 0);
	assert_int_equal(http_client_start(f->h.hc, &r2, free_in_cb, f, NULL), 0);
	assert_int_equal(http_client_inflight(f->h.hc), 3);
	http_call_cancel(c1);
	assert_int_equal(http_client_inflight(f->h.hc), 2);
	event_base_dispatch(f->h.base);
	/* /echo answered first and freed the client: the others never call back */
	assert_int_equal(f->h.calls, 1);
	assert_null(f->h.hc);
}

static void
count_cb(void *arg, const struct http_response *resp)
{
	struct fx *f = arg;

	assert_int_equal(resp->status, 200);
	if (++f->h.calls == f->want)
		event_base_loopbreak(f->h.base);
}

static void
run_until(struct fx *f, int want)
{
	f->h.calls = 0;
	f->want = want;
	event_base_dispatch(f->h.base);
	assert_int_equal(f->h.calls, want);
}

/* children share the parent's connections; each has its own requests */
static void
test_children(void **state)
{
	struct fx *f = *state;
	struct http_client *a = http_client_new_child(f->h.hc, 0),
			   *b = http_client_new_child(f->h.hc, 0);
	char u[128], s[128];
	struct http_request rq = {.url = u}, slow = {.url = s};

	assert_null(http_client_new_child(NULL, 0));
	url(f, u, sizeof(u), 0, "/echo");
	url(f, s, sizeof(s), 0, "/slow/300");
	assert_int_equal(http_client_start(a, &rq, count_cb, f, NULL), 0);
	run_until(f, 1);
	assert_int_equal(http_client_start(b, &rq, count_cb, f, NULL), 0);
	run_until(f, 1);
	assert_int_equal(f->conns, 1); /* one connection for both */
	/* freeing a cancels a's request only */
	assert_int_equal(http_client_start(a, &slow, done_cb, f, NULL), 0);
	assert_int_equal(http_client_start(b, &rq, count_cb, f, NULL), 0);
	assert_int_equal(http_client_inflight(f->h.hc), 0);
	http_client_free(a);
	run_until(f, 1);
	assert_int_equal(http_client_inflight(b), 0);
	/* the parent may go first: the shared handle stays for b */
	http_client_free(f->h.hc);
	f->h.hc = NULL;
	assert_int_equal(http_client_start(b, &rq, count_cb, f, NULL), 0);
	run_until(f, 1);
	http_client_free(b);
}

/* over the cap, requests wait in order; a queued one can be cancelled */
static void
test_queue(void **state)
{
	struct fx *f = *state;
	struct http_client *one = http_client_new_child(f->h.hc, 1);
	struct http_call *third = NULL;
	char u[128];
	struct http_request rq = {.url = u};

	url(f, u, sizeof(u), 0, "/slow/100");
	for (int i = 0; i < 4; i++)
		assert_int_equal(http_client_start(one, &rq, count_cb, f, i == 2 ? &third : NULL),
				 0);
	assert_int_equal(http_client_inflight(one), 4);
	http_call_cancel(third);
	assert_int_equal(http_client_inflight(one), 3);
	run_until(f, 3);
	assert_int_equal(f->slow_max, 1);
	assert_int_equal(http_client_inflight(one), 0);
	/* freeing with queued requests: no callbacks, nothing left behind */
	for (int i = 0; i < 3; i++)
		assert_int_equal(http_client_start(one, &rq, count_cb, f, NULL), 0);
	http_client_free(one);
	assert_int_equal(http_client_inflight(f->h.hc), 0);
}

static void
test_mtls(void **state)
{
	struct fx *f = *state;
	char u[128];
	struct http_request rq = {.url = u, .ca_bundle = f->pki.ca};

	url(f, u, sizeof(u), 1, "/echo");
	rq.client_cert = f->pki.cli;
	rq.client_key = f->pki.cli_key;
	run(f, &rq);
	assert_int_equal(f->last.err, 0);
	assert_int_equal(f->last.status, 200);
	/* a client certificate the server does not trust */
	rq.client_cert = f->pki.bad;
	rq.client_key = f->pki.bad_key;
	run(f, &rq);
	assert_int_equal(f->last.err, -SGW_EIO);
	/* none at all */
	rq.client_cert = NULL;
	rq.client_key = NULL;
	run(f, &rq);
	assert_int_equal(f->last.err, -SGW_EIO);
	/* a server the CA bundle does not vouch for */
	rq.client_cert = f->pki.cli;
	rq.client_key = f->pki.cli_key;
	rq.ca_bundle = f->pki.bad;
	run(f, &rq);
	assert_int_equal(f->last.err, -SGW_EIO);
}

/* ---- trust: the bundle is the only one, pins ----------------------------- */

/* libcurl's compiled-in CA directory (CURLINFO_CAPATH, /etc/ssl/certs on
 * Debian), replaced in a private mount namespace by an empty directory of
 * ours; a test puts a CA there as a system administrator (or an attacker who
 * got a CA into the system store) would.  "" when libcurl has none. */
static char sys_capath[256], sys_dir[64] = "/tmp/scepgw-sysca-XXXXXX";
static char sys_cafile[256]; /* the compiled-in CA file when it is in that directory */

static void
sys_ca_namespace(void)
{
	char *capath = NULL;
	CURL *c = curl_easy_init();

	if (c != NULL && curl_easy_getinfo(c, CURLINFO_CAPATH, &capath) == CURLE_OK &&
	    capath != NULL)
		snprintf(sys_capath, sizeof(sys_capath), "%s", capath);
	capath = NULL;
	if (c != NULL && curl_easy_getinfo(c, CURLINFO_CAINFO, &capath) == CURLE_OK &&
	    capath != NULL && sys_capath[0] != '\0' &&
	    strncmp(capath, sys_capath, strlen(sys_capath)) == 0 &&
	    capath[strlen(sys_capath)] == '/')
		snprintf(sys_cafile, sizeof(sys_cafile), "%s", capath + strlen(sys_capath) + 1);
	curl_easy_cleanup(c);
	if (sys_capath[0] == '\0')
		return;
	if (mkdtemp(sys_dir) == NULL || unshare(CLONE_NEWNS) != 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount(sys_dir, sys_capath, NULL, MS_BIND, NULL) != 0) {
		fprintf(stderr, "cannot bind %s over %s in a private mount namespace (root?)\n",
			sys_dir, sys_capath);
		exit(1);
	}
}

static void
write_pem(const char *path, X509 *x)
{
	FILE *out = fopen(path, "w");

	assert_non_null(out);
	assert_int_equal(PEM_write_X509(out, x), 1);
	fclose(out);
}

/* cert's PEM file placed in the system CA directory as <subject hash>.0 (and
 * as the compiled-in CA file, when that lives there) */
static void
sys_ca_add(const char *pem, char placed[2][512])
{
	FILE *in = fopen(pem, "r");
	X509 *x;

	assert_non_null(in);
	x = PEM_read_X509(in, NULL, NULL, NULL);
	fclose(in);
	assert_non_null(x);
	snprintf(placed[0], 512, "%s/%08lx.0", sys_dir, X509_subject_name_hash(x));
	write_pem(placed[0], x);
	placed[1][0] = '\0';
	if (sys_cafile[0] != '\0') {
		snprintf(placed[1], 512, "%s/%s", sys_dir, sys_cafile);
		write_pem(placed[1], x);
	}
	X509_free(x);
}

/* "sha256//" + base64 SHA-256 of the certificate's SubjectPublicKeyInfo */
static void
spki_pin(const char *pem, char *out, size_t size)
{
	FILE *in = fopen(pem, "r");
	unsigned char *der = NULL, md[SHA256_DIGEST_LENGTH];
	char *b = NULL;
	X509 *x;
	int n;

	assert_non_null(in);
	x = PEM_read_X509(in, NULL, NULL, NULL);
	fclose(in);
	assert_non_null(x);
	assert_true((n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der)) > 0);
	SHA256(der, (size_t)n, md);
	assert_int_equal(b64_encode(md, sizeof(md), B64_STD, B64_STRICT, &b), 0);
	snprintf(out, size, "sha256//%s", b);
	free(b);
	OPENSSL_free(der);
	X509_free(x);
}

/* The server's CA sits in the system CA directory; ca_bundle names another
 * CA: the bundle is the only trust, so the connection fails. */
static void
test_bundle_only_trust(void **state)
{
	struct fx *f = *state;
	char u[128], placed[2][512];
	struct http_request rq = {
	    .url = u, .client_cert = f->pki.cli, .client_key = f->pki.cli_key};

	assert_true(sys_capath[0] != '\0'); /* else libcurl has no default CA directory */
	url(f, u, sizeof(u), 1, "/echo");
	sys_ca_add(f->pki.ca, placed);
	/* no bundle: the system store, so the CA in it, is trusted */
	run(f, &rq);
	assert_int_equal(f->last.err, 0);
	assert_int_equal(f->last.status, 200);
	/* a bundle of another CA: the system directory is not consulted */
	rq.ca_bundle = f->pki.bad;
	run(f, &rq);
	assert_int_equal(f->last.err, -SGW_EIO);
	/* the matching bundle */
	rq.ca_bundle = f->pki.ca;
	run(f, &rq);
	assert_int_equal(f->last.err, 0);
	unlink(placed[0]);
	if (placed[1][0] != '\0')
		unlink(placed[1]);
}

/* pinned_pubkey: the right SPKI works, a wrong one fails even with a chain
 * that verifies. */
static void
test_pinned_key(void **state)
{
	struct fx *f = *state;
	char u[128], pin[128], two[300];
	struct http_request rq = {.url = u,
				  .ca_bundle = f->pki.ca,
				  .client_cert = f->pki.cli,
				  .client_key = f->pki.cli_key};

	url(f, u, sizeof(u), 1, "/echo");
	spki_pin(f->pki.srv, pin, sizeof(pin));
	rq.pinned_pubkey = pin;
	run(f, &rq);
	assert_int_equal(f->last.err, 0);
	assert_int_equal(f->last.status, 200);
	/* one of two pins (a key rollover) */
	snprintf(two, sizeof(two), "sha256//%s;%s",
		 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", pin);
	rq.pinned_pubkey = two;
	run(f, &rq);
	assert_int_equal(f->last.err, 0);
	/* the CA's key, not the server's */
	spki_pin(f->pki.ca, pin, sizeof(pin));
	rq.pinned_pubkey = pin;
	run(f, &rq);
	assert_int_equal(f->last.err, -SGW_EIO);
}

static void
test_escape(void **state)
{
	char out[128];

	(void)state;
	assert_int_equal(http_escape("CN=ManagementCA,O=EJBCA Sample,C=SE", out, sizeof(out)), 0);
	assert_string_equal(out, "CN%3DManagementCA%2CO%3DEJBCA%20Sample%2CC%3DSE");
	assert_int_equal(http_escape("a-b_c.d~e/\xc3\xa9", out, sizeof(out)), 0);
	assert_string_equal(out, "a-b_c.d~e%2F%C3%A9");
	assert_int_equal(http_escape("abc", out, 3), -SGW_EINVAL);
	assert_int_equal(http_escape("a b", out, 5), -SGW_EINVAL);
	assert_int_equal(http_escape("a b", out, 6), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_methods, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loop_not_blocked, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retry_503, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_connect_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_body_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_and_free, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_children, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queue, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mtls, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bundle_only_trust, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pinned_key, setup, teardown),
	    cmocka_unit_test(test_escape),
	};
	int r;

	sys_ca_namespace();
	r = cmocka_run_group_tests(tests, NULL, NULL);
	if (sys_capath[0] != '\0')
		rmdir(sys_dir);
	return r;
}
