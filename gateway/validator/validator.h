/* validator.h: challenge validation behind a vtable (static now; otp, intune,
 * webhook and renewal slot in).  check() answers at once with 0 (allowed) or
 * -SGW_EDENIED (reason in err), or returns -SGW_EAGAIN and calls cb later on
 * the loop thread (remote validators). */
#ifndef SGW_VALIDATOR_H
#define SGW_VALIDATOR_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <openssl/x509.h>

#include "cfg.h"
#include "csr.h"
#include "err.h"

struct validator_req {
	const struct csr *csr;
	const char *profile;
	const char *transaction_id;
	const char *peer;
	struct event_base *base; /* the loop (remote validators: HTTP via attach_http) */
};

struct store;
struct backend;
struct http_client;

typedef void (*validator_cb)(void *arg, int verdict, const char *reason);

struct validator_ops {
	const char *name;
	size_t priv_size;
	int (*configure)(void *priv, const struct cfg_challenge *cfg, struct sgw_err *err);
	int (*check)(void *priv, const struct validator_req *req, validator_cb cb, void *arg,
		     struct sgw_err *err);
	void (*free)(void *priv);
	/* optional: the store, once open (validators that keep state there) */
	void (*attach)(void *priv, struct store *s);
	/* optional: after the backend answered a request this validator allowed:
	 * cert != NULL when issued, else `reason` says why it failed.  0 when
	 * done (or sent without waiting: the validator's choice, per profile),
	 * -SGW_EAGAIN when cb(arg, 0 or -SGW_E*, reason) follows on the loop. */
	int (*notify)(void *priv, const struct validator_req *req, X509 *cert, const char *reason,
		      validator_cb cb, void *arg);
	/* optional: the loop and the profile's backend, once started (intune's
	 * revocation feed) */
	void (*start)(void *priv, struct event_base *base, struct backend *b);
	/* optional: the daemon's HTTP client, before start (remote validators
	 * make their own with http_client_new_child()); 0 or -SGW_ENOMEM */
	int (*attach_http)(void *priv, struct http_client *http);
};

struct validator;

int validator_new(const struct cfg_challenge *cfg, struct validator **ret, struct sgw_err *err);
int validator_check(struct validator *v, const struct validator_req *req, validator_cb cb,
		    void *arg, struct sgw_err *err);
/* The notify hook, or 0 when the validator has none. */
int validator_notify(struct validator *v, const struct validator_req *req, X509 *cert,
		     const char *reason, validator_cb cb, void *arg);
const char *validator_name(const struct validator *v);
void validator_free(struct validator *v);
/* Hand the open store to validators that need it (otp); main.c, at startup. */
void validator_attach_store(struct validator *v, struct store *s);
/* Hand the daemon's HTTP client over (webhook, intune); profiles_start(). */
int validator_attach_http(struct validator *v, struct http_client *http);
/* Hand the loop and the profile's started backend over; profiles_start(). */
void validator_start(struct validator *v, struct event_base *base, struct backend *b);

/* Constant-time: 1 when SHA-256(secret) equals want. */
int validator_secret_matches(const char *secret, const uint8_t want[32]);

extern const struct validator_ops validator_static;
extern const struct validator_ops validator_none;
extern const struct validator_ops validator_otp;
extern const struct validator_ops validator_webhook;
extern const struct validator_ops validator_intune;

#endif
