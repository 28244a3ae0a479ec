/* tests for backends/ejbca/ejbca_user.c: which template a request uses and
 * the username built from the CSR (CN, DNS or e-mail SAN, transactionID),
 * with prefix, suffix and unsafe characters replaced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/x509v3.h>

#include "ejbca/ejbca_user.h"

/* a CSR with subject CN=cn (when not NULL) and one SAN (when san not NULL) */
static X509_REQ *
req_new(const char *cn, int san_type, const char *san)
{
	X509_REQ *r = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	GENERAL_NAMES *gns = GENERAL_NAMES_new();
	GENERAL_NAME *g;
	ASN1_IA5STRING *v;

	if (cn != NULL)
		X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN", MBSTRING_UTF8,
					   (const unsigned char *)cn, -1, -1, 0);
	if (san != NULL) {
		g = GENERAL_NAME_new();
		v = ASN1_IA5STRING_new();
		ASN1_STRING_set(v, san, -1);
		GENERAL_NAME_set0_value(g, san_type, v);
		sk_GENERAL_NAME_push(gns, g);
		X509V3_add1_i2d(&exts, NID_subject_alt_name, gns, 0, X509V3_ADD_DEFAULT);
		X509_REQ_add_extensions(r, exts);
	}
	GENERAL_NAMES_free(gns);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return r;
}

static void
test_username(void **state)
{
	struct ejbca_tmpl t = {
	    .user_from = EJBCA_USER_CN, .user_prefix = "scep-", .user_suffix = ""};
	X509_REQ *dns = req_new("dev 1/a", GEN_DNS, "host.example.org");
	X509_REQ *mail = req_new(NULL, GEN_EMAIL, "who@example.org");
	char out[EJBCA_MAX_USERNAME];

	(void)state;
	assert_int_equal(ejbca_username(&t, dns, "tx1", out, sizeof(out)), 0);
	assert_string_equal(out, "scep-dev_1_a"); /* ' ' and '/' are not kept */
	t.user_from = EJBCA_USER_SAN_DNS;
	t.user_suffix = "@ra";
	assert_int_equal(ejbca_username(&t, dns, "tx1", out, sizeof(out)), 0);
	assert_string_equal(out, "scep-host.example.org@ra");
	assert_int_equal(ejbca_username(&t, mail, "tx1", out, sizeof(out)), -SGW_ENOTFOUND);
	t.user_from = EJBCA_USER_SAN_EMAIL;
	assert_int_equal(ejbca_username(&t, mail, "tx1", out, sizeof(out)), 0);
	assert_string_equal(out, "scep-who@example.org@ra");
	t.user_from = EJBCA_USER_CN;
	assert_int_equal(ejbca_username(&t, mail, "tx1", out, sizeof(out)), -SGW_ENOTFOUND);
	t.user_from = EJBCA_USER_TXID;
	assert_int_equal(ejbca_username(&t, mail, "tx1", out, sizeof(out)), 0);
	assert_string_equal(out, "scep-tx1@ra");
	assert_int_equal(ejbca_username(&t, mail, "", out, sizeof(out)), -SGW_ENOTFOUND);
	assert_int_equal(ejbca_username(&t, mail, "tx1", out, 8), -SGW_EINVAL);
	X509_REQ_free(dns);
	X509_REQ_free(mail);
}

static void
test_tmpl_find(void **state)
{
	struct ejbca_tmpl tmpls[] = {{.name = "servers"}, {.name = "phones"}};
	struct ejbca e = {.tmpls = tmpls, .n_tmpls = 2, .dflt = {.name = "default"}};

	(void)state;
	assert_ptr_equal(ejbca_tmpl_find(&e, "phones"), &tmpls[1]);
	assert_ptr_equal(ejbca_tmpl_find(&e, NULL), &e.dflt);
	assert_ptr_equal(ejbca_tmpl_find(&e, "default"), &e.dflt);
	assert_null(ejbca_tmpl_find(&e, "nope"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_username),
	    cmocka_unit_test(test_tmpl_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
