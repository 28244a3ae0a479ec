/*
 * sgwidle: hold many idle keep-alive connections open to a SCEP server, for
 * tests/bench/scale.sh (issue 9, scope item 4: memory per idle connection).
 *
 *   sgwidle -u URL -c N [--caps] [--hold S] [--window W] [--ready-file F] [--json]
 *
 * Opens N TCP connections to URL's host and port, at most W in progress at a
 * time.  With --caps each one then sends one GetCACaps (HTTP/1.1, keep-alive)
 * and reads the answer, so the server holds N real HTTP connections; without
 * it they stay bare TCP connections that never send a byte.  Once all are
 * set up it writes "ready" to F (when given), then holds them idle for S
 * seconds, recording every connection the server closes meanwhile and how
 * long it had been idle.  With --caps it finally sends one more GetCACaps on
 * every connection still open and counts the answers.  It raises
 * RLIMIT_NOFILE to the hard limit.  Exit status: 0 when every connection was
 * set up, 1 when some failed, 2 on a usage or setup error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "bench_args.h"

#define SI_BUF 2048
#define SI_MAX_CONNS 1000000
#define SI_SETUP_S 600.0 /* longest setup phase, seconds */

enum si_state { SI_NEW, SI_CONNECTING, SI_SENT, SI_IDLE, SI_CLOSED, SI_FAILED };

struct si_conn {
	int fd;
	enum si_state st;
	double t_last; /* seconds since start: last byte received (or connect) */
	size_t len;
	char *buf; /* the answer being read; freed once complete */
};

struct si_opts {
	const char *url, *ready_file;
	long n, window, hold;
	int caps, json;
};

struct si_run {
	const struct si_opts *o;
	struct sockaddr_storage sa;
	socklen_t salen;
	char req[1400];
	size_t reqlen;
	struct si_conn *c;
	int ep;
	long next, busy;
	long connected, answered, fail_connect, fail_reply;
	long closed, recheck_ok, recheck_fail;
	double t0, idle_min, idle_max, close_first, close_last;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(void)
{
	fprintf(stderr, "usage: sgwidle -u URL -c N [--caps] [--hold S] [--window W]"
			" [--ready-file F] [--json]\n"
			"  -u, --url URL        http://host:port/path (the SCEP URL)\n"
			"  -c, --connections N  connections to open (default 1000)\n"
			"      --caps           send one GetCACaps on each before holding it\n"
			"      --hold S         seconds to hold them idle (default 30)\n"
			"      --window W       connections set up at a time (default 128)\n"
			"      --ready-file F   write \"ready\" to F once all are set up\n"
			"      --json           one JSON object on stdout\n");
	exit(2);
}

static void
parse_opts(int argc, char **argv, struct si_opts *o)
{
	enum { O_CAPS = 256, O_HOLD, O_WINDOW, O_READY, O_JSON };
	static const struct option lo[] = {
	    {"url", required_argument, NULL, 'u'},
	    {"connections", required_argument, NULL, 'c'},
	    {"caps", no_argument, NULL, O_CAPS},
	    {"hold", required_argument, NULL, O_HOLD},
	    {"window", required_argument, NULL, O_WINDOW},
	    {"ready-file", required_argument, NULL, O_READY},
	    {"json", no_argument, NULL, O_JSON},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	*o = (struct si_opts){.n = 1000, .window = 128, .hold = 30};
	while ((ch = getopt_long(argc, argv, "u:c:h", lo, NULL)) != -1) {
		switch (ch) {
		case 'u':
			o->url = optarg;
			break;
		case 'c':
			o->n = bench_num_arg("sgwidle", optarg, 1, SI_MAX_CONNS);
			break;
		case O_CAPS:
			o->caps = 1;
			break;
		case O_HOLD:
			o->hold = bench_num_arg("sgwidle", optarg, 0, 86400);
			break;
		case O_WINDOW:
			o->window = bench_num_arg("sgwidle", optarg, 1, 65536);
			break;
		case O_READY:
			o->ready_file = optarg;
			break;
		case O_JSON:
			o->json = 1;
			break;
		default:
			usage();
		}
	}
	if (o->url == NULL || optind != argc)
		usage();
}

/* http://host[:port]/path -> the address and the GetCACaps request. */
static int
setup_target(struct si_run *r)
{
	const char *p, *slash, *colon;
	char host[256], port[8] = "80";
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	size_t hl;
	int n;

	if (strncmp(r->o->url, "http://", 7) != 0)
		return -1;
	p = r->o->url + 7;
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = p + strlen(p);
	colon = memchr(p, ':', (size_t)(slash - p));
	hl = (size_t)((colon != NULL ? colon : slash) - p);
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, p, hl);
	host[hl] = '\0';
	if (colon != NULL) {
		if ((size_t)(slash - colon - 1) >= sizeof(port) || slash == colon + 1)
			return -1;
		memcpy(port, colon + 1, (size_t)(slash - colon - 1));
		port[slash - colon - 1] = '\0';
	}
	if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL)
		return -1;
	memcpy(&r->sa, ai->ai_addr, ai->ai_addrlen);
	r->salen = ai->ai_addrlen;
	freeaddrinfo(ai);
	n = snprintf(r->req, sizeof(r->req),
		     "GET %s?operation=GetCACaps HTTP/1.1\r\nHost: %s:%s\r\n"
		     "Connection: keep-alive\r\n\r\n",
		     *slash ? slash : "/", host, port);
	if (n < 0 || (size_t)n >= sizeof(r->req))
		return -1;
	r->reqlen = (size_t)n;
	return 0;
}

