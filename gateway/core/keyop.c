/* keyop.c: the key table.  The only file that holds EVP_PKEYs; PEM buffers
 * are read into memory that is wiped after parsing (acme-client purge_key). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "keyop.h"
#include "keyop_p11.h"
#include "p11_uri.h"
#include "secret_file.h"

#define KEYOP_MAX_KEYS 64
#define KEYOP_MAX_FILE (64 * 1024)

struct keyop_key {
	char *id;
	EVP_PKEY *pkey;
	struct p11_key *p11; /* a token key: pkey calls it */
};

struct keyop {
	struct keyop_key keys[KEYOP_MAX_KEYS];
	size_t n;
	char *p11_module, *p11_pin_file;
};

struct keyop *
keyop_new(void)
{
	return calloc(1, sizeof(struct keyop));
}

void
keyop_free(struct keyop *k)
{
	if (k == NULL)
		return;
	for (size_t i = 0; i < k->n; i++) {
		free(k->keys[i].id);
		EVP_PKEY_free(k->keys[i].pkey);
		p11_key_free(k->keys[i].p11);
	}
	free(k->p11_module);
	free(k->p11_pin_file);
	free(k);
}

int
keyop_set_pkcs11(struct keyop *k, const char *module, const char *pin_file)
{
	free(k->p11_module);
	free(k->p11_pin_file);
	k->p11_module = module != NULL ? strdup(module) : NULL;
	k->p11_pin_file = pin_file != NULL ? strdup(pin_file) : NULL;
	if ((module != NULL && k->p11_module == NULL) ||
	    (pin_file != NULL && k->p11_pin_file == NULL))
		return -SGW_ENOMEM;
	return 0;
}

/* A key on the token `uri` names, under `id`. */
static int
load_token_key(struct keyop *k, const char *id, const char *uri, struct sgw_err *err)
{
	struct p11_key *p11 = NULL;
	EVP_PKEY *pkey;
	int r = p11_key_open(k->p11_module, k->p11_pin_file, uri, id, &p11, err);

	if (r < 0)
		return r;
	if ((pkey = keyop_p11_pkey(p11)) == NULL || (k->keys[k->n].id = strdup(id)) == NULL) {
		EVP_PKEY_free(pkey);
		p11_key_free(p11);
		return sgw_err_set(err, SGW_ENOMEM, "%s: cannot set up the token key", uri);
	}
	k->keys[k->n].pkey = pkey;
	k->keys[k->n].p11 = p11;
	k->n++;
	return 0;
}

int
keyop_load(struct keyop *k, const char *id, const char *path, struct sgw_err *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	int r;

	if (keyop_find(k, id) != NULL)
		return sgw_err_set(err, SGW_EEXIST, "key '%s' loaded twice", id);
	if (k->n == KEYOP_MAX_KEYS)
		return sgw_err_set(err, SGW_EINVAL, "too many keys (max %d)", KEYOP_MAX_KEYS);
	if (p11_uri_is(path))
		return load_token_key(k, id, path, err);
	r = secret_file_read_as("private key", path, KEYOP_MAX_FILE, 0, &buf, &len, err);
	if (r < 0)
		return r;
	r = sgw_err_set(err, SGW_EPARSE, "%s: not a PEM private key", path);
	bio = BIO_new_mem_buf(buf, (int)len);
	if (bio == NULL)
		goto out;
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	if (pkey == NULL)
		goto out;
	r = sgw_err_set(err, SGW_ENOMEM, "out of memory");
	k->keys[k->n].id = strdup(id);
	if (k->keys[k->n].id == NULL)
		goto out;
	k->keys[k->n].pkey = pkey;
	k->n++;
	pkey = NULL;
	r = 0;
out:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	secret_file_free(buf, len);
	return r;
}

const struct keyop_key *
keyop_find(const struct keyop *k, const char *id)
{
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->keys[i].id, id) == 0)
			return &k->keys[i];
	return NULL;
}

int
keyop_matches_cert(const struct keyop_key *key, X509 *cert)
{
	return X509_check_private_key(cert, key->pkey) == 1;
}

int
keyop_unavailable(const struct keyop_key *key)
{
	return key->p11 != NULL && p11_key_unavailable(key->p11);
}

int
keyop_key_type(const struct keyop_key *key)
{
	return EVP_PKEY_get_base_id(key->pkey);
}

int
keyop_cms_decrypt(const struct keyop_key *key, X509 *cert, CMS_ContentInfo *cms, BIO *out)
{
	if (CMS_decrypt(cms, key->pkey, cert, NULL, out, CMS_BINARY) == 1)
		return 0;
	return keyop_unavailable(key) ? -SGW_EUNAVAIL : -SGW_EAUTH;
}

CMS_SignerInfo *
keyop_cms_add_signer(const struct keyop_key *key, CMS_ContentInfo *cms, X509 *cert,
		     const EVP_MD *md, unsigned int flags)
{
	return CMS_add1_signer(cms, cert, key->pkey, md, flags);
}

