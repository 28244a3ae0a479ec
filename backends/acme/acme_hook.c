/* acme_hook.c: the dns-01 hook as a child process.  posix_spawn (safe in a
 * threaded process), stdout on a pipe watched by libevent, reaped with
 * waitpid(WNOHANG) at EOF; a timeout kills it.  Nothing blocks the loop
 * except the final waitpid after a SIGKILL, which returns at once. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "acme_hook.h"
#include "log.h"

extern char **environ;

struct acme_hook {
	pid_t pid;
	int fd;
	struct event *ev;
	acme_hook_cb cb;
	void *arg;
};

static void
hook_free(struct acme_hook *h)
{
	if (h->ev != NULL)
		event_free(h->ev);
	if (h->fd >= 0)
		close(h->fd);
	free(h);
}

static int
reap(pid_t pid, int kill_it)
{
	int st = 0;
	pid_t r;

	if (kill_it)
		kill(pid, SIGKILL);
	/* EOF on stdout usually means the child is gone; a child that closed
	 * stdout and lingers is waited for (it was told to exit or killed). */
	while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	if (r != pid || kill_it)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
on_event(evutil_socket_t fd, short what, void *arg)
{
	struct acme_hook *h = arg;
	char buf[512];
	ssize_t n;
	int st;

	if (what & EV_READ) {
		n = read(fd, buf, sizeof(buf)); /* the hook's stdout is discarded */
		if (n > 0 || (n < 0 && (errno == EINTR || errno == EAGAIN)))
			return;
		st = reap(h->pid, 0);
	} else {
		log_warn("dns-01 hook (pid %d) still running: killed", (int)h->pid);
		st = reap(h->pid, 1);
	}
	h->pid = -1;
	event_del(h->ev);
	h->cb(h->arg, st);
	hook_free(h);
}

/* Start `prog verb name value` with stdout on a new pipe (*out_fd, the
 * read end); stdin is /dev/null.  -1 when it did not start. */
static pid_t
spawn(const char *prog, const char *verb, const char *name, const char *value, int *out_fd)
{
	char *argv[] = {(char *)prog, (char *)verb, (char *)name, (char *)value, NULL};
	posix_spawn_file_actions_t fa;
	pid_t pid = -1;
	int p[2], r;

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	if (posix_spawn_file_actions_init(&fa) != 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	r = posix_spawn(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r != 0) {
		log_err("dns-01 hook %s: cannot start: %s", prog, strerror(r));
		close(p[0]);
		return -1;
	}
	*out_fd = p[0];
	return pid;
}

struct acme_hook *
acme_hook_run(struct event_base *base, const char *prog, const char *verb, const char *name,
	      const char *value, int timeout, acme_hook_cb cb, void *arg)
{
	struct timeval tv = {timeout > 0 ? timeout : 60, 0};
	struct acme_hook *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->fd = -1;
	h->cb = cb;
	h->arg = arg;
	if ((h->pid = spawn(prog, verb, name, value, &h->fd)) < 0) {
		hook_free(h);
		return NULL;
	}
	evutil_make_socket_nonblocking(h->fd);
	h->ev = event_new(base, h->fd, EV_READ | EV_PERSIST, on_event, h);
	if (h->ev == NULL || event_add(h->ev, &tv) != 0) {
		reap(h->pid, 1);
		hook_free(h);
		return NULL;
	}
	return h;
}

void
acme_hook_cancel(struct acme_hook *h)
{
	if (h == NULL)
		return;
	if (h->pid > 0)
		reap(h->pid, 1);
	hook_free(h);
}

int
acme_hook_run_sync(const char *prog, const char *verb, const char *name, const char *value,
		   int timeout)
{
	struct timespec tick = {0, 20 * 1000 * 1000};
	int fd = -1, st = 0;
	long ticks = (long)(timeout > 0 ? timeout : 5) * 50;
	pid_t pid = spawn(prog, verb, name, value, &fd), r = 0;
	char buf[512];

	if (pid < 0)
		return -1;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (ticks-- > 0 && (r = waitpid(pid, &st, WNOHANG)) == 0) {
		while (read(fd, buf, sizeof(buf)) > 0) /* the hook's stdout is discarded */
			;
		nanosleep(&tick, NULL);
	}
	close(fd);
	if (r == pid)
		return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	log_warn("dns-01 hook (pid %d) still running: killed", (int)pid);
	reap(pid, 1);
	return -1;
}
