/* store.h: durable state behind a vtable (store_ops), so SQLite (default) and
 * PostgreSQL (several instances sharing one database) are interchangeable.
 * Every function that changes state commits before it returns.  The
 * request path calls the store inside steps (store_exec()): on a store
 * thread when the store may block (PostgreSQL: callable from any thread,
 * -SGW_EUNAVAIL while the database is unreachable), inline otherwise; the
 * rest is called on the loop thread. */
#ifndef SGW_STORE_H
#define SGW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "cfg.h"
#include "err.h"
#include "store_exec.h"
#include "store_record.h"

/* Store threads of a blocking store when store.pool is not set. */
#define STORE_POOL_DEFAULT 4

/* A one-time challenge (validator_otp.c): only its SHA-256 is stored. */
struct store_otp {
	char profile[64];
	uint8_t sha256[32];
	char subject[256]; /* bound CN or RFC 2253 subject; "" = any */
	char issued_by[64];
	int64_t created;
	int64_t expires;
};

/* Which transactions txn_list returns (oldest first). */
struct store_txn_filter {
	int state;    /* enum txn_state, or -1 for any */
	int approved; /* 1: only those an administrator approved (txn_decide) */
	size_t max;   /* at most this many rows */
};

/* Which certificates cert_search returns (newest first).  A serial is a
 * lookup.  Without one the search reads at most `window` certificates (0:
 * STORE_CERT_WINDOW) below `before` (0: from the newest), so a substring
 * match on a large store costs the loop tens of milliseconds, not a scan of
 * the table, and sets *next to where the following call continues (0:
 * nothing older is left). */
#define STORE_CERT_WINDOW 50000
struct store_cert_filter {
	const char *subject; /* a substring, case-insensitive ("" or NULL: any) */
	const char *serial;  /* exact, lower-case hex ("" or NULL: any) */
	int64_t before;	     /* only certificates older than this position (0: none) */
	size_t window;
	size_t max; /* at most this many rows */
};

/* Time spent in the store since open (metrics). */
struct store_stats {
	uint64_t statements;
	double seconds;
};

/* How txn_accept records an authorized request. */
struct store_accept {
	int64_t seen_updated;	   /* t->id != 0: the row's `updated` when it was read */
	const char *otp_profile;   /* the one-time challenge the request used, */
	const uint8_t *otp_sha256; /* consumed in the same commit (NULL: none) */
	int64_t now;
	/* A renewal: the certificate that signed it (NULL: none), claimed in
	 * the same commit.  -SGW_EBUSY when it is superseded already (as
	 * cert_superseded, for t's profile and signer key) or another request
	 * on t's profile signed by the same key is in progress (not in a final
	 * state): of two renewals signed by one certificate at once, one is
	 * recorded. */
	const char *renews_issuer;
	const char *renews_serial;
};

/* The start-up pass over the CSRs an older version stored in clear
 * (txn_legacy_csr): fn gets each such row with its CSR, fills t->csr (sealed,
 * sha256, info) and returns 0, or < 0 to keep no sealed copy. */
typedef int (*store_legacy_fn)(void *arg, struct store_txn *t, const uint8_t *csr, size_t len);

/* One revocation of a CA the gateway runs (the local backend), shared by
 * every instance (issue 20). */
struct store_revoked {
	char serial[80]; /* lower-case hex */
	int reason;	 /* RFC 5280 CRLReason */
	int64_t when;	 /* unix seconds */
};

/* The current CRL of such a CA, shared by every instance. */
struct store_crl {
	int64_t number; /* the CRL number, 1, 2, ... */
	int64_t next_update;
	uint8_t *der; /* malloc'd, owned by the caller after ca_crl_get */
	size_t der_len;
};

/* A validator notification still owed (issue 20): recorded before the
 * reply, deleted once the validator confirmed it, sent again with backoff,
 * and by another instance when its owner died (txn_owed.c). */
