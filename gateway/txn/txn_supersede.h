/* txn_supersede.h: what a renewal does to the certificate it replaces, once
 * its successor is issued and committed (txn_supersede.c).  Loop thread;
 * the store call runs as a store step (txn_step()). */
#ifndef SGW_TXN_SUPERSEDE_H
#define SGW_TXN_SUPERSEDE_H

#include "scep_req.h"

/* r was authorized by its signer's certificate (r->renewal) and r->txn is
 * ISSUED: mark the signer's certificate superseded by r->txn.cert_serial in
 * the store and, with the profile's renewal.revoke_superseded, revoke it
 * (CRLReason superseded) through the profile's backend.  A failure is
 * logged, never the device's problem: the new certificate stands.  Then
 * done(r), at once or after the store step and the revocation. */
void txn_supersede(struct req_ctx *r, void (*done)(struct req_ctx *r));

#endif
