/* tests for gateway/core/keyop.c: owner/mode checks, loading, matching, use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fixture/pki_fixture.h"
#include "keyop.h"
#include "secret_file.h"

static char dir[] = "/tmp/sgw-keyop-XXXXXX";
static EVP_PKEY *pkey;
static X509 *cert;

static void
path(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
}

static void
write_key(const char *name, mode_t mode)
{
	char p[256];
	FILE *f;

	path(p, sizeof(p), name);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	assert_int_equal(chmod(p, mode), 0);
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	pkey = EVP_RSA_gen(2048);
	if (pkey == NULL)
		return -1;
	cert =
	    pki_fixture_cert(&(struct pki_fixture_cert){.key = pkey, .cn = "t", .not_after = 3600});
	write_key("good.key", 0600);
	write_key("group.key", 0640);
	write_key("world.key", 0604);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return -1;
	EVP_PKEY_free(pkey);
	X509_free(cert);
	return 0;
}

static void
test_mode_checks(void **state)
{
	struct sgw_err err = {{0}};
	char p[256];

	(void)state;
	path(p, sizeof(p), "good.key");
	assert_int_equal(secret_file_check(p, &err), 0);
	path(p, sizeof(p), "group.key");
	assert_int_equal(secret_file_check(p, &err), -SGW_EDENIED);
	assert_non_null(strstr(err.msg, "mode 0640"));
	path(p, sizeof(p), "world.key");
	assert_int_equal(secret_file_check(p, &err), -SGW_EDENIED);
	path(p, sizeof(p), "missing.key");
	assert_int_equal(secret_file_check(p, &err), -SGW_EIO);
	assert_int_equal(secret_file_check(dir, &err), -SGW_EINVAL);
}

static void
test_load_and_use(void **state)
{
	struct keyop *k = keyop_new();
	struct sgw_err err = {{0}};
	const struct keyop_key *key;
	X509 *x = X509_dup(cert);
	char p[256];

	(void)state;
	assert_non_null(k);
	path(p, sizeof(p), "good.key");
	assert_int_equal(keyop_load(k, "ra:t:sign", p, &err), 0);
	assert_int_equal(keyop_load(k, "ra:t:sign", p, &err), -SGW_EEXIST);
	path(p, sizeof(p), "group.key");
	assert_int_equal(keyop_load(k, "other", p, &err), -SGW_EDENIED);
	assert_null(keyop_find(k, "other"));
	key = keyop_find(k, "ra:t:sign");
	assert_non_null(key);
	assert_int_equal(keyop_key_type(key), EVP_PKEY_RSA);
	assert_true(keyop_matches_cert(key, cert));
	assert_int_equal(keyop_x509_sign(key, x, EVP_sha256()), 0);
	assert_int_equal(X509_verify(x, pkey), 1);
	X509_free(x);
	keyop_free(k);
	keyop_free(NULL);
}

static void
test_not_a_key(void **state)
{
	struct keyop *k = keyop_new();
	struct sgw_err err = {{0}};
	char p[256];
	FILE *f;

	(void)state;
	path(p, sizeof(p), "garbage.key");
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("not a key\n", f);
	fclose(f);
	chmod(p, 0600);
	assert_int_equal(keyop_load(k, "g", p, &err), -SGW_EPARSE);
	keyop_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mode_checks),
	    cmocka_unit_test(test_load_and_use),
	    cmocka_unit_test(test_not_a_key),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
