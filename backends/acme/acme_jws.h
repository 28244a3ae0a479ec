/* acme_jws.h: base64url, JWK, thumbprints and flattened JWS for ACME
 * (RFC 7515, 7517, 7518, 7638, RFC 8555 6.2 and 7.3.4).  Pure: the private
 * key stays behind keyop and is reached through a signer callback. */
#ifndef SGW_ACME_JWS_H
#define SGW_ACME_JWS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

/* base64url without padding.  *ret is NUL-terminated and malloc'd. */
int acme_b64u_encode(const uint8_t *in, size_t len, char **ret);
/* Accepts no padding, no whitespace, nothing outside [A-Za-z0-9_-]. */
int acme_b64u_decode(const char *in, size_t len, uint8_t **ret, size_t *ret_len);

/* The public JWK of an EC P-256 or RSA key, with its JWS alg ("ES256",
 * "RS256").  Other key types are -SGW_EALG. */
int acme_jwk_new(EVP_PKEY *pub, json_t **ret_jwk, const char **ret_alg);
/* RFC 7638: b64u(SHA-256(the required members, sorted, no whitespace)). */
int acme_jwk_thumbprint(const json_t *jwk, char **ret);
/* RFC 8555 8.1 key authorization "token.thumbprint" and the dns-01 TXT value
 * b64u(SHA-256(key authorization)). */
int acme_key_authorization(const char *token, const char *thumbprint, char **ret);
int acme_dns01_value(const char *token, const char *thumbprint, char **ret);

/* Signs `in` and returns a malloc'd JWS signature (raw r||s for ES256). */
typedef int (*acme_sign_fn)(void *ctx, const uint8_t *in, size_t len, uint8_t **ret_sig,
			    size_t *ret_len);

struct acme_jws_hdr {
	const char *alg;
	const char *nonce; /* NULL: no nonce (the EAB inner JWS) */
	const char *url;
	const json_t *jwk; /* exactly one of jwk and kid */
	const char *kid;
};

/* A flattened JWS {"protected","payload","signature"}.  payload NULL means
 * POST-as-GET (payload ""). */
int acme_jws_new(const struct acme_jws_hdr *h, const char *payload, acme_sign_fn sign,
		 void *sign_ctx, json_t **ret);
/* The same, serialised (the request body). */
int acme_jws_body(const struct acme_jws_hdr *h, const char *payload, acme_sign_fn sign,
		  void *sign_ctx, char **ret);
/* The externalAccountBinding member (RFC 8555 7.3.4): HS256 with the MAC key
 * (already base64url-decoded) over the account JWK. */
int acme_eab_new(const char *eab_kid, const uint8_t *mac_key, size_t mac_len, const char *url,
		 const json_t *jwk, json_t **ret);

#endif
