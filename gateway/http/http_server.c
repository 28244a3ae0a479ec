/* http_server.c: libevent evhttp listeners.  TLS goes through
 * bufferevent_openssl; limits (body, headers, timeout) come from the config.
 * accept() failures such as EMFILE pause the listener briefly instead of
 * spinning (nginx does the same). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "http_server.h"
#include "keyop.h"
#include "log.h"
#include "secret_file.h"

#define HTTP_MAX_LISTENERS 16

struct listener {
	struct http_server *srv;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct evconnlistener *lev;
	struct event *resume; /* re-enable accept after EMFILE */
	SSL_CTX *ssl;
	char address[128];
};

struct http_server {
	struct event_base *base;
	struct listener l[HTTP_MAX_LISTENERS];
	size_t n;
};

int
http_parse_address(const char *addr, char *host, size_t hostlen, unsigned short *ret_port)
{
	const char *colon, *h = addr, *hend;
	char *end;
	long port;

	if (addr[0] == '[') {
		hend = strchr(addr, ']');
		if (hend == NULL || hend[1] != ':')
			return -SGW_EINVAL;
		h = addr + 1;
		colon = hend + 1;
	} else {
		colon = strrchr(addr, ':');
		if (colon == NULL)
			return -SGW_EINVAL;
		hend = colon;
	}
	if ((size_t)(hend - h) >= hostlen || hend == h)
		return -SGW_EINVAL;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || end == colon + 1 || port < 0 || port > 65535)
		return -SGW_EINVAL;
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	*ret_port = (unsigned short)port;
	return 0;
}

static struct bufferevent *
tls_bevcb(struct event_base *base, void *arg)
{
	struct listener *l = arg;
	SSL *ssl = SSL_new(l->ssl);

	if (ssl == NULL)
		return NULL;
	return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					      BEV_OPT_CLOSE_ON_FREE);
}

static SSL_CTX *
tls_ctx_new(const struct cfg_tls *t, struct sgw_err *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int r;

	if (ctx == NULL) {
		sgw_err_set(err, SGW_ENOMEM, "SSL_CTX_new failed");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if ((r = secret_file_check(t->key, err)) < 0)
		goto fail;
	if (SSL_CTX_use_certificate_chain_file(ctx, t->cert) != 1) {
		sgw_err_set(err, SGW_EPARSE, "%s: cannot load the TLS certificate chain", t->cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, t->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		sgw_err_set(err, SGW_EPARSE, "%s: TLS key unreadable or does not match %s", t->key,
			    t->cert);
		goto fail;
	}
	return ctx;
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(l->lev);
}

static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct listener *l = arg;
	struct timeval tv = {0, 200000};
	int e = EVUTIL_SOCKET_ERROR();

	(void)lev;
	log_warn("listen %s: accept failed: %s; pausing accept for 200 ms", l->address,
		 evutil_socket_error_to_string(e));
	evconnlistener_disable(l->lev);
	evtimer_add(l->resume, &tv);
}

static int
listener_open(struct http_server *s, struct listener *l, const struct cfg *c,
	      const struct cfg_listen *lc, http_handler h, void *arg, struct sgw_err *err)
{
	char host[64];
	unsigned short port;

	l->srv = s;
	snprintf(l->address, sizeof(l->address), "%s", lc->address);
	if (http_parse_address(lc->address, host, sizeof(host), &port) < 0)
		return sgw_err_set(err, SGW_EINVAL, "listen: bad address '%s'", lc->address);
	l->http = evhttp_new(s->base);
	l->resume = evtimer_new(s->base, on_resume, l);
	if (l->http == NULL || l->resume == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	evhttp_set_max_body_size(l->http, (ev_ssize_t)c->limits.max_body);
	evhttp_set_max_headers_size(l->http, (ev_ssize_t)c->limits.max_headers);
	evhttp_set_timeout(l->http, c->limits.timeout);
	evhttp_set_allowed_methods(l->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(l->http, h, arg);
	if (lc->tls) {
		l->ssl = tls_ctx_new(&lc->tls_files, err);
		if (l->ssl == NULL)
			return -SGW_EINVAL;
		evhttp_set_bevcb(l->http, tls_bevcb, l);
	}
	l->bound = evhttp_bind_socket_with_handle(l->http, host, port);
	if (l->bound == NULL)
		return sgw_err_set(err, SGW_EIO, "listen %s: cannot bind: %s", lc->address,
				   strerror(errno));
	l->lev = evhttp_bound_socket_get_listener(l->bound);
	evconnlistener_set_error_cb(l->lev, on_accept_error);
	log_info("listening on %s://%s", lc->tls ? "https" : "http", lc->address);
	return 0;
}

int
http_server_new(struct event_base *base, const struct cfg *c, http_handler h, void *arg,
		struct http_server **ret, struct sgw_err *err)
{
	struct http_server *s;
	int r;

	if (c->n_listen > HTTP_MAX_LISTENERS)
		return sgw_err_set(err, SGW_EINVAL, "too many listeners (max %d)",
				   HTTP_MAX_LISTENERS);
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -SGW_ENOMEM;
	s->base = base;
	for (; s->n < c->n_listen; s->n++) {
		r = listener_open(s, &s->l[s->n], c, &c->listen[s->n], h, arg, err);
		if (r < 0) {
			s->n++;
			http_server_free(s);
			return r;
		}
	}
	*ret = s;
	return 0;
}

void
http_server_close_listeners(struct http_server *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->l[i].bound != NULL)
			evhttp_del_accept_socket(s->l[i].http, s->l[i].bound);
		s->l[i].bound = NULL;
		s->l[i].lev = NULL;
		if (s->l[i].resume != NULL)
			evtimer_del(s->l[i].resume);
	}
}

void
http_server_free(struct http_server *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		if (s->l[i].http != NULL)
			evhttp_free(s->l[i].http);
		if (s->l[i].resume != NULL)
			event_free(s->l[i].resume);
		SSL_CTX_free(s->l[i].ssl);
	}
	free(s);
}
