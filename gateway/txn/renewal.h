/* renewal.h: requests signed by a certificate of the profile's CA:
 * RenewalReq, a draft-style PKCSReq signed by the old certificate, GetCert
 * and GetCRL.  Runs on the loop thread (the store is read). */
#ifndef SGW_RENEWAL_H
#define SGW_RENEWAL_H

#include <time.h>

#include <openssl/x509.h>

#include "csr.h"
#include "err.h"
#include "profile.h"
#include "store.h"

/* 1 when the signer names the profile's issuing CA as its issuer and is not
 * self-signed: the request claims to come from a certificate holder. */
int renewal_signer_claims_ca(const struct profile *p, X509 *signer);

/* The signer chains to the profile's CA and is valid at `now` (0), or
 * -SGW_EAUTH (its signature does not verify: tampered), -SGW_EDENIED
 * (expired, not yet valid, another CA, revoked in the store), -SGW_EIO. */
int renewal_verify_signer(const struct profile *p, struct store *s, X509 *signer, time_t now,
			  struct sgw_err *err);

/* The profile's renewal rules for this CSR: window, subject, key reuse.
 * 0 or -SGW_EDENIED with the reason. */
int renewal_check_rules(const struct cfg_renewal *rules, X509 *signer, const struct csr *csr,
			time_t now, struct sgw_err *err);

#endif
