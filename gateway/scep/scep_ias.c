/* scep_ias.c: IssuerAndSerialNumber and IssuerAndSubject (pure, fuzzed). */
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/pkcs7.h>

#include "scep_ias.h"

typedef struct {
	X509_NAME *issuer;
	X509_NAME *subject;
} SCEP_ISSUER_AND_SUBJECT;

ASN1_SEQUENCE(SCEP_ISSUER_AND_SUBJECT) =
    {
	ASN1_SIMPLE(SCEP_ISSUER_AND_SUBJECT, issuer, X509_NAME),
	ASN1_SIMPLE(SCEP_ISSUER_AND_SUBJECT, subject, X509_NAME),
} ASN1_SEQUENCE_END(SCEP_ISSUER_AND_SUBJECT)

	IMPLEMENT_ASN1_FUNCTIONS(SCEP_ISSUER_AND_SUBJECT)

	    static const char hexdigits[] = "0123456789abcdef";

/* Positive INTEGER of at most 20 octets -> the form the store keeps
 * (txn_cert_serial, BN_bn2hex): lowercase, two digits per octet, no leading
 * zero octet ("0" for zero). */
static int
serial_hex(const ASN1_INTEGER *a, char *buf, size_t size)
{
	const unsigned char *p = ASN1_STRING_get0_data(a);
	int n = ASN1_STRING_length(a);
	size_t off = 0;

	if (ASN1_STRING_type(a) != V_ASN1_INTEGER || n < 0 || n > SCEP_SERIAL_MAX_OCTETS)
		return -SGW_EPARSE;
	while (n > 0 && *p == 0) {
		p++;
		n--;
	}
	for (int i = 0; i < n; i++) {
		if (off + 2 >= size)
			return -SGW_EPARSE;
		buf[off++] = hexdigits[p[i] >> 4];
		buf[off++] = hexdigits[p[i] & 0x0f];
	}
	if (off == 0)
		buf[off++] = '0';
	buf[off] = '\0';
	return 0;
}

int
scep_ias_parse(const uint8_t *der, size_t len, struct scep_ias *ret)
{
	const unsigned char *p = der;
	PKCS7_ISSUER_AND_SERIAL *ias;
	int r = -SGW_EPARSE;

	if (der == NULL || len == 0 || len > SCEP_IAS_MAX_DER || ret == NULL)
		return -SGW_EINVAL;
	ias = d2i_PKCS7_ISSUER_AND_SERIAL(NULL, &p, (long)len);
	if (ias == NULL || p != der + len)
		goto out;
	memset(ret, 0, sizeof(*ret));
	if (serial_hex(ias->serial, ret->serial, sizeof(ret->serial)) < 0)
		goto out;
	ret->issuer = ias->issuer;
	ias->issuer = NULL;
	r = 0;
out:
	PKCS7_ISSUER_AND_SERIAL_free(ias);
	ERR_clear_error();
	return r;
}

void
scep_ias_clear(struct scep_ias *ias)
{
	if (ias == NULL)
		return;
	X509_NAME_free(ias->issuer);
	memset(ias, 0, sizeof(*ias));
}

int
scep_ias_subject_parse(const uint8_t *der, size_t len, struct scep_ias_subject *ret)
{
	const unsigned char *p = der;
	SCEP_ISSUER_AND_SUBJECT *ias;
	int r = -SGW_EPARSE;

	if (der == NULL || len == 0 || len > SCEP_IAS_MAX_DER || ret == NULL)
		return -SGW_EINVAL;
	ias = d2i_SCEP_ISSUER_AND_SUBJECT(NULL, &p, (long)len);
	if (ias != NULL && p == der + len) {
		ret->issuer = ias->issuer;
		ret->subject = ias->subject;
		ias->issuer = NULL;
		ias->subject = NULL;
		r = 0;
	}
	SCEP_ISSUER_AND_SUBJECT_free(ias);
	ERR_clear_error();
	return r;
}

void
scep_ias_subject_clear(struct scep_ias_subject *ias)
{
	if (ias == NULL)
		return;
	X509_NAME_free(ias->issuer);
	X509_NAME_free(ias->subject);
	memset(ias, 0, sizeof(*ias));
}
