/* csr.c: PKCS#10 parsing (pure: no logging, no I/O, no globals).
 *
 * csr_parse checks the self-signature (proof of possession, RFC 8894 3.3.1)
 * and extracts the subject, its commonNames, the challengePassword (a
 * secret: wiped on free), the key type and size, the SPKI hash and (in
 * csr_san.c) every subjectAltName of the extensionRequest attribute. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "csr.h"
#include "csr_fast.h"
#include "csr_int.h"

/* Every commonName, UTF-8; c->cn is the first. */
static int
parse_cns(struct csr *c, const X509_NAME *name, struct sgw_err *err)
{
	char *v = NULL;
	int idx = -1, r;

	while ((idx = X509_NAME_get_index_by_NID(name, NID_commonName, idx)) >= 0) {
		r = csr_asn1_to_utf8(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)), &v);
		if (r < 0)
			return sgw_err_set(err, -r, "CSR commonName is not a valid string");
		r = csr_strlist_add(&c->cns, v, strlen(v));
		free(v);
		if (r < 0)
			return sgw_err_set(err, -r, "CSR has too many commonNames");
	}
	if (c->cns.n > 0 && (c->cn = strdup(c->cns.v[0])) == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	return 0;
}

static int
parse_subject(struct csr *c, struct sgw_err *err)
{
	const X509_NAME *name = X509_REQ_get_subject_name(c->req);
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int r = sgw_err_set(err, SGW_ENOMEM, "out of memory");

	if (bio == NULL)
		return r;
	/* RFC 2253 (4514) with UTF-8 kept as is rather than \XX-escaped */
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
		r = sgw_err_set(err, SGW_EPARSE, "CSR subject cannot be printed");
		goto out;
	}
	len = BIO_get_mem_data(bio, &data);
	c->subject = strndup(len > 0 ? data : "", len > 0 ? (size_t)len : 0);
	if (c->subject == NULL)
		goto out;
	r = parse_cns(c, name, err);
out:
	BIO_free(bio);
	return r;
}

int
csr_subject_all(const struct csr *c, int nid, int (*match)(const char *value, void *arg), void *arg)
{
	const X509_NAME *name = c->req != NULL ? X509_REQ_get_subject_name(c->req) : NULL;
	int idx = -1, seen = 0, ok;
	char *v;

	while (name != NULL && (idx = X509_NAME_get_index_by_NID(name, nid, idx)) >= 0) {
		if (csr_asn1_to_utf8(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)), &v) <
		    0)
			return 0;
		ok = match(v, arg);
		free(v);
		if (!ok)
			return 0;
		seen = 1;
	}
	return seen;
}

/* challengePassword ::= DirectoryString (PKCS#9); a single-valued attribute
 * that appears at most once. */
static int
parse_challenge(struct csr *c, struct sgw_err *err)
{
	X509_ATTRIBUTE *attr;
	const ASN1_TYPE *t;
	int idx, r;

	idx = X509_REQ_get_attr_by_NID(c->req, NID_pkcs9_challengePassword, -1);
	if (idx < 0)
		return 0;
	if (X509_REQ_get_attr_by_NID(c->req, NID_pkcs9_challengePassword, idx) >= 0)
		return sgw_err_set(err, SGW_EPARSE, "CSR has more than one challengePassword");
	attr = X509_REQ_get_attr(c->req, idx);
	if (X509_ATTRIBUTE_count(attr) != 1)
		return sgw_err_set(err, SGW_EPARSE, "CSR challengePassword is not single-valued");
	t = X509_ATTRIBUTE_get0_type(attr, 0);
	switch (t == NULL ? -1 : t->type) {
	case V_ASN1_PRINTABLESTRING:
	case V_ASN1_UTF8STRING:
	case V_ASN1_T61STRING:
	case V_ASN1_UNIVERSALSTRING:
	case V_ASN1_BMPSTRING:
	case V_ASN1_IA5STRING: /* not a DirectoryString, but sent by old clients */
		break;
	default:
		return sgw_err_set(err, SGW_EPARSE, "CSR challengePassword has a bad type");
	}
	r = csr_asn1_to_utf8(t->value.asn1_string, &c->challenge);
	if (r < 0)
		return sgw_err_set(err, -r, "CSR challengePassword is not a valid string");
	return 0;
}

static int
parse_key(struct csr *c, struct sgw_err *err)
{
	EVP_PKEY *pkey = X509_REQ_get0_pubkey(c->req);
	unsigned char *spki = NULL;
	unsigned int mdlen = 0;
	int len, ok;

	if (pkey == NULL)
		return sgw_err_set(err, SGW_EPARSE, "CSR public key does not parse");
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		c->key_type = CSR_KEY_RSA;
		break;
	case EVP_PKEY_EC:
		c->key_type = CSR_KEY_EC;
		break;
	default:
		c->key_type = 0;
		break;
	}
	c->key_bits = EVP_PKEY_get_bits(pkey);
	/* the SubjectPublicKeyInfo as decoded: i2d_PUBKEY(pkey) would run an
	 * OSSL_ENCODER to make the same bytes */
	len = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(c->req), &spki);
	if (len <= 0)
		return sgw_err_set(err, SGW_EPARSE, "CSR public key does not encode");
	ok = EVP_Digest(spki, (size_t)len, c->key_sha256, &mdlen, EVP_sha256(), NULL);
	OPENSSL_free(spki);
	if (!ok || mdlen != sizeof(c->key_sha256))
		return sgw_err_set(err, SGW_ENOMEM, "cannot hash the CSR public key");
	return 0;
}

static int
decode_verify(struct csr *c, const uint8_t *der, size_t len, struct sgw_err *err)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey;

	if (len == 0 || len > CSR_MAX_DER)
		return sgw_err_set(err, SGW_EPARSE, "CSR size %zu is out of bounds", len);
	/* most requests (RSA keys) without OpenSSL 3.0's key decoder */
	if (csr_fast_d2i(der, len, &c->req) < 0) {
		c->req = d2i_X509_REQ(NULL, &p, (long)len);
		if (c->req == NULL || p != der + len)
			return sgw_err_set(err, SGW_EPARSE, "CSR is not a DER PKCS#10 request");
	}
	c->der = malloc(len);
	if (c->der == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	memcpy(c->der, der, len);
	c->der_len = len;
	pkey = X509_REQ_get0_pubkey(c->req);
	if (pkey == NULL || X509_REQ_verify(c->req, pkey) != 1)
		return sgw_err_set(err, SGW_EAUTH,
				   "CSR signature does not verify (proof of possession)");
	return 0;
}

int
csr_parse(const uint8_t *der, size_t len, struct csr **ret, struct sgw_err *err)
{
	struct csr *c = calloc(1, sizeof(*c));
	int r;

	if (c == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	r = decode_verify(c, der, len, err);
	if (r == 0)
		r = parse_subject(c, err);
	if (r == 0)
		r = parse_challenge(c, err);
	if (r == 0)
		r = parse_key(c, err);
	if (r == 0)
		r = csr_san_parse(c, err);
	ERR_clear_error();
	if (r < 0) {
		csr_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

void
csr_free(struct csr *c)
{
	if (c == NULL)
		return;
	if (c->challenge != NULL) {
		OPENSSL_cleanse(c->challenge, strlen(c->challenge));
		free(c->challenge);
	}
	X509_REQ_free(c->req);
	if (c->der != NULL) /* the DER holds the challenge too */
		OPENSSL_cleanse(c->der, c->der_len);
	free(c->der);
	free(c->subject);
	free(c->cn);
	csr_strlist_free(&c->cns);
	csr_san_free(c);
	free(c);
}
