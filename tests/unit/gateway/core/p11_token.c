/* tests for gateway/core/p11_token.c and keyop_p11.c against SoftHSM2: a
 * token made in a temporary directory (its own SOFTHSM2_CONF) with keys
 * generated on it by pkcs11-tool; open refusals, RSA and EC signing (X.509,
 * CMS, JWS), CMS decryption with PKCS#1 v1.5 and RSA-OAEP key transport,
 * C_Decrypt with CKM_RSA_PKCS_OAEP, worker threads in parallel, and the
 * token going away and coming back. */
#include <pthread.h>
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

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "keyop.h"
#include "p11_token.h"

#define MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define URI(o) "pkcs11:token=unit;object=" o ";type=private"

static char dir[] = "/tmp/sgw-p11-XXXXXX";
static char pin_file[300], bad_pin_file[300];

static void
sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("%s", cmd);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
}

static int
setup(void **state)
{
	char conf[300], text[600];

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(conf, sizeof(conf), "%s/softhsm2.conf", dir);
	snprintf(
	    text, sizeof(text),
	    "directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n",
	    dir);
	write_file(conf, text);
	setenv("SOFTHSM2_CONF", conf, 1);
	snprintf(pin_file, sizeof(pin_file), "%s/pin", dir);
	snprintf(bad_pin_file, sizeof(bad_pin_file), "%s/bad.pin", dir);
	write_file(pin_file, "4321\n");
	write_file(bad_pin_file, "0000\n");
	sh("mkdir %s/tokens && softhsm2-util --init-token --free --label unit --pin 4321 "
	   "--so-pin 8765 >/dev/null",
	   dir);
#define GEN "pkcs11-tool --module " MODULE " --token-label unit --login --pin 4321 --keypairgen "
	sh(GEN "--key-type rsa:2048 --label rsa --id 01 >/dev/null 2>&1");
	sh(GEN "--key-type EC:prime256v1 --label ec --id 02 >/dev/null 2>&1");
	sh(GEN "--key-type rsa:2048 --label leaky --id 03 --extractable >/dev/null 2>&1");
#undef GEN
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	sh("rm -rf %s", dir);
	return 0;
}

static struct keyop *
keys_new(const char *pin)
{
	struct keyop *k = keyop_new();

	assert_non_null(k);
	assert_int_equal(keyop_set_pkcs11(k, MODULE, pin), 0);
	return k;
}

static void
test_open_refused(void **state)
{
	struct sgw_err err = {{0}};
	struct p11_key *p = NULL;
	struct keyop *k;

	(void)state;
	assert_int_equal(p11_key_open(MODULE, bad_pin_file, URI("rsa"), "t", &p, &err), -SGW_EAUTH);
	assert_non_null(strstr(err.msg, "refused the PIN"));
	assert_null(strstr(err.msg, "0000"));
	assert_int_equal(p11_key_open(MODULE, pin_file, URI("nope"), "t", &p, &err),
			 -SGW_ENOTFOUND);
	assert_non_null(strstr(err.msg, "no private key object"));
	assert_int_equal(p11_key_open(MODULE, pin_file, URI("leaky"), "t", &p, &err), -SGW_EINVAL);
	assert_non_null(strstr(err.msg, "CKA_EXTRACTABLE true"));
	assert_int_equal(
	    p11_key_open(MODULE, pin_file, "pkcs11:token=other;object=rsa", "t", &p, &err),
	    -SGW_EUNAVAIL);
	assert_non_null(strstr(err.msg, "no such token"));
	assert_int_equal(
	    p11_key_open("/nonexistent/module.so", pin_file, URI("rsa"), "t", &p, &err),
	    -SGW_EINVAL);
	assert_non_null(strstr(err.msg, "cannot be loaded"));
	assert_null(p);
	/* through keyop: no pkcs11 section */
	k = keyop_new();
	assert_int_equal(keyop_load(k, "t", URI("rsa"), &err), -SGW_EINVAL);
	assert_non_null(strstr(err.msg, "pkcs11.module"));
	keyop_free(k);
}

/* A certificate for pub, signed through keyop with the token key. */
static X509 *
token_cert(const struct keyop_key *key, EVP_PKEY *pub)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	assert_non_null(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"token", -1, -1,
				   0);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pub);
	X509_NAME_free(n);
	assert_int_equal(keyop_x509_sign(key, x, EVP_sha256()), 0);
	assert_int_equal(X509_verify(x, pub), 1);
	assert_true(keyop_matches_cert(key, x));
	return x;
}

