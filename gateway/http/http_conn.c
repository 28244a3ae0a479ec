/* http_conn.c: connection caps, the whole-request deadline and the log line
 * of requests evhttp refuses by itself (http_conn.h).
 *
 * Each connection has a `struct conn`, found from its evhttp_connection in a
 * hash table; peers have a count in another.  A connection goes
 * NEW (bevcb ran) -> READING (deadline armed) -> HANDLING (the handler has
 * the request: no deadline) -> IDLE (reply sent, kept alive: evhttp's idle
 * timeout) -> READING at its next byte ...  and ends in evhttp's close
 * callback.  Hooks: the close callback, the on-complete callback of each
 * request handed to the handler, and callbacks on the bufferevent's input
 * (bytes arrive) and output (evhttp writes a reply the handler never saw)
 * buffers.  On a proxy_protocol listener, set-up turns the bufferevent's
 * reading off and an event of its own reads the PROXY header off the socket
 * (http_proxy.c); then the header's client is admitted (per-peer cap) and
 * the bufferevent reads on. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>

#include "http_conn.h"
#include "http_proxy.h"
#include "log.h"

#define NBUCKETS 1024 /* power of two */

enum conn_state { CONN_NEW, CONN_READING, CONN_HANDLING, CONN_IDLE };

struct peer {
	struct peer *next; /* in its bucket */
	unsigned count;
	size_t len;
	uint8_t addr[16];
};

struct conn {
	struct http_conns *cs;
	struct conn *next; /* in its bucket */
	struct bufferevent *bev;
	struct evhttp_connection *evcon;
	struct peer *peer;
	struct event *ev; /* NEW: set-up; READING: the deadline */
	struct evbuffer_cb_entry *in_cb, *out_cb;
	enum conn_state state;
	size_t rx;		   /* bytes received for the current request */
	int answered;		   /* evhttp's own reply to it was logged */
	struct http_proxy *px;	   /* the PROXY header being read, or NULL */
	struct event *px_ev;	   /* ... its socket readable */
	struct http_origin origin; /* what the header said; peer "": nothing */
	uint8_t key[16];	   /* the TCP peer (proxy_protocol) */
	size_t keylen;
	char peer_str[2 * INET6_ADDRSTRLEN + 8]; /* for the log: "client[ via=balancer]" */
};

/* at most one line a second per kind; the others are counted into it */
struct ratelimit {
	time_t sec;
	unsigned long skipped;
};

struct http_conns {
	struct event_base *base;
	struct http_counters *ctr;
	struct http_counters own; /* when the spec brings none */
	char name[NI_MAXHOST + NI_MAXSERV + 64];
	unsigned max, per_peer, n;
	int deadline;
	size_t max_body, max_headers;
	struct ratelimit rl_refused, rl_deadline, rl_accept, rl_incomplete;
	int proxy;		 /* proxy_protocol */
	struct cidr *proxy_from; /* its allowed senders */
	size_t n_proxy_from;
	struct conn *conns[NBUCKETS];
	struct peer *peers[NBUCKETS];
};

static void on_event(evutil_socket_t fd, short what, void *arg);

/* ---- tables -------------------------------------------------------------- */

static size_t
ptr_bucket(const void *p)
{
	return (size_t)((((uintptr_t)p >> 4) * 2654435761u) >> 7) & (NBUCKETS - 1);
}

static size_t
addr_bucket(const uint8_t *a, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ a[i]) * 16777619u;
	return h & (NBUCKETS - 1);
}

static struct conn *
conn_find(struct http_conns *cs, const struct evhttp_connection *evcon)
{
	struct conn *c = cs->conns[ptr_bucket(evcon)];

	while (c != NULL && c->evcon != evcon)
		c = c->next;
	return c;
}

static void
conn_unlink(struct http_conns *cs, struct conn *c)
{
	struct conn **pp = &cs->conns[ptr_bucket(c->evcon)];

	while (*pp != NULL && *pp != c)
		pp = &(*pp)->next;
	if (*pp != NULL)
		*pp = c->next;
}

/* The peer's entry; created with count 0 when missing (NULL: no memory). */
static struct peer *
peer_get(struct http_conns *cs, const uint8_t *a, size_t len)
{
	size_t b = addr_bucket(a, len);
	struct peer *p;

	for (p = cs->peers[b]; p != NULL; p = p->next)
		if (p->len == len && memcmp(p->addr, a, len) == 0)
			return p;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->len = len;
	memcpy(p->addr, a, len);
	p->next = cs->peers[b];
	cs->peers[b] = p;
	return p;
}

