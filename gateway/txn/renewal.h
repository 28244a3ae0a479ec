/* renewal.h: requests signed by a certificate of the profile's CA:
 * RenewalReq, a draft-style PKCSReq signed by the old certificate, GetCert
 * and GetCRL.  The checks that read the store run inside a store step
 * (txn_step()): they touch only their arguments, so they may run on a store
 * thread.  The scope (docs/config.md, "Renewal"): the signer is a leaf the profile's issuing CA
 * issued itself, by default through this gateway for this profile, not
 * revoked and, to renew, not superseded; a renewal names nothing the signer
 * does not (renewal_names.c). */
#ifndef SGW_RENEWAL_H
#define SGW_RENEWAL_H

#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "csr.h"
#include "err.h"
#include "profile.h"
#include "store.h"

/* What the signer asks for: a new certificate; to fetch one (GetCert: a
 * superseded certificate may still fetch its successor); or the CRL, which
 * is public anyway (/crl/<backend>.crl): any unrevoked leaf of the issuing
 * CA, whichever profile or RA it came through. */
enum renewal_use { RENEWAL_USE_RENEW, RENEWAL_USE_FETCH, RENEWAL_USE_CRL, RENEWAL_USE_MAX };

/* 1 when the signer names the profile's issuing CA as its issuer and is not
 * self-signed: the request claims to come from a certificate holder. */
int renewal_signer_claims_ca(const struct profile *p, X509 *signer);

/* The signer (whose SubjectPublicKeyInfo has SHA-256 `key_sha256`) is a
 * leaf issued by the profile's issuing CA itself and valid at `now`; the
 * store knows it for this profile (unless renewal.require_issued_here is
 * off and the store does not know it, or for RENEWAL_USE_CRL), not revoked
 * and, for
 * RENEWAL_USE_RENEW, not superseded (store.h cert_superseded).  0, or
 * -SGW_EAUTH (its signature does not verify: tampered), -SGW_EDENIED with the
 * reason, -SGW_EIO. */
int renewal_verify_signer(const struct profile *p, struct store *s, X509 *signer,
			  const uint8_t key_sha256[32], enum renewal_use use, time_t now,
			  struct sgw_err *err);

/* GetCert: the signer with this key may fetch certificate c (found under
 * the profile's CA) when c was issued on this profile for a request signed
 * by the same key (its own certificate, or its renewal).  0, -SGW_EDENIED
 * with the reason, -SGW_EIO. */
int renewal_may_fetch(const struct profile *p, struct store *s, const struct store_cert *c,
		      const uint8_t key_sha256[32], struct sgw_err *err);

/* The profile's renewal rules for this CSR: window, subject, names (unless
 * allow_new_names), key reuse.  0 or -SGW_EDENIED with the reason. */
int renewal_check_rules(const struct cfg_renewal *rules, X509 *signer, const struct csr *csr,
			time_t now, struct sgw_err *err);

/* renewal_names.c: every subject attribute and subjectAltName of req is
 * also one of the signer's.  0 or -SGW_EDENIED with the first name that is
 * not. */
int renewal_names_subset(X509 *signer, X509_REQ *req, struct sgw_err *err);

#endif
