/* tests for gateway/http/http_listen.c, http_tls.c and http_server.c: the
 * listeners built from one spec.  Servers bind 127.0.0.1:0 and share the
 * event base with an in-process client (core's http_client), so a test that
 * blocks the loop fails by the watchdog.  The .c files are included to reach
 * the accept back-off's statics. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/x509v3.h>

#include "fixture/http_fixture.h"
#include "fixture/pki_fixture.h"
#include "http_client.h"

#include "http/http_listen.c"
#include "http/http_server.c"

struct fx {
	struct http_fixture h; /* the loop, the client, its answers */
	struct pki_fixture_tls pki;
	/* what the handler saw */
	int requests;
	long verify;   /* SSL_get_verify_result, -1: no TLS */
	char peer[64]; /* the client certificate's CN, "" if none */
	/* the client's last answer */
	struct http_response last;
};

/* ---- fixture ------------------------------------------------------------- */

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	http_fixture_init(&f->h);
	pki_fixture_tls_make(&f->pki, "hl");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	http_fixture_clean(&f->h);
	pki_fixture_tls_remove(&f->pki);
	free(f);
	return 0;
}

/* The handler: records what TLS told it, answers 200 "ok". */
static void
handler(struct evhttp_request *req, const struct http_origin *origin, void *arg)
{
	struct fx *f = arg;
	struct evhttp_connection *con = evhttp_request_get_connection(req);
	struct bufferevent *bev = evhttp_connection_get_bufferevent(con);
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	X509 *peer = ssl != NULL ? SSL_get1_peer_certificate(ssl) : NULL;
	struct evbuffer *b = evbuffer_new();

	(void)origin;
	f->requests++;
	f->verify = ssl != NULL ? SSL_get_verify_result(ssl) : -1;
	f->peer[0] = '\0';
	if (peer != NULL)
		X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, f->peer,
					  sizeof(f->peer));
	X509_free(peer);
	evbuffer_add(b, "ok", 2);
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void
done_cb(void *arg, const struct http_response *resp)
{
	struct fx *f = arg;

	f->h.calls++;
	f->last = *resp;
	f->last.body = NULL;
	f->last.ctype = NULL;
	f->last.error = NULL;
	f->last.hdrs = NULL;
	event_base_loopbreak(f->h.base);
}

static void
run(struct fx *f, struct http_request *rq)
{
	http_fixture_run(&f->h, rq, done_cb, f);
}

static struct http_spec
spec_for(struct fx *f, int tls, int mtls)
{
	return (struct http_spec){
	    .what = "admin.listen",
	    .address = "127.0.0.1:0",
	    .cert = tls ? f->pki.srv : NULL,
	    .key = tls ? f->pki.srv_key : NULL,
	    .client_ca = mtls ? f->pki.ca : NULL,
	    .tls_flags = HTTP_TLS_NO_TICKETS,
	    .max_body = 16,
	    .max_headers = 4096,
	    .timeout = 5,
	    .methods = EVHTTP_REQ_GET | EVHTTP_REQ_POST,
	};
}

/* ---- TLS ----------------------------------------------------------------- */

static void
tls_fails(const struct http_spec *s, int code, const char *part)
{
	struct sgw_err err = {{0}};
	SSL_CTX *ctx = NULL;

	assert_int_equal(http_tls_ctx_new(s, &ctx, &err), -code);
	assert_null(ctx);
	if (strstr(err.msg, part) == NULL)
		fail_msg("'%s' is not in '%s'", part, err.msg);
}