enum store_owed_kind { STORE_OWED_SUCCESS = 0, STORE_OWED_FAILURE = 1 };
struct store_owed {
	int64_t txn_id; /* the transaction (its row holds the CSR and serial) */
	char profile[64];
	int kind;	  /* enum store_owed_kind */
	char reason[256]; /* a failure's reason */
	char owner[64];	  /* the instance that sends it */
	int attempts;
	int64_t next_try; /* unix seconds */
	int64_t created;
	/* the request's CSR as the transaction row had it, sealed to the RA
	 * (txn_csr.c): that row drops it once final.  owed_due lends it for the
	 * callback only */
	const uint8_t *csr_sealed;
	size_t csr_sealed_len;
};

typedef int (*store_txn_each)(void *arg, const struct store_txn *t); /* < 0 stops */
typedef int (*store_owed_each)(void *arg, const struct store_owed *o);
typedef int (*store_revoked_each)(void *arg, const struct store_revoked *r);
typedef int (*store_cert_each)(void *arg, const struct store_cert *c);

struct store; /* opaque: ops + private state */

/* store_await_durable(): status 0 when the commits are durable, -SGW_EIO
 * when flushing them failed (they may not survive power loss: the reply
 * must be an error, e.g. HTTP 503). */
typedef void (*store_durable_fn)(void *arg, int status);

