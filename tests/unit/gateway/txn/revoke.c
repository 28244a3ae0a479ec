/* tests for gateway/revoke.c: CRLReason names and serial normalization (the
 * subcommand itself runs in tests/integration/t_getcert.sh) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "revoke.h"

static void
test_reasons(void **state)
{
	(void)state;
	assert_int_equal(revoke_reason_parse("keyCompromise"), 1);
	assert_int_equal(revoke_reason_parse("KEYCOMPROMISE"), 1);
	assert_int_equal(revoke_reason_parse("superseded"), 4);
	assert_int_equal(revoke_reason_parse("aACompromise"), 10);
	assert_int_equal(revoke_reason_parse("0"), 0);
	assert_int_equal(revoke_reason_parse("6"), 6);
	assert_int_equal(revoke_reason_parse("7"), -1); /* unused */
	assert_int_equal(revoke_reason_parse("8"), -1); /* removeFromCRL: delta CRLs only */
	assert_int_equal(revoke_reason_parse("11"), -1);
	assert_int_equal(revoke_reason_parse("-1"), -1);
	assert_int_equal(revoke_reason_parse("4x"), -1);
	assert_int_equal(revoke_reason_parse(""), -1);
	assert_int_equal(revoke_reason_parse(NULL), -1);
	assert_int_equal(revoke_reason_parse("sleepy"), -1);
	assert_string_equal(revoke_reason_name(1), "keyCompromise");
	assert_string_equal(revoke_reason_name(8), "unknown");
	assert_string_equal(revoke_reason_name(99), "unknown");
}

static void
test_serial(void **state)
{
	char out[41];

	(void)state;
	assert_int_equal(revoke_serial_normalize("0x00AB:cd:EF", out, sizeof(out)), 0);
	assert_string_equal(out, "abcdef");
	assert_int_equal(revoke_serial_normalize("0730FF", out, sizeof(out)), 0);
	assert_string_equal(out, "0730ff"); /* a leading zero nibble stays: whole octets */
	assert_int_equal(revoke_serial_normalize("730ff", out, sizeof(out)), 0);
	assert_string_equal(out, "0730ff");
	assert_int_equal(revoke_serial_normalize("000", out, sizeof(out)), 0);
	assert_string_equal(out, "0");
	assert_int_equal(
	    revoke_serial_normalize("7056437657D1DD1EB3025A31CC5961B7", out, sizeof(out)), 0);
	assert_string_equal(out, "7056437657d1dd1eb3025a31cc5961b7");
	assert_int_equal(revoke_serial_normalize("12g4", out, sizeof(out)), -1);
	assert_int_equal(
	    revoke_serial_normalize("1102030405060708090a0b0c0d0e0f10111213141", out, sizeof(out)),
	    -1); /* 41 digits */
	assert_int_equal(revoke_serial_normalize("ab", out, 2), -1);
	assert_int_equal(revoke_serial_normalize("abc", out, 4), -1); /* "0abc" does not fit */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reasons),
	    cmocka_unit_test(test_serial),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
