/* acme_jws.c: base64url, JWK, thumbprints and flattened JWS (RFC 7515,
 * 7518, 7638; RFC 8555 6.2, 7.3.4, 8.1).  Pure: no I/O, no logging; the
 * account key signs through the caller's callback (keyop). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "acme_jws.h"
#include "b64.h"
#include "err.h"

#define ACME_B64U_MAX (1024 * 1024)

int
acme_b64u_encode(const uint8_t *in, size_t len, char **ret)
{
	if (len > ACME_B64U_MAX)
		return -SGW_EINVAL;
	return b64_encode(in, len, B64_URL, B64_STRICT_NOPAD, ret);
}

int
acme_b64u_decode(const char *in, size_t len, uint8_t **ret, size_t *ret_len)
{
	if (len > ACME_B64U_MAX)
		return -SGW_EPARSE;
	return b64_decode(in, len, B64_URL, B64_STRICT_NOPAD, ret, ret_len);
}

/* ---- JWK ----------------------------------------------------------------- */

/* b64u of a big-endian integer: padded to `pad` bytes, or minimal when 0. */
static int
bn_param_b64u(EVP_PKEY *pkey, const char *name, int pad, char **ret)
{
	BIGNUM *bn = NULL;
	uint8_t buf[1024];
	int n, r = -SGW_EALG;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
		return r;
	n = pad > 0 ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
	if (BN_num_bytes(bn) <= (int)sizeof(buf) && n > 0)
		r = acme_b64u_encode(buf, (size_t)n, ret);
	BN_free(bn);
	return r;
}

static int
jwk_ec(EVP_PKEY *pub, json_t *jwk)
{
	char curve[32], *x = NULL, *y = NULL;
	int r = -SGW_EALG;

	if (EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof(curve),
					   NULL) != 1 ||
	    (strcmp(curve, "prime256v1") != 0 && strcmp(curve, "P-256") != 0))
		return r;
	if ((r = bn_param_b64u(pub, OSSL_PKEY_PARAM_EC_PUB_X, 32, &x)) < 0 ||
	    (r = bn_param_b64u(pub, OSSL_PKEY_PARAM_EC_PUB_Y, 32, &y)) < 0)
		goto out;
	r = json_object_set_new(jwk, "crv", json_string("P-256")) ||
		    json_object_set_new(jwk, "kty", json_string("EC")) ||
		    json_object_set_new(jwk, "x", json_string(x)) ||
		    json_object_set_new(jwk, "y", json_string(y))
		? -SGW_ENOMEM
		: 0;
out:
	free(x);
	free(y);
	return r;
}

static int
jwk_rsa(EVP_PKEY *pub, json_t *jwk)
{
	char *n = NULL, *e = NULL;
	int r;

	if ((r = bn_param_b64u(pub, OSSL_PKEY_PARAM_RSA_E, 0, &e)) < 0 ||
	    (r = bn_param_b64u(pub, OSSL_PKEY_PARAM_RSA_N, 0, &n)) < 0)
		goto out;
	r = json_object_set_new(jwk, "e", json_string(e)) ||
		    json_object_set_new(jwk, "kty", json_string("RSA")) ||
		    json_object_set_new(jwk, "n", json_string(n))
		? -SGW_ENOMEM
		: 0;
out:
	free(n);
	free(e);
	return r;
}

int
acme_jwk_new(EVP_PKEY *pub, json_t **ret_jwk, const char **ret_alg)
{
	json_t *jwk = json_object();
	const char *alg;
	int r;

	if (jwk == NULL)
		return -SGW_ENOMEM;
	switch (EVP_PKEY_get_base_id(pub)) {
	case EVP_PKEY_EC:
		r = jwk_ec(pub, jwk);
		alg = "ES256";
		break;
	case EVP_PKEY_RSA:
		r = EVP_PKEY_get_bits(pub) >= 2048 ? jwk_rsa(pub, jwk) : -SGW_EALG;
		alg = "RS256";
		break;
	default:
		r = -SGW_EALG;
		alg = NULL;
	}
	if (r < 0) {
		json_decref(jwk);
		return r;
	}
	*ret_jwk = jwk;
	*ret_alg = alg;
	return 0;
}

static int
sha256_b64u(const void *data, size_t len, char **ret)
{
	uint8_t md[SHA256_DIGEST_LENGTH];

	if (SHA256(data, len, md) == NULL)
		return -SGW_ENOMEM;
	return acme_b64u_encode(md, sizeof(md), ret);
}

int
acme_jwk_thumbprint(const json_t *jwk, char **ret)
{
	static const char *const members[] = {"crv", "e", "kty", "n", "x", "y"};
	json_t *req = json_object();
	char *s = NULL;
	int r = -SGW_ENOMEM;

	if (req == NULL)
		return r;
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		json_t *v = json_object_get(jwk, members[i]);
		if (v != NULL && json_object_set(req, members[i], v) != 0)
			goto out;
	}
	s = json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS);
	if (s != NULL)
		r = sha256_b64u(s, strlen(s), ret);
