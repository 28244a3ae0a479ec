/* worker.h: a fixed pool of threads for CPU work (RSA private-key operations:
 * envelope decryption, CertRep signing, certificate signing).  The loop thread
 * submits a job; `work` runs on a worker and must not touch the store, the
 * event base or any loop-owned state; `done` then runs on the loop thread
 * (nginx thread pools).  Jobs take their inputs by value in `arg`. */
#ifndef SGW_WORKER_H
#define SGW_WORKER_H

#include <event2/event.h>

struct worker_pool;

typedef void (*worker_fn)(void *arg);

/* n <= 0: one thread per online core. */
struct worker_pool *worker_pool_new(struct event_base *base, int n);
/* The same, its threads named `name` (at most 15 characters: top -H, perf). */
struct worker_pool *worker_pool_new_named(struct event_base *base, int n, const char *name);
/* Stops the threads at once: jobs not started are dropped (neither `work`
 * nor `done` runs; their `drop`, if any, does), the running ones finish, and later submissions fail
 * with -SGW_EAGAIN.  For shutdown, before freeing what queued jobs point to (the profiles, keys and
 * backends).  Accepts NULL. */
void worker_pool_stop(struct worker_pool *p);
/* Stops the threads after the queued jobs ran (unless worker_pool_stop()
 * dropped them); `done` callbacks are not run (`drop` ones are).  Accepts
 * NULL. */
void worker_pool_free(struct worker_pool *p);
int worker_pool_submit(struct worker_pool *p, worker_fn work, worker_fn done, void *arg);
/* The same, with drop(arg) (not NULL) run instead of done when done will
 * never run: the job dropped by worker_pool_stop() (on its caller's
 * thread), or finished but its done not run when the pool is freed
 * (worker_pool_free()).  For an owner that frees the job's state itself:
 * shutdown under load then frees everything. */
int worker_pool_submit_drop(struct worker_pool *p, worker_fn work, worker_fn done, worker_fn drop,
			    void *arg);
int worker_pool_size(const struct worker_pool *p);

#endif
