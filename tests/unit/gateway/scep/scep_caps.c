/* tests for gateway/scep/scep_caps.c: the GetCACaps text and its bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/obj_mac.h>

#include "cfg.h"
#include "err.h"
#include "scep_caps.h"

static void
test_caps(void **state)
{
	const char *all = "POSTPKIOperation\nSHA-1\nSHA-224\nSHA-256\nSHA-384\nSHA-512\nAES\nDES3\n"
			  "Renewal\nGetNextCACert\nSCEPStandard\n";
	char buf[160];

	(void)state;
	assert_int_equal(scep_caps_text(SCEP_CAP_MAX - 1, buf, sizeof(buf)), strlen(all));
	assert_string_equal(buf, all);
	assert_int_equal(scep_caps_text(SCEP_CAP_SHA256 | SCEP_CAP_AES, buf, sizeof(buf)), 12);
	assert_string_equal(buf, "SHA-256\nAES\n");
	assert_int_equal(scep_caps_text(0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(scep_caps_text(SCEP_CAP_AES, buf, 5), 4);
	assert_int_equal(scep_caps_text(SCEP_CAP_AES, buf, 4), -SGW_EINVAL);
	assert_int_equal(scep_caps_text(SCEP_CAP_MAX - 1, buf, 20), -SGW_EINVAL);
}

/* A profile accepts the SHA digests it announces, every SHA when it announces
 * none, and never anything else (MD5 is allow_md5's, in scep_msg.c). */
static void
test_digest_ok(void **state)
{
	const unsigned some = SCEP_CAP_SHA256 | SCEP_CAP_SHA384 | SCEP_CAP_AES;

	(void)state;
	assert_true(scep_caps_digest_ok(some, NID_sha256));
	assert_true(scep_caps_digest_ok(some, NID_sha384));
	assert_false(scep_caps_digest_ok(some, NID_sha1));
	assert_false(scep_caps_digest_ok(some, NID_sha224));
	assert_false(scep_caps_digest_ok(some, NID_sha512));
	assert_true(scep_caps_digest_ok(SCEP_CAP_SHA224, NID_sha224));
	assert_true(scep_caps_digest_ok(SCEP_CAP_AES, NID_sha1));
	assert_true(scep_caps_digest_ok(0, NID_sha512));
	assert_false(scep_caps_digest_ok(0, NID_md5));
	assert_false(scep_caps_digest_ok(SCEP_CAP_MAX - 1, NID_sha3_256));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_digest_ok),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
