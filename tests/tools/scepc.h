/* scepc.h: the client side of SCEP shared by the test client (scepreq) and
 * the load tool (sgwload): the SCEP attribute OIDs, GetCACert's content
 * types, the CSR, the self-signed signer certificate and the pkiMessage.
 * OpenSSL API only and independent of the gateway's codec (gateway/scep_*.c),
 * so both tools check the gateway rather than agree with it. */
#ifndef SGW_SCEPC_H
#define SGW_SCEPC_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define SCEPC_NONCE_LEN 16

struct scepc_nids {
	int msgtype, status, failinfo, snonce, rnonce, txid, failtext;
};

/* The SCEP OIDs, registered on the first call (make it before starting
 * threads); NULL when OpenSSL refuses them. */
const struct scepc_nids *scepc_nids(void);

/* ctype (a Content-Type header, may be NULL) names the media type want,
 * parameters allowed. */
int scepc_ctype_is(const char *ctype, const char *want);

/* A name with one CN (UTF-8), or with a leading '/' a whole subject
 * ("/CN=a/O=b"); the caller frees it. */
X509_NAME *scepc_cn_name(const char *cn);

struct scepc_csr {
	const char *cn;
	const char *challenge;	 /* NULL: no challengePassword */
	int challenge_utf8;	 /* 1 UTF8String, 0 PrintableString, -1 Printable when it can */
	const char *const *sans; /* dNSName entries of an extensionRequest */
	int nsans;
	const EVP_MD *md;
};

/* The DER of a PKCS#10 request for key, signed with it (*der: OPENSSL_free). */
int scepc_make_csr(const struct scepc_csr *c, EVP_PKEY *key, unsigned char **der, int *len);

/* The self-signed signer certificate of a request: subject and issuer CN=cn,
 * valid from 5 minutes before now + skew to 7 days after. */
X509 *scepc_make_signer(const char *cn, EVP_PKEY *key, const EVP_MD *md, long skew);

/* The content-encryption algorithm of a DER EnvelopedData (NID_undef when it
 * is not one; OpenSSL 3.0's CMS has no getter for it). */
int scepc_envelope_cipher_nid(const unsigned char *p, long n);

struct scepc_wrap {
	int msg_type;
	const char *txid;
	const unsigned char *nonce; /* SCEPC_NONCE_LEN bytes */
	X509 *signer;
	EVP_PKEY *key; /* signs */
	X509 *ra_enc;  /* the envelope's recipient */
	const EVP_MD *md;
	const EVP_CIPHER *cipher;
	int set_signing_time; /* and add signingTime, now + signing_time_offset */
	long signing_time_offset;
	int corrupt_sig; /* flip a byte of the signature (negative tests) */
	int oaep;	 /* key transport with RSAES-OAEP (SHA-1) instead of PKCS#1 v1.5 */
};

/* pkiMessage = SignedData(id-data, DER EnvelopedData(data)) with the SCEP
 * signed attributes: 0 and *der (OPENSSL_free), or -1 with *why saying which
 * step failed (OpenSSL's error queue has the rest). */
int scepc_wrap(const struct scepc_wrap *w, const unsigned char *data, int len, unsigned char **der,
	       size_t *derlen, const char **why);

#endif
