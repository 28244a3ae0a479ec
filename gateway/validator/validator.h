/* validator.h: challenge validation behind one vtable, registered by name
 * like the backends (backend.h): the YAML `challenge.type` picks the entry
 * ("none", "static", "otp", "webhook", "intune") and the validator parses
 * the rest of its mapping itself.
 *
 * Lifecycle: configure (at load: its own keys, may fail with file:line) ->
 * start (once, with the env) -> check/notify any number of times -> free.
 * check() answers at once with 0 (allowed) or -SGW_EDENIED (reason in err),
 * or returns -SGW_EAGAIN and calls cb later on the loop thread (remote
 * validators). */
#ifndef SGW_VALIDATOR_H
#define SGW_VALIDATOR_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <openssl/x509.h>

#include "cfg_node.h"
#include "csr.h"
#include "err.h"

struct validator_req {
	const struct csr *csr;
	const char *profile;
	const char *transaction_id;
	const char *peer;
	struct event_base *base; /* the loop (remote validators) */
	/* notify(): a notification the store's outbox owes (txn_owed.c: a
	 * retry, or another instance's): sent whatever this instance remembers
	 * of the check */
	int owed;
};

struct store;
struct backend;
struct http_client;

/* Everything a validator may use, handed over once by start(). */
struct validator_env {
	struct event_base *base;
	struct http_client *http; /* the daemon's: make your own with http_client_new_child() */
	struct store *store;	  /* the open store (otp; intune's revocation feed) */
	struct backend *backend;  /* the profile's started backend (intune's revocation feed) */
};

typedef void (*validator_cb)(void *arg, int verdict, const char *reason);

struct validator_ops {
	const char *name; /* YAML challenge.type */
	size_t priv_size; /* zeroed private state allocated by validator.c */
	/* the whole challenge mapping `node` (type: included), at key path
	 * `path` for messages ("scep_profiles.<name>.challenge") */
	int (*configure)(void *priv, const struct cfg_node *node, const char *path,
			 struct sgw_err *err);
	/* optional: once, before the daemon serves requests */
	int (*start)(void *priv, const struct validator_env *env, struct sgw_err *err);
	int (*check)(void *priv, const struct validator_req *req, validator_cb cb, void *arg,
		     struct sgw_err *err);
	/* optional: after the backend answered a request this validator allowed:
	 * cert != NULL when issued, else `reason` says why it failed.  0 when
	 * nothing was sent (nothing is owed for this request); else
	 * cb(arg, 0 or -SGW_E*, reason) follows on the loop, once the peer
	 * confirmed or refused it, and the return says whether the device's
	 * reply waits for it (the validator's choice, per profile): -SGW_EAGAIN
	 * when it does, 1 when not; < 0: not sent. */
	int (*notify)(void *priv, const struct validator_req *req, X509 *cert, const char *reason,
		      validator_cb cb, void *arg);
	void (*free)(void *priv); /* optional: release configure()'s and start()'s */
};

struct validator; /* an instance: ops + priv */
struct otp;	  /* the otp validator's state (validator_otp.h) */

const struct validator_ops *validator_lookup(const char *type);
/* Configure an instance of `type` from its challenge mapping (at `path`). */
int validator_new(const char *type, const struct cfg_node *node, const char *path,
		  struct validator **ret, struct sgw_err *err);
int validator_start(struct validator *v, const struct validator_env *env, struct sgw_err *err);
int validator_check(struct validator *v, const struct validator_req *req, validator_cb cb,
		    void *arg, struct sgw_err *err);
/* 1 when the validator has a notify hook (its notifications are owed). */
int validator_has_notify(const struct validator *v);
/* The notify hook, or 0 when the validator has none. */
int validator_notify(struct validator *v, const struct validator_req *req, X509 *cert,
		     const char *reason, validator_cb cb, void *arg);
const char *validator_name(const struct validator *v);
/* The otp validator's state when v is one (one-time challenges are issued
 * through it, validator_otp.h), else NULL; accepts NULL. */
struct otp *validator_as_otp(struct validator *v);
void validator_free(struct validator *v); /* accepts NULL */

extern const struct validator_ops validator_none;
extern const struct validator_ops validator_static;
extern const struct validator_ops validator_otp;
extern const struct validator_ops validator_webhook;
extern const struct validator_ops validator_intune;

#endif