struct store_ops {
	const char *name;
	/* 1: an operation may wait for the network (PostgreSQL); the ops are
	 * then thread-safe and the request path calls them on store threads
	 * (store_exec).  0 (SQLite): not thread-safe, called inline, or on one
	 * store thread under store.c's lock with `offload: true`. */
	int blocking;
	int (*open)(void **ret_priv, const struct cfg_store *cfg, struct sgw_err *err);
	void (*close)(void *priv);
	int (*txn_insert)(void *priv,
			  struct store_txn *t); /* sets t->id; -SGW_EEXIST if key taken */
	int (*txn_find)(void *priv, const char *profile, const char *transaction_id,
			const uint8_t key_sha256[32], struct store_txn *ret);
	int (*txn_get)(void *priv, int64_t id, struct store_txn *ret);
	int (*txn_update)(void *priv,
			  const struct store_txn *t); /* state, reason, handle, serial, updated */
	/* one commit: claim the renewal's signer a->renews_serial (-SGW_EBUSY,
	 * struct store_accept), use the one-time challenge a->otp_sha256
	 * (-SGW_EDENIED when it is used, expired or unknown), then insert t (t->id == 0: sets
	 * t->id, -SGW_EEXIST if the key is taken) or give row t->id to a new request (every column
	 * of the request; -SGW_EEXIST when the row changed since a->seen_updated); nothing changes
	 * on failure */
	int (*txn_accept)(void *priv, struct store_txn *t, const struct store_accept *a);
	/* atomically: insert the certificate and set the transaction ISSUED;
	 * -SGW_EEXIST if (issuer, serial) exists, and nothing changes */
	int (*txn_issue)(void *priv, struct store_txn *t, const struct store_cert *c);
	int (*cert_get)(void *priv, const char *issuer, const char *serial, struct store_cert *ret);
	int (*cert_count)(void *priv, int64_t *ret);
	/* mark (issuer, serial) revoked with an RFC 5280 CRLReason at `when` (unix
	 * seconds); -SGW_ENOTFOUND if absent, -SGW_EEXIST if already revoked
	 * (nothing changes) */
	int (*cert_revoke)(void *priv, const char *issuer, const char *serial, int reason,
			   int64_t when);
	/* the certificate with this serial whatever its issuer; -SGW_ENOTFOUND,
	 * or -SGW_EEXIST when two issuers share the serial (pass the issuer then) */
	int (*cert_find_serial)(void *priv, const char *serial, struct store_cert *ret);
	/* *ret_superseded = 1 when a certificate of `issuer` newer than (issuer,
	 * serial) (any one, when that is not stored) was issued on `profile` for
	 * a request signed by the key whose SubjectPublicKeyInfo has this
	 * SHA-256 (the transactions' signer_key_sha256): a renewal signed by
	 * that certificate, or a later enrollment with its key; else 0 */
	int (*cert_superseded)(void *priv, const char *issuer, const char *serial,
			       const char *profile, const uint8_t key_sha256[32],
			       int *ret_superseded);
	/* record that (issuer, serial) was superseded by the certificate of the
	 * same issuer with serial `by` (a renewal of it); -SGW_ENOTFOUND when
	 * absent or already superseded (the first successor stays recorded) */
	int (*cert_supersede)(void *priv, const char *issuer, const char *serial, const char *by);
	/* 0 if new (and remembered until now + ttl), -SGW_EEXIST if seen and not expired */
	int (*nonce_check)(void *priv, const uint8_t *nonce, size_t len, int64_t now, int ttl);
	/* ---- admin (store_sqlite_adm.c) ---- */
	int (*txn_list)(void *priv, const struct store_txn_filter *f, store_txn_each each,
			void *arg);
	int (*txn_count)(void *priv, int state, int64_t *ret);
	/* atomically: if t is still AWAITING_APPROVAL, store its state, reason and
	 * updated, and record who decided; -SGW_ENOTFOUND when it is not */
	int (*txn_decide)(void *priv, const struct store_txn *t, const char *admin);
	/* who decided on transaction id (txn_decide); -SGW_ENOTFOUND if nobody */
	int (*txn_decider)(void *priv, int64_t id, char *ret_admin, size_t cap);
	int (*otp_put)(void *priv, const struct store_otp *o);
	/* single use: marks it used and returns its bound subject; -SGW_ENOTFOUND
	 * when unknown, used or expired */
	int (*otp_consume)(void *priv, const char *profile, const uint8_t sha256[32], int64_t now,
			   char *ret_subject, size_t cap);
	/* the challenge is usable now (returns its bound subject), not used yet;
	 * -SGW_ENOTFOUND when unknown, used or expired */
	int (*otp_peek)(void *priv, const char *profile, const uint8_t sha256[32], int64_t now,
			char *ret_subject, size_t cap);
	/* once after an upgrade: every CSR stored in clear goes through fn, then
	 * the file is rewritten and the WAL emptied, so that no copy is left;
	 * the number of rows, 0 when nothing was due */
	int (*txn_legacy_csr)(void *priv, store_legacy_fn fn, void *arg, struct sgw_err *err);
	int (*otp_count)(void *priv, const char *profile, int64_t now, int64_t *ret);
	/* see struct store_cert_filter; *next as described there */
	int (*cert_search)(void *priv, const struct store_cert_filter *f, store_cert_each each,
			   void *arg, int64_t *next);
	int (*stats)(void *priv, struct store_stats *ret);
	/* ---- shared state of the local CA and cluster-wide jobs (issue 20) ---- */
	/* record `serial` of CA `ca` (the backend's name) as revoked; -SGW_EEXIST
	 * when it already is (nothing changes) */
	int (*ca_revoke)(void *priv, const char *ca, const struct store_revoked *r);
	/* every revocation of `ca`, oldest first */
	int (*ca_revoked_list)(void *priv, const char *ca, store_revoked_each each, void *arg);
	/* the current CRL of `ca`: -SGW_ENOTFOUND when none is stored */
	int (*ca_crl_get)(void *priv, const char *ca, struct store_crl *ret);
	/* store c as `ca`'s current CRL only when c->number is the stored
	 * number + 1 (1 when none is stored); -SGW_EEXIST when another instance
	 * stored that number first (nothing changes: read theirs) */
	int (*ca_crl_put)(void *priv, const char *ca, const struct store_crl *c);
	/* a job done once per cluster: take or renew the lease on `job` for
	 * `holder` until now + ttl seconds.  *ret_held = 1 when `holder` holds it
	 * now (it was free, expired or already ours), else 0 */
	int (*lease_take)(void *priv, const char *job, const char *holder, int64_t now, int ttl,
			  int *ret_held);
	/* ---- optional (NULL: -SGW_EINVAL), added after the five above ---- */
	/* the upgrade of a CA that kept its CRL number in files (the local
	 * backend's <name>.crlnumber): store c as `ca`'s current CRL, whatever
	 * its number, only when none is stored; -SGW_EEXIST when one is */
	int (*ca_crl_seed)(void *priv, const char *ca, const struct store_crl *c);
	/* who holds the lease on `job` and until when (it may have expired);
	 * -SGW_ENOTFOUND when nobody ever took it */
	int (*lease_get)(void *priv, const char *job, char *ret_holder, size_t cap,
			 int64_t *ret_expires);
	/* the number of `ca`'s current CRL without its DER: the cheap check
	 * before each CRL served; -SGW_ENOTFOUND when none is stored */
	int (*ca_crl_number)(void *priv, const char *ca, int64_t *ret);
	/* 0 when the store can serve a request now, else -SGW_EUNAVAIL and
	 * why (for /healthz); optional: NULL is always ready */
	int (*ready)(void *priv, char *why, size_t cap);
	/* ---- owed validator notifications (optional: NULL, -SGW_EINVAL) ---- */
	/* insert o, or replace the row of o->txn_id (one per transaction) */
	int (*owed_put)(void *priv, const struct store_owed *o);
	/* it was delivered: -SGW_ENOTFOUND when no row is left */
	int (*owed_del)(void *priv, int64_t txn_id);
	/* at most max rows with next_try <= now, oldest first, that `me` may
	 * send: its own, or those whose owner's lease "instance:<owner>" has
	 * expired (or was never taken), or created before `stale` */
	int (*owed_due)(void *priv, const char *me, int64_t now, int64_t stale, size_t max,
			store_owed_each each, void *arg);
	/* ---- group commit (optional: NULL when every commit is durable at once) ---- */
	/* ---- group commit (optional: NULL when every commit is durable at once) ----
	 * await_durable runs on the loop thread while a store thread may be in
	 * another operation: it touches only state it locks itself (store_sync.c) */
	int (*attach_loop)(void *priv, struct event_base *base, struct sgw_err *err);
	int (*await_durable)(void *priv, store_durable_fn cb, void *arg);
	/* `scepgw -n`: can a store be reached with cfg now, without opening
	 * it or changing anything?  -SGW_EUNAVAIL: not now (the gateway would
	 * start and connect later); another error: it cannot work as
	 * configured (e.g. the server refuses the login).  Optional: NULL */
	int (*check)(const struct cfg_store *cfg, struct sgw_err *err);
	/* nonce_check, then txn_find, in one call (PostgreSQL: one round
	 * trip): nonce_check's code returned, txn_find's in *ret_found.
	 * Optional: NULL makes the two calls */
	int (*nonce_find)(void *priv, const uint8_t *nonce, size_t len, int64_t now, int ttl,
			  const char *profile, const char *transaction_id,
			  const uint8_t key_sha256[32], struct store_txn *ret, int *ret_found);
};

