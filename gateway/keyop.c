/* keyop.c: the key table.  The only file that holds EVP_PKEYs; PEM buffers
 * are read into memory that is wiped after parsing (acme-client purge_key). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "keyop.h"

#define KEYOP_MAX_KEYS 64
#define KEYOP_MAX_FILE (64 * 1024)

struct keyop_key {
	char *id;
	EVP_PKEY *pkey;
};

struct keyop {
	struct keyop_key keys[KEYOP_MAX_KEYS];
	size_t n;
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
	}
	free(k);
}

static int
check_stat(const char *path, const struct stat *st, struct sgw_err *err)
{
	if (!S_ISREG(st->st_mode))
		return sgw_err_set(err, SGW_EINVAL, "%s: not a regular file", path);
	if ((st->st_mode & 077) != 0)
		return sgw_err_set(err, SGW_EDENIED,
				   "%s: private key is accessible by group or others (mode %04o); "
				   "chmod 600 it",
				   path, (unsigned)(st->st_mode & 07777));
	if (st->st_uid != geteuid() && st->st_uid != 0)
		return sgw_err_set(err, SGW_EDENIED,
				   "%s: private key is owned by uid %u, not by uid %u or root",
				   path, (unsigned)st->st_uid, (unsigned)geteuid());
	return 0;
}

int
keyop_check_file_mode(const char *path, struct sgw_err *err)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return sgw_err_set(err, SGW_EIO, "%s: %s", path, strerror(errno));
	return check_stat(path, &st, err);
}

/* Read the whole file, checking the mode on the open descriptor (no race
 * between check and read). */
static int
read_key_file(const char *path, unsigned char **ret_buf, size_t *ret_len, struct sgw_err *err)
{
	struct stat st;
	unsigned char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return sgw_err_set(err, SGW_EIO, "%s: %s", path, strerror(errno));
	r = fstat(fd, &st) != 0 ? sgw_err_set(err, SGW_EIO, "%s: %s", path, strerror(errno))
				: check_stat(path, &st, err);
	if (r < 0)
		goto out;
	r = sgw_err_set(err, SGW_EINVAL, "%s: key file too large", path);
	if (st.st_size <= 0 || st.st_size > KEYOP_MAX_FILE)
		goto out;
	r = sgw_err_set(err, SGW_ENOMEM, "out of memory");
	buf = OPENSSL_secure_malloc((size_t)st.st_size + 1);
	if (buf == NULL)
		goto out;
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = sgw_err_set(err, SGW_EIO, "%s: short read", path);
			goto out;
		}
		len += (size_t)n;
	}
	*ret_buf = buf;
	*ret_len = len;
	buf = NULL;
	r = 0;
out:
	if (buf != NULL)
		OPENSSL_secure_clear_free(buf, (size_t)st.st_size + 1);
	close(fd);
	return r;
}

int
keyop_load(struct keyop *k, const char *id, const char *path, struct sgw_err *err)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	int r;

	if (keyop_find(k, id) != NULL)
		return sgw_err_set(err, SGW_EEXIST, "key '%s' loaded twice", id);
	if (k->n == KEYOP_MAX_KEYS)
		return sgw_err_set(err, SGW_EINVAL, "too many keys (max %d)", KEYOP_MAX_KEYS);
	r = read_key_file(path, &buf, &len, err);
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
	OPENSSL_secure_clear_free(buf, len + 1);
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
keyop_key_type(const struct keyop_key *key)
{
	return EVP_PKEY_get_base_id(key->pkey);
}

int
keyop_cms_decrypt(const struct keyop_key *key, X509 *cert, CMS_ContentInfo *cms, BIO *out)
{
	return CMS_decrypt(cms, key->pkey, cert, NULL, out, CMS_BINARY) == 1 ? 0 : -SGW_EAUTH;
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
