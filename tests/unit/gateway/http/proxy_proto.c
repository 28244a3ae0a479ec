/* tests for gateway/http/proxy_proto.c: PROXY protocol v1 (TCP4, TCP6,
 * UNKNOWN) and v2 (PROXY over IPv4 and IPv6 with TLVs, LOCAL, AF_UNIX),
 * every prefix of a header asks for more, nothing past the header is
 * read, and what is refused: other text, a bad address or port, a missing
 * CR, a v1 line over 107 bytes, v2 version/command/family errors, short
 * address blocks, a v2 header over PROXY_MAX. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <sys/socket.h>

#include "err.h"
#include "proxy_proto.h"

static const uint8_t sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
				0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

static int
parse(const void *buf, size_t len, struct proxy_hdr *h)
{
	struct sgw_err err = {{0}};

	return proxy_proto_parse(buf, len, h, &err);
}

/* Every strict prefix asks for more; the whole is `want` bytes. */
static void
assert_complete(const void *buf, size_t len, int want, struct proxy_hdr *h)
{
	for (size_t i = 0; i < (size_t)want; i++)
		assert_int_equal(parse(buf, i, h), 0);
	assert_int_equal(parse(buf, len, h), want);
}

/* A v2 header: command, family, the address block and extra bytes. */
static size_t
v2(uint8_t *out, uint8_t cmd, uint8_t fam, const uint8_t *body, size_t n)
{
	memcpy(out, sig, 12);
	out[12] = cmd;
	out[13] = fam;
	out[14] = (uint8_t)(n >> 8);
	out[15] = (uint8_t)n;
	memcpy(out + 16, body, n);
	return 16 + n;
}

static void
test_v1(void **state)
{
	const char *tcp4 = "PROXY TCP4 203.0.113.10 10.0.0.1 56324 443\r\nGET / HTTP/1.1\r\n";
	const char *tcp6 = "PROXY TCP6 2001:db8::7 2001:db8::1 1 65535\r\n";
	const char *unk = "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n\x16\x03\x01";
	struct proxy_hdr h;
	uint8_t a[16];

	(void)state;
	assert_complete(tcp4, strlen(tcp4), 44, &h);
	assert_int_equal(h.version, 1);
	assert_int_equal(h.family, AF_INET);
	inet_pton(AF_INET, "203.0.113.10", a);
	assert_memory_equal(h.src, a, 4);
	assert_int_equal(h.src_port, 56324);
	assert_int_equal(h.dst_port, 443);
	assert_complete(tcp6, strlen(tcp6), (int)strlen(tcp6), &h);
	assert_int_equal(h.family, AF_INET6);
	inet_pton(AF_INET6, "2001:db8::7", a);
	assert_memory_equal(h.src, a, 16);
	assert_int_equal(h.dst_port, 65535);
	assert_int_equal(parse(unk, strlen(unk), &h), 35);
	assert_int_equal(h.family, 0); /* the peer stays */
	assert_int_equal(parse("PROXY UNKNOWN\r\n", 15, &h), 15);
}

static void
test_v1_refused(void **state)
{
	static const char *const bad[] = {
	    "GET / HTTP/1.1\r\n",
	    "PROXY TCP5 1.2.3.4 1.2.3.5 1 2\r\n",
	    "PROXY TCP4 1.2.3.4 1.2.3.5 1 2\n",	    /* no CR */
	    "PROXY TCP4 1.2.3.4  1.2.3.5 1 2\r\n",  /* two spaces */
	    "PROXY TCP4 1.2.3.4 1.2.3.5 1\r\n",	    /* a port missing */
	    "PROXY TCP4 1.2.3.4 1.2.3.5 1 2 3\r\n", /* one too many */
	    "PROXY TCP4 1.2.3.4 1.2.3.5 1 2 \r\n",
	    "PROXY TCP4 2001:db8::1 1.2.3.5 1 2\r\n", /* the wrong family */
	    "PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
	    "PROXY TCP4 1.2.3.4 1.2.3.5 65536 2\r\n",
	    "PROXY TCP4 1.2.3.4 1.2.3.5 01 2\r\n",
	    "PROXY TCP4 1.2.3.4 1.2.3.5 -1 2\r\n",
	    "PROXY TCP4 1.2.3.4\r1.2.3.5 1 2\r\n",
	    "PROXY \r\n",
	    "proxy TCP4 1.2.3.4 1.2.3.5 1 2\r\n",
	};
	char longline[200];
	struct proxy_hdr h;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], strlen(bad[i]), &h), -SGW_EPARSE);
	memset(longline, 'x', sizeof(longline));
	memcpy(longline, "PROXY UNKNOWN ", 14);
	assert_int_equal(parse(longline, PROXY_V1_MAX - 1, &h), 0);
	assert_int_equal(parse(longline, PROXY_V1_MAX, &h), -SGW_EPARSE);
	assert_int_equal(parse(longline, sizeof(longline), &h), -SGW_EPARSE);
	assert_int_equal(parse("", 0, &h), 0);
	assert_int_equal(parse("P", 1, &h), 0);
	assert_int_equal(parse("X", 1, &h), -SGW_EPARSE);
}

