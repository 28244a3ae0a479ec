/* tests for gateway/http/http_spec.c: the listener address parser and the
 * spec checks shared by the SCEP and the admin listeners */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <event2/http.h>

#include "http_spec.h"

static void
test_address(void **state)
{
	static const struct {
		const char *in, *host;
		int port; /* -1: refused */
	} cases[] = {
	    {"127.0.0.1:8080", "127.0.0.1", 8080},
	    {"0.0.0.0:0", "0.0.0.0", 0},
	    {"localhost:65535", "localhost", 65535},
	    {"[::1]:8444", "::1", 8444},
	    {"[fe80::1%eth0]:80", "fe80::1%eth0", 80},
	    {"host:65536", NULL, -1},
	    {"host:-1", NULL, -1},
	    {"host:", NULL, -1},
	    {"host:80x", NULL, -1},
	    {":80", NULL, -1},
	    {"no-port", NULL, -1},
	    {"[::1]8080", NULL, -1},
	    {"[::1", NULL, -1},
	    {"[]:80", NULL, -1},
	    {"0123456789012345678901234567890123456789012345678901234567890123:1", NULL, -1},
	};
	char host[HTTP_HOST_MAX];
	unsigned short port;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int r = http_spec_parse_address(cases[i].in, host, sizeof(host), &port);

		if (cases[i].port < 0) {
			assert_int_equal(r, -SGW_EINVAL);
			continue;
		}
		assert_int_equal(r, 0);
		assert_string_equal(host, cases[i].host);
		assert_int_equal(port, cases[i].port);
	}
	/* the host must fit the caller's buffer */
	assert_int_equal(http_spec_parse_address("abcd:1", host, 4, &port), -SGW_EINVAL);
	assert_int_equal(http_spec_parse_address("abc:1", host, 4, &port), 0);
}

static const struct http_spec good = {
    .what = "admin.listen",
    .address = "127.0.0.1:8444",
    .cert = "tls.pem",
    .key = "tls.key",
    .client_ca = "ca.pem",
    .tls_flags = HTTP_TLS_NO_TICKETS,
    .max_body = 64 * 1024,
    .max_headers = 16 * 1024,
    .timeout = 30,
    .methods = EVHTTP_REQ_GET | EVHTTP_REQ_POST,
};

static void
check_fails(const struct http_spec *s, const char *msg)
{
	struct sgw_err err = {{0}};

	assert_int_equal(http_spec_check(s, &err), -SGW_EINVAL);
	assert_string_equal(err.msg, msg);
}

static void
test_check(void **state)
{
	struct http_spec s = good;
	struct sgw_err err = {{0}};

	(void)state;
	assert_int_equal(http_spec_check(&s, &err), 0);
	s.cert = s.key = s.client_ca = NULL; /* plain HTTP */
	assert_int_equal(http_spec_check(&s, &err), 0);

	s = good;
	s.address = "127.0.0.1";
	check_fails(&s, "admin.listen: bad address '127.0.0.1'");
	s.what = "listen";
	s.address = NULL;
	check_fails(&s, "listen: bad address ''");
	s = good;
	s.key = NULL;
	check_fails(&s, "admin.listen: TLS needs a certificate and its key");
	s.cert = NULL;
	s.key = "tls.key";
	check_fails(&s, "admin.listen: TLS needs a certificate and its key");
	s.key = NULL;
	check_fails(&s, "admin.listen: client_ca needs tls");
	s = good;
	s.tls_flags = HTTP_TLS_FLAG_MAX;
	check_fails(&s, "admin.listen: unknown TLS flags");
	s = good;
	s.max_body = 0;
	check_fails(&s, "admin.listen: body, header and time limits and methods must be set");
	s = good;
	s.max_headers = 0;
	check_fails(&s, "admin.listen: body, header and time limits and methods must be set");
	s = good;
	s.timeout = 0;
	check_fails(&s, "admin.listen: body, header and time limits and methods must be set");
	s = good;
	s.methods = 0;
	check_fails(&s, "admin.listen: body, header and time limits and methods must be set");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_address),
	    cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
