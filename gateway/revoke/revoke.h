/* revoke.h: revocation, in one place (revoke.c): the CRLReason names (RFC
 * 5280 5.3.1), the serial as the store keeps it, and revoke_start(), which
 * finds the certificate in the store, asks the backend that issued it to
 * revoke it (the backend publishes the CRL) and marks the store row.  The
 * admin API, the Intune revocation feed and `scepgw revoke` (revoke_cli.c)
 * all revoke through it.  Called on the loop thread. */
#ifndef SGW_REVOKE_H
#define SGW_REVOKE_H

#include <stddef.h>

#include "backend.h"
#include "err.h"
#include "store.h"

/* "keyCompromise" (any case) or a decimal code -> the code; -1 if unknown,
 * unused (7) or removeFromCRL (8, delta CRLs only). */
int revoke_reason_parse(const char *name);
const char *revoke_reason_name(int code);

/* Serial as typed (hex, optional 0x and colons, any case) -> the store's
 * form (BN_bn2hex lowercased: whole octets, no leading zero octet; "0" for
 * zero); -1 if not hex or too long. */
int revoke_serial_normalize(const char *in, char *out, size_t size);

struct revoke_op;
/* The end of a revocation that revoke_start() began: op says how it went. */
typedef void (*revoke_cb)(void *arg, struct revoke_op *op);

/* One revocation.  The caller owns it (embeds it in its own job) and keeps
 * it until the callback. */
struct revoke_op {
	/* set by the caller */
	struct store *store;
	/* the backend to ask: this one when set (the Intune feed's), else the
	 * one backend_of(backend_of_ctx, issuer) names for the certificate's
	 * issuer (the admin API and the CLI pass profiles_backend_of()) */
	struct backend *backend;
	struct backend *(*backend_of)(const void *ctx, const char *issuer);
	const void *backend_of_ctx;
	const struct backend_env *start; /* set: start that backend first (a process
					    whose backends do not run: the CLI) */
	char serial[80];		 /* the store's form (revoke_serial_normalize) */
	int reason;			 /* CRLReason code */
	int refuse_revoked;		 /* the store marks it revoked: -SGW_EEXIST at once */
	revoke_cb cb;
	void *arg;
	/* optional: called instead of cb when a store step of the revocation
	 * is dropped at shutdown (store_exec_owned()): frees the caller's job */
	revoke_cb drop;
	/* set by revoke_start(), for the callback */
	int rc;		       /* 0: the backend was asked; or a refusal (below), with
				  backend_rc = rc and the reason in backend_why */
	char issuer[512];      /* the certificate's, as stored */
	int backend_rc;	       /* 0, -SGW_EEXIST (the CA had revoked it already), or -SGW_E* */
	char backend_why[256]; /* the backend's reason when backend_rc < 0, else "" */
	int store_rc;	       /* when the backend revoked it: store_cert_revoke()'s 0,
				  -SGW_EEXIST (marked before) or -SGW_E*; else 0 */
	int was_revoked;       /* internal: the store marks it revoked */
	uint8_t *der;	       /* internal: the certificate as stored, from the find
				  step until the backend was asked */
	size_t der_len;
};

/* Find op->serial in the store, choose and ask the backend, mark the store
 * row if the backend revoked it: the store calls are store steps
 * (store_exec(): on a store thread when the store may block, inline
 * otherwise).  0 when op->cb follows (on the loop, perhaps before this
 * returns), with op->rc 0 or a refusal:
 * -SGW_ENOTFOUND  no certificate with this serial in the store;
 * -SGW_EIO        the store failed, or holds the serial under two issuers;
 * -SGW_EEXIST     the store marks it revoked already (refuse_revoked);
 * -SGW_EINVAL     no backend issues under its issuer;
 * -SGW_EBACKEND   the backend did not start, or cannot revoke.
 * < 0 (no callback, err says why): the store threads stopped (shutdown). */
int revoke_start(struct revoke_op *op, struct sgw_err *err);

#endif
