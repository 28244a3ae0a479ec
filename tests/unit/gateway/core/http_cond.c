/* tests for gateway/core/http_cond.c: IMF-fixdate both ways, the forms and
 * values refused, and If-None-Match lists (weak comparison, `*`, malformed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "http_cond.h"

static int
parse(const char *s, time_t *t)
{
	return http_date_parse((const uint8_t *)s, strlen(s), t);
}

static int
match(const char *list, const char *etag)
{
	return http_etag_match((const uint8_t *)list, strlen(list), etag);
}

static void
test_date(void **state)
{
	char buf[HTTP_DATE_LEN];
	time_t t = 0;

	(void)state;
	assert_int_equal(parse("Sun, 06 Nov 1994 08:49:37 GMT", &t), 0);
	assert_int_equal(t, 784111777);
	assert_int_equal(http_date_format(t, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
	assert_int_equal(parse("Thu, 29 Feb 2024 23:59:59 GMT", &t), 0);
	assert_int_equal(http_date_format(0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "Thu, 01 Jan 1970 00:00:00 GMT");
	assert_int_equal(http_date_format(0, buf, sizeof(buf) - 1), -SGW_EINVAL);
	assert_int_equal(http_date_format(-1, buf, sizeof(buf)), -SGW_EINVAL);
}

static void
test_date_refused(void **state)
{
	const char *bad[] = {
	    "Sunday, 06-Nov-94 08:49:37 GMT", /* RFC 850: obsolete, ignored */
	    "Sun Nov  6 08:49:37 1994",	      /* asctime */
	    "Mon, 06 Nov 1994 08:49:37 GMT",  /* wrong day of the week */
	    "Sun, 06 Nov 1994 08:49:37 UTC",  "Sun, 31 Nov 1994 08:49:37 GMT",
	    "Mon, 29 Feb 2021 00:00:00 GMT",  "Sun, 06 Nov 1994 24:00:00 GMT",
	    "Sun, 06 Nov 1994 08:49:37 GMT ", "Sun, 06 Nov 19a4 08:49:37 GMT",
	    "Wed, 31 Dec 1969 23:59:59 GMT",  "",
	};
	time_t t = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], &t), -SGW_EINVAL);
		assert_int_equal(t, 42);
	}
}

static void
test_etag(void **state)
{
	(void)state;
	assert_int_equal(match("\"abc\"", "\"abc\""), 1);
	assert_int_equal(match("W/\"abc\"", "\"abc\""), 1);
	assert_int_equal(match(" \"x\" , W/\"abc\" ", "\"abc\""), 1);
	assert_int_equal(match("\"x\",,\"y\"", "\"abc\""), 0);
	assert_int_equal(match("\"abcd\"", "\"abc\""), 0);
	assert_int_equal(match("*", "\"abc\""), 1);
	assert_int_equal(match(" * ", "\"abc\""), 1);
	assert_int_equal(match("*, \"abc\"", "\"abc\""), -SGW_EINVAL);
	assert_int_equal(match("abc", "\"abc\""), -SGW_EINVAL);
	assert_int_equal(match("\"abc", "\"abc\""), -SGW_EINVAL);
	assert_int_equal(match("\"a\" \"abc\"", "\"abc\""), -SGW_EINVAL);
	assert_int_equal(match("\"a b\"", "\"abc\""), -SGW_EINVAL);
	assert_int_equal(match("", "\"abc\""), -SGW_EINVAL);
	assert_int_equal(match(" , ", "\"abc\""), -SGW_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_date),
	    cmocka_unit_test(test_date_refused),
	    cmocka_unit_test(test_etag),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