static int
raise_nofile(long need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	if (rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < need) {
		fprintf(stderr, "sgwidle: RLIMIT_NOFILE hard limit %ld < %ld needed\n",
			(long)rl.rlim_cur, need);
		return -1;
	}
	return 0;
}

static void
conn_close(struct si_run *r, struct si_conn *c, enum si_state st)
{
	if (c->fd >= 0) {
		epoll_ctl(r->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->st = st;
	free(c->buf);
	c->buf = NULL;
}

static int
conn_watch(struct si_run *r, struct si_conn *c, uint32_t events, int op)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};

	return epoll_ctl(r->ep, op, c->fd, &ev);
}

static int
conn_send(struct si_run *r, struct si_conn *c)
{
	ssize_t w = send(c->fd, r->req, r->reqlen, MSG_NOSIGNAL);

	if (w != (ssize_t)r->reqlen) /* a few hundred bytes fit any fresh socket buffer */
		return -1;
	c->st = SI_SENT;
	c->len = 0;
	if (c->buf == NULL && (c->buf = malloc(SI_BUF)) == NULL)
		return -1;
	return conn_watch(r, c, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);
}

static void
conn_start(struct si_run *r, struct si_conn *c)
{
	int one = 1, rc;

	c->fd = socket(r->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		fprintf(stderr, "sgwidle: socket: %s\n", strerror(errno));
		exit(2);
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	rc = connect(c->fd, (struct sockaddr *)&r->sa, r->salen);
	if (rc < 0 && errno != EINPROGRESS) {
		r->fail_connect++;
		conn_close(r, c, SI_FAILED);
		return;
	}
	c->st = SI_CONNECTING;
	r->busy++;
	if (conn_watch(r, c, EPOLLOUT, EPOLL_CTL_ADD) < 0) {
		r->busy--;
		r->fail_connect++;
		conn_close(r, c, SI_FAILED);
	}
}

/* 1: a complete "HTTP/1.x 200" answer with its Content-Length body; 0: not
 * yet; -1: anything else. */
static int
reply_complete(const struct si_conn *c)
{
	const char *end, *cl;
	long body;

	if (c->len < 12)
		return 0;
	if (strncmp(c->buf, "HTTP/1.1 200", 12) != 0 && strncmp(c->buf, "HTTP/1.0 200", 12) != 0)
		return -1;
	end = strstr(c->buf, "\r\n\r\n");
	if (end == NULL)
		return c->len >= SI_BUF - 1 ? -1 : 0;
	cl = strcasestr(c->buf, "\r\nContent-Length:");
	if (cl == NULL || cl > end)
		return -1;
	body = strtol(cl + 17, NULL, 10);
	return (size_t)(end + 4 - c->buf) + (size_t)body <= c->len ? 1 : 0;
}

/* The connection is set up (connected, and answered with --caps). */
static void
conn_ready(struct si_run *r, struct si_conn *c, double t)
{
	c->st = SI_IDLE;
	c->t_last = t;
	free(c->buf);
	c->buf = NULL;
	r->busy--;
	if (conn_watch(r, c, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD) < 0) {
		r->fail_reply++;
		conn_close(r, c, SI_FAILED);
	}
}

static void
on_readable_sent(struct si_run *r, struct si_conn *c, double t, int recheck)
{
	ssize_t n = recv(c->fd, c->buf + c->len, SI_BUF - 1 - c->len, 0);
	int done;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		c->len += (size_t)n;
		c->buf[c->len] = '\0';
	}
	done = n <= 0 ? -1 : reply_complete(c);
	if (done == 0)
		return;
	if (recheck) {
		r->busy--;
		if (done > 0)
			r->recheck_ok++;
		else
			r->recheck_fail++;
		conn_close(r, c, SI_CLOSED);
		return;
	}
	if (done < 0) {
		r->busy--;
		r->fail_reply++;
		conn_close(r, c, SI_FAILED);
		return;
	}
	r->answered++;
	conn_ready(r, c, t);
}