static void
peer_put(struct http_conns *cs, struct peer *p)
{
	struct peer **pp = &cs->peers[addr_bucket(p->addr, p->len)];

	if (--p->count > 0)
		return;
	while (*pp != p)
		pp = &(*pp)->next;
	*pp = p->next;
	free(p);
}

/* An address (4 or 16 bytes) as a key (IPv4, also when mapped into IPv6,
 * as 4 bytes) and as text. */
static size_t
addr_key(int family, const uint8_t *a, uint8_t key[16], char *str, size_t strlen_)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	size_t len = 0;

	snprintf(str, strlen_, "-");
	if (family == AF_INET) {
		memcpy(key, a, 4);
		len = 4;
	} else if (family == AF_INET6 && memcmp(a, mapped, sizeof(mapped)) == 0) {
		memcpy(key, a + 12, 4);
		len = 4;
	} else if (family == AF_INET6) {
		memcpy(key, a, 16);
		len = 16;
	}
	if (len > 0)
		inet_ntop(len == 4 ? AF_INET : AF_INET6, key, str, (socklen_t)strlen_);
	return len;
}

/* The TCP peer of fd, as addr_key(). */
static size_t
peer_key(evutil_socket_t fd, uint8_t key[16], char *str, size_t strlen_)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	snprintf(str, strlen_, "-");
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return addr_key(AF_INET, (const uint8_t *)&((struct sockaddr_in *)&ss)->sin_addr,
				key, str, strlen_);
	if (ss.ss_family == AF_INET6)
		return addr_key(AF_INET6, ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr, key, str,
				strlen_);
	return 0;
}

/* One warning line for cs, unless one of this kind was written in the same
 * second: then it is only counted, and the next line says how many were
 * left out. */
static void __attribute__((format(printf, 3, 4)))
log_limited(const struct http_conns *cs, struct ratelimit *rl, const char *fmt, ...)
{
	time_t now = time(NULL);
	char line[512];
	va_list ap;

	if (now == rl->sec) {
		rl->skipped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (rl->skipped > 0)
		log_warn("%s: %s (%lu more since the last line)", cs->name, line, rl->skipped);
	else
		log_warn("%s: %s", cs->name, line);
	rl->skipped = 0;
	rl->sec = now;
}

/* ---- a connection's life ------------------------------------------------- */

/* The PROXY header is read (or given up): its buffer and event go. */
static void
proxy_done(struct conn *c)
{
	if (c->px_ev != NULL)
		event_free(c->px_ev);
	free(c->px);
	c->px_ev = NULL;
	c->px = NULL;
}

static void
arm_deadline(struct conn *c)
{
	struct timeval tv = {c->cs->deadline, 0};

	c->state = CONN_READING;
	c->answered = 0;
	evtimer_add(c->ev, &tv);
}

/* evhttp answers a request the handler never saw: its status line is the
 * first thing in the output buffer. */
static void
log_own_reply(struct conn *c, struct evbuffer *out)
{
	struct http_conns *cs = c->cs;
	size_t n = evbuffer_get_length(out);
	char line[32] = {0};
	int status = 0;

	evbuffer_copyout(out, line, n < sizeof(line) - 1 ? n : sizeof(line) - 1);
	if (sscanf(line, "HTTP/%*d.%*d %d", &status) != 1 || status < 200)
		return; /* "100 Continue" while the body comes */
	c->answered = 1;
	if (status == 413) {
		cs->ctr->too_large++;
		log_warn("%s: peer=%s status=413 reason=\"request body over limits.max_body "
			 "(%zu bytes)\"",
			 cs->name, c->peer_str, cs->max_body);
		return;
	}
	cs->ctr->bad_request++;
	log_warn("%s: peer=%s status=%d reason=\"%s\"", cs->name, c->peer_str, status,
		 status == 501		   ? "method not allowed on this listener"
		 : status != 400	   ? "refused by the HTTP layer"
		 : c->rx > cs->max_headers ? "request headers over limits.max_headers"
					   : "malformed request line or headers");
}

static void
on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;

	(void)buf;
	if (info->n_added == 0)
		return;
	if (c->state == CONN_IDLE) { /* the next request on a kept-alive connection */
		c->rx = 0;
		arm_deadline(c);
	}
	c->rx += info->n_added;
}

static void
on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;

	if (info->n_added > 0 && c->state == CONN_READING && !c->answered)
		log_own_reply(c, buf);
}

/* The client went away (or evhttp's idle timeout struck) in the middle of
 * a request: nobody else says so. */
static void
log_incomplete(struct conn *c)
{
	struct http_conns *cs = c->cs;

	cs->ctr->incomplete++;
	log_limited(cs, &cs->rl_incomplete,
		    "peer=%s status=- reason=\"connection closed before the request was complete "
		    "(%zu bytes received)\"",
		    c->peer_str, c->rx);
}

