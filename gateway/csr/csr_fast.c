/* csr_fast.c: PKCS#10 decoding without OpenSSL 3.0's key decoder.
 *
 * d2i_X509_REQ decodes the SubjectPublicKeyInfo through an OSSL_DECODER
 * context, which OpenSSL 3.0 builds anew for every key by walking every
 * provider's decoders under a global read lock: 90-140 us per CSR here, most
 * of the CPU of parsing one (docs/benchmarks.md).  This reads the request with
 * a template whose SubjectPublicKeyInfo is only an algorithm and a bit string,
 * makes the RSA key with d2i_PublicKey (no decoder), and builds an X509_REQ
 * from the parts with the public setters.  It is used only when that request
 * encodes back to the input byte for byte, so what the rest of scepgw sees is
 * what d2i_X509_REQ would have made of the same bytes; anything else (other
 * key types, non-DER input, attributes out of DER order) goes the slow way. */
#include <limits.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "csr_fast.h"
#include "err.h"

typedef struct {
	X509_ALGOR *alg;
	ASN1_BIT_STRING *key;
} CSRF_SPKI;

typedef struct {
	ASN1_INTEGER *version;
	X509_NAME *subject;
	CSRF_SPKI *spki;
	STACK_OF(X509_ATTRIBUTE) * attributes;
} CSRF_INFO;

typedef struct {
	CSRF_INFO *info;
	X509_ALGOR *sig_alg;
	ASN1_BIT_STRING *sig;
} CSRF_REQ;

/* RFC 2986 4.1 and 4.2, with the key left undecoded */
/* clang-format off */
ASN1_SEQUENCE(CSRF_SPKI) = {
	ASN1_SIMPLE(CSRF_SPKI, alg, X509_ALGOR),
	ASN1_SIMPLE(CSRF_SPKI, key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(CSRF_SPKI)

ASN1_SEQUENCE(CSRF_INFO) = {
	ASN1_SIMPLE(CSRF_INFO, version, ASN1_INTEGER),
	ASN1_SIMPLE(CSRF_INFO, subject, X509_NAME),
	ASN1_SIMPLE(CSRF_INFO, spki, CSRF_SPKI),
	ASN1_IMP_SET_OF(CSRF_INFO, attributes, X509_ATTRIBUTE, 0),
} static_ASN1_SEQUENCE_END(CSRF_INFO)

ASN1_SEQUENCE(CSRF_REQ) = {
	ASN1_SIMPLE(CSRF_REQ, info, CSRF_INFO),
	ASN1_SIMPLE(CSRF_REQ, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(CSRF_REQ, sig, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(CSRF_REQ)

static int rebuild(const CSRF_REQ *f, EVP_PKEY *key, X509_REQ *req);
/* clang-format on */

/* The request from the parts of f, with key as its public key. */
static int
rebuild(const CSRF_REQ *f, EVP_PKEY *key, X509_REQ *req)
{
	const CSRF_INFO *in = f->info;
	ASN1_BIT_STRING *sig;

	if (!X509_REQ_set_version(req, ASN1_INTEGER_get(in->version)) ||
	    !X509_REQ_set_subject_name(req, in->subject) || !X509_REQ_set_pubkey(req, key))
		return -SGW_ENOMEM;
	for (int i = 0; i < sk_X509_ATTRIBUTE_num(in->attributes); i++)
		if (!X509_REQ_add1_attr(req, sk_X509_ATTRIBUTE_value(in->attributes, i)))
			return -SGW_ENOMEM;
	if (!X509_REQ_set1_signature_algo(req, f->sig_alg) ||
	    (sig = ASN1_STRING_dup(f->sig)) == NULL)
		return -SGW_ENOMEM;
	X509_REQ_set0_signature(req, sig);
	return 0;
}

int
csr_fast_d2i(const uint8_t *der, size_t len, X509_REQ **ret)
{
	const unsigned char *p = der;
	CSRF_REQ *f;
	EVP_PKEY *key = NULL;
	X509_REQ *req = NULL;
	unsigned char *enc = NULL;
	int n, r = -SGW_EPARSE;

	*ret = NULL;
	if (len == 0 || len > LONG_MAX)
		return r;
	f = (CSRF_REQ *)ASN1_item_d2i(NULL, &p, (long)len, ASN1_ITEM_rptr(CSRF_REQ));
	if (f == NULL || p != der + len ||
	    OBJ_obj2nid(f->info->spki->alg->algorithm) != NID_rsaEncryption)
		goto out;
	p = f->info->spki->key->data;
	key = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, f->info->spki->key->length);
	if (key == NULL)
		goto out;
	if ((req = X509_REQ_new()) == NULL || (r = rebuild(f, key, req)) < 0)
		goto out;
	r = -SGW_EPARSE;
	n = i2d_X509_REQ(req, &enc);
	if (n < 0 || (size_t)n != len || memcmp(enc, der, len) != 0)
		goto out;
	*ret = req;
	req = NULL;
	r = 0;
out:
	OPENSSL_free(enc);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	ASN1_item_free((ASN1_VALUE *)f, ASN1_ITEM_rptr(CSRF_REQ));
	return r;
}
