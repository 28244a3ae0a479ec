/* scep_certrep.h: build replies.  CertRep (RFC 8894 3.3.2): SignedData by the
 * RA signing key with the request's digest; SUCCESS carries an EnvelopedData
 * (request's cipher, to the requester's signer certificate) of a degenerate
 * certs-only SignedData.  Signing uses keyop: run on a worker thread. */
#ifndef SGW_SCEP_CERTREP_H
#define SGW_SCEP_CERTREP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "err.h"
#include "keyop.h"
#include "scep_msg.h"

struct scep_certrep_params {
	int pki_status;			/* enum scep_pki_status */
	int fail_info;			/* when FAILURE */
	const char *fail_info_text;	/* optional, when FAILURE */
	const char *transaction_id;	/* echoed */
	const uint8_t *recipient_nonce; /* the request's senderNonce (SCEP_NONCE_LEN) */
	int digest_nid;			/* the request's digest */
	int cipher_nid;			/* the request's content cipher (SUCCESS only) */
	X509 *recipient;		/* the request's signer certificate (SUCCESS only) */
	X509 *ra_cert;			/* RA signing certificate */
	const struct keyop_key *ra_key; /* RA signing key */
	STACK_OF(X509) * certs;		/* SUCCESS: issued certificate first, then optional chain */
	X509_CRL *crl;			/* SUCCESS for GetCRL instead of certs */
};

int scep_certrep_build(const struct scep_certrep_params *p, uint8_t **ret_der, size_t *ret_len,
		       struct sgw_err *err);

/* Degenerate certs-only SignedData (GetCACert in RA mode, and the inner
 * SUCCESS payload): version 1, no signers, eContent absent. */
int scep_certs_only(STACK_OF(X509) * certs, X509_CRL *crl, uint8_t **ret_der, size_t *ret_len);

/* GetNextCACert reply: SignedData by the current RA over a certs-only
 * SignedData of `next`, with `next` in its certificates field too. */
int scep_nextca_build(STACK_OF(X509) * next, X509 *ra_cert, const struct keyop_key *ra_key,
		      uint8_t **ret_der, size_t *ret_len, struct sgw_err *err);

#endif
