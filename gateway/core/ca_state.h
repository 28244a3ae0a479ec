/* ca_state.h: the shared state of a CA the gateway runs itself (the local
 * backend): its revocations, its current CRL and the lease of its periodic
 * CRL job, kept in the gateway's store so that every instance revokes into
 * and serves the same CRL (issue 20).  A backend may not include the store
 * (the layer rule): the gateway fills this vtable from it
 * (gateway/store/store_ca.c) and hands it over in backend_env.  Every call
 * that changes state commits before it returns.  `ca` is the backend's name.
 *
 * Threads: step() is called on the loop thread.  The other operations may
 * block (a database round trip): once serving, they are called only inside
 * the work of a step, which runs on a store thread when the store may block
 * (PostgreSQL, store.offload) and inline on the loop otherwise (SQLite: the
 * same code path).  In the backend's start (at start-up, and for the new
 * backends of a reload: a local CA with a state_dir checks whether its
 * one-time import is done; -SGW_EUNAVAIL there leaves it to a later step)
 * and in the command-line tools they are called directly on the calling
 * thread. */
#ifndef SGW_CA_STATE_H
#define SGW_CA_STATE_H

#include <stddef.h>
#include <stdint.h>

struct ca_revoked {
	char serial[80]; /* lower-case hex, the store's form */
	int reason;	 /* RFC 5280 CRLReason */
	int64_t when;	 /* unix seconds */
};

struct ca_crl {
	int64_t number; /* the CRL number */
	int64_t next_update;
	uint8_t *der; /* malloc'd; the caller's after crl_get */
	size_t der_len;
};

typedef int (*ca_revoked_each)(void *arg, const struct ca_revoked *r); /* < 0 stops */
typedef void (*ca_step_fn)(void *arg);

struct ca_state_ops {
	const char *name;
	/* -SGW_EEXIST when the serial is revoked already (nothing changes) */
	int (*revoke)(void *priv, const char *ca, const struct ca_revoked *r);
	/* every revocation, oldest first */
	int (*revoked_list)(void *priv, const char *ca, ca_revoked_each each, void *arg);
	/* -SGW_ENOTFOUND when no CRL is stored */
	int (*crl_get)(void *priv, const char *ca, struct ca_crl *ret);
	/* only as the stored number + 1 (1 when none): -SGW_EEXIST when another
	 * instance stored that number first (read theirs) */
	int (*crl_put)(void *priv, const char *ca, const struct ca_crl *c);
	/* the upgrade from a CA's own files: any number, only when no CRL is
	 * stored (-SGW_EEXIST otherwise) */
	int (*crl_seed)(void *priv, const char *ca, const struct ca_crl *c);
	/* the stored CRL's number only (a cheap check): -SGW_ENOTFOUND when
	 * none is stored, -SGW_EINVAL when the store cannot tell it apart
	 * (read crl_get then).  May be NULL */
	int (*crl_number)(void *priv, const char *ca, int64_t *ret);
	/* take or renew the lease on `job` for this instance for ttl seconds:
	 * *ret_held = 1 when this instance holds it now */
	int (*lease)(void *priv, const char *job, int ttl, int *ret_held);
	/* Loop thread: run work(arg), which makes the calls above on what arg
	 * owns, then done(arg) on the loop thread: both inline before this
	 * returns, or work on a store thread and done later.  0, or a negative
	 * SGW_E* (shutting down) when neither runs. */
	int (*step)(void *priv, ca_step_fn work, ca_step_fn done, void *arg);
};

struct ca_state {
	const struct ca_state_ops *ops;
	void *priv;
};

#endif
