/* tests for backends/acme/acme_jws.c and the keyop additions it uses
 * (keyop_load_or_create, keyop_sign_jws, keyop_public): every signature is
 * checked with OpenSSL's verifier, every digest recomputed independently. */
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

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "acme/acme_jws.h"
#include "keyop.h"

static char dir[] = "/tmp/sgw-acmejws-XXXXXX";

static char *
b64u(const void *p, size_t n)
{
	char *s = NULL;

	assert_int_equal(acme_b64u_encode(p, n, &s), 0);
	return s;
}

static uint8_t *
unb64u(const char *s, size_t *n)
{
	uint8_t *p = NULL;

	assert_int_equal(acme_b64u_decode(s, strlen(s), &p, n), 0);
	return p;
}

static void
test_b64u_vectors(void **state)
{
	/* RFC 4648 section 10 vectors, without padding */
	static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const out[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
	const uint8_t hi[] = {0xfb, 0xff, 0xfe};
	uint8_t *p;
	size_t n;
	char *s;

	(void)state;
	for (size_t i = 0; i < 7; i++) {
		s = b64u(in[i], strlen(in[i]));
		assert_string_equal(s, out[i]);
		p = unb64u(s, &n);
		assert_int_equal(n, strlen(in[i]));
		assert_memory_equal(p, in[i], n);
		free(p);
		free(s);
	}
	s = b64u(hi, sizeof(hi));
	assert_string_equal(s, "-__-"); /* the URL-safe alphabet */
	free(s);
	assert_int_equal(acme_b64u_decode("Zg==", 4, &p, &n), -SGW_EPARSE);
	assert_int_equal(acme_b64u_decode("Z+8", 3, &p, &n), -SGW_EPARSE);
	assert_int_equal(acme_b64u_decode("Z", 1, &p, &n), -SGW_EPARSE);
	assert_int_equal(acme_b64u_decode("Zh", 2, &p, &n), -SGW_EPARSE); /* not canonical */
}

static int
sign_cb(void *ctx, const uint8_t *in, size_t len, uint8_t **sig, size_t *siglen)
{
	return keyop_sign_jws(ctx, in, len, sig, siglen);
}

/* Verify a JWS signature with OpenSSL (ES256: r||s back to DER). */
static int
verify(EVP_PKEY *pub, const char *input, const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	int derlen, ok;

	if (EVP_PKEY_get_base_id(pub) == EVP_PKEY_EC) {
		ECDSA_SIG *es = ECDSA_SIG_new();
		assert_int_equal(siglen, 64);
		ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
		derlen = i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
		sig = der;
		siglen = (size_t)derlen;
	}
	ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub) == 1 &&
	     EVP_DigestVerify(ctx, sig, siglen, (const uint8_t *)input, strlen(input)) == 1;
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	return ok;
}

static json_t *
decode_json(const char *b64)
{
	size_t n;
	uint8_t *p = unb64u(b64, &n);
	json_t *j = json_loadb((const char *)p, n, 0, NULL);

	free(p);
	assert_non_null(j);
	return j;
}

