/* p11_token.h: private keys on a PKCS#11 token, called directly through the
 * module's C_* functions for the few operations keyop needs (C_Sign,
 * C_Decrypt).  A module is loaded and C_Initialize'd once per process (the
 * standard allows one initialisation per process), so modules and their
 * tokens are shared, reference-counted, by every key table (SIGHUP builds a
 * new one while the old one finishes its requests).  Worker threads take a
 * session from the token's pool for each operation, so they use the token in
 * parallel; the token is logged in once (PKCS#11 login state belongs to the
 * application, not to a session).  A session or login error (token removed,
 * CKR_SESSION_HANDLE_INVALID, CKR_USER_NOT_LOGGED_IN, ...) closes every
 * session; the next operation finds the token again, opens sessions and logs
 * in again.  The PIN is kept in OpenSSL's secure heap for that. */
#ifndef SGW_P11_TOKEN_H
#define SGW_P11_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct p11_key;

enum p11_key_type { P11_KEY_RSA = 1, P11_KEY_EC };
enum p11_mech {
	P11_SIGN_RSA_PKCS = 1, /* C_Sign CKM_RSA_PKCS over a DigestInfo */
	P11_SIGN_ECDSA,	       /* C_Sign CKM_ECDSA over a digest: r||s */
	P11_DECRYPT_RSA_PKCS,  /* C_Decrypt CKM_RSA_PKCS */
	P11_DECRYPT_RSA_OAEP,  /* C_Decrypt CKM_RSA_PKCS_OAEP (SHA-1, MGF1-SHA1, no label) */
	P11_DECRYPT_RSA_X509,  /* C_Decrypt CKM_RSA_X_509 (raw) */
};

/* Open the private key `uri` (RFC 7512) with `module` and the PIN in
 * pin_file (read with secret_file_read: owner and mode checked).  `name`
 * (the key's id in keyop) appears in log lines.  Refuses a key that the
 * token would let out (CKA_EXTRACTABLE true or CKA_SENSITIVE false). */
int p11_key_open(const char *module, const char *pin_file, const char *uri, const char *name,
		 struct p11_key **ret, struct sgw_err *err);
void p11_key_free(struct p11_key *k);

enum p11_key_type p11_key_type(const struct p11_key *k);
/* The public half as the token reports it: RSA modulus and exponent, or EC
 * parameters (DER) and point (DER OCTET STRING), big-endian, owned by k. */
void p11_key_public(const struct p11_key *k, const uint8_t **a, size_t *a_len, const uint8_t **b,
		    size_t *b_len);

/* One operation on the token; *out_len is the room in out on entry.
 * -SGW_EUNAVAIL when the token cannot be reached (logged, with the key's
 * name and the CKR_ code), -SGW_EAUTH when it refuses the data. */
int p11_key_op(struct p11_key *k, enum p11_mech mech, const uint8_t *in, size_t in_len,
	       uint8_t *out, size_t *out_len);

/* 1 while the key's token cannot be reached (the last operation on it
 * failed for that reason). */
int p11_key_unavailable(const struct p11_key *k);

#endif
