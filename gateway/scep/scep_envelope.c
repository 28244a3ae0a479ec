/* scep_envelope.c: the pkcsPKIEnvelope (RFC 8894 3.2.2), CMS EnvelopedData
 * with key transport to an RSA certificate, identified by
 * issuerAndSerialNumber. */
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>

#include "scep_envelope.h"

#define SCEP_ENVELOPE_MAX_LEN (1024 * 1024)

/* OpenSSL 3.0 has no CMS getter for the content-encryption algorithm, so
 * read it through the public PKCS7 structures (docs/protocol-notes.md 3.1).  This
 * parses issuerAndSerialNumber recipients only, which is what SCEP uses. */
int
scep_envelope_cipher(const uint8_t *der, size_t len, int *ret_nid)
{
	const unsigned char *p = der;
	PKCS7 *p7;
	int r = -SGW_EPARSE;

	if (der == NULL || len == 0 || len > SCEP_ENVELOPE_MAX_LEN)
		return -SGW_EPARSE;
	p7 = d2i_PKCS7(NULL, &p, (long)len);
	if (p7 == NULL || p != der + len || !PKCS7_type_is_enveloped(p7) ||
	    p7->d.enveloped == NULL || p7->d.enveloped->enc_data == NULL ||
	    p7->d.enveloped->enc_data->algorithm == NULL)
		goto out;
	*ret_nid = OBJ_obj2nid(p7->d.enveloped->enc_data->algorithm->algorithm);
	r = 0;
out:
	ERR_clear_error();
	PKCS7_free(p7);
	return r;
}

int
scep_envelope_cipher_allowed(int nid, int allow_single_des)
{
	switch (nid) {
	case NID_aes_128_cbc:
	case NID_aes_192_cbc:
	case NID_aes_256_cbc:
	case NID_des_ede3_cbc:
		return 1;
	case NID_des_cbc:
		return allow_single_des != 0;
	}
	return 0;
}

/* Move a memory BIO's contents into a malloc'd buffer. */
static int
bio_take(BIO *b, uint8_t **ret_data, size_t *ret_len)
{
	char *mem;
	long n = BIO_get_mem_data(b, &mem);
	uint8_t *buf;

	if (n < 0)
		return -SGW_ENOMEM;
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf == NULL)
		return -SGW_ENOMEM;
	if (n > 0)
		memcpy(buf, mem, (size_t)n);
	*ret_data = buf;
	*ret_len = (size_t)n;
	return 0;
}

int
scep_envelope_decrypt(const uint8_t *der, size_t len, const struct keyop_key *key, X509 *cert,
		      int allow_single_des, uint8_t **ret_data, size_t *ret_len,
		      int *ret_cipher_nid, struct sgw_err *err)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = NULL;
	BIO *out = NULL;
	int nid, r;

	if (scep_envelope_cipher(der, len, &nid) < 0)
		return sgw_err_set(err, SGW_EPARSE, "pkcsPKIEnvelope is not EnvelopedData");
	if (!scep_envelope_cipher_allowed(nid, allow_single_des))
		return sgw_err_set(err, SGW_EALG, "content cipher %s not allowed",
				   nid == NID_undef ? "unknown" : OBJ_nid2sn(nid));
	cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	out = BIO_new(BIO_s_mem());
	if (cms == NULL || out == NULL) {
		r = sgw_err_set(err, cms == NULL ? SGW_EPARSE : SGW_ENOMEM,
				"cannot parse pkcsPKIEnvelope");
		goto out;
	}
	if (keyop_cms_decrypt(key, cert, cms, out) < 0) {
		r = sgw_err_set(err, SGW_EAUTH, "cannot decrypt pkcsPKIEnvelope (%s)",
				OBJ_nid2sn(nid));
		goto out;
	}
	if ((r = bio_take(out, ret_data, ret_len)) < 0) {
		sgw_err_set(err, r, "out of memory");
		goto out;
	}
	*ret_cipher_nid = nid;
	r = 0;
