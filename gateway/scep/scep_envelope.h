/* scep_envelope.h: the pkcsPKIEnvelope (CMS EnvelopedData, key transport).
 * Decryption uses a key from keyop; run it on a worker thread. */
#ifndef SGW_SCEP_ENVELOPE_H
#define SGW_SCEP_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "err.h"
#include "keyop.h"

/* Content-encryption algorithm of an EnvelopedData, without decrypting:
 * NID_aes_128_cbc, NID_aes_192_cbc, NID_aes_256_cbc, NID_des_ede3_cbc,
 * NID_des_cbc, or another NID.  Pure. */
int scep_envelope_cipher(const uint8_t *der, size_t len, int *ret_nid);

/* 1 when the cipher is acceptable: AES-CBC, 3DES always; DES-CBC only when allowed. */
int scep_envelope_cipher_allowed(int nid, int allow_single_des);

/* Decrypt with our RA encryption key/cert, finding our RecipientInfo among several.
 * -SGW_EALG for a disallowed cipher, -SGW_EAUTH when no RecipientInfo is ours or
 * decryption fails, -SGW_EPARSE for garbage. */
int scep_envelope_decrypt(const uint8_t *der, size_t len, const struct keyop_key *key, X509 *cert,
			  int allow_single_des, uint8_t **ret_data, size_t *ret_len,
			  int *ret_cipher_nid, struct sgw_err *err);

/* Encrypt `data` to `recipient` with the given cipher NID (issuerAndSerialNumber RID). */
int scep_envelope_encrypt(const uint8_t *data, size_t len, X509 *recipient, int cipher_nid,
			  uint8_t **ret_der, size_t *ret_len, struct sgw_err *err);

/* Load the legacy provider (and default again) so DES-CBC works; idempotent.
 * Not thread-safe: call at startup, before starting workers. */
int scep_envelope_enable_legacy(void);
/* Unload them again (at shutdown; without it LeakSanitizer reports the legacy
 * provider's DRBGs).  Safe to call when nothing was loaded. */
void scep_envelope_disable_legacy(void);

#endif