static void
on_idle_event(struct si_run *r, struct si_conn *c, double t)
{
	char b[256];
	ssize_t n = recv(c->fd, b, sizeof(b), 0);
	double idle = t - c->t_last;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* EOF, reset, or unsolicited bytes (a 408 before closing): closed by the server */
	if (r->closed == 0 || idle < r->idle_min)
		r->idle_min = idle;
	if (r->closed == 0 || idle > r->idle_max)
		r->idle_max = idle;
	if (r->closed == 0)
		r->close_first = t;
	r->close_last = t;
	r->closed++;
	conn_close(r, c, SI_CLOSED);
}

static void
on_event(struct si_run *r, struct si_conn *c, uint32_t ev, int recheck)
{
	double t = now_s() - r->t0;

	if (c->st == SI_CONNECTING) {
		int e = 0;
		socklen_t el = sizeof(e);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e != 0 ||
		    (ev & (EPOLLERR | EPOLLHUP))) {
			r->busy--;
			r->fail_connect++;
			conn_close(r, c, SI_FAILED);
			return;
		}
		r->connected++;
		if (!r->o->caps) {
			conn_ready(r, c, t);
		} else if (conn_send(r, c) < 0) {
			r->busy--;
			r->fail_reply++;
			conn_close(r, c, SI_FAILED);
		}
	} else if (c->st == SI_SENT) {
		on_readable_sent(r, c, t, recheck);
	} else if (c->st == SI_IDLE) {
		on_idle_event(r, c, t);
	}
}

/* Wait for events until `until` (seconds since start) or, when stop_idle,
 * until nothing is in progress and no connection is left to start. */
static void
loop(struct si_run *r, double until, int stop_idle, int recheck)
{
	struct epoll_event evs[256];

	for (;;) {
		double left = until - (now_s() - r->t0);
		int n, ms;

		while (!recheck && r->next < r->o->n && r->busy < r->o->window)
			conn_start(r, &r->c[r->next++]);
		if (stop_idle && r->busy == 0 && (recheck || r->next >= r->o->n))
			return;
		if (left <= 0)
			return;
		ms = left > 1.0 ? 1000 : (int)(left * 1000) + 1;
		n = epoll_wait(r->ep, evs, 256, ms);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "sgwidle: epoll_wait: %s\n", strerror(errno));
			exit(2);
		}
		for (int i = 0; i < n; i++)
			on_event(r, evs[i].data.ptr, evs[i].events, recheck);
	}
}

