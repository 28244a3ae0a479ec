/* backend.h: the CA backend contract (docs/conventions.md 1-2; unbound module_func_block).
 *
 * A backend turns a CSR into a certificate.  It never sees SCEP and never
 * touches the store: gateway/txn.c owns the transaction and persists every
 * result.  submit() and poll() return at once; the outcome always arrives
 * later through the callback, on the loop thread (even when known at once,
 * so callers have one code path).  Heavy CPU work goes to the worker pool,
 * network I/O through the event base.
 *
 * Lifecycle: configure (at config load, validates keys, may fail with
 * file:line) -> start (loads keys through keyop, opens connections) ->
 * submit/poll any number of times -> stop (cancels outstanding work; no
 * callbacks after stop returns).
 *
 * submit()/poll() return 0 when exactly one callback will follow, or a
 * negative SGW_E* (not started, out of memory, queue closed) when none will. */
#ifndef SGW_BACKEND_H
#define SGW_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>
#include <openssl/x509.h>

#include "ca_state.h"
#include "cfg_node.h"
#include "err.h"
#include "keyop.h"
#include "worker.h"

#include "backend_result.h" /* enum backend_status, struct backend_result */

enum backend_cap {
	BACKEND_CAP_REVOKE = 1u << 0,
	BACKEND_CAP_CRL = 1u << 1,
	BACKEND_CAP_POLL = 1u << 2,
	/* poll() may need the request's CSR (ACME: finalize is due on the
	 * order's first poll or on any later one): the caller opens the stored
	 * CSR and passes it; without this cap poll() is given NULL */
	BACKEND_CAP_POLL_CSR = 1u << 3,
};

struct backend_request {
	const uint8_t *csr_der; /* borrowed for the duration of submit() only */
	size_t csr_len;
	const char *template; /* template name from the RA profile */
	const char *profile;  /* SCEP profile name, for logs */
	const char *transaction_id;
	/* Optional: csr_der already decoded, its self-signature verified.  A
	 * backend that needs an X509_REQ uses it instead of decoding csr_der
	 * again (OpenSSL 3 runs a key decoder per d2i).  Borrowed and not
	 * modified until the callback has run; when stop() prevents the
	 * callback, until the worker pool is freed.  NULL: decode csr_der. */
	X509_REQ *csr_req;
	/* The subjectAltName the certificate may carry: DER GeneralNames that
	 * the caller built from the names its CSR policy approved (borrowed
	 * for submit() only).  With names_approved set, a backend that builds
	 * the certificate itself (local) issues exactly these (san_len 0:
	 * none) and never copies the CSR's extension; without it, only the
	 * kinds a policy can approve (DNS, IP, e-mail, URI, UPN).  A remote CA
	 * (EJBCA, ACME) receives the CSR and applies its own profile. */
	const uint8_t *san_der;
	size_t san_len;
	int names_approved;
};

/* The callback takes ownership of nothing: it must copy or steal (set to NULL)
 * what it keeps; the caller frees the result after it returns. */
typedef void (*backend_cb)(void *arg, struct backend_result *res);

/* Completion of revoke (rc 0 or -SGW_E*, reason when rc < 0). */
typedef void (*backend_op_cb)(void *arg, int rc, const char *reason);
/* Completion of get_crl: crl is borrowed for the call, NULL on failure. */
typedef void (*backend_crl_cb)(void *arg, X509_CRL *crl, const char *reason);

struct backend_env {
	struct event_base *base;
	struct worker_pool *workers;
	struct keyop *keys;
	struct http_client *http; /* the daemon's: make your own with http_client_new_child() */
	/* the shared state of a CA the gateway runs (the local backend's
	 * revocations and CRL, in the store); NULL: none (no revoke or CRL) */
	const struct ca_state *ca_state;
};

