/* tests for gateway/txn/approval.c and the approval / admin parts of
 * gateway/config/cfg_admin.c (through cfg_parse) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/x509.h>

#include "approval.h"
#include "cfg.h"

static char *dns_a[] = {"a.lab.example.com"};
static char *dns_ab[] = {"a.lab.example.com", "www.example.com"};

static void
test_modes(void **state)
{
	struct cfg_ra_profile ra = {0};
	struct csr c = {.subject = "CN=x", .key_type = CSR_KEY_RSA, .key_bits = 2048};

	(void)state;
	assert_int_equal(approval_decide(&ra, &c), APPROVAL_AUTO);
	ra.approval = "auto";
	assert_int_equal(approval_decide(&ra, &c), APPROVAL_AUTO);
	ra.approval = "manual";
	assert_int_equal(approval_decide(&ra, &c), APPROVAL_MANUAL);
}

/* c->req with the subject CN=cn1[,CN=cn2],O=Lab (no key: only the subject is read). */
static void
set_subject(struct csr *c, const char *cn1, const char *cn2)
{
	X509_NAME *n;

	X509_REQ_free(c->req);
	c->req = X509_REQ_new();
	assert_non_null(c->req);
	n = X509_REQ_get_subject_name(c->req);
	if (cn1 != NULL)
		assert_true(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
						       (const unsigned char *)cn1, -1, -1, 0));
	if (cn2 != NULL)
		assert_true(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
						       (const unsigned char *)cn2, -1, -1, 0));
	assert_true(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"Lab",
					       -1, -1, 0));
}

static void
test_rules(void **state)
{
	char *pat[] = {"*.lab.example.com"};
	struct cfg_subject_match sm[] = {{NID_commonName, "CN", "*.lab.example.com"},
					 {NID_organizationName, "O", "lab"}};
	struct cfg_ra_profile ra = {.approval = "rules"};
	struct csr c = {.key_type = CSR_KEY_EC, .key_bits = 256, .san_dns = {dns_a, 1}};

	(void)state;
	set_subject(&c, "a.lab.example.com", NULL);
	ra.auto_if.subject_matches = sm;
	ra.auto_if.n_subject_matches = 2;
	ra.auto_if.san_dns = (struct cfg_strlist){pat, 1};
	ra.auto_if.key_types = CSR_KEY_EC;
	assert_int_equal(approval_decide(&ra, &c), APPROVAL_AUTO);
	/* a SAN outside the list: manual */
	c.san_dns = (struct cfg_strlist){dns_ab, 2};
	assert_int_equal(approval_decide(&ra, &c), APPROVAL_MANUAL);
	/* no SAN at all when SANs are required: manual */
	c.san_dns = (struct cfg_strlist){NULL, 0};
	assert_int_equal(approval_decide(&ra, &c), APPROVAL_MANUAL);
	c.san_dns = (struct cfg_strlist){dns_a, 1};
	/* another subject: manual */
	set_subject(&c, "evil.example.com", NULL);
	assert_int_equal(approval_decide(&ra, &c), APPROVAL_MANUAL);
	/* the bypass of the whole-string pattern: the CN value is matched as a whole */
	set_subject(&c, "x.lab.example.com.evil.org", NULL);
	assert_int_equal(approval_decide(&ra, &c), APPROVAL_MANUAL);
	/* every CN must match, and one must be there */
	set_subject(&c, "a.lab.example.com", "evil.org");
	assert_int_equal(approval_decide(&ra, &c), APPROVAL_MANUAL);
	set_subject(&c, NULL, NULL);
	assert_int_equal(approval_decide(&ra, &c), APPROVAL_MANUAL);
	set_subject(&c, "a.lab.example.com", "B.LAB.example.com");
	assert_int_equal(approval_decide(&ra, &c), APPROVAL_AUTO);
	/* key type and size */
	c.key_type = CSR_KEY_RSA;
	c.key_bits = 2048;
	assert_int_equal(approval_decide(&ra, &c), APPROVAL_MANUAL);
	ra.auto_if.key_types = CSR_KEY_RSA | CSR_KEY_EC;
	ra.auto_if.min_rsa_bits = 3072;
	assert_int_equal(approval_decide(&ra, &c), APPROVAL_MANUAL);
	c.key_bits = 4096;
	assert_int_equal(approval_decide(&ra, &c), APPROVAL_AUTO);
	X509_REQ_free(c.req);
}

static const char cfg_head[] = "listen: [{address: \"127.0.0.1:8080\"}]\n"
			       "store: {type: sqlite, path: /tmp/x.db}\n"
			       "ra_identities: {dev: {sign: {cert: a, key: b}, ca_chain: c}}\n"
			       "scep_profiles: {dev: {ra_identity: dev, ra_profile: dev,"
			       " challenge: {type: otp, ttl: 10m}}}\n"
			       "backends: {ca: {type: local}}\n";

