/* tests for gateway/scep/scep_ias.c: IssuerAndSerialNumber and IssuerAndSubject */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/pkcs7.h>

#include "scep_ias.h"

static X509_NAME *
name(const char *cn)
{
	X509_NAME *n = X509_NAME_new();

	assert_non_null(n);
	assert_true(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
					       -1, 0));
	return n;
}

/* DER IssuerAndSerialNumber with the serial given as big-endian bytes. */
static int
ias_der(const uint8_t *serial, int n, int negative, unsigned char **der)
{
	PKCS7_ISSUER_AND_SERIAL *ias = PKCS7_ISSUER_AND_SERIAL_new();
	int len;

	assert_non_null(ias);
	X509_NAME_free(ias->issuer);
	ias->issuer = name("Test CA");
	assert_true(ASN1_STRING_set(ias->serial, serial, n));
	if (negative)
		ias->serial->type = V_ASN1_NEG_INTEGER;
	*der = NULL;
	len = i2d_PKCS7_ISSUER_AND_SERIAL(ias, der);
	PKCS7_ISSUER_AND_SERIAL_free(ias);
	assert_true(len > 0);
	return len;
}

static void
test_ias(void **state)
{
	static const uint8_t s1[] = {0x0a, 0xb2, 0xc3};
	static const uint8_t s0[] = {0x00};
	uint8_t big[21];
	struct scep_ias ias;
	unsigned char *der;
	int len;

	(void)state;
	len = ias_der(s1, sizeof(s1), 0, &der);
	assert_int_equal(scep_ias_parse(der, (size_t)len, &ias), 0);
	assert_string_equal(ias.serial, "0ab2c3"); /* whole octets, lowercase (BN_bn2hex) */
	{
		X509_NAME *want = name("Test CA");

		assert_int_equal(X509_NAME_cmp(ias.issuer, want), 0);
		X509_NAME_free(want);
	}
	scep_ias_clear(&ias);
	/* trailing bytes and truncation */
	assert_int_equal(scep_ias_parse(der, (size_t)len - 1, &ias), -SGW_EPARSE);
	{
		unsigned char *more = malloc((size_t)len + 1);

		assert_non_null(more);
		memcpy(more, der, (size_t)len);
		more[len] = 0;
		assert_int_equal(scep_ias_parse(more, (size_t)len + 1, &ias), -SGW_EPARSE);
		free(more);
	}
	OPENSSL_free(der);

	len = ias_der(s0, sizeof(s0), 0, &der);
	assert_int_equal(scep_ias_parse(der, (size_t)len, &ias), 0);
	assert_string_equal(ias.serial, "0");
	scep_ias_clear(&ias);
	OPENSSL_free(der);

	len = ias_der(s1, sizeof(s1), 1, &der);
	assert_int_equal(scep_ias_parse(der, (size_t)len, &ias), -SGW_EPARSE);
	OPENSSL_free(der);

	memset(big, 0x7f, sizeof(big));
	len = ias_der(big, sizeof(big), 0, &der);
	assert_int_equal(scep_ias_parse(der, (size_t)len, &ias), -SGW_EPARSE);
	OPENSSL_free(der);
	len = ias_der(big, 20, 0, &der); /* 20 octets is the most RFC 5280 allows */
	assert_int_equal(scep_ias_parse(der, (size_t)len, &ias), 0);
	assert_int_equal(strlen(ias.serial), 40);
	scep_ias_clear(&ias);
	OPENSSL_free(der);

	assert_int_equal(scep_ias_parse(NULL, 4, &ias), -SGW_EINVAL);
	assert_int_equal(scep_ias_parse(s1, 0, &ias), -SGW_EINVAL);
	assert_int_equal(scep_ias_parse(s1, sizeof(s1), &ias), -SGW_EPARSE);
	scep_ias_clear(NULL);
}

static void
test_ias_subject(void **state)
{
	X509_NAME *iss = name("Test CA"), *sub = name("device1");
	int l1 = i2d_X509_NAME(iss, NULL), l2 = i2d_X509_NAME(sub, NULL);
	int tot = ASN1_object_size(1, l1 + l2, V_ASN1_SEQUENCE);
	unsigned char *buf = malloc((size_t)tot), *q = buf;
	struct scep_ias_subject got;
	struct scep_ias ias;

	(void)state;
	assert_non_null(buf);
	ASN1_put_object(&q, 1, l1 + l2, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
	i2d_X509_NAME(iss, &q);
	i2d_X509_NAME(sub, &q);
	assert_int_equal(scep_ias_subject_parse(buf, (size_t)tot, &got), 0);
	assert_int_equal(X509_NAME_cmp(got.issuer, iss), 0);
	assert_int_equal(X509_NAME_cmp(got.subject, sub), 0);
	scep_ias_subject_clear(&got);
	/* an IssuerAndSubject is not an IssuerAndSerialNumber, and vice versa */
	assert_int_equal(scep_ias_parse(buf, (size_t)tot, &ias), -SGW_EPARSE);
	assert_int_equal(scep_ias_subject_parse(buf, (size_t)tot - 1, &got), -SGW_EPARSE);
	assert_int_equal(scep_ias_subject_parse(buf, SCEP_IAS_MAX_DER + 1, &got), -SGW_EINVAL);
	scep_ias_subject_clear(NULL);
	free(buf);
	X509_NAME_free(iss);
	X509_NAME_free(sub);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ias),
	    cmocka_unit_test(test_ias_subject),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