out:
	ERR_clear_error();
	BIO_free(out);
	CMS_ContentInfo_free(cms);
	return r;
}

static int
encrypt_der(BIO *in, X509 *recipient, const EVP_CIPHER *cipher, uint8_t **ret_der, size_t *ret_len)
{
	STACK_OF(X509) *recips = sk_X509_new_null();
	CMS_ContentInfo *cms = NULL;
	unsigned char *der = NULL;
	int n, r = -SGW_ENOMEM;

	if (recips == NULL || !sk_X509_push(recips, recipient))
		goto out;
	cms = CMS_encrypt(recips, in, cipher, CMS_BINARY);
	if (cms == NULL) {
		r = -SGW_EALG;
		goto out;
	}
	n = i2d_CMS_ContentInfo(cms, &der);
	if (n <= 0)
		goto out;
	*ret_der = malloc((size_t)n);
	if (*ret_der == NULL)
		goto out;
	memcpy(*ret_der, der, (size_t)n);
	*ret_len = (size_t)n;
	r = 0;
out:
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	sk_X509_free(recips);
	return r;
}

int
scep_envelope_encrypt(const uint8_t *data, size_t len, X509 *recipient, int cipher_nid,
		      uint8_t **ret_der, size_t *ret_len, struct sgw_err *err)
{
	EVP_CIPHER *cipher = NULL;
	BIO *in = NULL;
	int r;

	if (data == NULL || recipient == NULL || len > SCEP_ENVELOPE_MAX_LEN)
		return sgw_err_set(err, SGW_EINVAL, "nothing to encrypt");
	if (!scep_envelope_cipher_allowed(cipher_nid, 1))
		return sgw_err_set(err, SGW_EALG, "cipher NID %d not supported", cipher_nid);
	cipher = EVP_CIPHER_fetch(NULL, OBJ_nid2sn(cipher_nid), NULL);
	if (cipher == NULL) {
		r = sgw_err_set(err, SGW_EALG, "cipher %s unavailable (legacy provider?)",
				OBJ_nid2sn(cipher_nid));
		goto out;
	}
	in = BIO_new_mem_buf(data, (int)len);
	if (in == NULL) {
		r = sgw_err_set(err, SGW_ENOMEM, "out of memory");
		goto out;
	}
	r = encrypt_der(in, recipient, cipher, ret_der, ret_len);
	if (r < 0)
		sgw_err_set(err, r, "cannot encrypt to the requester with %s",
			    OBJ_nid2sn(cipher_nid));
out:
	ERR_clear_error();
	BIO_free(in);
	EVP_CIPHER_free(cipher);
	return r;
}

/* The providers loaded by scep_envelope_enable_legacy (a process-wide
 * registration like the SCEP OIDs: set at startup, cleared at shutdown). */
static struct {
	OSSL_PROVIDER *legacy, *dflt;
} legacy_provs;

/* Loading any provider explicitly stops the implicit load of "default", so
 * load it again. */
int
scep_envelope_enable_legacy(void)
{
	if (legacy_provs.legacy != NULL)
		return 0;
	legacy_provs.legacy = OSSL_PROVIDER_load(NULL, "legacy");
	legacy_provs.dflt = OSSL_PROVIDER_load(NULL, "default");
	if (legacy_provs.legacy == NULL || legacy_provs.dflt == NULL) {
		ERR_clear_error();
		scep_envelope_disable_legacy();
		return -SGW_EALG;
	}
	return 0;
}

void
scep_envelope_disable_legacy(void)
{
	if (legacy_provs.legacy != NULL)
		OSSL_PROVIDER_unload(legacy_provs.legacy);
	if (legacy_provs.dflt != NULL)
		OSSL_PROVIDER_unload(legacy_provs.dflt);
	legacy_provs.legacy = NULL;
	legacy_provs.dflt = NULL;
}