/* Build a JWS with the key and check header, payload and signature. */
static void
check_jws(const struct keyop_key *key, const char *want_alg)
{
	EVP_PKEY *pub = keyop_public(key);
	json_t *jwk = NULL, *jws = NULL, *prot;
	const char *alg = NULL;
	struct acme_jws_hdr h;
	char input[8192];
	uint8_t *sig;
	size_t siglen;

	assert_non_null(pub);
	assert_int_equal(acme_jwk_new(pub, &jwk, &alg), 0);
	assert_string_equal(alg, want_alg);
	h = (struct acme_jws_hdr){
	    .alg = alg, .nonce = "n0nce", .url = "https://ca/new", .jwk = jwk};
	assert_int_equal(acme_jws_new(&h, "{\"a\":1}", sign_cb, (void *)key, &jws), 0);
	prot = decode_json(json_string_value(json_object_get(jws, "protected")));
	assert_string_equal(json_string_value(json_object_get(prot, "alg")), want_alg);
	assert_string_equal(json_string_value(json_object_get(prot, "nonce")), "n0nce");
	assert_string_equal(json_string_value(json_object_get(prot, "url")), "https://ca/new");
	assert_true(json_equal(json_object_get(prot, "jwk"), jwk));
	assert_null(json_object_get(prot, "kid"));
	assert_string_equal(json_string_value(json_object_get(jws, "payload")), "eyJhIjoxfQ");
	snprintf(input, sizeof(input), "%s.%s",
		 json_string_value(json_object_get(jws, "protected")),
		 json_string_value(json_object_get(jws, "payload")));
	sig = unb64u(json_string_value(json_object_get(jws, "signature")), &siglen);
	assert_true(verify(pub, input, sig, siglen));
	sig[0] ^= 1;
	assert_false(verify(pub, input, sig, siglen));
	free(sig);
	json_decref(prot);
	json_decref(jws);

	/* kid form, POST-as-GET: payload "" */
	h = (struct acme_jws_hdr){.alg = alg, .nonce = "x", .url = "https://ca/o", .kid = "acct"};
	assert_int_equal(acme_jws_new(&h, NULL, sign_cb, (void *)key, &jws), 0);
	assert_string_equal(json_string_value(json_object_get(jws, "payload")), "");
	prot = decode_json(json_string_value(json_object_get(jws, "protected")));
	assert_string_equal(json_string_value(json_object_get(prot, "kid")), "acct");
	assert_null(json_object_get(prot, "jwk"));
	json_decref(prot);
	json_decref(jws);
	/* both jwk and kid, or neither: refused */
	h.jwk = jwk;
	assert_int_equal(acme_jws_new(&h, NULL, sign_cb, (void *)key, &jws), -SGW_EINVAL);
	json_decref(jwk);
	EVP_PKEY_free(pub);
}

static void
test_account_key_ec(void **state)
{
	struct keyop *k = keyop_new();
	struct sgw_err err = {{0}};
	char p[128];
	struct stat st;

	(void)state;
	snprintf(p, sizeof(p), "%s/account-ec.key", dir);
	assert_int_equal(keyop_load_or_create(k, "acme:a", p, EVP_PKEY_EC, 0, &err), 1);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(keyop_key_type(keyop_find(k, "acme:a")), EVP_PKEY_EC);
	check_jws(keyop_find(k, "acme:a"), "ES256");
	keyop_free(k);
	/* the second start loads the same file */
	k = keyop_new();
	assert_int_equal(keyop_load_or_create(k, "acme:a", p, EVP_PKEY_EC, 0, &err), 0);
	keyop_free(k);
	/* a loosened mode is refused like any key */
	assert_int_equal(chmod(p, 0644), 0);
	k = keyop_new();
	assert_int_equal(keyop_load_or_create(k, "acme:a", p, EVP_PKEY_EC, 0, &err), -SGW_EDENIED);
	keyop_free(k);
}

static void
test_account_key_rsa(void **state)
{
	struct keyop *k = keyop_new();
	struct sgw_err err = {{0}};
	char p[128];

	(void)state;
	snprintf(p, sizeof(p), "%s/account-rsa.key", dir);
	assert_int_equal(keyop_load_or_create(k, "acme:r", p, EVP_PKEY_RSA, 1024, &err),
			 -SGW_EINVAL);
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(keyop_load_or_create(k, "acme:r", p, EVP_PKEY_RSA, 2048, &err), 1);
	check_jws(keyop_find(k, "acme:r"), "RS256");
	keyop_free(k);
}

