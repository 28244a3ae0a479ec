/* tests for gateway/http/http_conn.c, through a real listener
 * (http_listener_new) on 127.0.0.1 and raw client sockets: the per-peer cap,
 * the whole-request deadline that bytes do not re-arm, a kept-alive
 * connection that idles without a deadline, evhttp's own 413 counted, and a
 * listener freed with connections still open (ASan: nothing leaks, nothing
 * is used after its free). */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/buffer.h>

#include "fixture/http_fixture.h"

#include "http/http_listen.c" /* the listener's bound socket, for its port */

struct fx {
	struct http_fixture h;
	struct http_counters ctr;
	struct http_listener *l;
	int port;
	int requests;
};

static void
handler(struct evhttp_request *req, const struct http_origin *origin, void *arg)
{
	struct fx *f = arg;
	struct evbuffer *b = evbuffer_new();

	(void)origin;
	f->requests++;
	evbuffer_add(b, "ok", 2);
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	http_fixture_init(&f->h);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	http_listener_free(f->l);
	http_fixture_clean(&f->h);
	free(f);
	return 0;
}

static void
start(struct fx *f, unsigned per_peer, int request_timeout)
{
	struct http_spec s = {
	    .what = "listen",
	    .address = "127.0.0.1:0",
	    .max_body = 16,
	    .max_headers = 4096,
	    .timeout = 5,
	    .methods = EVHTTP_REQ_GET | EVHTTP_REQ_POST,
	    .max_sockets_per_peer = per_peer,
	    .request_timeout = request_timeout,
	    .counters = &f->ctr,
	};
	struct sgw_err err = {{0}};

	assert_int_equal(http_listener_new(f->h.base, &s, handler, f, &f->l, &err), 0);
	f->port = http_fixture_port(f->l->bound);
}

static void
run_for(struct fx *f, long ms)
{
	http_fixture_run_for(&f->h, ms);
}

static int
connect_to(int port)
{
	int s = http_fixture_connect(port);

	assert_true(s >= 0);
	return s;
}

static void
send_str(int s, const char *str)
{
	assert_int_equal(write(s, str, strlen(str)), (ssize_t)strlen(str));
}

/* 1: the server closed s (EOF or reset), 0: open; what was there to read
 * (all of it is read) starts buf. */
static int
closed(int s, char *buf, size_t len)
{
	char all[8192];
	ssize_t n = recv(s, all, sizeof(all), MSG_DONTWAIT);

	buf[0] = '\0';
	if (n > 0) {
		size_t k = (size_t)n < len - 1 ? (size_t)n : len - 1;

		memcpy(buf, all, k);
		buf[k] = '\0';
		return 0;
	}
	return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

static void
test_peer_cap(void **state)
{
	struct fx *f = *state;
	char buf[64];
	int s[3];

	start(f, 2, 10);
	for (int i = 0; i < 3; i++)
		s[i] = connect_to(f->port);
	run_for(f, 100);
	assert_false(closed(s[0], buf, sizeof(buf)));
	assert_false(closed(s[1], buf, sizeof(buf)));
	assert_true(closed(s[2], buf, sizeof(buf)));
	assert_int_equal(f->ctr.refused_peer, 1);
	assert_int_equal(f->ctr.open, 2);
	close(s[2]);
	close(s[1]); /* a free place: a new connection is admitted */
	run_for(f, 50);
	s[1] = connect_to(f->port);
	run_for(f, 50);
	assert_false(closed(s[1], buf, sizeof(buf)));
	assert_int_equal(f->ctr.refused_peer, 1);
	assert_int_equal(f->ctr.open, 2);
	/* freed with both open: their state goes with them (ASan) */
	http_listener_free(f->l);
	f->l = NULL;
	assert_int_equal(f->ctr.open, 0);
	close(s[0]);
	close(s[1]);
}

static void
test_deadline(void **state)
{
	struct fx *f = *state;
	char buf[64];
	int s;

	start(f, 0, 1);
	s = connect_to(f->port);
	send_str(s, "GET /x HTTP/1.1\r\n");
	run_for(f, 600);
	assert_false(closed(s, buf, sizeof(buf)));
	send_str(s, "H"); /* a byte does not restart the deadline */
	run_for(f, 900);
	assert_true(closed(s, buf, sizeof(buf)));
	assert_int_equal(f->ctr.request_timeout, 1);
	assert_int_equal(f->ctr.open, 0);
	assert_int_equal(f->requests, 0);
	close(s);
}

static void
test_keepalive_idle(void **state)
{
	struct fx *f = *state;
	char buf[64];
	int s;

	start(f, 0, 1);
	s = connect_to(f->port);
	send_str(s, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
	run_for(f, 100);
	assert_false(closed(s, buf, sizeof(buf)));
	assert_int_equal(strncmp(buf, "HTTP/1.1 200", 12), 0);
	run_for(f, 1300); /* idle longer than the deadline, shorter than timeout */
	assert_false(closed(s, buf, sizeof(buf)));
	send_str(s, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
	run_for(f, 100);
	assert_false(closed(s, buf, sizeof(buf)));
	assert_int_equal(strncmp(buf, "HTTP/1.1 200", 12), 0);
	assert_int_equal(f->requests, 2);
	send_str(s, "GET /x HTTP/1.1\r\n"); /* the next one: its deadline runs */
	run_for(f, 1500);
	assert_true(closed(s, buf, sizeof(buf)));
	assert_int_equal(f->ctr.request_timeout, 1);
	close(s);
}

static void
test_own_replies(void **state)
{
	struct fx *f = *state;
	char buf[64];
	int s;

	start(f, 0, 10);
	s = connect_to(f->port);
	send_str(s, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 32\r\n\r\n");
	run_for(f, 100);
	(void)closed(s, buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.1 413", 12), 0);
	assert_int_equal(f->ctr.too_large, 1);
	assert_int_equal(f->requests, 0);
	close(s);
	s = connect_to(f->port);
	send_str(s, "GET /x HTTP/1.1\r\nHost");
	run_for(f, 50);
	close(s); /* abandoned half-way */
	run_for(f, 50);
	assert_int_equal(f->ctr.incomplete, 1);
	assert_int_equal(f->ctr.open, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_peer_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deadline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keepalive_idle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_own_replies, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
