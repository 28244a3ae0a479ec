/* acme_hook.h: run the dns-01 hook without blocking the loop.
 *
 *   <hook> add <record name> <TXT value>     before the challenge POST
 *   <hook> del <record name> <TXT value>     once the authorization is decided,
 *                                            fails or times out, or at stop
 *
 * `del` removes that value only: two orders for one name have two tokens,
 * hence two values, and each removes its own.
 *
 * The child's stdout is a pipe watched by libevent; at EOF (the child exited
 * or closed it) the child is reaped and the callback gets its exit status.
 * A child still running after `timeout` seconds is killed (status -1). */
#ifndef SGW_ACME_HOOK_H
#define SGW_ACME_HOOK_H

#include <event2/event.h>

struct acme_hook;

/* status: the exit code, or -1 (killed, signalled, timed out, not started). */
typedef void (*acme_hook_cb)(void *arg, int status);

/* NULL when the child could not be started (no callback then). */
struct acme_hook *acme_hook_run(struct event_base *base, const char *prog, const char *verb,
				const char *name, const char *value, int timeout, acme_hook_cb cb,
				void *arg);
/* The same, waiting for the child (at most `timeout` seconds, then it is
 * killed): only where the loop no longer runs (the backend's stop). */
int acme_hook_run_sync(const char *prog, const char *verb, const char *name, const char *value,
		       int timeout);
/* No callback after this; the child is killed and reaped.  Accepts NULL. */
void acme_hook_cancel(struct acme_hook *h);

#endif
