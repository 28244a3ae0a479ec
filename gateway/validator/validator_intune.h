/* validator_intune.h: shared by the Intune validator's files
 * (validator_intune.c, validator_intune_http.c, validator_intune_feed.c). */
#ifndef SGW_VALIDATOR_INTUNE_H
#define SGW_VALIDATOR_INTUNE_H

#include <stddef.h>
#include <stdint.h>

#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>

#include "err.h"
#include "http_trust.h"

#define VI_SECRET_MAX 1024 /* client_secret_file: less than this many bytes */

/* A random RFC 4122 version 4 UUID, lowercase, into out[37]. */
void vi_uuid(char out[37]);

/* ---- the Intune client (validator_intune_http.c) ---------------------- */

enum vi_scope { VI_GRAPH, VI_INTUNE, VI_SCOPE_MAX };
/* the discovered services: ScepRequestValidationFEService, PkiConnectorFEService */
enum vi_svc { VI_SVC_SCEP, VI_SVC_PKI, VI_SVC_MAX };

struct intune_conf {
	char *type, *tenant, *client_id, *client_secret_file;
	char *authority_url, *graph_url, *intune_url, *graph_scope, *intune_scope;
	char *provider_name;
	struct http_trust trust; /* ca_bundle, pin_sha256 */
	int timeout, notify_wait;
	int revocation_interval, revocation_max; /* the revocation feed; 0: off */
};

struct vi_op;
LIST_HEAD(vi_op_list, vi_op);

/* A scope's token: one fetch at a time (single-flight); the calls that need
 * it meanwhile wait on it and go on (or fail) when it ends. */
struct vi_token {
	char value[8192];
	time_t expires;		 /* 0: none */
	unsigned gen;		 /* bumped by every token fetched */
	struct vi_op *fetching;	 /* the call whose fetch is in flight, or NULL */
	struct vi_op_list waits; /* calls waiting for that fetch */
};

#define VI_ALLOWED 256

struct intune {
	struct intune_conf conf;
	uint8_t *secret; /* secure heap (secret_file_read), NUL-terminated */
	size_t secret_len;
	struct http_client *hc; /* a child of the daemon's (intune_start) */
	struct vi_token tok[VI_SCOPE_MAX];
	char service[VI_SVC_MAX][512]; /* discovered uris; "" until discovered */
	/* transactionIDs allowed and not yet notified (ring) */
	char allowed[VI_ALLOWED][128];
	unsigned next_allowed;
	struct vi_op_list ops; /* in flight */
	/* the revocation feed (validator_intune_feed.c) */
	struct event_base *base;
	struct backend *backend;
	struct store *store;
	struct event *feed_timer;
	struct vi_feed *feed; /* a round in progress, or NULL */
	char feed_job[128];   /* its cluster lease: "intune-feed:<config path>" */
};

/* rc 0 with the answer's code and description (VI_SVC_SCEP) or its body
 * (VI_SVC_PKI: code and desc ""), or rc < 0 (transport error, non-2xx, not
 * JSON) with reason. */
typedef void (*vi_done)(void *arg, int rc, const char *code, const char *desc, const char *reason,
			const uint8_t *body, size_t len);

/* POST {service}/ScepActions/<action> with body (copied), getting tokens
 * and discovering the service as needed; 0 and done() later, or -SGW_E*.
 * arg must be one malloc'd block: vi_cancel_all() frees it. */
int vi_call(struct intune *in, struct event_base *base, enum vi_svc svc, const char *action,
	    const char *body, const char *txn, vi_done done, void *arg);
/* At shutdown, after http_client_free(): free the calls in flight and their
 * args, without callbacks. */
void vi_cancel_all(struct intune *in);

/* ---- the revocation feed (validator_intune_feed.c) ------------------------ */

struct vi_feed;
/* Start the periodic download/revoke/upload when revocation_interval > 0. */
void vi_feed_start(struct intune *in, struct event_base *base, struct backend *b);
void vi_feed_stop(struct intune *in);

#endif