static int
parse(const char *tail, struct cfg **ret, struct sgw_err *err)
{
	char buf[2048];

	snprintf(buf, sizeof(buf), "%s%s", cfg_head, tail);
	return cfg_parse("t.yaml", (const uint8_t *)buf, strlen(buf), ret, err);
}

static void
test_cfg(void **state)
{
	struct sgw_err err = {{0}};
	struct cfg *c = NULL;
	const struct cfg_ra_profile *ra;

	(void)state;
	assert_int_equal(parse("ra_profiles: {dev: {backend: ca, approval: manual, pending_ttl: "
			       "2h}}\n",
			       &c, &err),
			 0);
	ra = cfg_ra_profile_find(c, "dev");
	assert_string_equal(ra->approval, "manual");
	assert_int_equal(ra->pending_ttl, 7200);
	/* its ttl (600): tests/unit/gateway/validator/validator.c */
	assert_string_equal(c->scep_profiles[0].challenge.type, "otp");
	assert_false(c->admin.enabled);
	cfg_free(c);

	assert_int_equal(parse("ra_profiles: {dev: {backend: ca, approval: {auto_if: "
			       "{subject_matches: {CN: \"*.x\", O: Lab}, san_dns: [\"*.x\"],"
			       " key_types: [ec],"
			       " min_rsa_bits: 3072}}}}\n"
			       "admin: {listen: \"127.0.0.1:8444\", tokens_file: /t}\n",
			       &c, &err),
			 0);
	ra = cfg_ra_profile_find(c, "dev");
	assert_string_equal(ra->approval, "rules");
	assert_int_equal(ra->auto_if.key_types, CSR_KEY_EC);
	assert_int_equal(ra->auto_if.san_dns.n, 1);
	assert_int_equal(ra->auto_if.n_subject_matches, 2);
	assert_int_equal(ra->auto_if.subject_matches[0].nid, NID_commonName);
	assert_string_equal(ra->auto_if.subject_matches[0].pattern, "*.x");
	assert_int_equal(ra->auto_if.subject_matches[1].nid, NID_organizationName);
	assert_int_equal(ra->pending_ttl, 7 * 86400);
	assert_true(c->admin.enabled);
	cfg_free(c);

	c = NULL;
	assert_true(parse("ra_profiles: {dev: {backend: ca, approval: sometimes}}\n", &c, &err) <
		    0);
	assert_non_null(strstr(err.msg, "ra_profiles.dev.approval"));
	assert_true(parse("ra_profiles: {dev: {backend: ca, approval: {default: auto, auto_if: "
			  "{}}}}\n",
			  &c, &err) < 0);
	assert_true(parse("ra_profiles: {dev: {backend: ca}}\n"
			  "admin: {listen: \"0.0.0.0:8444\", tokens_file: /t}\n",
			  &c, &err) < 0);
	assert_non_null(strstr(err.msg, "needs tls"));
	assert_true(parse("ra_profiles: {dev: {backend: ca}}\n"
			  "admin: {listen: \"127.0.0.1:8444\"}\n",
			  &c, &err) < 0);
	assert_true(parse("ra_profiles: {dev: {backend: ca}}\n"
			  "admin: {listen: \"127.0.0.1:8444\", tokens_file: /t, bogus: 1}\n",
			  &c, &err) < 0);
	assert_null(c);
	/* the old whole-string form: an error that says what to write */
	assert_true(parse("ra_profiles: {dev: {backend: ca, approval: {auto_if: "
			  "{subject_matches: \"CN=*.lab.example.com*\"}}}}\n",
			  &c, &err) < 0);
	assert_non_null(strstr(err.msg, "ra_profiles.dev.approval.auto_if.subject_matches"));
	assert_non_null(strstr(err.msg, "subject_matches: { CN: \"*.lab.example.com\" }"));
	assert_true(parse("ra_profiles: {dev: {backend: ca, approval: {auto_if: "
			  "{subject_matches: {NoSuchAttr: x}}}}}\n",
			  &c, &err) < 0);
	assert_non_null(strstr(err.msg, "unknown subject attribute 'NoSuchAttr'"));
	assert_true(parse("ra_profiles: {dev: {backend: ca, approval: {auto_if: "
			  "{subject_matches: {CN: [a]}}}}}\n",
			  &c, &err) < 0);
	assert_null(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_modes),
	    cmocka_unit_test(test_rules),
	    cmocka_unit_test(test_cfg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