static void
test_tls_ctx(void **state)
{
	struct fx *f = *state;
	struct http_spec s = spec_for(f, 1, 1);
	struct sgw_err err = {{0}};
	SSL_CTX *ctx = NULL;

	/* the admin listener: no tickets, client certificates asked for */
	assert_int_equal(http_tls_ctx_new(&s, &ctx, &err), 0);
	assert_true(SSL_CTX_get_options(ctx) & SSL_OP_NO_RENEGOTIATION);
	assert_true(SSL_CTX_get_options(ctx) & SSL_OP_NO_TICKET);
	assert_false(SSL_CTX_get_options(ctx) & SSL_OP_CIPHER_SERVER_PREFERENCE);
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	assert_int_equal(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_PEER);
	assert_int_equal(sk_X509_NAME_num(SSL_CTX_get_client_CA_list(ctx)), 1);
	SSL_CTX_free(ctx);
	/* the SCEP listeners: the server's cipher order, no client certificate */
	s.client_ca = NULL;
	s.tls_flags = HTTP_TLS_SERVER_ORDER;
	assert_int_equal(http_tls_ctx_new(&s, &ctx, &err), 0);
	assert_true(SSL_CTX_get_options(ctx) & SSL_OP_NO_RENEGOTIATION);
	assert_false(SSL_CTX_get_options(ctx) & SSL_OP_NO_TICKET);
	assert_true(SSL_CTX_get_options(ctx) & SSL_OP_CIPHER_SERVER_PREFERENCE);
	assert_int_equal(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_NONE);
	SSL_CTX_free(ctx);

	s.cert = f->pki.ca; /* another key's certificate */
	tls_fails(&s, SGW_EPARSE, "srv.key: TLS key unreadable or does not match ");
	assert_non_null(strstr(f->pki.ca, "ca.pem"));
	s.cert = f->pki.srv_key; /* not a certificate */
	tls_fails(&s, SGW_EPARSE, "srv.key: cannot load the TLS certificate chain");
	s.cert = f->pki.srv;
	s.client_ca = f->pki.srv_key;
	tls_fails(&s, SGW_EPARSE, "srv.key: cannot load the client CA certificates");
	s.client_ca = NULL;
	assert_int_equal(chmod(f->pki.srv_key, 0640), 0); /* the key is a secret file */
	tls_fails(&s, SGW_EDENIED, "chmod 600 it");
	assert_int_equal(chmod(f->pki.srv_key, 0600), 0);
	s.key = "/nonexistent/tls.key";
	tls_fails(&s, SGW_EIO, "/nonexistent/tls.key: No such file or directory");
}

/* ---- listeners ----------------------------------------------------------- */

static void
run_for(struct fx *f, long ms)
{
	http_fixture_run_for(&f->h, ms);
}

static int
connect_to(int port)
{
	return http_fixture_connect(port);
}

/* Send a raw request, let the loop answer, check the status line. */
static void
raw_request(struct fx *f, int port, const char *req, const char *status)
{
	int c = connect_to(port);
	char buf[256];
	ssize_t got;

	assert_true(c >= 0);
	assert_int_equal(write(c, req, strlen(req)), (ssize_t)strlen(req));
	run_for(f, 100);
	got = read(c, buf, sizeof(buf) - 1);
	close(c);
	assert_true(got > 0);
	buf[got] = '\0';
	if (strncmp(buf, status, strlen(status)) != 0)
		fail_msg("expected '%s', got '%.40s'", status, buf);
}

static void
test_mtls(void **state)
{
	struct fx *f = *state;
	struct http_spec s = spec_for(f, 1, 1);
	struct sgw_err err = {{0}};
	struct http_listener *l = NULL;
	char u[128];
	struct http_request rq = {.url = u, .ca_bundle = f->pki.ca};

	assert_int_equal(http_listener_new(f->h.base, &s, handler, f, &l, &err), 0);
	snprintf(u, sizeof(u), "https://127.0.0.1:%d/x", http_fixture_port(l->bound));
	/* a certificate of the client CA: verified, named */
	rq.client_cert = f->pki.cli;
	rq.client_key = f->pki.cli_key;
	run(f, &rq);
	assert_int_equal(f->last.status, 200);
	assert_int_equal(f->verify, X509_V_OK);
	assert_string_equal(f->peer, "ops-laptop");
	/* none: the handshake still succeeds (bearer tokens need no certificate) */
	rq.client_cert = rq.client_key = NULL;
	run(f, &rq);
	assert_int_equal(f->last.status, 200);
	assert_string_equal(f->peer, "");
	/* one the CA did not issue: the handshake succeeds, the handler sees why */
	rq.client_cert = f->pki.bad;
	rq.client_key = f->pki.bad_key;
	run(f, &rq);
	assert_int_equal(f->last.status, 200);
	assert_int_not_equal(f->verify, X509_V_OK);
	assert_string_equal(f->peer, "stranger");
	assert_int_equal(f->requests, 3);
	http_listener_free(l);
}

