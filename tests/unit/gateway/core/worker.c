/* tests for gateway/core/worker.c: jobs run off the loop thread, done callbacks
 * run on it, every job completes exactly once. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "fixture/gate_fixture.h"
#include "worker.h"

#define NJOBS 1000

struct ctx {
	pthread_t loop_thread;
	int ran_off_loop[NJOBS];
	int done_on_loop[NJOBS];
	int done_count;
	struct event_base *base;
};

struct jobarg {
	struct ctx *c;
	int i;
};

static struct jobarg args[NJOBS];

static void
work(void *arg)
{
	struct jobarg *a = arg;

	a->c->ran_off_loop[a->i] = !pthread_equal(pthread_self(), a->c->loop_thread);
}

static void
done(void *arg)
{
	struct jobarg *a = arg;

	a->c->done_on_loop[a->i]++;
	if (!pthread_equal(pthread_self(), a->c->loop_thread))
		a->c->done_on_loop[a->i] += 100;
	if (++a->c->done_count == NJOBS)
		event_base_loopbreak(a->c->base);
}

static void
test_jobs_complete_once(void **state)
{
	static struct ctx c;
	struct worker_pool *p;

	(void)state;
	c.loop_thread = pthread_self();
	c.base = event_base_new();
	assert_non_null(c.base);
	p = worker_pool_new(c.base, 2);
	assert_non_null(p);
	assert_int_equal(worker_pool_size(p), 2);
	for (int i = 0; i < NJOBS; i++) {
		args[i].c = &c;
		args[i].i = i;
		assert_int_equal(worker_pool_submit(p, work, done, &args[i]), 0);
	}
	event_base_dispatch(c.base);
	assert_int_equal(c.done_count, NJOBS);
	for (int i = 0; i < NJOBS; i++) {
		assert_int_equal(c.ran_off_loop[i], 1);
		assert_int_equal(c.done_on_loop[i], 1);
	}
	worker_pool_free(p);
	event_base_free(c.base);
}

static void
test_default_size(void **state)
{
	struct event_base *base = event_base_new();
	struct worker_pool *p = worker_pool_new(base, 0);

	(void)state;
	assert_non_null(p);
	assert_true(worker_pool_size(p) >= 1);
	worker_pool_free(p);
	worker_pool_free(NULL);
	event_base_free(base);
}

/* worker_pool_stop(): the running job finishes, the queued ones never run,
 * a later submit is refused, and free after stop is fine. */
static void
test_stop_drops_queued(void **state)
{
	static struct gate g = GATE_INIT;
	struct event_base *base = event_base_new();
	struct worker_pool *p;
	pthread_t t;

	(void)state;
	p = worker_pool_new(base, 1);
	assert_non_null(p);
	assert_int_equal(worker_pool_submit(p, gate_work, NULL, &g), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(worker_pool_submit(p, count_work, NULL, &g), 0);
	gate_wait_started(&g);
	assert_int_equal(pthread_create(&t, NULL, open_later, &g), 0);
	worker_pool_stop(p);
	assert_int_equal(g.ran, 1); /* the running job only */
	assert_int_equal(worker_pool_submit(p, count_work, NULL, &g), -SGW_EAGAIN);
	worker_pool_free(p);
	assert_int_equal(g.ran, 1);
	pthread_join(t, NULL);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_jobs_complete_once),
	    cmocka_unit_test(test_default_size),
	    cmocka_unit_test(test_stop_drops_queued),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
