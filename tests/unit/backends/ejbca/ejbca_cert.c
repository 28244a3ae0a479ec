/* tests for backends/ejbca/ejbca_cert.c: DER with all input consumed, and
 * PEM chains through core's loader with EJBCA's own cap and order (a
 * root-first chain comes out issuing CA first). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "ejbca/ejbca_cert.h"
#include "ejbca/ejbca_json.h"
#include "fixture/pki_fixture.h"

struct fx {
	EVP_PKEY *key;
	X509 *root, *inter;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	f->root = pki_fixture_cert(
	    &(struct pki_fixture_cert){.key = f->key, .cn = "Root", .not_after = 3600});
	f->inter = pki_fixture_cert(&(struct pki_fixture_cert){
	    .key = f->key, .cn = "Issuing", .issuer = f->root, .not_after = 3600});
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	X509_free(f->root);
	X509_free(f->inter);
	EVP_PKEY_free(f->key);
	free(f);
	return 0;
}

/* PEM of certs[0..n) into a malloc'd buffer */
static size_t
pem_of(X509 *const *certs, int n, char **ret)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long len;

	for (int i = 0; i < n; i++)
		PEM_write_bio_X509(b, certs[i]);
	len = BIO_get_mem_data(b, &p);
	*ret = malloc((size_t)len + 1);
	memcpy(*ret, p, (size_t)len);
	BIO_free(b);
	return (size_t)len;
}

static void
expect_chain(const char *pem, size_t len, X509 *first, X509 *second)
{
	STACK_OF(X509) *sk = NULL;

	assert_int_equal(ejbca_chain_from_pem((const uint8_t *)pem, len, &sk), 0);
	assert_int_equal(sk_X509_num(sk), 2);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 0), first), 0);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 1), second), 0);
	sk_X509_pop_free(sk, X509_free);
}

static void
test_chain_order(void **state)
{
	struct fx *f = *state;
	X509 *issuing_first[] = {f->inter, f->root}, *root_first[] = {f->root, f->inter};
	char *pem;
	size_t len;

	len = pem_of(issuing_first, 2, &pem);
	expect_chain(pem, len, f->inter, f->root);
	free(pem);
	len = pem_of(root_first, 2, &pem); /* some EJBCA versions */
	expect_chain(pem, len, f->inter, f->root);
	free(pem);
}

static void
test_chain_bounds(void **state)
{
	struct fx *f = *state;
	X509 *many[EJBCA_MAX_CHAIN + 1];
	STACK_OF(X509) *sk = NULL;
	char *pem;
	size_t len;

	for (int i = 0; i <= EJBCA_MAX_CHAIN; i++)
		many[i] = f->inter;
	len = pem_of(many, EJBCA_MAX_CHAIN, &pem);
	assert_int_equal(ejbca_chain_from_pem((const uint8_t *)pem, len, &sk), 0);
	assert_int_equal(sk_X509_num(sk), EJBCA_MAX_CHAIN);
	sk_X509_pop_free(sk, X509_free);
	free(pem);
	sk = NULL;
	len = pem_of(many, EJBCA_MAX_CHAIN + 1, &pem);
	assert_int_equal(ejbca_chain_from_pem((const uint8_t *)pem, len, &sk), -SGW_EPARSE);
	assert_null(sk);
	free(pem);
	assert_int_equal(ejbca_chain_from_pem((const uint8_t *)"no pem", 6, &sk), -SGW_EPARSE);
	assert_int_equal(ejbca_chain_from_pem((const uint8_t *)"", 0, &sk), -SGW_EPARSE);
	assert_null(sk);
}

static void
test_chain_load(void **state)
{
	struct fx *f = *state;
	X509 *root_first[] = {f->root, f->inter};
	struct sgw_err err = {{0}};
	STACK_OF(X509) *sk = NULL;
	char path[] = "/tmp/ejbca_cert_XXXXXX", *pem;
	size_t len = pem_of(root_first, 2, &pem);
	FILE *fp;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_int_equal(fwrite(pem, 1, len, fp), len);
	fclose(fp);
	free(pem);
	assert_int_equal(ejbca_chain_load(path, &sk, &err), 0);
	assert_int_equal(sk_X509_num(sk), 2);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 0), f->inter), 0);
	sk_X509_pop_free(sk, X509_free);
	unlink(path);
	sk = NULL;
	assert_int_equal(ejbca_chain_load(path, &sk, &err), -SGW_EIO);
	assert_non_null(strstr(err.msg, "cannot read"));
	assert_null(sk);
}

static void
test_x509_from_der(void **state)
{
	struct fx *f = *state;
	uint8_t *der = NULL, *longer;
	int n = i2d_X509(f->inter, &der);
	X509 *x;

	assert_true(n > 0);
	x = ejbca_x509_from_der(der, (size_t)n);
	assert_non_null(x);
	assert_int_equal(X509_cmp(x, f->inter), 0);
	X509_free(x);
	longer = malloc((size_t)n + 1); /* trailing bytes: refused */
	memcpy(longer, der, (size_t)n);
	longer[n] = 0;
	assert_null(ejbca_x509_from_der(longer, (size_t)n + 1));
	assert_null(ejbca_x509_from_der(der, (size_t)n - 1));
	assert_null(ejbca_x509_from_der(der, 0));
	free(longer);
	OPENSSL_free(der);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chain_order),
	    cmocka_unit_test(test_chain_bounds),
	    cmocka_unit_test(test_chain_load),
	    cmocka_unit_test(test_x509_from_der),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
