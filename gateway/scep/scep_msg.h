/* scep_msg.h: decode and verify a pkiMessage (RFC 8894 3.1, 3.2).  Pure:
 * bytes in, struct out; no I/O, no logging, no private keys.
 *
 * Decoding is staged so a reply can be formed whenever possible:
 *   - return < 0: not a pkiMessage we can answer (HTTP 400 by the caller);
 *   - return 0 with msg->outcome != SCEP_OUT_SUCCESS: we know the signer,
 *     transactionID and senderNonce, so the caller answers CertRep FAILURE
 *     with msg->outcome and msg->reason (bad signature, bad digest, unknown
 *     messageType);
 *   - return 0 with msg->outcome == SCEP_OUT_SUCCESS: verified. */
#ifndef SGW_SCEP_MSG_H
#define SGW_SCEP_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "err.h"
#include "scep_fail.h"

enum scep_msg_type {
	SCEP_MSG_CERTREP = 3,
	SCEP_MSG_RENEWALREQ = 17,
	SCEP_MSG_PKCSREQ = 19,
	SCEP_MSG_CERTPOLL = 20, /* GetCertInitial */
	SCEP_MSG_GETCERT = 21,
	SCEP_MSG_GETCRL = 22,
};

#define SCEP_NONCE_LEN 16
#define SCEP_TXID_MAX 128 /* longest transactionID accepted */

struct scep_msg {
	int msg_type; /* enum scep_msg_type, or the unknown value */
	char transaction_id[SCEP_TXID_MAX + 1];
	uint8_t sender_nonce[SCEP_NONCE_LEN];
	X509 *signer;		       /* owned: the signer certificate */
	uint8_t signer_key_sha256[32]; /* SHA-256 of the signer's SubjectPublicKeyInfo DER */
	int digest_nid;		       /* the SignerInfo digest (NID_sha256, ...) */
	time_t signing_time;	       /* 0 when absent */
	uint8_t *envelope;	       /* owned: DER pkcsPKIEnvelope (eContent); NULL if absent */
	size_t envelope_len;
	enum scep_outcome outcome; /* see above */
	char reason[160];	   /* why, when outcome != SUCCESS; no secrets */
};

/* Digests allowed for signatures: the SHA-1/224/256/384/512 that `caps` (the
 * profile's SCEP_CAP_* bits) announces, all of them when it announces none
 * (scep_caps_digest_ok); MD5 only when allow_md5.  Any other: badAlg. */
int scep_msg_decode(const uint8_t *der, size_t len, unsigned caps, int allow_md5,
		    struct scep_msg **ret, struct sgw_err *err);
void scep_msg_free(struct scep_msg *m);
const char *scep_msg_type_name(int msg_type); /* "PKCSReq", ... or "unknown" */

/* Register the SCEP attribute OIDs once at startup (idempotent, not thread-safe:
 * call before starting workers). */
int scep_oids_init(void);
/* NIDs registered by scep_oids_init. */
struct scep_nids {
	int message_type, pki_status, fail_info, sender_nonce, recipient_nonce, transaction_id,
	    fail_info_text;
};
const struct scep_nids *scep_nids(void);

#endif
