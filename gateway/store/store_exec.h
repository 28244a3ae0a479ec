/* store_exec.h: where the store calls of a request run.  A store that may
 * block (a network round trip: store_ops.blocking) or one configured with
 * `offload: true` runs them on a small pool of store threads, and the caller
 * continues on the loop thread; any other store runs them inline, so the
 * code path is one and SQLite's default does not change.  Used through
 * store_exec() (store.h). */
#ifndef SGW_STORE_EXEC_H
#define SGW_STORE_EXEC_H

#include <event2/event.h>

struct store_exec;

typedef void (*store_step_fn)(void *arg);

/* threads store threads whose `done` callbacks run on base; NULL when they
 * cannot be started. */
struct store_exec *store_exec_new(struct event_base *base, int threads);
/* x == NULL: work(arg) then done(arg), inline, and 0.  Otherwise work(arg)
 * runs on a store thread and done(arg) later on the loop thread: 0, or
 * -SGW_EAGAIN once store_exec_stop() ran (-SGW_ENOMEM): neither runs. */
int store_exec_run(struct store_exec *x, store_step_fn work, store_step_fn done, void *arg);
/* The same, with drop(arg) (not NULL) run instead of done for a step that
 * never gets its done: dropped by store_exec_stop(), or finished when the
 * executor is freed (worker_pool_submit_drop()).  Inline, never. */
int store_exec_run_drop(struct store_exec *x, store_step_fn work, store_step_fn done,
			store_step_fn drop, void *arg);
/* Shutdown, before what queued steps point to is freed (the profiles) and
 * before the store is closed: steps not started are dropped (neither
 * callback runs: each owner frees what its steps pointed to, the requests
 * through req_drop_all()), the running ones finish, later ones are refused.
 * Accepts NULL. */
void store_exec_stop(struct store_exec *x);
/* Accepts NULL. */
void store_exec_free(struct store_exec *x);
/* The number of store threads, 0 for inline. */
int store_exec_threads(const struct store_exec *x);

#endif
