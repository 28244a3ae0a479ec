/* http_tls.h: the server side of TLS for a listener (http_listen.c). */
#ifndef SGW_HTTP_TLS_H
#define SGW_HTTP_TLS_H

#include <event2/bufferevent.h>
#include <openssl/ssl.h>

#include "http_spec.h"

/* The SSL_CTX of s (s->cert set): TLS 1.2 and up, no renegotiation, the
 * certificate chain and its key (owner and mode checked first), the
 * tls_flags, and with s->client_ca a request for client certificates. */
int http_tls_ctx_new(const struct http_spec *s, SSL_CTX **ret, struct sgw_err *err);
/* evhttp_set_bevcb() callback; arg is the SSL_CTX. */
struct bufferevent *http_tls_bevcb(struct event_base *base, void *arg);

#endif
