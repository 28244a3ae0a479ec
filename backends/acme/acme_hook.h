/* acme_hook.h: run the dns-01 hook without blocking the loop.
 *
 *   <hook> add <record name> <TXT value>     before the challenge POST
 *   <hook> del <record name> <TXT value>     once the authorization is decided
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
/* No callback after this; the child is killed and reaped.  Accepts NULL. */
void acme_hook_cancel(struct acme_hook *h);

#endif