int
keyop_x509_sign(const struct keyop_key *key, X509 *x, const EVP_MD *md)
{
	return X509_sign(x, key->pkey, md) > 0 ? 0 : -SGW_EAUTH;
}

int
keyop_crl_sign(const struct keyop_key *key, X509_CRL *crl, const EVP_MD *md)
{
	return X509_CRL_sign(crl, key->pkey, md) > 0 ? 0 : -SGW_EAUTH;
}

/* ---- keys the gateway owns (the ACME account key) ------------------------ */

static EVP_PKEY *
generate_key(int type, int bits)
{
	if (type == EVP_PKEY_EC)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (type == EVP_PKEY_RSA && bits >= 2048 && bits <= 8192)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	return NULL;
}

/* Write with O_EXCL and 0600: a key file is never overwritten. */
static int
write_new_key(const char *path, EVP_PKEY *pkey, struct sgw_err *err)
{
	FILE *f = NULL;
	int fd, ok;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return sgw_err_set(err, SGW_EIO, "%s: %s", path, strerror(errno));
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		unlink(path);
		return sgw_err_set(err, SGW_EIO, "%s: %s", path, strerror(errno));
	}
	ok = PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) == 1;
	ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
	ok = fclose(f) == 0 && ok;
	if (!ok) {
		unlink(path);
		return sgw_err_set(err, SGW_EIO, "%s: cannot write the new key", path);
	}
	return 0;
}

int
keyop_load_or_create(struct keyop *k, const char *id, const char *path, int type, int bits,
		     struct sgw_err *err)
{
	EVP_PKEY *pkey;
	int r;

	if (p11_uri_is(path) || access(path, F_OK) == 0)
		return keyop_load(k, id, path, err);
	if (errno != ENOENT)
		return sgw_err_set(err, SGW_EIO, "%s: %s", path, strerror(errno));
	pkey = generate_key(type, bits);
	if (pkey == NULL)
		return sgw_err_set(err, SGW_EINVAL, "%s: cannot generate a key of this type", path);
	r = write_new_key(path, pkey, err);
	EVP_PKEY_free(pkey);
	if (r < 0)
		return r;
	r = keyop_load(k, id, path, err);
	return r < 0 ? r : 1;
}

/* DER ECDSA-Sig-Value -> r||s, each padded to the field size. */
static int
ecdsa_der_to_raw(const EVP_PKEY *pkey, const unsigned char *der, size_t der_len,
		 unsigned char **ret_sig, size_t *ret_len)
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	const BIGNUM *r = NULL, *s = NULL;
	size_t n = ((size_t)EVP_PKEY_get_bits(pkey) + 7) / 8;
	unsigned char *out = NULL;
	int rc = -SGW_EAUTH;

	if (sig == NULL || n == 0 || n > 66)
		goto out;
	ECDSA_SIG_get0(sig, &r, &s);
	rc = -SGW_ENOMEM;
	out = malloc(2 * n);
	if (out == NULL)
		goto out;
	rc = -SGW_EAUTH;
	if (BN_bn2binpad(r, out, (int)n) != (int)n || BN_bn2binpad(s, out + n, (int)n) != (int)n)
		goto out;
	*ret_sig = out;
	*ret_len = 2 * n;
	out = NULL;
	rc = 0;
out:
	free(out);
	ECDSA_SIG_free(sig);
	return rc;
}

int
keyop_sign_jws(const struct keyop_key *key, const unsigned char *data, size_t len,
	       unsigned char **ret_sig, size_t *ret_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *sig = NULL;
	size_t n = 0;
	int r = -SGW_EAUTH;

	if (ctx == NULL)
		return -SGW_ENOMEM;
	if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key->pkey) != 1 ||
	    EVP_DigestSign(ctx, NULL, &n, data, len) != 1 || n == 0)
		goto out;
	r = -SGW_ENOMEM;
	sig = malloc(n);
	if (sig == NULL)
		goto out;
	r = -SGW_EAUTH;
	if (EVP_DigestSign(ctx, sig, &n, data, len) != 1)
		goto out;
	if (EVP_PKEY_get_base_id(key->pkey) == EVP_PKEY_EC) {
		r = ecdsa_der_to_raw(key->pkey, sig, n, ret_sig, ret_len);
		goto out;
	}
	*ret_sig = sig;
	*ret_len = n;
	sig = NULL;
	r = 0;
out:
	free(sig);
	EVP_MD_CTX_free(ctx);
	return r;
}

EVP_PKEY *
keyop_public(const struct keyop_key *key)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pub = NULL;
	int len = i2d_PUBKEY(key->pkey, &der);

	if (len <= 0)
		return NULL;
	p = der;
	pub = d2i_PUBKEY(NULL, &p, len);
	OPENSSL_free(der);
	return pub;
}