static void
on_close(struct evhttp_connection *evcon, void *arg)
{
	struct conn *c = arg;
	struct http_conns *cs = c->cs;

	(void)evcon;
	if (c->state == CONN_READING && c->rx > 0 && !c->answered)
		log_incomplete(c);
	conn_unlink(cs, c);
	proxy_done(c);
	if (c->peer != NULL) /* NULL: refused at its PROXY header, or before it */
		peer_put(cs, c->peer);
	cs->n--;
	cs->ctr->open--;
	evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
	evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
	event_free(c->ev);
	free(c);
}

static void
on_reply_sent(struct evhttp_request *req, void *arg)
{
	struct conn *c = arg;

	(void)req;
	c->state = CONN_IDLE;
	c->rx = 0;
	/* a pipelined request already read: its deadline starts now */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		arm_deadline(c);
}

static void
refuse(struct conn *c, const char *why, unsigned long long *counter)
{
	struct http_conns *cs = c->cs;

	(*counter)++;
	log_limited(cs, &cs->rl_refused, "peer=%s: connection refused: %s", c->peer_str, why);
}

/* The per-peer cap: 0 with c->peer counted, or -1 (refused, logged). */
static int
admit_peer(struct conn *c, const uint8_t *key, size_t len)
{
	struct http_conns *cs = c->cs;
	struct peer *p = peer_get(cs, key, len);
	char why[96];

	if (p == NULL)
		return -1;
	if (cs->per_peer > 0 && p->count >= cs->per_peer) {
		snprintf(why, sizeof(why),
			 "%u open from this address (limits.max_sockets_per_peer)", p->count);
		refuse(c, why, &cs->ctr->refused_peer);
		return -1;
	}
	p->count++;
	c->peer = p;
	return 0;
}

/* The header's client (h) becomes the peer: 0 once admitted, or -1. */
static int
proxy_admit(struct conn *c, const struct proxy_hdr *h)
{
	uint8_t key[16];
	size_t len = c->keylen;
	char client[INET6_ADDRSTRLEN];

	memcpy(key, c->key, sizeof(key));
	if (h->family != 0) { /* else LOCAL or UNKNOWN: the balancer itself */
		addr_key(c->keylen == 4 ? AF_INET : AF_INET6, c->key, key, c->origin.via,
			 sizeof(c->origin.via));
		len = addr_key(h->family, h->src, key, client, sizeof(client));
		snprintf(c->origin.peer, sizeof(c->origin.peer), "%s", client);
		snprintf(c->peer_str, sizeof(c->peer_str), "%s via=%s", client, c->origin.via);
	}
	return admit_peer(c, key, len);
}

static void
on_proxy_readable(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct sgw_err err = {{0}};
	struct proxy_hdr h;
	int r;

	(void)what;
	if ((r = http_proxy_read(c->px, fd, &h, &err)) == 0)
		return;
	proxy_done(c);
	if (r < 0 && strcmp(err.msg, "closed") != 0) /* else a bare TCP check */
		refuse(c, err.msg, &c->cs->ctr->refused_proxy);
	if (r < 0 || proxy_admit(c, &h) < 0) {
		evhttp_connection_free(c->evcon); /* on_close() frees c */
		return;
	}
	bufferevent_enable(c->bev, EV_READ);
}

/* Set-up of a proxy_protocol connection: 0 once its header is awaited. */
static int
proxy_start(struct conn *c, evutil_socket_t fd)
{
	struct http_conns *cs = c->cs;

	if (!cidr_match(cs->proxy_from, cs->n_proxy_from, c->peer_str)) {
		refuse(c, "not a PROXY protocol sender this listener trusts",
		       &cs->ctr->refused_proxy);
		return -1;
	}
	if ((c->px = calloc(1, sizeof(*c->px))) == NULL ||
	    (c->px_ev = event_new(cs->base, fd, EV_READ | EV_PERSIST, on_proxy_readable, c)) ==
		NULL ||
	    event_add(c->px_ev, NULL) != 0) {
		proxy_done(c);
		return -1;
	}
	bufferevent_disable(c->bev, EV_READ); /* until the header is read */
	return 0;
}

