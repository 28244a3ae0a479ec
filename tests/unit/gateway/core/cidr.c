/* tests for gateway/core/cidr.c: CIDR ranges (IPv4, IPv6, mapped IPv4, host
 * bits, garbage) and the X-Forwarded-For walk: the right-most address that
 * is not a trusted proxy is the client, whatever a device wrote further
 * left. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cidr.h"
#include "err.h"

static void
test_parse(void **state)
{
	struct cidr c;

	(void)state;
	assert_int_equal(cidr_parse("10.0.0.0/8", &c), 0);
	assert_int_equal(c.bits, 8);
	assert_int_equal(cidr_parse("192.0.2.7", &c), 0);
	assert_int_equal(c.bits, 32);
	assert_int_equal(cidr_parse("2001:db8::/32", &c), 0);
	assert_int_equal(cidr_parse("::ffff:10.0.0.0/104", &c), 0);
	assert_int_equal(cidr_parse("0.0.0.0/0", &c), 0);
	assert_int_equal(cidr_parse("10.0.0.1/8", &c), -SGW_EPARSE); /* host bits */
	assert_int_equal(cidr_parse("10.0.0.0/33", &c), -SGW_EPARSE);
	assert_int_equal(cidr_parse("10.0.0.0/", &c), -SGW_EPARSE);
	assert_int_equal(cidr_parse("10.0.0.0/-1", &c), -SGW_EPARSE);
	assert_int_equal(cidr_parse("10.0.0.0/8x", &c), -SGW_EPARSE);
	assert_int_equal(cidr_parse("proxy.example.com", &c), -SGW_EPARSE);
	assert_int_equal(cidr_parse("", &c), -SGW_EPARSE);
}

static void
test_match(void **state)
{
	struct cidr v[3];

	(void)state;
	assert_int_equal(cidr_parse("10.0.0.0/8", &v[0]), 0);
	assert_int_equal(cidr_parse("2001:db8::/32", &v[1]), 0);
	assert_int_equal(cidr_parse("192.0.2.128/25", &v[2]), 0);
	assert_true(cidr_match(v, 3, "10.1.2.3"));
	assert_true(cidr_match(v, 3, "::ffff:10.1.2.3")); /* mapped */
	assert_true(cidr_match(v, 3, "2001:db8:1::5"));
	assert_true(cidr_match(v, 3, "192.0.2.200"));
	assert_false(cidr_match(v, 3, "192.0.2.100"));
	assert_false(cidr_match(v, 3, "11.0.0.1"));
	assert_false(cidr_match(v, 3, "2001:db9::1"));
	assert_false(cidr_match(v, 3, "not-an-address"));
	assert_false(cidr_match(v, 0, "10.1.2.3"));
	assert_int_equal(cidr_parse("::ffff:127.0.0.0/104", &v[0]), 0);
	assert_true(cidr_match(v, 1, "127.0.0.1")); /* a mapped range matches IPv4 */
}

static void
client_is(const struct cidr *v, size_t n, const char *peer, const char *xff, const char *want)
{
	char got[64];

	assert_int_equal(cidr_forwarded_client(v, n, peer, xff, got, sizeof(got)), 0);
	assert_string_equal(got, want);
}

static void
test_forwarded(void **state)
{
	struct cidr v[2];
	char got[64];

	(void)state;
	assert_int_equal(cidr_parse("127.0.0.1", &v[0]), 0);
	assert_int_equal(cidr_parse("10.0.0.0/8", &v[1]), 0);
	client_is(v, 2, "127.0.0.1", "203.0.113.7", "203.0.113.7");
	/* a device that writes its own X-Forwarded-For only adds entries on the
	 * left: the right-most untrusted one is what the proxy saw */
	client_is(v, 2, "127.0.0.1", "198.51.100.1, 203.0.113.7", "203.0.113.7");
	/* two trusted hops */
	client_is(v, 2, "127.0.0.1", "198.51.100.1,203.0.113.7 , 10.9.9.9", "203.0.113.7");
	client_is(v, 2, "127.0.0.1", "2001:db8::7", "2001:db8::7");
	/* an untrusted peer: its header means nothing */
	client_is(v, 2, "192.0.2.9", "203.0.113.7", "192.0.2.9");
	client_is(v, 2, "127.0.0.1", NULL, "127.0.0.1");
	/* only trusted addresses: the left-most */
	client_is(v, 2, "127.0.0.1", "10.1.1.1, 10.2.2.2", "10.1.1.1");
	assert_int_equal(cidr_forwarded_client(v, 2, "127.0.0.1", "evil", got, sizeof(got)),
			 -SGW_EPARSE);
	assert_int_equal(
	    cidr_forwarded_client(v, 2, "127.0.0.1", "203.0.113.7, ", got, sizeof(got)),
	    -SGW_EPARSE);
	assert_int_equal(cidr_forwarded_client(v, 2, "127.0.0.1", "", got, sizeof(got)),
			 -SGW_EPARSE);
	/* left of an untrusted entry nothing is read, malformed or not */
	client_is(v, 2, "127.0.0.1", "garbage, 203.0.113.7", "203.0.113.7");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_match),
	    cmocka_unit_test(test_forwarded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