out:
	free(s);
	json_decref(req);
	return r;
}

int
acme_key_authorization(const char *token, const char *thumbprint, char **ret)
{
	size_t n = strlen(token) + strlen(thumbprint) + 2;
	char *s = malloc(n);

	if (s == NULL)
		return -SGW_ENOMEM;
	snprintf(s, n, "%s.%s", token, thumbprint);
	*ret = s;
	return 0;
}

int
acme_dns01_value(const char *token, const char *thumbprint, char **ret)
{
	char *ka = NULL;
	int r = acme_key_authorization(token, thumbprint, &ka);

	if (r == 0)
		r = sha256_b64u(ka, strlen(ka), ret);
	free(ka);
	return r;
}

/* ---- JWS ----------------------------------------------------------------- */

static int
protected_b64u(const struct acme_jws_hdr *h, char **ret)
{
	json_t *p = json_object();
	char *s = NULL;
	int r = -SGW_ENOMEM;

	if (p == NULL)
		return r;
	if (json_object_set_new(p, "alg", json_string(h->alg)) ||
	    (h->nonce != NULL && json_object_set_new(p, "nonce", json_string(h->nonce))) ||
	    json_object_set_new(p, "url", json_string(h->url)) ||
	    (h->jwk != NULL && json_object_set(p, "jwk", (json_t *)h->jwk)) ||
	    (h->kid != NULL && json_object_set_new(p, "kid", json_string(h->kid))))
		goto out;
	s = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
	if (s != NULL)
		r = acme_b64u_encode((const uint8_t *)s, strlen(s), ret);
out:
	free(s);
	json_decref(p);
	return r;
}

int
acme_jws_new(const struct acme_jws_hdr *h, const char *payload, acme_sign_fn sign, void *sign_ctx,
	     json_t **ret)
{
	char *prot = NULL, *pay = NULL, *input = NULL, *sig64 = NULL;
	uint8_t *sig = NULL;
	size_t siglen = 0, n;
	json_t *jws;
	int r;

	if (h->alg == NULL || h->url == NULL || (h->jwk == NULL) == (h->kid == NULL))
		return -SGW_EINVAL;
	if ((r = protected_b64u(h, &prot)) < 0)
		return r;
	r = payload != NULL ? acme_b64u_encode((const uint8_t *)payload, strlen(payload), &pay)
			    : ((pay = strdup("")) != NULL ? 0 : -SGW_ENOMEM);
	if (r < 0)
		goto out;
	n = strlen(prot) + strlen(pay) + 2;
	r = -SGW_ENOMEM;
	if ((input = malloc(n)) == NULL)
		goto out;
	snprintf(input, n, "%s.%s", prot, pay);
	if ((r = sign(sign_ctx, (const uint8_t *)input, n - 1, &sig, &siglen)) < 0 ||
	    (r = acme_b64u_encode(sig, siglen, &sig64)) < 0)
		goto out;
	r = -SGW_ENOMEM;
	jws = json_pack("{s:s, s:s, s:s}", "protected", prot, "payload", pay, "signature", sig64);
	if (jws == NULL)
		goto out;
	*ret = jws;
	r = 0;
out:
	free(prot);
	free(pay);
	free(input);
	free(sig);
	free(sig64);
	return r;
}

int
acme_jws_body(const struct acme_jws_hdr *h, const char *payload, acme_sign_fn sign, void *sign_ctx,
	      char **ret)
{
	json_t *jws = NULL;
	char *s;
	int r = acme_jws_new(h, payload, sign, sign_ctx, &jws);

	if (r < 0)
		return r;
	s = json_dumps(jws, JSON_COMPACT);
	json_decref(jws);
	if (s == NULL)
		return -SGW_ENOMEM;
	*ret = s;
	return 0;
}

struct hmac_key {
	const uint8_t *key;
	size_t len;
};

static int
hs256_sign(void *ctx, const uint8_t *in, size_t len, uint8_t **ret_sig, size_t *ret_len)
{
	const struct hmac_key *k = ctx;
	unsigned int n = 0;
	uint8_t *out = malloc(EVP_MAX_MD_SIZE);

	if (out == NULL)
		return -SGW_ENOMEM;
	if (HMAC(EVP_sha256(), k->key, (int)k->len, in, len, out, &n) == NULL) {
		free(out);
		return -SGW_EAUTH;
	}
	*ret_sig = out;
	*ret_len = n;
	return 0;
}

int
acme_eab_new(const char *eab_kid, const uint8_t *mac_key, size_t mac_len, const char *url,
	     const json_t *jwk, json_t **ret)
{
	struct hmac_key k = {mac_key, mac_len};
	struct acme_jws_hdr h = {.alg = "HS256", .url = url, .kid = eab_kid};
	char *payload;
	int r;

	if (mac_len == 0 || mac_len > 1024)
		return -SGW_EINVAL;
	payload = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
	if (payload == NULL)
		return -SGW_ENOMEM;
	r = acme_jws_new(&h, payload, hs256_sign, &k, ret);
	free(payload);
	return r;
}
