/* daemon.h: process concerns: signals (SIGTERM/SIGINT drain, SIGHUP
 * reload, SIGPIPE ignored), sd_notify, privilege drop after binding,
 * file-descriptor limit. */
#ifndef SGW_DAEMON_H
#define SGW_DAEMON_H

#include <event2/event.h>

#include "err.h"
#include "gw.h"
#include "http_server.h"
#include "profile.h"

struct daemon_signals;

/* On SIGTERM/SIGINT: stop accepting, wait for in-flight requests (at most
 * drain_seconds), then leave the loop.  On SIGHUP: on_reload(reload_arg)
 * (main.c: reload.c), unless draining. */
struct daemon_signals *daemon_signals_new(struct gw *gw, struct http_server *srv, int drain_seconds,
					  void (*on_reload)(void *arg), void *reload_arg);
void daemon_signals_free(struct daemon_signals *s);

/* Before daemon_drop_privileges(), as root: the files the backends write
 * later (their state_dir) become `user`'s.  check (scepgw -n): change
 * nothing, fail when that user could not write them even then. */
int daemon_own_files(const struct profile_set *ps, const char *user, int check,
		     struct sgw_err *err);
int daemon_drop_privileges(const char *user, struct sgw_err *err);
void daemon_raise_nofile(void);
/* sd_notify: "READY=1" once the sockets are bound, "RELOADING=1" then
 * "READY=1" around a reload, "STOPPING=1" when draining starts.  A no-op
 * without $NOTIFY_SOCKET. */
void daemon_notify(const char *state);

#endif