/* NEW: evhttp has made the connection; admit it or close it. */
static void
setup(struct conn *c)
{
	struct http_conns *cs = c->cs;
	void *cbarg = NULL;
	uint8_t key[16];
	size_t len;
	char why[96];
	evutil_socket_t fd;

	bufferevent_getcb(c->bev, NULL, NULL, NULL, &cbarg);
	bufferevent_decref(c->bev); /* evhttp's reference remains, if any */
	if (cbarg == NULL) {	    /* evhttp gave up on it (and freed it) */
		event_free(c->ev);
		free(c);
		return;
	}
	c->evcon = cbarg;
	fd = bufferevent_getfd(c->bev);
	len = peer_key(fd, key, c->peer_str, sizeof(c->peer_str));
	if (cs->n >= cs->max) {
		snprintf(why, sizeof(why), "%u open (limits.max_sockets)", cs->n);
		refuse(c, why, &cs->ctr->refused_sockets);
		goto close;
	}
	memcpy(c->key, key, sizeof(key));
	c->keylen = len;
	if (cs->proxy ? proxy_start(c, fd) < 0 : admit_peer(c, key, len) < 0)
		goto close;
	cs->n++;
	cs->ctr->open++;
	c->next = cs->conns[ptr_bucket(c->evcon)];
	cs->conns[ptr_bucket(c->evcon)] = c;
	c->in_cb = evbuffer_add_cb(bufferevent_get_input(c->bev), on_input, c);
	c->out_cb = evbuffer_add_cb(bufferevent_get_output(c->bev), on_output, c);
	evhttp_connection_set_closecb(c->evcon, on_close, c);
	arm_deadline(c);
	return;
close:
	event_free(c->ev);
	evhttp_connection_free(c->evcon);
	free(c);
}

static void
on_deadline(struct conn *c)
{
	struct http_conns *cs = c->cs;

	cs->ctr->request_timeout++;
	log_limited(cs, &cs->rl_deadline,
		    "peer=%s status=- reason=\"request not complete within limits.request_timeout "
		    "(%d s, %zu bytes received): connection closed\"",
		    c->peer_str, cs->deadline, c->rx);
	c->answered = 1;		  /* logged: not again in on_close() */
	evhttp_connection_free(c->evcon); /* on_close() frees c */
}

static void
on_event(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->state == CONN_NEW)
		setup(c);
	else if (c->state == CONN_READING)
		on_deadline(c);
}

/* ---- interface ----------------------------------------------------------- */

void
http_conns_track(struct http_conns *cs, struct bufferevent *bev)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL || (c->ev = event_new(cs->base, -1, 0, on_event, c)) == NULL) {
		free(c);
		return;
	}
	c->cs = cs;
	c->bev = bev;
	c->state = CONN_NEW;
	bufferevent_incref(bev); /* setup() learns whether evhttp still has it */
	event_active(c->ev, EV_TIMEOUT, 1);
}

const struct http_origin *
http_conns_request(struct http_conns *cs, struct evhttp_request *req)
{
	struct conn *c = conn_find(cs, evhttp_request_get_connection(req));

	if (c == NULL)
		return NULL;
	c->state = CONN_HANDLING;
	evtimer_del(c->ev);
	evhttp_request_set_on_complete_cb(req, on_reply_sent, c);
	return c->origin.peer[0] != '\0' ? &c->origin : NULL;
}

void
http_conns_accept_failed(struct http_conns *cs, const char *why, int shed)
{
	cs->ctr->accept_failed++;
	log_limited(cs, &cs->rl_accept, "accept failed: %s; %s", why,
		    shed ? "closed a waiting connection with the reserve descriptor"
			 : "pausing accept for 200 ms");
}

struct http_conns *
http_conns_new(struct event_base *base, const struct http_spec *s, const char *name)
{
	struct http_conns *cs = calloc(1, sizeof(*cs));

	if (cs == NULL)
		return NULL;
	cs->base = base;
	cs->ctr = s->counters != NULL ? s->counters : &cs->own;
	snprintf(cs->name, sizeof(cs->name), "%s", name);
	cs->max = s->max_sockets > 0 ? s->max_sockets : HTTP_MAX_SOCKETS_DEFAULT;
	cs->per_peer = s->max_sockets_per_peer;
	cs->deadline = s->request_timeout > 0 ? s->request_timeout : s->timeout;
	cs->max_body = s->max_body;
	cs->max_headers = s->max_headers;
	cs->proxy = s->proxy_protocol;
	if (s->proxy_protocol) {
		cs->proxy_from = calloc(s->n_proxy_from, sizeof(*cs->proxy_from));
		if (cs->proxy_from == NULL) {
			free(cs);
			return NULL;
		}
		memcpy(cs->proxy_from, s->proxy_from, s->n_proxy_from * sizeof(*cs->proxy_from));
		cs->n_proxy_from = s->n_proxy_from;
	}
	return cs;
}

void
http_conns_free(struct http_conns *cs)
{
	if (cs == NULL)
		return;
	free(cs->proxy_from);
	free(cs); /* evhttp_free() closed every connection: the tables are empty */
}
