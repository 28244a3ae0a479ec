/* pem_chain.c: the one PEM certificate chain loader (pem_chain.h). */
#include <stdio.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "pem_chain.h"

#define PEM_CHAIN_MAX_FILE (1024 * 1024)

static int
read_chain(BIO *b, size_t max, STACK_OF(X509) * *ret_chain)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	X509 *x;
	int r = -SGW_ENOMEM;

	if (sk == NULL)
		goto out;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if ((size_t)sk_X509_num(sk) >= max) {
			X509_free(x);
			r = -SGW_EPARSE;
			goto out;
		}
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			goto out;
		}
	}
	ERR_clear_error();
	r = -SGW_EPARSE;
	if (sk_X509_num(sk) == 0)
		goto out;
	*ret_chain = sk;
	sk = NULL;
	r = 0;
out:
	sk_X509_pop_free(sk, X509_free);
	return r;
}

int
pem_chain_from_mem(const uint8_t *pem, size_t len, size_t max, STACK_OF(X509) * *ret_chain)
{
	BIO *b;
	int r;

	if (len > PEM_CHAIN_MAX_FILE)
		return -SGW_EPARSE;
	if ((b = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return -SGW_ENOMEM;
	r = read_chain(b, max, ret_chain);
	BIO_free(b);
	return r;
}

int
pem_chain_load(const char *path, size_t max, STACK_OF(X509) * *ret_chain, struct sgw_err *err)
{
	BIO *b = BIO_new_file(path, "r");
	int r;

	if (b == NULL) {
		ERR_clear_error();
		return sgw_err_set(err, SGW_EIO, "%s: cannot read", path);
	}
	r = read_chain(b, max, ret_chain);
	BIO_free(b);
	if (r == -SGW_EPARSE)
		return sgw_err_set(err, SGW_EPARSE, "%s: no PEM certificate, or more than %zu",
				   path, max);
	if (r < 0)
		return sgw_err_set(err, -r, "out of memory");
	return 0;
}
