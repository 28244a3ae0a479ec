/* http_listen.c: bind a listener from its spec, its connections' limits
 * (http_conn.c), and what happens when accept() fails (http_listen.h). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/listener.h>

#include "http_conn.h"
#include "http_listen.h"
#include "http_tls.h"
#include "log.h"

#define PAUSE_USEC 200000
#define BACKLOG 4096 /* the kernel caps it at net.core.somaxconn */
#define MARKER_SECONDS (366 * 86400)

struct http_listener {
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *bound; /* NULL once closed */
	SSL_CTX *ssl;
	http_handler h;
	void *arg;
	struct http_conns *conns;
	int reserve_fd;	      /* /dev/null, given up to accept and close at EMFILE */
	struct event *marker; /* a timer that lets the accept error callback find us */
	char name[NI_MAXHOST + NI_MAXSERV + 64]; /* "listen 127.0.0.1:8080", for the log */
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

/* The listener that owns `http` (NULL if none): its marker timer is the
 * one event of the base that leads to it.  A walk over the base's events,
 * done only when accept() fails. */
static void
on_marker(evutil_socket_t fd, short what, void *arg)
{
	struct http_listener *l = arg;
	struct timeval tv = {MARKER_SECONDS, 0};

	(void)fd;
	(void)what;
	evtimer_add(l->marker, &tv);
}

static int
find_marker(const struct event_base *base, const struct event *ev, void *arg)
{
	struct http_listener **found = arg, *l;

	(void)base;
	if (event_get_callback(ev) != on_marker)
		return 0;
	l = event_get_callback_arg(ev);
	if (l->http != (*found)->http)
		return 0;
	*found = l;
	return 1;
}

/* EMFILE/ENFILE: give up the reserve descriptor for a moment to accept one
 * waiting connection and close it at once, so the backlog drains and the
 * listener neither spins nor stalls.  0 when one was shed, else -1.  A
 * reserve lost to another thread between the close and the reopen is taken
 * again the next time a descriptor is free. */
static int
shed_one(struct http_listener *l, evutil_socket_t lfd)
{
	int fd, r = -1;

	if (l->reserve_fd < 0)
		l->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (l->reserve_fd < 0)
		return -1;
	close(l->reserve_fd);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		r = 0;
	}
	l->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return r;
}

static void
on_accept_error(struct evconnlistener *lev, void *http)
{
	int e = EVUTIL_SOCKET_ERROR();
	struct timeval tv = {0, PAUSE_USEC};
	struct http_listener key = {.http = http}, *l = &key;
	struct pause *p;
	int shed;

	event_base_foreach_event(evconnlistener_get_base(lev), find_marker, &l);
	if (l == &key) /* not ours: cannot happen */
		l = NULL;
	shed = (e == EMFILE || e == ENFILE) && l != NULL &&
	       shed_one(l, evconnlistener_get_fd(lev)) == 0;
	if (l != NULL) {
		http_conns_accept_failed(l->conns, evutil_socket_error_to_string(e), shed);
	} else {
		char addr[NI_MAXHOST + NI_MAXSERV + 4];

		sock_name(evconnlistener_get_fd(lev), addr, sizeof(addr));
		log_warn("listen %s: accept failed: %s; pausing accept for 200 ms", addr,
			 evutil_socket_error_to_string(e));
	}
	if (shed)
		return; /* the next readiness accepts (or sheds) the next one */
	if ((p = calloc(1, sizeof(*p))) == NULL ||
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

/* evhttp's gencb: the request is complete. */
static void
on_request(struct evhttp_request *req, void *arg)
{
	struct http_listener *l = arg;

	l->h(req, http_conns_request(l->conns, req), l->arg);
}

/* evhttp's bevcb: a connection is being made. */
static struct bufferevent *
on_connection(struct event_base *base, void *arg)
{
	struct http_listener *l = arg;
	struct bufferevent *bev = l->ssl != NULL
				      ? http_tls_bevcb(base, l->ssl)
				      : bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);

	if (bev != NULL)
		http_conns_track(l->conns, bev);
	return bev;
}

/* After the bind: the name for the log, the connection limits, a longer
 * backlog than evhttp's 128, the reserve descriptor and the marker. */
static int
listener_setup(struct http_listener *l, const struct http_spec *s, struct sgw_err *err)
{
	struct evconnlistener *lev = evhttp_bound_socket_get_listener(l->bound);
	struct timeval tv = {MARKER_SECONDS, 0};
	char addr[NI_MAXHOST + NI_MAXSERV + 4];

	sock_name(evconnlistener_get_fd(lev), addr, sizeof(addr));
	snprintf(l->name, sizeof(l->name), "%s %s", s->what, addr);
	if (listen(evconnlistener_get_fd(lev), BACKLOG) != 0)
		log_warn("%s: cannot raise the listen backlog: %s", l->name, strerror(errno));
	if ((l->conns = http_conns_new(l->base, s, l->name)) == NULL ||
	    (l->marker = evtimer_new(l->base, on_marker, l)) == NULL ||
	    evtimer_add(l->marker, &tv) != 0)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	if ((l->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		return sgw_err_set(err, SGW_EIO, "/dev/null: %s", strerror(errno));
	evconnlistener_set_error_cb(lev, on_accept_error);
	return 0;
}

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
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		r = sgw_err_set(err, SGW_ENOMEM, "out of memory");
		goto fail;
	}
	l->reserve_fd = -1;
	if ((l->http = evhttp_new(base)) == NULL) {
		r = sgw_err_set(err, SGW_ENOMEM, "out of memory");
		goto fail;
	}
	l->base = base;
	l->h = h;
	l->arg = arg;
	evhttp_set_max_body_size(l->http, (ev_ssize_t)s->max_body);
	evhttp_set_max_headers_size(l->http, (ev_ssize_t)s->max_headers);
	evhttp_set_timeout(l->http, s->timeout);
	evhttp_set_allowed_methods(l->http, s->methods);
	evhttp_set_gencb(l->http, on_request, l);
	evhttp_set_bevcb(l->http, on_connection, l);
	if (s->cert != NULL && (r = http_tls_ctx_new(s, &l->ssl, err)) < 0)
		goto fail;
	if ((l->bound = evhttp_bind_socket_with_handle(l->http, host, port)) == NULL) {
		r = sgw_err_set(err, SGW_EIO, "%s %s: cannot bind: %s", s->what, s->address,
				strerror(errno));
		goto fail;
	}
	if ((r = listener_setup(l, s, err)) < 0)
		goto fail;
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
		evhttp_free(l->http); /* closes the connections: before their table */
	}
	http_conns_free(l->conns);
	if (l->marker != NULL)
		event_free(l->marker);
	if (l->reserve_fd >= 0)
		close(l->reserve_fd);
	SSL_CTX_free(l->ssl);
	free(l);
}