int store_open(const struct cfg_store *cfg, struct store **ret, struct sgw_err *err);
/* store_nonce_check, then store_txn_find (one round trip when the store
 * can): the first's code returned, the second's in *ret_found. */
int store_nonce_find(struct store *s, const uint8_t *nonce, size_t len, int64_t now, int ttl,
		     const char *profile, const char *transaction_id, const uint8_t key_sha256[32],
		     struct store_txn *ret, int *ret_found);
/* The check of cfg->type's store_ops (0 when it has none). */
int store_check(const struct cfg_store *cfg, struct sgw_err *err);
/* The same with the given ops instead of the registry's for cfg->type (the
 * engine's tests wrap SQLite's to make an operation fail). */
int store_open_ops(const struct store_ops *ops, const struct cfg_store *cfg, struct store **ret,
		   struct sgw_err *err);
void store_close(struct store *s);
/* This gateway's instance (cfg `instance:`): from now on every transaction
 * row written (insert, update, accept, issue, decide) records it in
 * store_txn.instance, whatever the caller's copy says. */
void store_set_instance(struct store *s, const char *instance);
const char *store_instance(const struct store *s); /* "" until set */

int store_txn_insert(struct store *s, struct store_txn *t);
int store_txn_find(struct store *s, const char *profile, const char *transaction_id,
		   const uint8_t key_sha256[32], struct store_txn *ret);
int store_txn_get(struct store *s, int64_t id, struct store_txn *ret);
int store_txn_update(struct store *s, const struct store_txn *t);
int store_txn_accept(struct store *s, struct store_txn *t, const struct store_accept *a);
int store_txn_issue(struct store *s, struct store_txn *t, const struct store_cert *c);
int store_cert_get(struct store *s, const char *issuer, const char *serial, struct store_cert *ret);
int store_cert_count(struct store *s, int64_t *ret);
int store_cert_revoke(struct store *s, const char *issuer, const char *serial, int reason,
		      int64_t when);
