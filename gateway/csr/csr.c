/* csr.c: PKCS#10 parsing (pure: no logging, no I/O, no globals).
 *
 * csr_parse checks the self-signature (proof of possession, RFC 8894 3.3.1)
 * and extracts the subject, the first CN, the challengePassword (a secret:
 * wiped on free), the key type and size, the SPKI hash and the SANs of the
 * extensionRequest attribute. */
#include <arpa/inet.h>
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

static void
strlist_free(struct cfg_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int
strlist_add(struct cfg_strlist *l, const char *s, size_t len)
{
	char **v;
	char *copy;

	if (l->n >= CSR_MAX_SANS)
		return -SGW_EPARSE;
	copy = strndup(s, len);
	if (copy == NULL)
		return -SGW_ENOMEM;
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (v == NULL) {
		free(copy);
		return -SGW_ENOMEM;
	}
	v[l->n++] = copy;
	l->v = v;
	return 0;
}

/* Any ASN.1 string type to a NUL-terminated UTF-8 copy; embedded NULs are
 * refused (they would truncate the value for later string compares). */
static int
asn1_to_utf8(const ASN1_STRING *s, char **ret)
{
	unsigned char *utf8 = NULL;
	char *copy;
	int n;

	n = ASN1_STRING_to_UTF8(&utf8, s);
	if (n < 0)
		return -SGW_EPARSE;
	if (memchr(utf8, '\0', (size_t)n) != NULL) {
		OPENSSL_clear_free(utf8, (size_t)n);
		return -SGW_EPARSE;
	}
	copy = malloc((size_t)n + 1);
	if (copy != NULL) {
		memcpy(copy, utf8, (size_t)n);
		copy[n] = '\0';
	}
	OPENSSL_clear_free(utf8, (size_t)n);
	if (copy == NULL)
		return -SGW_ENOMEM;
	*ret = copy;
	return 0;
}

static int
parse_subject(struct csr *c, struct sgw_err *err)
{
	const X509_NAME *name = X509_REQ_get_subject_name(c->req);
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int idx, r = sgw_err_set(err, SGW_ENOMEM, "out of memory");

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
	idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	r = 0;
	if (idx >= 0) {
		r = asn1_to_utf8(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)), &c->cn);
		if (r < 0)
			sgw_err_set(err, -r, "CSR commonName is not a valid string");
	}
out:
	BIO_free(bio);
	return r;
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
	r = asn1_to_utf8(t->value.asn1_string, &c->challenge);
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
add_ip(struct cfg_strlist *l, const ASN1_OCTET_STRING *ip)
{
	char buf[INET6_ADDRSTRLEN];
	int len = ASN1_STRING_length(ip);
	int af = len == 4 ? AF_INET : len == 16 ? AF_INET6 : -1;

	if (af < 0 || inet_ntop(af, ASN1_STRING_get0_data(ip), buf, sizeof(buf)) == NULL)
		return -SGW_EPARSE;
	return strlist_add(l, buf, strlen(buf));
}

static int
add_ia5(struct cfg_strlist *l, const ASN1_IA5STRING *s)
{
	const char *p = (const char *)ASN1_STRING_get0_data(s);
	int len = ASN1_STRING_length(s);

	if (len <= 0 || memchr(p, '\0', (size_t)len) != NULL)
		return -SGW_EPARSE;
	return strlist_add(l, p, (size_t)len);
}

static int
add_general_name(struct csr *c, const GENERAL_NAME *gn)
{
	switch (gn->type) {
	case GEN_DNS:
		return add_ia5(&c->san_dns, gn->d.dNSName);
	case GEN_EMAIL:
		return add_ia5(&c->san_email, gn->d.rfc822Name);
	case GEN_URI:
		return add_ia5(&c->san_uri, gn->d.uniformResourceIdentifier);
	case GEN_IPADD:
		return add_ip(&c->san_ip, gn->d.iPAddress);
	default:
		return 0; /* otherName, directoryName, ...: not extracted */
	}
}

static int
parse_sans(struct csr *c, struct sgw_err *err)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(c->req);
	GENERAL_NAMES *gens = NULL;
	int crit = -1, r = sgw_err_set(err, SGW_EPARSE, "CSR extensionRequest does not parse");

	if (exts == NULL)
		return r;
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL) {
		if (crit == -1)
			r = 0; /* no SAN extension */
		else if (crit == -2)
			r = sgw_err_set(err, SGW_EPARSE, "CSR requests subjectAltName twice");
		else
			r = sgw_err_set(err, SGW_EPARSE, "CSR subjectAltName does not parse");
		goto out;
	}
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		r = add_general_name(c, sk_GENERAL_NAME_value(gens, i));
		if (r < 0) {
			sgw_err_set(err, -r, "CSR subjectAltName entry %d is invalid", i);
			goto out;
		}
	}
	r = 0;
out:
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return r;
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
		r = parse_sans(c, err);
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
	strlist_free(&c->san_dns);
	strlist_free(&c->san_ip);
	strlist_free(&c->san_email);
	strlist_free(&c->san_uri);
	free(c);
}
