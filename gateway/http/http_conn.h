/* http_conn.h: the connections of one listener (http_listen.c), which evhttp
 * does not bound by itself:
 *   - a cap on open connections per listener and per peer address, checked
 *     right after accept: over it the connection is closed at once, with a
 *     log line (at most one a second, with the number left out) and a count;
 *   - a whole-request deadline: a request must be complete (headers and
 *     body) within request_timeout of the accept, or of its first byte on a
 *     kept-alive connection.  evhttp's own timeout restarts with each byte,
 *     so a client sending one byte a second held a socket forever.  At the
 *     deadline the connection is closed, logged and counted;
 *   - requests evhttp answers by itself (413: body over max_body; 400:
 *     malformed, or headers over max_headers; 501: a method not served)
 *     never reach the handler, nor do requests the client abandons half-way:
 *     they get their log line and their count here.
 *
 * evhttp 2.1 tells nothing about a new connection, so the listener's bevcb
 * hands each new bufferevent to http_conns_track(), which looks at the
 * connection (its evhttp_connection, fd and peer) once evhttp has set it up,
 * later in the same loop iteration and before any byte is read.
 *
 * On a proxy_protocol listener a connection from a peer outside the spec's
 * proxy_from is refused at once; otherwise its PROXY header is read off the
 * socket (http_proxy.h) before anything else, and the header's
 * client becomes the connection's peer (the per-peer cap, the log lines,
 * http_conns_request()) and the TCP peer is logged as via=.  A connection
 * whose first bytes are not a header is closed, logged and counted; a slow
 * header is bounded by the request deadline. */
#ifndef SGW_HTTP_CONN_H
#define SGW_HTTP_CONN_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include <netinet/in.h>

#include "http_spec.h"

struct http_conns;

/* What a PROXY protocol header said about a connection. */
struct http_origin {
	char peer[INET6_ADDRSTRLEN]; /* the client the header names */
	char via[INET6_ADDRSTRLEN];  /* the balancer: the TCP peer */
};

/* name: the listener in log lines ("listen 127.0.0.1:8080"); the limits and
 * the counters (which outlive it) come from s. */
struct http_conns *http_conns_new(struct event_base *base, const struct http_spec *s,
				  const char *name);
/* From the bevcb: the connection that is being made on bev.  Nothing is
 * tracked when memory runs out (the connection then just has no caps; on a
 * proxy_protocol listener its header is then a bad request). */
void http_conns_track(struct http_conns *cs, struct bufferevent *bev);
/* From the request handler, first: req is complete, the deadline stops
 * until its reply has been sent.  Returns the client a PROXY header named
 * (valid while the handler runs), or NULL: the TCP peer is the client. */
const struct http_origin *http_conns_request(struct http_conns *cs, struct evhttp_request *req);
/* accept() failed with `why`; shed: a waiting connection was accepted and
 * closed with the reserve descriptor (http_listen.c).  Counted, and logged
 * at most once a second. */
void http_conns_accept_failed(struct http_conns *cs, const char *why, int shed);
/* After evhttp_free() (which closes every connection).  Accepts NULL. */
void http_conns_free(struct http_conns *cs);

#endif