int store_cert_find_serial(struct store *s, const char *serial, struct store_cert *ret);
int store_cert_superseded(struct store *s, const char *issuer, const char *serial,
			  const char *profile, const uint8_t key_sha256[32], int *ret_superseded);
int store_cert_supersede(struct store *s, const char *issuer, const char *serial, const char *by);
int store_nonce_check(struct store *s, const uint8_t *nonce, size_t len, int64_t now, int ttl);
int store_txn_list(struct store *s, const struct store_txn_filter *f, store_txn_each each,
		   void *arg);
int store_txn_count(struct store *s, int state, int64_t *ret);
int store_txn_decide(struct store *s, const struct store_txn *t, const char *admin);
int store_txn_decider(struct store *s, int64_t id, char *ret_admin, size_t cap);
int store_otp_put(struct store *s, const struct store_otp *o);
int store_otp_consume(struct store *s, const char *profile, const uint8_t sha256[32], int64_t now,
		      char *ret_subject, size_t cap);
int store_otp_peek(struct store *s, const char *profile, const uint8_t sha256[32], int64_t now,
		   char *ret_subject, size_t cap);
int store_txn_legacy_csr(struct store *s, store_legacy_fn fn, void *arg, struct sgw_err *err);
int store_otp_count(struct store *s, const char *profile, int64_t now, int64_t *ret);
int store_cert_search(struct store *s, const struct store_cert_filter *f, store_cert_each each,
		      void *arg, int64_t *next);
int store_stats(struct store *s, struct store_stats *ret);
int store_ca_revoke(struct store *s, const char *ca, const struct store_revoked *r);
int store_ca_revoked_list(struct store *s, const char *ca, store_revoked_each each, void *arg);
int store_ca_crl_get(struct store *s, const char *ca, struct store_crl *ret);
int store_ca_crl_put(struct store *s, const char *ca, const struct store_crl *c);
int store_ready(struct store *s, char *why, size_t cap);
int store_lease_take(struct store *s, const char *job, const char *holder, int64_t now, int ttl,
		     int *ret_held);
int store_ca_crl_seed(struct store *s, const char *ca, const struct store_crl *c);
int store_lease_get(struct store *s, const char *job, char *ret_holder, size_t cap,
		    int64_t *ret_expires);
int store_ca_crl_number(struct store *s, const char *ca, int64_t *ret);
int store_owed_put(struct store *s, const struct store_owed *o);
int store_owed_del(struct store *s, int64_t txn_id);
int store_owed_due(struct store *s, const char *me, int64_t now, int64_t stale, size_t max,
		   store_owed_each each, void *arg);

/* Group commit (store_sync.c): 0 when every commit made so far is durable, so
 * the caller goes on at once; -SGW_EAGAIN when cb(arg, status) will run on
 * the loop thread once they are, or once flushing them failed (the reply to a
 * request waits for its writes). */
int store_await_durable(struct store *s, store_durable_fn cb, void *arg);
/* From now on, flush commits on a background thread and complete
 * store_await_durable() on `base` (the daemon; without it every commit is
 * flushed before it returns, as the command-line tools and tests want). */
int store_attach_loop(struct store *s, struct event_base *base, struct sgw_err *err);

/* A step of a request (store_exec.h): work(arg) makes plain store_* calls and
 * touches only what arg owns; done(arg) continues on the loop thread.  After
 * store_attach_loop() of a blocking or offloaded store, work runs on a store
 * thread and done later; otherwise both run inline before this returns.  0,
 * or -SGW_EAGAIN after store_drain(): neither runs. */
int store_exec(struct store *s, store_step_fn work, store_step_fn done, void *arg);
/* The same for a step whose arg its owner does not track: drop(arg) frees
 * it when done will never run (dropped by store_drain(), or finished when
 * the store is closed), on the thread that stops the store. */
int store_exec_owned(struct store *s, store_step_fn work, store_step_fn done, store_step_fn drop,
		     void *arg);
/* Shutdown, before the profiles are freed: steps not started are dropped
 * (their drop runs), running ones finish (store_exec_stop()).  Accepts
 * NULL. */
void store_drain(struct store *s);
/* Store threads, 0 when steps run inline. */
int store_threads(const struct store *s);

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops; /* store_pg.c */

#endif
