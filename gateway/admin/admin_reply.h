/* admin_reply.h: how every admin route answers: JSON and error replies, the
 * audit line, the JSON body of a request.  The routes (admin_api.c,
 * admin_mscep.c) and the listener (admin_http.c) call these; they call
 * nothing back. */
#ifndef SGW_ADMIN_REPLY_H
#define SGW_ADMIN_REPLY_H

#include <event2/http.h>
#include <jansson.h>

#include "admin_int.h"

/* Send a reply whose headers are set; takes `out`.  It waits until the
 * store's commits are durable (an approval, a rejection or a one-time
 * challenge is answered only once it would survive power loss). */
void admin_send(struct admin *a, struct evhttp_request *req, const char *action, int code,
		struct evbuffer *out);
/* admin_send() with Content-Type `type`, Cache-Control: no-store and, for a
 * 401, the WWW-Authenticate challenge; takes `out`. */
void admin_reply_buf(struct admin *a, struct evhttp_request *req, const char *action, int code,
		     const char *type, struct evbuffer *out);

/* Replies; every one ends the request.  admin_reply_error() also writes the
 * audit line (its message with control characters and '"' replaced by '?'). */
void admin_reply_json(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
		      const char *action, int code, json_t *body); /* steals body */
void admin_reply_error(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
		       const char *action, int code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void admin_audit(const struct admin_principal *p, const char *action, int code, const char *what);
json_t *admin_body_json(struct evhttp_request *req); /* NULL if absent or malformed */

#endif