static void
test_thumbprint_and_dns01(void **state)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	json_t *jwk = NULL;
	const char *alg;
	char canon[512], *tp = NULL, *want, *txt = NULL, ka[600];
	uint8_t md[32];

	(void)state;
	assert_int_equal(acme_jwk_new(pkey, &jwk, &alg), 0);
	assert_int_equal(strlen(json_string_value(json_object_get(jwk, "x"))), 43);
	assert_int_equal(strlen(json_string_value(json_object_get(jwk, "y"))), 43);
	/* RFC 7638 3.2: exactly these members, in this order, no whitespace */
	snprintf(canon, sizeof(canon),
		 "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
		 json_string_value(json_object_get(jwk, "x")),
		 json_string_value(json_object_get(jwk, "y")));
	SHA256((const uint8_t *)canon, strlen(canon), md);
	want = b64u(md, 32);
	json_object_set_new(jwk, "kid", json_string("ignored")); /* not a required member */
	assert_int_equal(acme_jwk_thumbprint(jwk, &tp), 0);
	assert_string_equal(tp, want);
	/* RFC 8555 8.4: TXT = b64u(SHA-256(token "." thumbprint)) */
	snprintf(ka, sizeof(ka), "tok_en-1.%s", tp);
	SHA256((const uint8_t *)ka, strlen(ka), md);
	free(want);
	want = b64u(md, 32);
	assert_int_equal(acme_dns01_value("tok_en-1", tp, &txt), 0);
	assert_string_equal(txt, want);
	free(txt);
	free(want);
	free(tp);
	json_decref(jwk);
	EVP_PKEY_free(pkey);
}

static void
test_eab(void **state)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	const char *mac64 = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
	json_t *jwk = NULL, *eab = NULL, *prot, *payload;
	const char *alg;
	uint8_t *mac, *sig, md[32];
	size_t maclen, siglen;
	unsigned int mdlen = 0;
	char input[4096];

	(void)state;
	assert_int_equal(acme_jwk_new(pkey, &jwk, &alg), 0);
	mac = unb64u(mac64, &maclen);
	assert_int_equal(maclen, 48);
	assert_int_equal(acme_eab_new("kid-1", mac, maclen, "https://ca/new-acct", jwk, &eab), 0);
	prot = decode_json(json_string_value(json_object_get(eab, "protected")));
	assert_string_equal(json_string_value(json_object_get(prot, "alg")), "HS256");
	assert_string_equal(json_string_value(json_object_get(prot, "kid")), "kid-1");
	assert_string_equal(json_string_value(json_object_get(prot, "url")), "https://ca/new-acct");
	assert_null(json_object_get(prot, "nonce")); /* RFC 8555 7.3.4: no nonce */
	payload = decode_json(json_string_value(json_object_get(eab, "payload")));
	assert_true(json_equal(payload, jwk));
	snprintf(input, sizeof(input), "%s.%s",
		 json_string_value(json_object_get(eab, "protected")),
		 json_string_value(json_object_get(eab, "payload")));
	HMAC(EVP_sha256(), mac, (int)maclen, (const uint8_t *)input, strlen(input), md, &mdlen);
	sig = unb64u(json_string_value(json_object_get(eab, "signature")), &siglen);
	assert_int_equal(siglen, 32);
	assert_memory_equal(sig, md, 32);
	assert_int_equal(acme_eab_new("kid-1", mac, 0, "u", jwk, &eab), -SGW_EINVAL);
	free(sig);
	free(mac);
	json_decref(payload);
	json_decref(prot);
	json_decref(eab);
	json_decref(jwk);
	EVP_PKEY_free(pkey);
}

static void
test_unsupported_keys(void **state)
{
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	json_t *jwk = NULL;
	const char *alg;

	(void)state;
	assert_int_equal(acme_jwk_new(p384, &jwk, &alg), -SGW_EALG);
	assert_int_equal(acme_jwk_new(ed, &jwk, &alg), -SGW_EALG);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(ed);
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_b64u_vectors),
	    cmocka_unit_test(test_account_key_ec),
	    cmocka_unit_test(test_account_key_rsa),
	    cmocka_unit_test(test_thumbprint_and_dns01),
	    cmocka_unit_test(test_eab),
	    cmocka_unit_test(test_unsupported_keys),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
