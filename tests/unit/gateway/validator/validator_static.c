/* tests for gateway/validator/validator_static.c, which it includes to reach
 * the configured hash: a static challenge's sha256 and secret_file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "challenge_fixture.h"
#include "gateway/validator/validator_static.c"

static void
sha256(const void *p, size_t n, uint8_t out[32])
{
	assert_true(EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL));
}

/* static_configure() on the profile's challenge: 0 and the hash in *p, or
 * the error in err. */
static int
configure(const char *yaml, struct static_priv *p, struct sgw_err *err)
{
	struct cfg *c = NULL;
	const struct cfg_challenge *ch = fixture_parse(yaml, &c);
	int r;

	assert_non_null(ch);
	assert_string_equal(ch->type, "static");
	r = static_configure(p, ch->node, ch->path, err);
	cfg_free(c);
	return r;
}

/* Moved from tests/unit/gateway/config/cfg_schema.c (test_full): mixed-case hex. */
static void
test_sha256_hex(void **state)
{
	static const uint8_t want[32] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
					 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
					 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
					 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
	struct static_priv p = {{0}};
	struct sgw_err err = {{0}};

	(void)state;
	assert_int_equal(
	    configure(
		CHALLENGE("{type: static, sha256: "
			  "\"00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff\"}"),
		&p, &err),
	    0);
	assert_memory_equal(p.sha256, want, 32);
}

/* Moved from tests/unit/gateway/config/cfg_schema.c. */
static void
secret_case(const char *content, size_t len, const char *expect_secret)
{
	char path[64], yaml[2048], want_msg[256];
	struct static_priv p = {{0}};
	struct sgw_err err = {{0}};
	uint8_t want[32];

	cfg_fixture_tmpfile(path, content, len);
	snprintf(yaml, sizeof(yaml), CHALLENGE("{type: static, secret_file: %s}"), path);
	if (expect_secret == NULL) {
		snprintf(want_msg, sizeof(want_msg),
			 "t.yaml:10: scep_profiles.p1.challenge.secret_file: '%s' is empty or "
			 "unreadable",
			 path);
		assert_true(configure(yaml, &p, &err) < 0);
		assert_string_equal(err.msg, want_msg);
	} else {
		assert_int_equal(configure(yaml, &p, &err), 0);
		sha256(expect_secret, strlen(expect_secret), want);
		assert_memory_equal(p.sha256, want, 32);
	}
	unlink(path);
}

static void
test_secret_file(void **state)
{
	(void)state;
	secret_case("hunter2\n", 8, "hunter2");
	secret_case("hunter2", 7, "hunter2");
	secret_case("hunter2\r\n", 9, "hunter2");
	secret_case("hunter2\n\n", 9, "hunter2\n");
	secret_case("\n", 1, NULL);
	secret_case("", 0, NULL);
}

/* secret_file goes through secret_file_read(): owner-only mode, no symlink. */
static void
test_secret_file_checks(void **state)
{
	char path[64], link[80], yaml[2048], want[512];
	struct static_priv p = {{0}};
	struct sgw_err err = {{0}};

	(void)state;
	cfg_fixture_tmpfile(path, "hunter2\n", 8);
	assert_int_equal(chmod(path, 0644), 0);
	snprintf(yaml, sizeof(yaml), CHALLENGE("{type: static, secret_file: %s}"), path);
	assert_int_equal(configure(yaml, &p, &err), -SGW_EDENIED);
	snprintf(want, sizeof(want),
		 "t.yaml:10: scep_profiles.p1.challenge.secret_file: %s: static challenge secret "
		 "file is "
		 "accessible by group or others (mode 0644); chmod 600 it",
		 path);
	assert_string_equal(err.msg, want);
	assert_int_equal(chmod(path, 0600), 0);
	snprintf(link, sizeof(link), "%s.lnk", path);
	assert_int_equal(symlink(path, link), 0);
	snprintf(yaml, sizeof(yaml), CHALLENGE("{type: static, secret_file: %s}"), link);
	assert_int_equal(configure(yaml, &p, &err), -SGW_EIO);
	unlink(link);
	unlink(path);
}

/* The check compares SHA-256(challengePassword) with the configured hash. */
static void
test_check(void **state)
{
	struct static_priv p = {{0}};
	struct sgw_err err = {{0}};
	struct csr csr = {0};
	struct validator_req req = {.csr = &csr, .profile = "p1", .transaction_id = "t"};

	(void)state;
	sha256("s3cret", 6, p.sha256);
	assert_int_equal(static_check(&p, &req, NULL, NULL, &err), -SGW_EDENIED);
	assert_string_equal(err.msg, "CSR has no challengePassword");
	csr.challenge = "s3cret!";
	assert_int_equal(static_check(&p, &req, NULL, NULL, &err), -SGW_EDENIED);
	assert_string_equal(err.msg, "challenge password mismatch");
	csr.challenge = "s3cret";
	assert_int_equal(static_check(&p, &req, NULL, NULL, &err), 0);
}

/* Moved from tests/unit/gateway/config/cfg_schema.c (test_example_profile): the
 * example's static challenge, its secret_file pointed at a temp file. */
static void
test_example_profile(void **state)
{
	char tmp[64];
	struct sgw_err err = {{0}};
	struct static_priv p = {{0}};
	struct cfg *c = NULL;
	const struct cfg_scep_profile *prof;
	uint8_t want[32];

	(void)state;
	prof = cfg_fixture_example(tmp, &c);
	assert_int_equal(static_configure(&p, prof->challenge.node, prof->challenge.path, &err), 0);
	sha256("s3cret", 6, want);
	assert_memory_equal(p.sha256, want, 32);
	cfg_free(c);
	unlink(tmp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sha256_hex),	       cmocka_unit_test(test_secret_file),
	    cmocka_unit_test(test_secret_file_checks), cmocka_unit_test(test_check),
	    cmocka_unit_test(test_example_profile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
