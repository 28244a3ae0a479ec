/* tests for gateway/scep/scep_caps.c: the GetCACaps text and its bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cfg.h"
#include "err.h"
#include "scep_caps.h"

static void
test_caps(void **state)
{
	const char *all = "POSTPKIOperation\nSHA-1\nSHA-256\nSHA-512\nAES\nDES3\nRenewal\n"
			  "GetNextCACert\nSCEPStandard\n";
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