static void
test_v2(void **state)
{
	uint8_t buf[PROXY_MAX + 64], body[300] = {0};
	struct proxy_hdr h;
	size_t n;

	(void)state;
	/* IPv4 192.0.2.1:1000 -> 10.0.0.1:443, a TLV, then the payload */
	memcpy(body, "\xc0\x00\x02\x01\x0a\x00\x00\x01\x03\xe8\x01\xbb\x04\x00\x02hi", 17);
	n = v2(buf, 0x21, 0x11, body, 17);
	memcpy(buf + n, "\x16\x03\x01", 3);
	assert_complete(buf, n + 3, 33, &h);
	assert_int_equal(h.version, 2);
	assert_int_equal(h.family, AF_INET);
	assert_memory_equal(h.src, "\xc0\x00\x02\x01", 4);
	assert_int_equal(h.src_port, 1000);
	assert_int_equal(h.dst_port, 443);
	/* IPv6 */
	memset(body, 0, sizeof(body));
	body[0] = 0x20;
	body[1] = 0x01;
	body[15] = 7;
	n = v2(buf, 0x21, 0x21, body, 36);
	assert_complete(buf, n, 52, &h);
	assert_int_equal(h.family, AF_INET6);
	assert_int_equal(h.src[15], 7);
	/* LOCAL: no address, whatever the family says */
	n = v2(buf, 0x20, 0x11, body, 12);
	assert_int_equal(parse(buf, n, &h), 28);
	assert_int_equal(h.family, 0);
	n = v2(buf, 0x20, 0x00, body, 0);
	assert_int_equal(parse(buf, n, &h), 16);
	/* AF_UNSPEC and AF_UNIX with PROXY: the peer stays */
	n = v2(buf, 0x21, 0x00, body, 0);
	assert_int_equal(parse(buf, n, &h), 16);
	assert_int_equal(h.family, 0);
	n = v2(buf, 0x21, 0x31, body, 216);
	assert_int_equal(parse(buf, n, &h), 232);
	assert_int_equal(h.family, 0);
}

static void
test_v2_refused(void **state)
{
	uint8_t buf[PROXY_MAX + 64], body[64] = {0};
	struct proxy_hdr h;
	size_t n;

	(void)state;
	n = v2(buf, 0x11, 0x11, body, 12); /* version 1 */
	assert_int_equal(parse(buf, n, &h), -SGW_EPARSE);
	n = v2(buf, 0x22, 0x11, body, 12); /* command 2 */
	assert_int_equal(parse(buf, n, &h), -SGW_EPARSE);
	n = v2(buf, 0x21, 0x41, body, 12); /* family 4 */
	assert_int_equal(parse(buf, n, &h), -SGW_EPARSE);
	n = v2(buf, 0x21, 0x10, body, 12); /* IPv4, transport unspecified */
	assert_int_equal(parse(buf, n, &h), -SGW_EPARSE);
	n = v2(buf, 0x21, 0x11, body, 11); /* short IPv4 block */
	assert_int_equal(parse(buf, n, &h), -SGW_EPARSE);
	n = v2(buf, 0x21, 0x21, body, 35); /* short IPv6 block */
	assert_int_equal(parse(buf, n, &h), -SGW_EPARSE);
	/* over PROXY_MAX: refused from its first 16 bytes */
	n = v2(buf, 0x21, 0x11, body, 12);
	buf[14] = (uint8_t)((PROXY_MAX - 15) >> 8);
	buf[15] = (uint8_t)(PROXY_MAX - 15);
	assert_int_equal(parse(buf, 16, &h), -SGW_EPARSE);
	buf[14] = (uint8_t)((PROXY_MAX - 16) >> 8); /* exactly PROXY_MAX: waits for it */
	buf[15] = (uint8_t)(PROXY_MAX - 16);
	assert_int_equal(parse(buf, 16, &h), 0);
	/* a broken signature */
	n = v2(buf, 0x21, 0x11, body, 12);
	buf[5] = 'X';
	assert_int_equal(parse(buf, n, &h), -SGW_EPARSE);
	assert_int_equal(parse(buf, 5, &h), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v1),
	    cmocka_unit_test(test_v1_refused),
	    cmocka_unit_test(test_v2),
	    cmocka_unit_test(test_v2_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
