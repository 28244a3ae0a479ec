/* http_listen.h: one evhttp listener bound from an http_spec, with the
 * spec's limits and TLS, its connections' caps and request deadline
 * (http_conn.h), a listen backlog of 4096, and what happens when accept()
 * fails: at EMFILE/ENFILE the listener closes a descriptor it keeps in
 * reserve, accepts the waiting connection, closes it and takes the reserve
 * back (the backlog drains; nginx and libuv do the same); otherwise, or if
 * that fails, it pauses for 200 ms instead of spinning on a socket that
 * stays readable.  Either way it logs (at most once a second) and counts.
 * With the spec's proxy_protocol, each connection's bufferevent is a PROXY
 * protocol header read off its socket first (http_conn.h). */
#ifndef SGW_HTTP_LISTEN_H
#define SGW_HTTP_LISTEN_H

#include <event2/event.h>
#include <event2/http.h>

#include "err.h"
#include "http_conn.h"
#include "http_spec.h"

struct http_listener;

/* origin: what the connection's PROXY protocol header named (a
 * proxy_protocol listener), or NULL: the TCP peer is the client. */
typedef void (*http_handler)(struct evhttp_request *req, const struct http_origin *origin,
			     void *arg);

/* Checks s (http_spec_check), loads its TLS files and binds; every request
 * goes to h(req, arg).  The caller logs that it listens. */
int http_listener_new(struct event_base *base, const struct http_spec *s, http_handler h, void *arg,
		      struct http_listener **ret, struct sgw_err *err);
/* Stop accepting new connections (drain); existing ones finish. */
void http_listener_close(struct http_listener *l);
void http_listener_free(struct http_listener *l); /* accepts NULL */

#endif