struct backend_ops {
	const char *name; /* YAML type: */
	unsigned caps;	  /* BACKEND_CAP_* */
	size_t priv_size; /* zeroed private state allocated by backend.c */
	int (*configure)(void *priv, const char *bname, const struct cfg_node *node,
			 const char *path, struct sgw_err *err);
	int (*start)(void *priv, const struct backend_env *env, struct sgw_err *err);
	int (*submit)(void *priv, const struct backend_request *req, backend_cb cb, void *arg);
	/* may be NULL.  req: the transaction's request as stored (csr_der,
	 * transaction_id, profile; borrowed for the call only), or NULL when the
	 * caller has none or the backend lacks BACKEND_CAP_POLL_CSR */
	int (*poll)(void *priv, const char *handle, const struct backend_request *req,
		    backend_cb cb, void *arg);
	/* the CA certificate(s) this backend issues under, issuing CA first */
	STACK_OF(X509) * (*ca_chain)(void *priv);
	/* BACKEND_CAP_REVOKE: revoke a certificate this backend issued (serial as
	 * lowercase hex, reason an RFC 5280 CRLReason code; der: the certificate
	 * as the store keeps it, borrowed for the call, or NULL: a CA that
	 * identifies it by the whole certificate, ACME, needs it); cb(arg, 0,
	 * NULL) when done, cb(arg, -SGW_E*, reason) otherwise.  May be NULL. */
	int (*revoke)(void *priv, const char *serial_hex, int reason, const uint8_t *der,
		      size_t der_len, backend_op_cb cb, void *arg);
	/* BACKEND_CAP_CRL: the current CRL of the issuing CA; cb(arg, crl, NULL)
	 * with the CRL borrowed for the call, or cb(arg, NULL, reason).  May be NULL. */
	int (*get_crl)(void *priv, backend_crl_cb cb, void *arg);
	void (*stop)(void *priv);
	void (*free)(void *priv); /* release configure()'s allocations */
	/* Optional.  Called as root before the privilege drop (`user:`), after
	 * configure: make the files this backend writes later (state_dir)
	 * writable by uid:gid, the user the daemon runs as.  check: change
	 * nothing, fail only when that user could not write them even after a
	 * start did its part (scepgw -n).  May be NULL. */
	int (*own_files)(void *priv, uid_t uid, gid_t gid, int check, struct sgw_err *err);
};

/* The registry: every backend type, each defined in its own folder and
 * declared only here; backend.c lists them once, NULL-terminated, and
 * backend_lookup() finds one by its YAML type:. */
extern const struct backend_ops backend_local; /* local/local.c */
extern const struct backend_ops backend_acme;  /* acme/acme.c */
extern const struct backend_ops backend_ejbca; /* ejbca/ejbca.c */

struct backend; /* an instance: ops + name + priv */

const struct backend_ops *backend_lookup(const char *type);
/* configure an instance named `name` from its YAML mapping `node` (at key
 * path `path`, "backends.<name>"), by the registry entry for `type` */
int backend_new(const char *name, const char *type, const struct cfg_node *node, const char *path,
		struct backend **ret, struct sgw_err *err);
int backend_start(struct backend *b, const struct backend_env *env, struct sgw_err *err);
int backend_submit(struct backend *b, const struct backend_request *req, backend_cb cb, void *arg);
int backend_poll(struct backend *b, const char *handle, const struct backend_request *req,
		 backend_cb cb, void *arg);
/* -SGW_EINVAL when the backend lacks the capability (no callback then). */
int backend_revoke(struct backend *b, const char *serial_hex, int reason, const uint8_t *der,
		   size_t der_len, backend_op_cb cb, void *arg);
int backend_get_crl(struct backend *b, backend_crl_cb cb, void *arg);
unsigned backend_caps(const struct backend *b);
STACK_OF(X509) * backend_ca_chain(struct backend *b); /* borrowed */
const char *backend_name(const struct backend *b);
/* own_files() of the backend, 0 when it has none. */
int backend_own_files(struct backend *b, uid_t uid, gid_t gid, int check, struct sgw_err *err);
void backend_free(struct backend *b); /* stops first; accepts NULL */

#endif
