/* tests for gateway/validator/validator.c (the registry by challenge.type and
 * the instance lifecycle) and for what the local validators (none, static,
 * otp) accept in scep_profiles.<name>.challenge.  The static challenge's
 * hashes: validator_static.c beside this file. */
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

#include "cfg.h"
#include "challenge_fixture.h"
#include "validator.h"
#include "validator_otp.h"

static void
expect_err(const char *yaml, const char *msg)
{
	struct sgw_err err = {{0}};
	struct cfg *c = NULL;
	struct validator *v = NULL;

	assert_true(fixture_validator(yaml, &c, &v, &err) < 0);
	assert_non_null(c);
	assert_null(v);
	assert_string_equal(err.msg, msg);
	cfg_free(c);
}

/* Moved from tests/unit/gateway/config/cfg_schema.c: these came from cfg_parse()
 * before each validator parsed its own keys. */
static void
test_errors_challenge(void **state)
{
	(void)state;
	expect_err(CHALLENGE("{type: x}"),
		   "t.yaml:10: scep_profiles.p1.challenge.type: unknown validator 'x' "
		   "(one of: none, static, otp, webhook, intune)");
	expect_err(CHALLENGE("{type: static}"),
		   "t.yaml:10: scep_profiles.p1.challenge: type static needs exactly one of sha256 "
		   "or secret_file");
	expect_err(CHALLENGE("{type: static, sha256: "
			     "00112233445566778899aabbccddeeff00112233445566778899aabbccddeefg}"),
		   "t.yaml:10: scep_profiles.p1.challenge.sha256: expected 64 hex characters");
	expect_err(CHALLENGE("{type: static, sha256: abcd}"),
		   "t.yaml:10: scep_profiles.p1.challenge.sha256: expected 64 hex characters");
	expect_err(
	    CHALLENGE("{type: none, sha256: abcd}"),
	    "t.yaml:10: scep_profiles.p1.challenge: sha256 and secret_file need type static");
	expect_err(CHALLENGE("{type: static, secret_file: /nonexistent/x}"),
		   "t.yaml:10: scep_profiles.p1.challenge.secret_file: cannot open "
		   "'/nonexistent/x': No such file or directory");
}

/* Each local type refuses the others' keys by name, and unknown keys. */
static void
test_errors_keys(void **state)
{
	(void)state;
	expect_err(
	    CHALLENGE("{type: otp, secret_file: /x}"),
	    "t.yaml:10: scep_profiles.p1.challenge: sha256 and secret_file need type static");
	expect_err(CHALLENGE("{type: static, sha256: abcd, ttl: 1h}"),
		   "t.yaml:10: scep_profiles.p1.challenge: ttl and max_active need type otp");
	expect_err(CHALLENGE("{type: none, max_active: 3}"),
		   "t.yaml:10: scep_profiles.p1.challenge: ttl and max_active need type otp");
	expect_err(CHALLENGE("{type: none, url: x}"),
		   "t.yaml:10: scep_profiles.p1.challenge.url: unknown key");
	expect_err(CHALLENGE("{type: otp, ttl: soon}"),
		   "t.yaml:10: scep_profiles.p1.challenge.ttl: expected a duration (e.g. 30, 30s, "
		   "5m, 2h, 1d), got 'soon'");
	expect_err(CHALLENGE("{type: webhook, url: ftp://x, hmac_secret_file: /x}"),
		   "scep_profiles.p1.challenge.url: expected http:// or https://");
}

static void
test_otp(void **state)
{
	struct sgw_err err = {{0}};
	struct cfg *c = NULL;
	struct validator *v = NULL;
	struct otp *o;
	struct otp_issue is = {.profile = "p1"};

	(void)state;
	/* moved from tests/unit/gateway/txn/approval.c (the same challenge) */
	assert_int_equal(fixture_validator(CHALLENGE("{type: otp, ttl: 10m}"), &c, &v, &err), 0);
	assert_string_equal(validator_name(v), "otp");
	o = validator_as_otp(v);
	assert_non_null(o);
	assert_int_equal(otp_ttl(o), 600);
	/* not started: no store to issue into */
	assert_int_equal(otp_issue(o, &is, NULL, NULL), -SGW_EINVAL);
	validator_free(v);
	cfg_free(c);
	c = NULL;
	v = NULL;
	assert_int_equal(fixture_validator(CHALLENGE("{type: otp}"), &c, &v, &err), 0);
	assert_int_equal(otp_ttl(validator_as_otp(v)), 3600);
	validator_free(v);
	cfg_free(c);
	assert_null(validator_as_otp(NULL));
}

static void
test_lifecycle(void **state)
{
	struct sgw_err err = {{0}};
	struct validator_env env = {0};
	struct cfg *c = NULL;
	struct validator *v = NULL;
	struct csr csr = {0};
	struct validator_req req = {.csr = &csr, .profile = "p1", .transaction_id = "t"};

	(void)state;
	assert_non_null(validator_lookup("none"));
	assert_non_null(validator_lookup("intune"));
	assert_null(validator_lookup("nope"));
	assert_null(validator_lookup(NULL));
	assert_int_equal(fixture_validator(CHALLENGE("{type: none}"), &c, &v, &err), 0);
	assert_string_equal(validator_name(v), "none");
	assert_null(validator_as_otp(v));
	assert_int_equal(validator_start(v, &env, &err), 0);
	assert_int_equal(validator_start(v, &env, &err), -SGW_EINVAL);
	assert_string_equal(err.msg, "validator none: started twice");
	assert_int_equal(validator_check(v, &req, NULL, NULL, &err), 0);
	assert_int_equal(validator_notify(v, &req, NULL, "x", NULL, NULL), 0);
	validator_free(v);
	validator_free(NULL);
	cfg_free(c);
}

/* The remote validators read their secret with the one secret-file reader:
 * a group- or world-readable file is refused at load. */
static void
test_remote_secret_mode(void **state)
{
	char path[64], yaml[2048], want[256];
	struct sgw_err err = {{0}};
	struct cfg *c = NULL;
	struct validator *v = NULL;

	(void)state;
	cfg_fixture_tmpfile(path, "k3y\n", 4);
	snprintf(yaml, sizeof(yaml),
		 CHALLENGE("{type: webhook, url: \"https://127.0.0.1:1/\", hmac_secret_file: %s}"),
		 path);
	assert_int_equal(fixture_validator(yaml, &c, &v, &err), 0);
	assert_int_equal(validator_start(v, &(struct validator_env){0}, &err), -SGW_ENOMEM);
	assert_string_equal(err.msg, "the validator has no HTTP client");
	validator_free(v);
	cfg_free(c);
	c = NULL;
	v = NULL;
	assert_int_equal(chmod(path, 0640), 0);
	assert_true(fixture_validator(yaml, &c, &v, &err) < 0);
	assert_null(v);
	snprintf(want, sizeof(want),
		 "%s: webhook HMAC secret file is accessible by group or others (mode 0640); chmod "
		 "600 it",
		 path);
	assert_string_equal(err.msg, want);
	cfg_free(c);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_errors_challenge),
	    cmocka_unit_test(test_errors_keys),
	    cmocka_unit_test(test_otp),
	    cmocka_unit_test(test_lifecycle),
	    cmocka_unit_test(test_remote_secret_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
