/* tests for gateway/scep/scep_fail.c: every outcome's pkiStatus, failInfo and
 * HTTP status, and the failInfo names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "scep_fail.h"

static void
test_fail_table(void **state)
{
	static const struct {
		enum scep_outcome out;
		int status, fail, http;
	} want[] = {
	    {SCEP_OUT_SUCCESS, 0, SCEP_FAIL_NONE, 200},
	    {SCEP_OUT_PENDING, 3, SCEP_FAIL_NONE, 200},
	    {SCEP_OUT_BAD_ALG, 2, SCEP_FAIL_BADALG, 200},
	    {SCEP_OUT_BAD_MESSAGE, 2, SCEP_FAIL_BADMESSAGECHECK, 200},
	    {SCEP_OUT_BAD_REQUEST, 2, SCEP_FAIL_BADREQUEST, 200},
	    {SCEP_OUT_DENIED, 2, SCEP_FAIL_BADREQUEST, 200},
	    {SCEP_OUT_BAD_TIME, 2, SCEP_FAIL_BADTIME, 200},
	    {SCEP_OUT_BAD_CERT_ID, 2, SCEP_FAIL_BADCERTID, 200},
	    {SCEP_OUT_BACKEND_FAILED, 2, SCEP_FAIL_BADREQUEST, 200},
	    {SCEP_OUT_HTTP_MALFORMED, -1, SCEP_FAIL_NONE, 400},
	    {SCEP_OUT_HTTP_BAD_OP, -1, SCEP_FAIL_NONE, 400},
	    {SCEP_OUT_HTTP_NO_PROFILE, -1, SCEP_FAIL_NONE, 404},
	    {SCEP_OUT_HTTP_METHOD, -1, SCEP_FAIL_NONE, 405},
	    {SCEP_OUT_HTTP_TOO_LARGE, -1, SCEP_FAIL_NONE, 413},
	    {SCEP_OUT_HTTP_UNAVAILABLE, -1, SCEP_FAIL_NONE, 503},
	    {SCEP_OUT_HTTP_INTERNAL, -1, SCEP_FAIL_NONE, 500},
	};

	(void)state;
	assert_int_equal(sizeof(want) / sizeof(want[0]), SCEP_OUT_MAX);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct scep_fail_map *m = scep_fail_lookup(want[i].out);

		assert_non_null(m->name);
		assert_int_equal(m->pki_status, want[i].status);
		assert_int_equal(m->fail_info, want[i].fail);
		assert_int_equal(m->http_status, want[i].http);
	}
	assert_int_equal(scep_fail_lookup(SCEP_OUT_MAX)->http_status, 500);
	assert_int_equal(scep_fail_lookup((enum scep_outcome) - 1)->http_status, 500);
	assert_string_equal(scep_fail_info_name(SCEP_FAIL_BADMESSAGECHECK), "badMessageCheck");
	assert_string_equal(scep_fail_info_name(SCEP_FAIL_BADCERTID), "badCertId");
	assert_string_equal(scep_fail_info_name(42), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fail_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