static void
test_limits(void **state)
{
	struct fx *f = *state;
	struct http_spec s = spec_for(f, 0, 0);
	struct sgw_err err = {{0}};
	struct http_listener *l = NULL;
	char u[128];
	struct http_request rq = {.url = u, .method = "POST"};

	assert_int_equal(http_listener_new(f->h.base, &s, handler, f, &l, &err), 0);
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/x", http_fixture_port(l->bound));
	rq.body = (const uint8_t *)"0123456789abcdef"; /* max_body: 16 */
	rq.body_len = 16;
	run(f, &rq);
	assert_int_equal(f->last.status, 200);
	rq.body_len = 17;
	run(f, &rq);
	assert_int_equal(f->last.status, 413);
	rq.method = "PUT"; /* methods: GET and POST */
	rq.body_len = 0;
	run(f, &rq);
	assert_int_equal(f->last.status, 501); /* evhttp: Not Implemented */
	raw_request(f, http_fixture_port(l->bound), "HEAD /x HTTP/1.0\r\n\r\n", "HTTP/1.1 501");
	assert_int_equal(f->requests, 1);
	http_listener_free(l);
}

static void
test_bind_errors(void **state)
{
	struct fx *f = *state;
	struct http_spec s = spec_for(f, 0, 0);
	struct sgw_err err = {{0}};
	struct http_listener *l = NULL, *l2 = NULL;
	char addr[64];

	s.address = "127.0.0.1";
	assert_int_equal(http_listener_new(f->h.base, &s, handler, f, &l, &err), -SGW_EINVAL);
	assert_string_equal(err.msg, "admin.listen: bad address '127.0.0.1'");
	s.address = "127.0.0.1:0";
	assert_int_equal(http_listener_new(f->h.base, &s, handler, f, &l, &err), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", http_fixture_port(l->bound));
	s.address = addr; /* taken */
	assert_int_equal(http_listener_new(f->h.base, &s, handler, f, &l2, &err), -SGW_EIO);
	assert_null(l2);
	assert_non_null(strstr(err.msg, ": cannot bind: Address already in use"));
	assert_int_equal(strncmp(err.msg, "admin.listen 127.0.0.1:", 23), 0);
	s.address = "127.0.0.1:0";
	s.cert = f->pki.srv;
	s.key = f->pki.bad_key; /* TLS fails before the bind */
	assert_int_equal(http_listener_new(f->h.base, &s, handler, f, &l2, &err), -SGW_EPARSE);
	assert_null(l2);
	http_listener_free(l);
	http_listener_free(NULL);
}

/* the SCEP listeners: one per listen: entry, the limits: section, HEAD too */
static void
test_server(void **state)
{
	struct fx *f = *state;
	struct cfg_listen ls[2] = {{.address = "127.0.0.1:0"},
				   {.address = "127.0.0.1:0", .tls = 1}};
	struct cfg c = {.listen = ls, .n_listen = 2};
	struct http_server *srv = NULL;
	struct sgw_err err = {{0}};
	struct http_spec spec;
	char u[128];
	struct http_request rq = {.url = u, .ca_bundle = f->pki.ca};

	c.limits = (struct cfg_limits){.max_body = 1024, .max_headers = 2048, .timeout = 7};
	ls[1].tls_files = (struct cfg_tls){f->pki.srv, f->pki.srv_key};
	spec_from_cfg(&c, &ls[1], NULL, &spec);
	assert_string_equal(spec.what, "listen");
	assert_ptr_equal(spec.cert, f->pki.srv);
	assert_null(spec.client_ca);
	assert_int_equal(spec.tls_flags, HTTP_TLS_SERVER_ORDER);
	assert_int_equal(spec.max_body, 1024);
	assert_int_equal(spec.max_headers, 2048);
	assert_int_equal(spec.timeout, 7);
	assert_int_equal(spec.methods, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
	spec_from_cfg(&c, &ls[0], NULL, &spec);
	assert_null(spec.cert);
	assert_null(spec.key);

	assert_int_equal(http_server_new(f->h.base, &c, NULL, handler, f, &srv, &err), 0);
	assert_int_equal(srv->n, 2);
	snprintf(u, sizeof(u), "https://127.0.0.1:%d/x", http_fixture_port(srv->l[1]->bound));
	run(f, &rq);
	assert_int_equal(f->last.status, 200);
	assert_int_equal(f->verify, X509_V_OK); /* no client certificate asked for */
	/* HEAD is allowed on the SCEP listeners (not on the admin one) */
	raw_request(f, http_fixture_port(srv->l[0]->bound), "HEAD /x HTTP/1.0\r\n\r\n",
		    "HTTP/1.0 200");
	assert_int_equal(f->verify, -1);
	assert_int_equal(f->requests, 2);
	http_server_close_listeners(srv);
	assert_null(srv->l[0]->bound);
	assert_null(srv->l[1]->bound);
	http_server_free(srv);

	ls[1].address = "nowhere";
	srv = NULL;
	assert_int_equal(http_server_new(f->h.base, &c, NULL, handler, f, &srv, &err), -SGW_EINVAL);
	assert_null(srv);
	assert_string_equal(err.msg, "listen: bad address 'nowhere'");
	c.n_listen = HTTP_MAX_LISTENERS + 1;
	assert_int_equal(http_server_new(f->h.base, &c, NULL, handler, f, &srv, &err), -SGW_EINVAL);
	assert_string_equal(err.msg, "too many listeners (max 16)");
}

/* ---- accept back-off ----------------------------------------------------- */

static struct pause *
pending_pause(struct http_listener *l)
{
	struct pause key = {NULL, l->http}, *found = &key;

	event_base_foreach_event(l->base, find_pause, &found);
	return found != &key ? found : NULL;
}

/* Out of descriptors: accept() fails with EMFILE; the listener gives up
 * its reserve descriptor to accept the waiting connection and close it at
 * once (no spinning, no stall: the backlog drains), counts it, and serves
 * connections again once descriptors are free. */
static void
test_emfile_sheds(void **state)
{
	struct fx *f = *state;
	struct http_spec s = spec_for(f, 0, 0);
	struct http_counters ctr = {0};
	struct sgw_err err = {{0}};
	struct http_listener *l = NULL;
	struct rlimit saved, low;
	int fill[1024], n = 0, c, port;
	char buf[256];
	ssize_t got;

	s.counters = &ctr;
	assert_int_equal(http_listener_new(f->h.base, &s, handler, f, &l, &err), 0);
	port = http_fixture_port(l->bound);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	low = saved;
	low.rlim_cur = 256;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (n < 1024 && (fill[n] = open("/dev/null", O_RDONLY)) >= 0)
		n++;
	assert_true(n > 0 && n < 1024);
	close(fill[--n]); /* room for the client's socket, none for accept() */
	c = connect_to(port);
	if (c >= 0)
		(void)write(c, "GET /x HTTP/1.0\r\n\r\n", 19);
	run_for(f, 50);
	got = c >= 0 ? read(c, buf, sizeof(buf)) : -1;
	if (c >= 0)
		close(c);
	while (n > 0)
		close(fill[--n]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	assert_true(c >= 0);
	assert_true(got <= 0); /* closed without an answer */
	assert_int_equal(f->requests, 0);
	assert_true(ctr.accept_failed >= 1);
	assert_null(pending_pause(l)); /* shed, not paused */
	assert_true(l->reserve_fd >= 0);
	c = connect_to(port);
	assert_true(c >= 0);
	assert_int_equal(write(c, "GET /x HTTP/1.0\r\n\r\n", 19), 19);
	run_for(f, 100);
	assert_int_equal(f->requests, 1);
	got = read(c, buf, sizeof(buf) - 1);
	assert_true(got > 12);
	buf[got] = '\0';
	assert_int_equal(strncmp(buf, "HTTP/1.0 200", 12), 0);
	close(c);
	http_listener_free(l);
}

/* A pause outliving the socket (drain) or the listener (shutdown). */
static void
test_backoff_close_free(void **state)
{
	struct fx *f = *state;
	struct http_spec s = spec_for(f, 0, 0);
	struct sgw_err err = {{0}};
	struct http_listener *l = NULL;

	assert_int_equal(http_listener_new(f->h.base, &s, handler, f, &l, &err), 0);
	errno = EMFILE;
	on_accept_error(evhttp_bound_socket_get_listener(l->bound), l->http);
	assert_non_null(pending_pause(l));
	http_listener_close(l); /* the pause ends on nothing and frees itself */
	assert_null(l->bound);
	run_for(f, 300);
	assert_null(pending_pause(l));
	http_listener_close(l); /* twice is harmless */
	http_listener_free(l);

	l = NULL;
	assert_int_equal(http_listener_new(f->h.base, &s, handler, f, &l, &err), 0);
	on_accept_error(evhttp_bound_socket_get_listener(l->bound), l->http);
	assert_non_null(pending_pause(l));
	http_listener_free(l); /* cancels the pause (ASan: no use after free, no leak) */
	run_for(f, 300);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_tls_ctx, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mtls, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bind_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_server, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_emfile_sheds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_backoff_close_free, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
