/* keyop_p11.c: token-backed EVP_PKEYs (keyop_p11.h).
 *
 * The one file that uses OpenSSL's deprecated RSA_METHOD / EC_KEY_METHOD
 * API: OpenSSL 3.0 treats an RSA or EC key with its own method as a
 * "foreign" key and routes every operation on it (CMS, X.509 and CRL
 * signing, EVP_DigestSign) to the method, which here calls C_Sign or
 * C_Decrypt.  The non-deprecated way is a provider; Debian 12 has no
 * pkcs11-provider and writing one (key management, signature and
 * asymmetric-cipher dispatch tables) is much more code for the same four
 * calls.  When pkcs11-provider can be assumed, this file is what changes. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <pthread.h>

#include <openssl/asn1.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include "keyop_p11.h"

static RSA_METHOD *rsa_meth;
static EC_KEY_METHOD *ec_meth;
static int rsa_idx = -1, ec_idx = -1;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int
rsa_priv_enc(int flen, const unsigned char *from, unsigned char *to, RSA *rsa, int padding)
{
	struct p11_key *k = RSA_get_ex_data(rsa, rsa_idx);
	size_t n = (size_t)RSA_size(rsa);

	if (k == NULL || padding != RSA_PKCS1_PADDING || flen < 0 ||
	    p11_key_op(k, P11_SIGN_RSA_PKCS, from, (size_t)flen, to, &n) < 0)
		return -1;
	return (int)n;
}

static int
rsa_priv_dec(int flen, const unsigned char *from, unsigned char *to, RSA *rsa, int padding)
{
	struct p11_key *k = RSA_get_ex_data(rsa, rsa_idx);
	size_t size = (size_t)RSA_size(rsa), n = size;
	enum p11_mech m;

	if (padding == RSA_PKCS1_PADDING)
		m = P11_DECRYPT_RSA_PKCS;
	else if (padding == RSA_PKCS1_OAEP_PADDING)
		m = P11_DECRYPT_RSA_OAEP;
	else if (padding == RSA_NO_PADDING)
		m = P11_DECRYPT_RSA_X509;
	else
		return -1;
	if (k == NULL || flen < 0 || p11_key_op(k, m, from, (size_t)flen, to, &n) < 0)
		return -1;
	if (m == P11_DECRYPT_RSA_X509 && n < size) {
		/* raw RSA is the full modulus length: OpenSSL's OAEP check
		 * (which runs after it) wants the leading zeros back */
		memmove(to + (size - n), to, n);
		memset(to, 0, size - n);
		n = size;
	}
	return (int)n;
}

static ECDSA_SIG *
ec_sign_sig(const unsigned char *dgst, int dlen, const BIGNUM *kinv, const BIGNUM *r, EC_KEY *ec)
{
	struct p11_key *k = EC_KEY_get_ex_data(ec, ec_idx);
	unsigned char raw[2 * 66];
	size_t n = sizeof(raw);
	ECDSA_SIG *sig = NULL;
	BIGNUM *br = NULL, *bs = NULL;

	(void)kinv;
	(void)r;
	if (k == NULL || dlen < 0 ||
	    p11_key_op(k, P11_SIGN_ECDSA, dgst, (size_t)dlen, raw, &n) < 0 || n == 0 || n % 2 != 0)
		return NULL;
	br = BN_bin2bn(raw, (int)(n / 2), NULL);
	bs = BN_bin2bn(raw + n / 2, (int)(n / 2), NULL);
	if (br == NULL || bs == NULL || (sig = ECDSA_SIG_new()) == NULL ||
	    ECDSA_SIG_set0(sig, br, bs) != 1) {
		BN_free(br);
		BN_free(bs);
		ECDSA_SIG_free(sig);
		return NULL;
	}
	return sig;
}

