/* acme_int.h: state shared by the ACME backend's files.
 *
 *   acme.c         config, start/stop, submit/poll, the backend_ops vtable
 *   acme_revoke.c  revokeCert
 *   acme_order.c   the order machine: newOrder .. certificate, resumable
 *   acme_account.c the directory and the account (acme_account.h)
 *   acme_http.c    transport: nonces, signed POSTs with badNonce retries
 *   acme_op.c      one operation's life and outcome, state_dir paths (acme_op.h)
 *   acme_hook.c    the dns-01 hook as a child process watched by libevent
 *
 * Each file calls only the files listed below it (and acme_json.c,
 * acme_jws.c, acme_ident.c, which call none of them).
 *
 * Everything runs on the loop thread.  One `struct acme_op` is one submit,
 * poll or revoke; it owns at most one HTTP call, one timer and one hook
 * child at a time, and ends in exactly one callback (or silently at stop). */
#ifndef SGW_ACME_INT_H
#define SGW_ACME_INT_H

#include <sys/queue.h>
#include <time.h>

#include <jansson.h>

#include "acme_hook.h"
#include "acme_ident.h"
#include "acme_json.h"
#include "backend.h"
#include "http_client.h"
#include "http_trust.h"

#define ACME_MAX_NONCES 8
#define ACME_MAX_RESPONSE (1024 * 1024)

struct acme_conf {
	char *type;
	char *directory;
	struct http_trust trust; /* ca_bundle, pin_sha256 */
	char *state_dir;
	char *account_key;	/* "ec" (ES256, default) or "rsa" (RS256) */
	char *account_key_file; /* a PEM key shared by the instances, or NULL */
	struct cfg_strlist contact;
	const struct cfg_node *eab;
	char *challenge; /* "preauthorized" (default) or "dns-01" */
	char *dns01_hook;
	int dns01_delay; /* seconds between the hook's "add" and the challenge POST */
	char *cn_rule;	 /* reject (default), dns, suffix */
	struct cfg_strlist cn_domains;
	char *cn_suffix;
	int wait;		/* seconds submit/poll drive an order before PENDING; default 10 */
	int validation_timeout; /* seconds from a challenge POST to its decision; 30 */
	int timeout;		/* per HTTP request, seconds; default 30 */
};

struct acme_eab_conf {
	char *kid;
	char *mac_key_file;
};

struct acme_op;

struct acme {
	char *name;
	char *path; /* "backends.<name>" */
	struct acme_conf conf;
	struct acme_eab_conf eab;
	struct acme_ident_rule rule;
	int dns01;
	uint8_t *eab_mac; /* base64url-decoded MAC key (secret: never logged) */
	size_t eab_mac_len;
	/* start() */
	struct event_base *base;
	struct http_client *hc;
	const struct keyop_key *key;
	json_t *jwk;
	const char *alg;
	char *thumbprint;
	struct acme_dir dir;
	int have_dir;
	char *kid; /* the account URL */
	/* account_key_file: the account is found again by its key at the CA
	 * (newAccount onlyReturnExisting), never from state_dir/account.url */
	int shared_key;
	char *nonces[ACME_MAX_NONCES];
	size_t n_nonces;
	int running;
	LIST_HEAD(, acme_op) ops;
};

/* A response, copied out of the HTTP callback. */
struct acme_resp {
	int err; /* transport error (-SGW_E*), 0 when an HTTP status arrived */
	long status;
	uint8_t *body;
	size_t len;
	char *location;
	int retry_after; /* seconds, -1 when absent */
	int has_problem;
	struct acme_problem prob;
	char error[160]; /* transport error text */
};

typedef void (*acme_step)(struct acme_op *op, struct acme_resp *r);

enum acme_op_kind { ACME_OP_ORDER, ACME_OP_REVOKE };

struct acme_op {
	LIST_ENTRY(acme_op) link;
	struct acme *a;
	enum acme_op_kind kind;
	backend_cb cb;
	backend_op_cb op_cb;
	void *arg;
	const char *txn; /* for logs: transactionID or "poll" */
	char txn_buf[64];
	/* the request in flight */
	struct http_call *call;
	char *req_url;
	char *req_payload; /* NULL: POST-as-GET */
	int req_jwk;	   /* sign with jwk (newAccount) instead of kid */
	int req_retried;   /* badNonce retries used */
	acme_step next;
	acme_step post_next;   /* the step after the signed POST (next may be newNonce's) */
	acme_step after_ready; /* what runs once directory and account are known */
	struct event *timer;
	acme_step timer_step;
	/* the order */
	struct acme_ident ids[ACME_MAX_IDENTS];
	size_t n_ids;
	char *order_url;
	struct acme_order order;
	size_t authz_i;
	struct acme_authz authz;
	struct acme_chall *chall; /* into authz */
	uint8_t *csr;		  /* submit: the request's; poll: the stored one (or NULL) */
	size_t csr_len;
	time_t deadline;
	int fetches; /* order/authz re-fetches, bounded */
	int backoff; /* seconds before the next re-fetch without Retry-After */
	/* the authorization being validated: its challenge is POSTed once
	 * (chall_started), then it is polled until chall_deadline */
	int chall_started;
	time_t chall_deadline;
	/* dns-01: the record the hook added (txt_name set from "add" until
	 * "del"); it is removed before the op's outcome is delivered */
	struct acme_hook *hook;
	char *txt_name, *txt_value;
	acme_step txt_then;
	struct backend_result held; /* the outcome waiting for "del" */
	/* revoke */
	uint8_t *cert_der;
	size_t cert_len;
	int reason;
};

/* acme_http.c */
void acme_resp_clear(struct acme_resp *r);
int acme_get(struct acme_op *op, const char *url, acme_step next);
/* A JWS POST (payload NULL: POST-as-GET), kid-signed unless use_jwk. */
int acme_post(struct acme_op *op, const char *url, const char *payload, int use_jwk,
	      acme_step next);
void acme_nonces_clear(struct acme *a);

/* acme_revoke.c */
int acme_revoke(void *priv, const char *serial_hex, int reason, const uint8_t *der, size_t der_len,
		backend_op_cb cb, void *arg);

/* acme_order.c */
void acme_order_start(struct acme_op *op, struct acme_resp *r);
void acme_order_resume(struct acme_op *op, struct acme_resp *r);

#endif
