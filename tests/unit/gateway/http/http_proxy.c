/* tests for gateway/http/http_proxy.c: a PROXY header read off a socket
 * pair in pieces takes exactly the header's bytes (what follows stays in
 * the socket), garbage is refused, a close before any byte says "closed"
 * and a close in the middle says how much came. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_proxy.h"

static void
pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
}

static void
test_pieces(void **state)
{
	static struct http_proxy p;
	const char *hdr = "PROXY TCP4 192.0.2.9 10.0.0.1 1234 443\r\n";
	struct sgw_err err = {{0}};
	struct proxy_hdr h;
	char rest[16] = {0};
	int sv[2];

	(void)state;
	memset(&p, 0, sizeof(p));
	pair(sv);
	assert_int_equal(http_proxy_read(&p, sv[1], &h, &err), 0); /* nothing yet */
	assert_int_equal(write(sv[0], hdr, 10), 10);
	assert_int_equal(http_proxy_read(&p, sv[1], &h, &err), 0);
	assert_int_equal(write(sv[0], hdr + 10, strlen(hdr) - 10), (ssize_t)strlen(hdr) - 10);
	assert_int_equal(write(sv[0], "GET /", 5), 5);
	assert_int_equal(http_proxy_read(&p, sv[1], &h, &err), 1);
	assert_int_equal(h.src_port, 1234);
	assert_int_equal(read(sv[1], rest, sizeof(rest)), 5); /* the request stays */
	assert_string_equal(rest, "GET /");
	close(sv[0]);
	close(sv[1]);
}

static void
test_refused(void **state)
{
	static struct http_proxy p;
	struct sgw_err err = {{0}};
	struct proxy_hdr h;
	int sv[2];

	(void)state;
	memset(&p, 0, sizeof(p));
	pair(sv);
	assert_int_equal(write(sv[0], "GET / HTTP/1.1\r\n", 16), 16);
	assert_int_equal(http_proxy_read(&p, sv[1], &h, &err), -SGW_EPARSE);
	assert_string_equal(err.msg, "no PROXY protocol header");
	close(sv[0]);
	close(sv[1]);

	memset(&p, 0, sizeof(p));
	pair(sv);
	close(sv[0]);
	assert_int_equal(http_proxy_read(&p, sv[1], &h, &err), -SGW_EIO);
	assert_string_equal(err.msg, "closed");
	close(sv[1]);

	memset(&p, 0, sizeof(p));
	pair(sv);
	assert_int_equal(write(sv[0], "PROXY TCP4", 10), 10);
	assert_int_equal(http_proxy_read(&p, sv[1], &h, &err), 0);
	close(sv[0]);
	assert_int_equal(http_proxy_read(&p, sv[1], &h, &err), -SGW_EIO);
	assert_non_null(strstr(err.msg, "(10 bytes)"));
	close(sv[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pieces),
	    cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
