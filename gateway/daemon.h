/* daemon.h: process concerns: signals (SIGTERM/SIGINT drain, SIGPIPE
 * ignored), privilege drop after binding, file-descriptor limit. */
#ifndef SGW_DAEMON_H
#define SGW_DAEMON_H

#include <event2/event.h>

#include "err.h"
#include "gw.h"
#include "http_server.h"
#include "profile.h"

struct daemon_signals;

/* On SIGTERM/SIGINT: stop accepting, wait for in-flight requests (at most
 * drain_seconds), then leave the loop. */
struct daemon_signals *daemon_signals_new(struct gw *gw, struct http_server *srv,
					  int drain_seconds);
void daemon_signals_free(struct daemon_signals *s);

/* Before daemon_drop_privileges(), as root: the files the backends write
 * later (their state_dir) become `user`'s.  check (scepgw -n): change
 * nothing, fail when that user could not write them even then. */
int daemon_own_files(const struct profile_set *ps, const char *user, int check,
		     struct sgw_err *err);
int daemon_drop_privileges(const char *user, struct sgw_err *err);
void daemon_raise_nofile(void);

#endif
