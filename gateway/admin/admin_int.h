/* admin_int.h: shared by the admin_*.c files. */
#ifndef SGW_ADMIN_INT_H
#define SGW_ADMIN_INT_H

#include <event2/http.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "admin.h"

#define ADMIN_NAME_MAX 64
#define ADMIN_MAX_TOKENS 1024
#define ADMIN_LIST_MAX 1000 /* rows per list reply */

enum admin_role {
	ADMIN_ROLE_NONE = 0,
	ADMIN_ROLE_CHALLENGE = 1u << 0, /* issue one-time challenges (an MDM) */
	ADMIN_ROLE_READ = 1u << 1,	/* GET routes */
	ADMIN_ROLE_ADMIN = 0xffu,	/* everything */
};

struct admin_token {
	char name[ADMIN_NAME_MAX];
	uint8_t sha256[32];
	unsigned role;
};

struct admin_principal {
	char name[ADMIN_NAME_MAX + 8]; /* "token:alice", "cert:ops-laptop" */
	unsigned role;
};

struct admin_revoke_job;

struct admin {
	struct gw *gw;
	struct txn_admin *ta;
	const struct cfg_admin *cfg;
	struct evhttp *http;
	SSL_CTX *ssl;
	struct admin_token *tokens;
	size_t n_tokens;
	struct admin_revoke_job *revokes; /* waiting for a backend */
};

/* admin_http.c: send a reply whose headers are set; takes `out`.  It waits
 * until the store's commits are durable (an approval, a rejection or a
 * one-time challenge is answered only once it would survive power loss). */
void admin_send(struct admin *a, struct evhttp_request *req, const char *action, int code,
		struct evbuffer *out);

/* admin_auth.c */
int admin_tokens_load(struct admin *a, const char *file, struct sgw_err *err);
/* 0 with *p filled, or -SGW_EAUTH (no or bad credentials). */
int admin_authenticate(struct admin *a, struct evhttp_request *req, struct admin_principal *p);

/* admin_http.c: replies; every one ends the request and writes the audit line */
void admin_reply_json(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
		      const char *action, int code, json_t *body); /* steals body */
void admin_reply_error(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
		       const char *action, int code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void admin_audit(const struct admin_principal *p, const char *action, int code, const char *what);
json_t *admin_body_json(struct evhttp_request *req); /* NULL if absent or malformed */

/* admin_api.c: routes under /api/v1/; segs are the path segments after it */
void admin_api(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
	       char **segs, int nseg, const struct evkeyvalq *query);
void admin_api_free(struct admin *a);

/* admin_mscep.c: GET /certsrv/mscep_admin/ */
void admin_mscep(struct admin *a, struct evhttp_request *req, const struct admin_principal *p);

#endif
