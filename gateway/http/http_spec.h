/* http_spec.h: what a listener is made of, for the SCEP listeners
 * (http_server.c, from listen: and limits:) and the admin listener
 * (admin_http.c, from admin:) alike.  http_listen.c binds it, http_tls.c
 * makes its SSL_CTX.  Pure: no I/O, no logging. */
#ifndef SGW_HTTP_SPEC_H
#define SGW_HTTP_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "err.h"

#define HTTP_HOST_MAX 64 /* the host part of an address, NUL included */

/* TLS choices where the two listeners differ */
enum http_tls_flag {
	HTTP_TLS_SERVER_ORDER = 1u << 0, /* the server's cipher preference wins */
	HTTP_TLS_NO_TICKETS = 1u << 1,	 /* no session tickets */
	HTTP_TLS_FLAG_MAX = 1u << 2
};

#define HTTP_MAX_SOCKETS_DEFAULT 4096 /* max_sockets when a spec leaves it 0 */

/* What a listener counts (http_conn.c, http_listen.c); its owner (the
 * metrics) keeps it, and may share it between listeners. */
struct http_counters {
	unsigned long long open;	    /* connections open now */
	unsigned long long refused_sockets; /* closed at accept: over max_sockets */
	unsigned long long refused_peer;    /* closed at accept: over max_sockets_per_peer */
	unsigned long long request_timeout; /* closed at the whole-request deadline */
	unsigned long long too_large;	    /* evhttp's 413: body over max_body */
	unsigned long long bad_request;	    /* evhttp's 400: malformed, headers over max_headers */
	unsigned long long incomplete; /* closed by the client (or the idle timeout) mid-request */
	unsigned long long accept_failed; /* accept() failed (EMFILE, ENFILE, ...) */
	unsigned long long refused_proxy; /* PROXY protocol: no header, a bad one, or an
					     untrusted sender */
};

struct http_spec {
	const char *what;    /* its config key, in messages: "listen", "admin.listen" */
	const char *address; /* "host:port", IPv6 as "[::1]:8080" */
	/* TLS when cert is set */
	const char *cert; /* PEM certificate chain */
	const char *key;  /* PEM private key: a secret file (owner-only mode) */
	/* mTLS: ask for a client certificate verified against these PEM CAs.
	 * The handshake accepts any result (a client may have none); the
	 * handler reads SSL_get_verify_result() per request.  Needs TLS. */
	const char *client_ca;
	unsigned tls_flags; /* HTTP_TLS_* */
	/* limits */
	size_t max_body;    /* bytes */
	size_t max_headers; /* bytes */
	int timeout;	    /* seconds a connection may read, write or idle */
	uint16_t methods;   /* EVHTTP_REQ_* allowed */
	/* connection limits (http_conn.h) */
	unsigned max_sockets;		/* open connections; 0: HTTP_MAX_SOCKETS_DEFAULT */
	unsigned max_sockets_per_peer;	/* from one address; 0: no cap */
	int request_timeout;		/* seconds to a complete request; 0: timeout */
	struct http_counters *counters; /* borrowed, outlives the listener; NULL: none */
	/* PROXY protocol (http_proxy.h): every connection begins with a header,
	 * accepted only from these peers (copied by the listener) */
	int proxy_protocol;
	const struct cidr *proxy_from;
	size_t n_proxy_from;
};

/* Split "host:port" / "[v6]:port"; host written to buf. */
int http_spec_parse_address(const char *addr, char *host, size_t hostlen, unsigned short *ret_port);
/* 0, or -SGW_EINVAL with a message naming s->what: a bad address, a
 * certificate without a key (or a key without one), client_ca without TLS,
 * a limit of zero, no method, proxy_protocol without a proxy_from range. */
int http_spec_check(const struct http_spec *s, struct sgw_err *err);

#endif
