/* http_listen.c: bind a listener from its spec, and the accept back-off
 * (http_listen.h). */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/listener.h>

#include "http_listen.h"
#include "http_tls.h"
#include "log.h"

#define PAUSE_USEC 200000

struct http_listener {
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *bound; /* NULL once closed */
	SSL_CTX *ssl;
};

/* ---- accept back-off ------------------------------------------------------
 * libevent calls the error callback with the listener's user data, which
 * evhttp set to the evhttp, not with a struct http_listener.  So a pause is
 * an event of its own that knows only the evhttp: when it ends it enables
 * whatever the evhttp still listens on (nothing once closed), and
 * http_listener_free() cancels one still pending. */

struct pause {
	struct event *ev;
	struct evhttp *http;
};

static void
enable_bound(struct evhttp_bound_socket *b, void *arg)
{
	(void)arg;
	evconnlistener_enable(evhttp_bound_socket_get_listener(b));
}

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct pause *p = arg;

	(void)fd;
	(void)what;
	evhttp_foreach_bound_socket(p->http, enable_bound, NULL);
	event_free(p->ev);
	free(p);
}

/* "host:port" of a bound socket, for the log. */
static void
sock_name(evutil_socket_t fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
	    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(buf, len, "fd %d", (int)fd);
	else
		snprintf(buf, len, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

static void
on_accept_error(struct evconnlistener *lev, void *http)
{
	int e = EVUTIL_SOCKET_ERROR();
	struct timeval tv = {0, PAUSE_USEC};
	struct pause *p = calloc(1, sizeof(*p));
	char addr[NI_MAXHOST + NI_MAXSERV + 4];

	sock_name(evconnlistener_get_fd(lev), addr, sizeof(addr));
	log_warn("listen %s: accept failed: %s; pausing accept for 200 ms", addr,
		 evutil_socket_error_to_string(e));
	if (p == NULL ||
	    (p->ev = evtimer_new(evconnlistener_get_base(lev), on_resume, p)) == NULL) {
		free(p); /* no pause: the next readiness tries accept() again */
		return;
	}
	p->http = http;
	evconnlistener_disable(lev);
	evtimer_add(p->ev, &tv);
}

static int
find_pause(const struct event_base *base, const struct event *ev, void *arg)
{
	struct pause **found = arg, *p;

	(void)base;
	if (event_get_callback(ev) != on_resume)
		return 0;
	p = event_get_callback_arg(ev);
	if (p->http != (*found)->http)
		return 0;
	*found = p;
	return 1;
}

/* A pending pause of l, freed (events may not be freed inside the walk). */
static void
pause_cancel(struct http_listener *l)
{
	struct pause key = {NULL, l->http}, *found = &key;

	event_base_foreach_event(l->base, find_pause, &found);
	if (found != &key) {
		event_free(found->ev);
		free(found);
	}
}

/* ---- listener ------------------------------------------------------------ */

int
http_listener_new(struct event_base *base, const struct http_spec *s, http_handler h, void *arg,
		  struct http_listener **ret, struct sgw_err *err)
{
	struct http_listener *l;
	char host[HTTP_HOST_MAX];
	unsigned short port;
	int r;

	if ((r = http_spec_check(s, err)) < 0)
		return r;
	http_spec_parse_address(s->address, host, sizeof(host), &port);
	if ((l = calloc(1, sizeof(*l))) == NULL || (l->http = evhttp_new(base)) == NULL) {
		r = sgw_err_set(err, SGW_ENOMEM, "out of memory");
		goto fail;
	}
	l->base = base;
	evhttp_set_max_body_size(l->http, (ev_ssize_t)s->max_body);
	evhttp_set_max_headers_size(l->http, (ev_ssize_t)s->max_headers);
	evhttp_set_timeout(l->http, s->timeout);
	evhttp_set_allowed_methods(l->http, s->methods);
	evhttp_set_gencb(l->http, h, arg);
	if (s->cert != NULL) {
		if ((r = http_tls_ctx_new(s, &l->ssl, err)) < 0)
			goto fail;
		evhttp_set_bevcb(l->http, http_tls_bevcb, l->ssl);
	}
	if ((l->bound = evhttp_bind_socket_with_handle(l->http, host, port)) == NULL) {
		r = sgw_err_set(err, SGW_EIO, "%s %s: cannot bind: %s", s->what, s->address,
				strerror(errno));
		goto fail;
	}
	evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(l->bound), on_accept_error);
	*ret = l;
	return 0;
fail:
	http_listener_free(l);
	return r;
}

void
http_listener_close(struct http_listener *l)
{
	if (l->bound != NULL)
		evhttp_del_accept_socket(l->http, l->bound);
	l->bound = NULL;
}

void
http_listener_free(struct http_listener *l)
{
	if (l == NULL)
		return;
	if (l->http != NULL) {
		pause_cancel(l);
		evhttp_free(l->http);
	}
	SSL_CTX_free(l->ssl);
	free(l);
}
