/* daemon.c: signals, draining, privilege drop. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

struct daemon_signals {
	struct gw *gw;
	struct http_server *srv;
	struct event *sigterm;
	struct event *sigint;
	struct event *sighup;
	void (*on_reload)(void *arg);
	void *reload_arg;
	struct event *drain_timer;
	int drain_left; /* 100 ms ticks */
};

static void
on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
	struct daemon_signals *s = arg;
	struct timeval tv = {0, 100000};

	(void)fd;
	(void)what;
	if (s->gw->inflight == 0 || --s->drain_left <= 0) {
		if (s->gw->inflight > 0)
			log_warn("shutdown: %u requests still in flight, stopping anyway",
				 s->gw->inflight);
		event_base_loopbreak(s->gw->base);
		return;
	}
	evtimer_add(s->drain_timer, &tv);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon_signals *s = arg;

	(void)what;
	if (s->gw->draining) {
		log_warn("second signal: stopping now");
		event_base_loopbreak(s->gw->base);
		return;
	}
	log_info("signal %d: draining %u requests in flight, then stopping", (int)sig,
		 s->gw->inflight);
	s->gw->draining = 1;
	daemon_notify("STOPPING=1");
	http_server_close_listeners(s->srv);
	on_drain_tick(-1, 0, s);
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon_signals *s = arg;

	(void)sig;
	(void)what;
	if (s->gw->draining) {
		log_info("reload: ignored while shutting down");
		return;
	}
	s->on_reload(s->reload_arg);
}

struct daemon_signals *
daemon_signals_new(struct gw *gw, struct http_server *srv, int drain_seconds,
		   void (*on_reload)(void *arg), void *reload_arg)
{
	struct daemon_signals *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	signal(SIGPIPE, SIG_IGN);
	s->gw = gw;
	s->srv = srv;
	s->drain_left = drain_seconds * 10;
	s->on_reload = on_reload;
	s->reload_arg = reload_arg;
	s->sigterm = evsignal_new(gw->base, SIGTERM, on_signal, s);
	s->sigint = evsignal_new(gw->base, SIGINT, on_signal, s);
	s->sighup = evsignal_new(gw->base, SIGHUP, on_hup, s);
	s->drain_timer = evtimer_new(gw->base, on_drain_tick, s);
	if (s->sigterm == NULL || s->sigint == NULL || s->sighup == NULL ||
	    s->drain_timer == NULL || evsignal_add(s->sigterm, NULL) != 0 ||
	    evsignal_add(s->sigint, NULL) != 0 || evsignal_add(s->sighup, NULL) != 0) {
		daemon_signals_free(s);
		return NULL;
	}
	return s;
}

void
daemon_signals_free(struct daemon_signals *s)
{
	if (s == NULL)
		return;
	if (s->sigterm != NULL)
		event_free(s->sigterm);
	if (s->sigint != NULL)
		event_free(s->sigint);
	if (s->sighup != NULL)
		event_free(s->sighup);
	if (s->drain_timer != NULL)
		event_free(s->drain_timer);
	free(s);
}

int
daemon_drop_privileges(const char *user, struct sgw_err *err)
{
	struct passwd *pw;

	if (user == NULL || user[0] == '\0')
		return 0;
	if (geteuid() != 0)
		return sgw_err_set(err, SGW_EINVAL, "user '%s' set but not started as root", user);
	pw = getpwnam(user);
	if (pw == NULL)
		return sgw_err_set(err, SGW_EINVAL, "user '%s' does not exist", user);
	if (setgroups(1, &pw->pw_gid) != 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0)
		return sgw_err_set(err, SGW_EIO, "cannot become '%s': %s", user, strerror(errno));
	log_info("running as user %s", user);
	return 0;
}

int
daemon_own_files(const struct profile_set *ps, const char *user, int check, struct sgw_err *err)
{
	struct passwd *pw;
	int r;

	if (user == NULL || user[0] == '\0')
		return 0;
	if ((pw = getpwnam(user)) == NULL)
		return sgw_err_set(err, SGW_EINVAL, "user '%s' does not exist", user);
	if (!check && geteuid() != 0)
		return 0; /* daemon_drop_privileges() says why it cannot run */
	for (size_t i = 0; i < ps->n_backends; i++)
		if ((r = backend_own_files(ps->backends[i], pw->pw_uid, pw->pw_gid, check, err)) <
		    0)
			return r;
	return 0;
}

/* sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET (a path,
 * or "@name" in the abstract namespace); nothing when it is not set. */
void
daemon_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = path != NULL ? strlen(path) : 0;
	int fd;

	if (n == 0 || n >= sizeof(sa.sun_path) || (path[0] != '/' && path[0] != '@'))
		return;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) < 0)
		log_debug("sd_notify %s: %s", state, strerror(errno));
	close(fd);
}

void
daemon_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}
