/* http_proxy.h: reading the PROXY protocol header (proxy_proto.h) off a
 * connection's socket before anything else reads it (http_conn.c holds the
 * bufferevent's reading off meanwhile).  Exactly the header's bytes are
 * taken from the socket: what follows (the HTTP request, or the TLS
 * ClientHello: the header comes before the handshake) stays for the
 * bufferevent.  Bytes are peeked, and taken only once they are known to be
 * part of the header, so a readable socket is never left unread. */
#ifndef SGW_HTTP_PROXY_H
#define SGW_HTTP_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "proxy_proto.h"

/* A connection's header so far. */
struct http_proxy {
	size_t have;
	uint8_t buf[PROXY_MAX];
};

/* On a readable non-blocking fd: 1 with *ret once the header is complete;
 * 0 when more must come; -SGW_EPARSE (not a header), -SGW_EIO (the
 * connection failed or closed: err says "closed" when it closed cleanly
 * before any byte) with the reason in err. */
int http_proxy_read(struct http_proxy *p, int fd, struct proxy_hdr *ret, struct sgw_err *err);

#endif