/* CMS EnvelopedData to x (OAEP or PKCS#1 v1.5), decrypted with the token key. */
static void
roundtrip(const struct keyop_key *key, X509 *x, int oaep)
{
	static const char msg[] = "the CSR inside the pkcsPKIEnvelope";
	BIO *in = BIO_new_mem_buf(msg, sizeof(msg)), *out = BIO_new(BIO_s_mem());
	CMS_ContentInfo *cms = CMS_encrypt(NULL, NULL, EVP_aes_128_cbc(), CMS_BINARY | CMS_PARTIAL);
	CMS_RecipientInfo *ri;
	char *p;

	assert_non_null(cms);
	ri = CMS_add1_recipient_cert(cms, x, CMS_KEY_PARAM);
	assert_non_null(ri);
	if (oaep)
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(CMS_RecipientInfo_get0_pkey_ctx(ri),
							      RSA_PKCS1_OAEP_PADDING),
				 1);
	assert_int_equal(CMS_final(cms, in, NULL, CMS_BINARY), 1);
	assert_int_equal(keyop_cms_decrypt(key, x, cms, out), 0);
	assert_int_equal(BIO_get_mem_data(out, &p), sizeof(msg));
	assert_memory_equal(p, msg, sizeof(msg));
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	BIO_free(out);
}

static void
test_rsa(void **state)
{
	struct sgw_err err = {{0}};
	struct keyop *k = keys_new(pin_file);
	const struct keyop_key *key;
	struct p11_key *p = NULL;
	EVP_PKEY *pub;
	EVP_PKEY_CTX *ctx;
	CMS_ContentInfo *cms;
	BIO *data = BIO_new_mem_buf("signed", 6);
	unsigned char ct[256], pt[256];
	size_t ctlen = sizeof(ct), ptlen = sizeof(pt);
	X509 *x;

	(void)state;
	assert_int_equal(keyop_load(k, "ra", URI("rsa"), &err), 0);
	key = keyop_find(k, "ra");
	assert_int_equal(keyop_key_type(key), EVP_PKEY_RSA);
	pub = keyop_public(key);
	assert_non_null(pub);
	x = token_cert(key, pub);
	roundtrip(key, x, 0);
	roundtrip(key, x, 1);
	/* CMS signing (the CertRep) */
	cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_BINARY);
	assert_non_null(keyop_cms_add_signer(key, cms, x, EVP_sha256(), CMS_PARTIAL | CMS_BINARY));
	assert_int_equal(CMS_final(cms, data, NULL, CMS_BINARY), 1);
	assert_int_equal(CMS_verify(cms, NULL, NULL, NULL, NULL, CMS_NO_SIGNER_CERT_VERIFY), 1);
	CMS_ContentInfo_free(cms);
	/* C_Decrypt with CKM_RSA_PKCS_OAEP directly */
	ctx = EVP_PKEY_CTX_new(pub, NULL);
	assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING), 1);
	assert_int_equal(EVP_PKEY_encrypt(ctx, ct, &ctlen, (const unsigned char *)"cek!", 4), 1);
	assert_int_equal(p11_key_open(MODULE, pin_file, URI("rsa"), "direct", &p, &err), 0);
	assert_int_equal(p11_key_op(p, P11_DECRYPT_RSA_OAEP, ct, ctlen, pt, &ptlen), 0);
	assert_int_equal(ptlen, 4);
	assert_memory_equal(pt, "cek!", 4);
	/* data the token refuses: -SGW_EAUTH, the token still up */
	ptlen = sizeof(pt);
	ct[0] ^= 1;
	assert_int_equal(p11_key_op(p, P11_DECRYPT_RSA_OAEP, ct, ctlen, pt, &ptlen), -SGW_EAUTH);
	assert_false(p11_key_unavailable(p));
	p11_key_free(p);
	EVP_PKEY_CTX_free(ctx);
	X509_free(x);
	EVP_PKEY_free(pub);
	BIO_free(data);
	keyop_free(k);
}

