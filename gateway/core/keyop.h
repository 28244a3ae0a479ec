/* keyop.h: the holder of the private keys the gateway signs and decrypts with
 * (RA signer and decrypter, local CA, ACME account; docs/conventions.md 12).
 * Everything else names keys by id and asks keyop to use them.  Keys are
 * immutable after loading, so operations may run on any worker thread.  Two
 * keys are not here: a TLS listener's key goes to OpenSSL's SSL_CTX by path
 * (gateway/http/http_tls.c) and the EJBCA client key to libcurl by path
 * (backends/ejbca/ejbca.c), each after secret_file_check(). */
#ifndef SGW_KEYOP_H
#define SGW_KEYOP_H

#include <openssl/cms.h>
#include <openssl/x509.h>

#include "err.h"

struct keyop;	  /* the key table */
struct keyop_key; /* one private key */

struct keyop *keyop_new(void);
void keyop_free(struct keyop *k);

/* The configuration's pkcs11 section (module path, PIN file; NULL when
 * absent), for the keys loaded after it by URI. */
int keyop_set_pkcs11(struct keyop *k, const char *module, const char *pin_file);

/* Load a PEM private key under `id` ("ra:dmz:sign", "ca:local-ca"), read
 * with secret_file_read() (owner and mode checked), or, when `path` is an
 * RFC 7512 "pkcs11:" URI, open that key on the token (p11_token.h): it
 * signs and decrypts there.  Loading an id twice is -SGW_EEXIST. */
int keyop_load(struct keyop *k, const char *id, const char *path, struct sgw_err *err);
const struct keyop_key *keyop_find(const struct keyop *k, const char *id);

/* 1 when the certificate's public key belongs to this private key. */
int keyop_matches_cert(const struct keyop_key *key, X509 *cert);
/* EVP_PKEY_RSA, EVP_PKEY_EC, ... */
int keyop_key_type(const struct keyop_key *key);

/* 1 while the key's token cannot be reached (a file key: never).  After a
 * failed operation, tells "the token is away, try later" (HTTP 503) from
 * "the input is bad". */
int keyop_unavailable(const struct keyop_key *key);

/* CMS_decrypt with this key; `cert` selects our RecipientInfo among several.
 * -SGW_EUNAVAIL when the key's token cannot be reached. */
int keyop_cms_decrypt(const struct keyop_key *key, X509 *cert, CMS_ContentInfo *cms, BIO *out);
/* CMS_add1_signer with this key; NULL on failure. */
CMS_SignerInfo *keyop_cms_add_signer(const struct keyop_key *key, CMS_ContentInfo *cms, X509 *cert,
				     const EVP_MD *md, unsigned int flags);
/* X509_sign with this key. */
int keyop_x509_sign(const struct keyop_key *key, X509 *x, const EVP_MD *md);
/* X509_CRL_sign with this key (the local CA's CRLs). */
int keyop_crl_sign(const struct keyop_key *key, X509_CRL *crl, const EVP_MD *md);

/* Load the key at `path` under `id`, or, when the file does not exist yet,
 * generate one (EVP_PKEY_EC: P-256; EVP_PKEY_RSA: `bits`), write it with
 * O_EXCL and mode 0600, and load that.  For keys the gateway owns (the ACME
 * account key).  1 when a key was created, 0 when loaded, or -SGW_E*. */
int keyop_load_or_create(struct keyop *k, const char *id, const char *path, int type, int bits,
			 struct sgw_err *err);
/* A JWS signature (RFC 7518 3.3, 3.4) over data with SHA-256: RSASSA-PKCS1-v1_5
 * for RSA keys, the raw r||s (2 x 32 bytes for P-256) for EC keys.  *ret_sig
 * is malloc'd. */
int keyop_sign_jws(const struct keyop_key *key, const unsigned char *data, size_t len,
		   unsigned char **ret_sig, size_t *ret_len);
/* A new EVP_PKEY holding only the public half; NULL on failure. */
EVP_PKEY *keyop_public(const struct keyop_key *key);

#endif