static void
write_ready(const char *path)
{
	FILE *f;

	if (path == NULL)
		return;
	f = fopen(path, "w");
	if (f == NULL) {
		fprintf(stderr, "sgwidle: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	fputs("ready\n", f);
	fclose(f);
}

static void
report(const struct si_run *r, double setup_s, double held_s, long open_before_recheck)
{
	const struct si_opts *o = r->o;

	if (o->json) {
		printf("{\"requested\":%ld,\"caps\":%s,\"connected\":%ld,\"answered\":%ld,"
		       "\"failed_connect\":%ld,\"failed_reply\":%ld,\"setup_s\":%.3f,"
		       "\"held_s\":%.3f,\"closed_by_server\":%ld,\"closed_idle_min_s\":%.3f,"
		       "\"closed_idle_max_s\":%.3f,\"first_close_s\":%.3f,\"last_close_s\":%.3f,"
		       "\"open_at_end\":%ld,\"recheck_ok\":%ld,\"recheck_failed\":%ld}\n",
		       o->n, o->caps ? "true" : "false", r->connected, r->answered, r->fail_connect,
		       r->fail_reply, setup_s, held_s, r->closed, r->idle_min, r->idle_max,
		       r->closed ? r->close_first - setup_s : 0,
		       r->closed ? r->close_last - setup_s : 0, open_before_recheck, r->recheck_ok,
		       r->recheck_fail);
		return;
	}
	printf("sgwidle: %ld connections%s: %ld connected, %ld answered, %ld failed to connect, "
	       "%ld bad replies; set up in %.2f s\n",
	       o->n, o->caps ? " with one GetCACaps each" : " (bare TCP)", r->connected,
	       r->answered, r->fail_connect, r->fail_reply, setup_s);
	printf("  held %.1f s: %ld closed by the server", held_s, r->closed);
	if (r->closed)
		printf(" (idle %.1f..%.1f s when closed)", r->idle_min, r->idle_max);
	printf(", %ld still open\n", open_before_recheck);
	if (o->caps)
		printf("  GetCACaps again on the open ones: %ld ok, %ld failed\n", r->recheck_ok,
		       r->recheck_fail);
}

int
main(int argc, char **argv)
{
	struct si_opts o;
	struct si_run r = {.o = &o};
	double setup_s, held_s;
	long open = 0;

	parse_opts(argc, argv, &o);
	if (setup_target(&r) < 0) {
		fprintf(stderr, "sgwidle: unsupported URL '%s' (http://host[:port]/path)\n", o.url);
		return 2;
	}
	if (raise_nofile(o.n + 16) < 0)
		return 2;
	r.c = calloc((size_t)o.n, sizeof(*r.c));
	r.ep = epoll_create1(EPOLL_CLOEXEC);
	if (r.c == NULL || r.ep < 0)
		return 2;
	for (long i = 0; i < o.n; i++)
		r.c[i].fd = -1;
	r.t0 = now_s();
	loop(&r, SI_SETUP_S, 1, 0);
	setup_s = now_s() - r.t0;
	for (long i = 0; i < o.n; i++) { /* still in progress after SI_SETUP_S */
		if (r.c[i].st == SI_CONNECTING || r.c[i].st == SI_SENT || r.c[i].st == SI_NEW) {
			if (r.c[i].st != SI_SENT)
				r.fail_connect++;
			else
				r.fail_reply++;
			conn_close(&r, &r.c[i], SI_FAILED);
		}
	}
	write_ready(o.ready_file);
	loop(&r, setup_s + (double)o.hold, 0, 0);
	held_s = now_s() - r.t0 - setup_s;
	for (long i = 0; i < o.n; i++)
		open += r.c[i].st == SI_IDLE;
	if (o.caps) { /* one more GetCACaps on each open connection */
		for (long i = 0; i < o.n; i++) {
			if (r.c[i].st != SI_IDLE)
				continue;
			r.busy++;
			if (conn_send(&r, &r.c[i]) < 0) {
				r.busy--;
				r.recheck_fail++;
				conn_close(&r, &r.c[i], SI_CLOSED);
			}
		}
		loop(&r, now_s() - r.t0 + 60, 1, 1);
	}
	report(&r, setup_s, held_s, open);
	for (long i = 0; i < o.n; i++)
		conn_close(&r, &r.c[i], SI_CLOSED);
	close(r.ep);
	free(r.c);
	return r.fail_connect + r.fail_reply + r.recheck_fail > 0 ? 1 : 0;
}