static void
test_ec(void **state)
{
	struct sgw_err err = {{0}};
	struct keyop *k = keys_new(pin_file);
	const struct keyop_key *key;
	unsigned char *sig = NULL;
	size_t len = 0;
	EVP_PKEY *pub;
	X509 *x;

	(void)state;
	assert_int_equal(keyop_load(k, "ca", URI("ec"), &err), 0);
	key = keyop_find(k, "ca");
	assert_int_equal(keyop_key_type(key), EVP_PKEY_EC);
	pub = keyop_public(key);
	x = token_cert(key, pub);
	assert_int_equal(keyop_sign_jws(key, (const unsigned char *)"a.b", 3, &sig, &len), 0);
	assert_int_equal(len, 64);
	free(sig);
	X509_free(x);
	EVP_PKEY_free(pub);
	keyop_free(k);
}

struct par {
	const struct keyop_key *key;
	EVP_PKEY *pub;
	int ok;
};

static void *
signer(void *arg)
{
	struct par *p = arg;

	for (int i = 0; i < 25; i++) {
		X509 *x = X509_new();

		X509_set_pubkey(x, p->pub);
		X509_set_version(x, 2);
		if (keyop_x509_sign(p->key, x, EVP_sha256()) == 0 && X509_verify(x, p->pub) == 1)
			p->ok++;
		X509_free(x);
	}
	return NULL;
}

static void
test_parallel(void **state)
{
	struct sgw_err err = {{0}};
	struct keyop *k = keys_new(pin_file);
	pthread_t th[8];
	struct par p[8];

	(void)state;
	assert_int_equal(keyop_load(k, "ra", URI("rsa"), &err), 0);
	for (int i = 0; i < 8; i++) {
		p[i] = (struct par){.key = keyop_find(k, "ra"),
				    .pub = keyop_public(keyop_find(k, "ra"))};
		assert_int_equal(pthread_create(&th[i], NULL, signer, &p[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(p[i].ok, 25);
		EVP_PKEY_free(p[i].pub);
	}
	keyop_free(k);
}

static void
test_token_gone(void **state)
{
	struct sgw_err err = {{0}};
	struct keyop *k = keys_new(pin_file);
	const struct keyop_key *key;
	EVP_PKEY *pub;
	X509 *x = X509_new();

	(void)state;
	assert_int_equal(keyop_load(k, "ra", URI("rsa"), &err), 0);
	key = keyop_find(k, "ra");
	pub = keyop_public(key);
	X509_set_pubkey(x, pub);
	assert_int_equal(keyop_x509_sign(key, x, EVP_sha256()), 0);
	sh("mv %s/tokens %s/tokens.away", dir, dir);
	assert_int_equal(keyop_x509_sign(key, x, EVP_sha256()), -SGW_EAUTH);
	assert_true(keyop_unavailable(key));
	sh("mv %s/tokens.away %s/tokens", dir, dir);
	sleep(3); /* the module is re-initialised at most every 2 s */
	assert_int_equal(keyop_x509_sign(key, x, EVP_sha256()), 0);
	assert_false(keyop_unavailable(key));
	assert_int_equal(X509_verify(x, pub), 1);
	X509_free(x);
	EVP_PKEY_free(pub);
	keyop_free(k);
}

/* The token goes away while 8 threads sign: failures, no crash (sessions in
 * use are not closed under them), and every thread signs again afterwards. */
static void
test_gone_under_load(void **state)
{
	struct sgw_err err = {{0}};
	struct keyop *k = keys_new(pin_file);
	pthread_t th[8];
	struct par p[8];

	(void)state;
	assert_int_equal(keyop_load(k, "ra", URI("rsa"), &err), 0);
	for (int i = 0; i < 8; i++) {
		p[i] = (struct par){.key = keyop_find(k, "ra"),
				    .pub = keyop_public(keyop_find(k, "ra"))};
		assert_int_equal(pthread_create(&th[i], NULL, signer, &p[i]), 0);
	}
	usleep(20000);
	sh("mv %s/tokens %s/tokens.away", dir, dir);
	usleep(100000);
	sh("mv %s/tokens.away %s/tokens", dir, dir);
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	sleep(3);
	for (int i = 0; i < 8; i++) {
		p[i].ok = 0;
		signer(&p[i]);
		assert_int_equal(p[i].ok, 25);
		EVP_PKEY_free(p[i].pub);
	}
	keyop_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_refused), cmocka_unit_test(test_rsa),
	    cmocka_unit_test(test_ec),		 cmocka_unit_test(test_parallel),
	    cmocka_unit_test(test_token_gone),	 cmocka_unit_test(test_gone_under_load),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
