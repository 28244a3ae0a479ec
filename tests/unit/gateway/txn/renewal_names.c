/* tests for gateway/txn/renewal_names.c: a renewal's CSR names nothing its
 * signer does not (subject attributes by type and value, whatever the string
 * type; subjectAltNames of every kind). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/x509v3.h>

#include "renewal.h"

/* CN=cn (of string type cn_type) and, unless NULL, O=o. */
static X509_NAME *
name_of(const char *cn, int cn_type, const char *o)
{
	X509_NAME *n = X509_NAME_new();

	assert_non_null(n);
	assert_int_equal(
	    X509_NAME_add_entry_by_txt(n, "CN", cn_type, (const unsigned char *)cn, -1, -1, 0), 1);
	if (o != NULL)
		assert_int_equal(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
							    (const unsigned char *)o, -1, -1, 0),
				 1);
	return n;
}

/* "DNS:a,IP:192.0.2.1" as GENERAL_NAMES, or NULL for "" */
static GENERAL_NAMES *
sans_of(const char *spec)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	GENERAL_NAMES *g;

	if (spec[0] == '\0')
		return NULL;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, NULL, NULL, NULL, NULL, 0);
	ext = X509V3_EXT_nconf_nid(NULL, &ctx, NID_subject_alt_name, spec);
	assert_non_null(ext);
	g = X509V3_EXT_d2i(ext);
	X509_EXTENSION_free(ext);
	assert_non_null(g);
	return g;
}

static X509 *
signer_of(X509_NAME *subject, const char *sans)
{
	X509 *x = X509_new();
	GENERAL_NAMES *g = sans_of(sans);

	assert_non_null(x);
	assert_int_equal(X509_set_subject_name(x, subject), 1);
	if (g != NULL)
		assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name, g, 0, 0), 1);
	GENERAL_NAMES_free(g);
	X509_NAME_free(subject);
	return x;
}

static X509_REQ *
req_of(X509_NAME *subject, const char *sans)
{
	X509_REQ *r = X509_REQ_new();
	GENERAL_NAMES *g = sans_of(sans);
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();

	assert_non_null(r);
	assert_int_equal(X509_REQ_set_subject_name(r, subject), 1);
	if (g != NULL) {
		X509_EXTENSION *e = X509V3_EXT_i2d(NID_subject_alt_name, 0, g);

		assert_non_null(e);
		assert_true(sk_X509_EXTENSION_push(exts, e) > 0);
		assert_int_equal(X509_REQ_add_extensions(r, exts), 1);
	}
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(g);
	X509_NAME_free(subject);
	return r;
}

/* renewal_names_subset(signer, req): 0, or -SGW_EDENIED with `text` in the reason */
static void
expect(X509 *signer, X509_REQ *req, const char *text)
{
	struct sgw_err err = {{0}};
	int r = renewal_names_subset(signer, req, &err);

	if (text == NULL) {
		assert_int_equal(r, 0);
	} else {
		assert_int_equal(r, -SGW_EDENIED);
		assert_non_null(strstr(err.msg, text));
	}
	X509_REQ_free(req);
}

static void
test_sans(void **state)
{
	X509 *s = signer_of(name_of("dev", MBSTRING_UTF8, NULL), "DNS:a.example.com,IP:192.0.2.1");

	(void)state;
	expect(s, req_of(name_of("dev", MBSTRING_UTF8, NULL), "DNS:a.example.com,IP:192.0.2.1"),
	       NULL);
	expect(s, req_of(name_of("dev", MBSTRING_UTF8, NULL), "IP:192.0.2.1"), NULL);
	expect(s, req_of(name_of("dev", MBSTRING_UTF8, NULL), ""), NULL);
	expect(s,
	       req_of(name_of("dev", MBSTRING_UTF8, NULL), "DNS:a.example.com,DNS:b.example.com"),
	       "subjectAltName 2");
	expect(s, req_of(name_of("dev", MBSTRING_UTF8, NULL), "URI:spiffe://a.example.com"),
	       "subjectAltName 1");
	expect(s, req_of(name_of("dev", MBSTRING_UTF8, NULL), "IP:192.0.2.2"), "subjectAltName 1");
	X509_free(s);
	s = signer_of(name_of("dev", MBSTRING_UTF8, NULL), ""); /* no SAN at all */
	expect(s, req_of(name_of("dev", MBSTRING_UTF8, NULL), ""), NULL);
	expect(s, req_of(name_of("dev", MBSTRING_UTF8, NULL), "email:a@example.com"),
	       "subjectAltName 1");
	X509_free(s);
}

static void
test_subject(void **state)
{
	X509 *s = signer_of(name_of("Müller-Gerät", MBSTRING_UTF8, "Straße"), "");

	(void)state;
	expect(s, req_of(name_of("Müller-Gerät", MBSTRING_UTF8, "Straße"), ""), NULL);
	expect(s, req_of(name_of("Müller-Gerät", MBSTRING_UTF8, NULL), ""), NULL); /* drops O */
	expect(s, req_of(name_of("Müller-Gerat", MBSTRING_UTF8, NULL), ""), "subject attribute 1");
	expect(s, req_of(name_of("Müller-Gerät", MBSTRING_UTF8, "Strasse"), ""),
	       "subject attribute 2");
	X509_free(s);
	/* the same text as PrintableString and UTF8String */
	s = signer_of(name_of("dev-1", V_ASN1_UTF8STRING, NULL), "");
	expect(s, req_of(name_of("dev-1", V_ASN1_PRINTABLESTRING, NULL), ""), NULL);
	expect(s, req_of(name_of("dev-1", V_ASN1_PRINTABLESTRING, "Evil"), ""),
	       "subject attribute 2");
	X509_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sans),
	    cmocka_unit_test(test_subject),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
