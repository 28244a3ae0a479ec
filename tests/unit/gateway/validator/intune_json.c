/* tests for gateway/validator/intune_json.c: the Entra ID token answer, Graph service
 * discovery, the ScepActions result and the revocation feed (docs/protocol-notes.md 2.2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "intune_json.h"

#define U(s) (const uint8_t *)(s), strlen(s)

static void
test_token(void **state)
{
	char tok[16];
	long exp = 0;

	(void)state;
	assert_int_equal(intune_json_token(U("{\"token_type\":\"Bearer\",\"expires_in\":3599,"
					     "\"access_token\":\"abc\"}"),
					   tok, sizeof(tok), &exp),
			 0);
	assert_string_equal(tok, "abc");
	assert_int_equal(exp, 3599);
	assert_int_equal(
	    intune_json_token(U("{\"expires_in\":\"60\",\"access_token\":\"x\"}"), tok, 16, &exp),
	    0);
	assert_int_equal(exp, 60);
	/* missing, zero, negative or too long */
	assert_int_equal(intune_json_token(U("{\"access_token\":\"x\"}"), tok, 16, &exp),
			 -SGW_EPARSE);
	assert_int_equal(
	    intune_json_token(U("{\"expires_in\":0,\"access_token\":\"x\"}"), tok, 16, &exp),
	    -SGW_EPARSE);
	assert_int_equal(
	    intune_json_token(U("{\"expires_in\":\"-5\",\"access_token\":\"x\"}"), tok, 16, &exp),
	    -SGW_EPARSE);
	assert_int_equal(intune_json_token(U("{\"expires_in\":9,\"access_token\":"
					     "\"0123456789abcdefXYZ\"}"),
					   tok, 16, &exp),
			 -SGW_EPARSE);
	assert_int_equal(intune_json_token(U("[]"), tok, 16, &exp), -SGW_EPARSE);
}

static void
test_discovery(void **state)
{
	const char *j = "{\"value\":[{\"providerName\":\"PkiConnectorFEService\",\"uri\":"
			"\"https://a/pki/\"},{\"providerName\":\"scepRequestValidationFEService\","
			"\"uri\":\"https://a/scep//\"}]}";
	char uri[64];

	(void)state;
	assert_int_equal(
	    intune_json_discovery(U(j), "ScepRequestValidationFEService", uri, sizeof(uri)), 0);
	assert_string_equal(uri, "https://a/scep");
	assert_int_equal(intune_json_discovery(U(j), "PkiConnectorFEService", uri, sizeof(uri)), 0);
	assert_string_equal(uri, "https://a/pki");
	assert_int_equal(intune_json_discovery(U(j), "Other", uri, sizeof(uri)), -SGW_ENOTFOUND);
	assert_int_equal(intune_json_discovery(U("{\"value\":[{\"providerName\":\"X\",\"uri\":"
						 "\"ftp://x\"}]}"),
					       "X", uri, sizeof(uri)),
			 -SGW_EPARSE);
	assert_int_equal(intune_json_discovery(U("{\"value\":{}}"), "X", uri, sizeof(uri)),
			 -SGW_EPARSE);
}

static void
test_result(void **state)
{
	char code[16], desc[8];

	(void)state;
	assert_int_equal(intune_json_result(U("{\"code\":\"ChallengeExpired\",\"errorDescription\":"
					      "\"a long description\"}"),
					    code, sizeof(code), desc, sizeof(desc)),
			 0);
	assert_string_equal(code, "ChallengeExpire"); /* truncated to fit */
	assert_string_equal(desc, "a long ");
	assert_int_equal(intune_json_result(U("{\"code\":\"Success\",\"errorDescription\":null}"),
					    code, sizeof(code), desc, sizeof(desc)),
			 0);
	assert_string_equal(desc, "");
	assert_int_equal(intune_json_result(U("{\"errorDescription\":\"\"}"), code, 16, desc, 8),
			 -SGW_EPARSE);
	assert_int_equal(intune_json_result(U("<html/>"), code, 16, desc, 8), -SGW_EPARSE);
	assert_int_equal(
	    intune_json_result(U("{\"code\":\"a\",\"code\":\"b\"}"), code, 16, desc, 8),
	    -SGW_EPARSE);
}

static void
test_revocations(void **state)
{
	struct intune_revocation r[2];
	size_t n = 9;

	(void)state;
	assert_int_equal(intune_json_revocations(
			     U("{\"value\":[{\"requestContext\":\"c1\",\"serialNumber\":\"0A\","
			       "\"issuerName\":\"CA\"},{\"requestContext\":\"c2\",\"serialNumber\":"
			       "\"0B\",\"issuerName\":null},{\"requestContext\":\"c3\","
			       "\"serialNumber\":\"0C\"}]}"),
			     r, 2, &n),
			 0);
	assert_int_equal(n, 2); /* the rest is left for the next round */
	assert_string_equal(r[0].context, "c1");
	assert_string_equal(r[0].issuer, "CA");
	assert_string_equal(r[1].serial, "0B");
	assert_string_equal(r[1].issuer, "");
	assert_int_equal(intune_json_revocations(U("{\"value\":[]}"), r, 2, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(
	    intune_json_revocations(U("{\"value\":[{\"serialNumber\":\"0A\"}]}"), r, 2, &n),
	    -SGW_EPARSE);
	assert_int_equal(intune_json_revocations(U("{}"), r, 2, &n), -SGW_EPARSE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_token),
	    cmocka_unit_test(test_discovery),
	    cmocka_unit_test(test_result),
	    cmocka_unit_test(test_revocations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
