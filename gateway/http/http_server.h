/* http_server.h: the SCEP listeners (listen:), plain and TLS, with the
 * configured limits (limits:); every request goes to one handler. */
#ifndef SGW_HTTP_SERVER_H
#define SGW_HTTP_SERVER_H

#include <event2/event.h>
#include <event2/http.h>

#include "cfg.h"
#include "err.h"
#include "http_listen.h"

struct http_server;

/* ctr (may be NULL) counts the connections of every listener. */
int http_server_new(struct event_base *base, const struct cfg *c, struct http_counters *ctr,
		    http_handler h, void *arg, struct http_server **ret, struct sgw_err *err);
/* Stop accepting new connections (drain); existing ones finish. */
void http_server_close_listeners(struct http_server *s);
void http_server_free(struct http_server *s);

/* Every 503 the gateway sends (SCEP and admin listeners) carries
 * `Retry-After: HTTP_RETRY_AFTER` (seconds, RFC 9110 10.2.3): add it to req's
 * reply headers before evhttp_send_reply() (evhttp_send_error() would drop
 * it with the other headers). */
#define HTTP_RETRY_AFTER "10"
void http_retry_after(struct evhttp_request *req);

#endif