static void
init(void)
{
	int (*sign)(int, const unsigned char *, int, unsigned char *, unsigned int *,
		    const BIGNUM *, const BIGNUM *, EC_KEY *) = NULL;

	rsa_idx = RSA_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	ec_idx = EC_KEY_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if ((rsa_meth = RSA_meth_dup(RSA_PKCS1_OpenSSL())) != NULL) {
		RSA_meth_set1_name(rsa_meth, "scepgw pkcs11");
		RSA_meth_set_priv_enc(rsa_meth, rsa_priv_enc);
		RSA_meth_set_priv_dec(rsa_meth, rsa_priv_dec);
	}
	if ((ec_meth = EC_KEY_METHOD_new(EC_KEY_OpenSSL())) != NULL) {
		EC_KEY_METHOD_get_sign(ec_meth, &sign, NULL, NULL);
		EC_KEY_METHOD_set_sign(ec_meth, sign, NULL, ec_sign_sig);
	}
}

/* Freed at exit, so that the sanitizers see no leak; NULL when no token
 * key was ever loaded (EC_KEY_METHOD_free does not accept NULL). */
__attribute__((destructor)) static void
fini(void)
{
	if (rsa_meth != NULL)
		RSA_meth_free(rsa_meth);
	if (ec_meth != NULL)
		EC_KEY_METHOD_free(ec_meth);
}

static EVP_PKEY *
rsa_pkey(struct p11_key *k)
{
	const uint8_t *a, *b;
	size_t al, bl;
	RSA *rsa = RSA_new();
	BIGNUM *n, *e;
	EVP_PKEY *pkey = EVP_PKEY_new();

	p11_key_public(k, &a, &al, &b, &bl);
	n = BN_bin2bn(a, (int)al, NULL);
	e = BN_bin2bn(b, (int)bl, NULL);
	if (rsa == NULL || pkey == NULL || n == NULL || e == NULL ||
	    RSA_set_method(rsa, rsa_meth) != 1 || RSA_set0_key(rsa, n, e, NULL) != 1) {
		BN_free(n);
		BN_free(e);
		goto fail;
	}
	if (RSA_set_ex_data(rsa, rsa_idx, k) != 1 || EVP_PKEY_assign_RSA(pkey, rsa) != 1)
		goto fail;
	return pkey;
fail:
	RSA_free(rsa);
	EVP_PKEY_free(pkey);
	return NULL;
}

static EVP_PKEY *
ec_pkey(struct p11_key *k)
{
	const uint8_t *a, *b, *p;
	size_t al, bl;
	EC_KEY *ec = EC_KEY_new();
	ASN1_OCTET_STRING *pt = NULL;
	EVP_PKEY *pkey = EVP_PKEY_new();

	p11_key_public(k, &a, &al, &b, &bl);
	if (ec == NULL || pkey == NULL || EC_KEY_set_method(ec, ec_meth) != 1)
		goto fail;
	p = a;
	if (d2i_ECParameters(&ec, &p, (long)al) == NULL)
		goto fail;
	p = b;
	if ((pt = d2i_ASN1_OCTET_STRING(NULL, &p, (long)bl)) == NULL)
		goto fail;
	p = ASN1_STRING_get0_data(pt);
	if (o2i_ECPublicKey(&ec, &p, ASN1_STRING_length(pt)) == NULL ||
	    EC_KEY_set_ex_data(ec, ec_idx, k) != 1 || EVP_PKEY_assign_EC_KEY(pkey, ec) != 1)
		goto fail;
	ASN1_OCTET_STRING_free(pt);
	return pkey;
fail:
	ASN1_OCTET_STRING_free(pt);
	EC_KEY_free(ec);
	EVP_PKEY_free(pkey);
	return NULL;
}

EVP_PKEY *
keyop_p11_pkey(struct p11_key *k)
{
	pthread_once(&once, init);
	if (rsa_meth == NULL || ec_meth == NULL || rsa_idx < 0 || ec_idx < 0)
		return NULL;
	return p11_key_type(k) == P11_KEY_RSA ? rsa_pkey(k) : ec_pkey(k);
}
