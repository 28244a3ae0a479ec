/* store_exec.c: the store executor (store_exec.h): inline, or a pool of
 * store threads of the worker pool's shape (core/worker.c), named
 * scepgw-store, whose `done` callbacks run on the loop. */
#include <stdlib.h>

#include "err.h"
#include "store_exec.h"
#include "worker.h"

struct store_exec {
	struct worker_pool *pool;
};

struct store_exec *
store_exec_new(struct event_base *base, int threads)
{
	struct store_exec *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return NULL;
	x->pool = worker_pool_new_named(base, threads > 0 ? threads : 1, "scepgw-store");
	if (x->pool == NULL) {
		free(x);
		return NULL;
	}
	return x;
}

int
store_exec_run(struct store_exec *x, store_step_fn work, store_step_fn done, void *arg)
{
	return store_exec_run_drop(x, work, done, NULL, arg);
}

int
store_exec_run_drop(struct store_exec *x, store_step_fn work, store_step_fn done,
		    store_step_fn drop, void *arg)
{
	if (x == NULL) {
		work(arg);
		done(arg);
		return 0;
	}
	return worker_pool_submit_drop(x->pool, work, done, drop, arg);
}

void
store_exec_stop(struct store_exec *x)
{
	if (x != NULL)
		worker_pool_stop(x->pool);
}

void
store_exec_free(struct store_exec *x)
{
	if (x == NULL)
		return;
	worker_pool_free(x->pool);
	free(x);
}

int
store_exec_threads(const struct store_exec *x)
{
	return x != NULL ? worker_pool_size(x->pool) : 0;
}
