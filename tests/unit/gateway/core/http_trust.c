/* tests for gateway/core/http_trust.c: pin_sha256 into curl's form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http_trust.h"

#define PIN_A "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
#define PIN_B "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

static int
pins(char *out, size_t size, size_t n, char **v)
{
	struct cfg_strlist l = {.v = v, .n = n};

	return http_trust_pins(&l, out, size);
}

static void
test_pins(void **state)
{
	char out[HTTP_TRUST_PINNED_SIZE];
	char *none[] = {NULL}, *one[] = {PIN_A}, *two[] = {"sha256//" PIN_A, PIN_B};
	char *five[] = {PIN_A, PIN_A, PIN_A, PIN_A, PIN_A};
	char *hex[] = {"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"};
	char *short_[] = {"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuA=="}; /* 31 bytes */
	char *bad[] = {"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF*="};

	(void)state;
	assert_int_equal(pins(out, sizeof(out), 0, none), 0);
	assert_string_equal(out, "");
	assert_int_equal(pins(out, sizeof(out), 1, one), 0);
	assert_string_equal(out, "sha256//" PIN_A);
	assert_int_equal(pins(out, sizeof(out), 2, two), 0);
	assert_string_equal(out, "sha256//" PIN_A ";sha256//" PIN_B);
	assert_int_equal(pins(out, sizeof(out), 5, five), -SGW_EPARSE);
	assert_int_equal(pins(out, sizeof(out), 1, hex), -SGW_EPARSE);
	assert_int_equal(pins(out, sizeof(out), 1, short_), -SGW_EPARSE);
	assert_int_equal(pins(out, sizeof(out), 1, bad), -SGW_EPARSE);
	assert_int_equal(pins(out, 20, 1, one), -SGW_EINVAL);
}

static void
test_apply(void **state)
{
	struct http_trust t = {.ca_bundle = "/etc/x.pem"};
	struct http_request rq = {0};

	(void)state;
	http_trust_apply(&t, &rq);
	assert_string_equal(rq.ca_bundle, "/etc/x.pem");
	assert_null(rq.pinned_pubkey);
	snprintf(t.pinned, sizeof(t.pinned), "sha256//%s", PIN_A);
	http_trust_apply(&t, &rq);
	assert_string_equal(rq.pinned_pubkey, "sha256//" PIN_A);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pins),
	    cmocka_unit_test(test_apply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
