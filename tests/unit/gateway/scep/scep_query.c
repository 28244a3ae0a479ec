/* tests for gateway/scep/scep_query.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "scep_query.h"

static void
parse_ok(const char *s, struct scep_query *q)
{
	assert_int_equal(scep_query_parse(s, strlen(s), q), 0);
}

static void
test_operation_and_message(void **state)
{
	struct scep_query q;

	(void)state;
	parse_ok("operation=GetCACaps&message=MobileIronSCEP", &q);
	assert_string_equal(q.operation, "GetCACaps");
	assert_string_equal(q.message, "MobileIronSCEP");
	scep_query_clear(&q);

	parse_ok("message=a%2Bb%2F%3D&operation=PKIOperation&x=1", &q);
	assert_string_equal(q.operation, "PKIOperation");
	assert_string_equal(q.message, "a+b/=");
	scep_query_clear(&q);

	parse_ok("operation=GetCACert&operation=Other", &q);
	assert_string_equal(q.operation, "GetCACert");
	assert_null(q.message);
	scep_query_clear(&q);

	parse_ok("", &q);
	assert_string_equal(q.operation, "");
	scep_query_clear(&q);
}

static void
test_bad_escapes(void **state)
{
	struct scep_query q;

	(void)state;
	assert_int_equal(scep_query_parse("operation=Get%4", 15, &q), -SGW_EPARSE);
	assert_int_equal(scep_query_parse("operation=Get%zz", 16, &q), -SGW_EPARSE);
	assert_int_equal(scep_query_parse("message=%00", 11, &q), -SGW_EPARSE);
	assert_int_equal(scep_query_parse("operation=", 10, &q), -SGW_EPARSE);
	assert_int_equal(
	    scep_query_parse("operation=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 51, &q),
	    -SGW_EPARSE);
}

static void
b64(const char *in, const char *want)
{
	uint8_t *out = NULL;
	size_t n = 0;

	assert_int_equal(scep_base64_decode(in, strlen(in), &out, &n), 0);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, n);
	free(out);
}

static void
test_base64(void **state)
{
	uint8_t *out = NULL;
	size_t n = 0;

	(void)state;
	b64("aGVsbG8=", "hello");
	b64("aGVsbG8", "hello");      /* padding missing */
	b64("aGVs\r\nbG8=", "hello"); /* line breaks */
	b64("+/+/", "\xfb\xff\xbf");  /* '+' and '/' */
	b64(" /+/", "\xfb\xff\xbf");  /* a space reads as '+' */
	b64("-_-_", "\xfb\xff\xbf");  /* base64url (micromdm scepclient's GET) */
	b64("aGVsbG8_Pz8-", "hello\x3f\x3f\x3f>");
	b64("aGVsbG8_Pw==", "hello\x3f\x3f");
	assert_int_equal(scep_base64_decode("a-b/", 4, &out, &n), -SGW_EPARSE); /* a mix */
	assert_int_equal(scep_base64_decode("-_+_", 4, &out, &n), -SGW_EPARSE);
	assert_int_equal(scep_base64_decode("aGVs=bG8", 8, &out, &n), -SGW_EPARSE);
	assert_int_equal(scep_base64_decode("a", 1, &out, &n), -SGW_EPARSE);
	assert_int_equal(scep_base64_decode("", 0, &out, &n), -SGW_EPARSE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_operation_and_message),
	    cmocka_unit_test(test_bad_escapes),
	    cmocka_unit_test(test_base64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
