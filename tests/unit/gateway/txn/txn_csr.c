/* tests for gateway/txn/txn_csr.c's opening jobs at shutdown: a job the
 * worker pool drops (worker_pool_stop(): its open_done never runs) is freed
 * once, whether its owner cancels it before the pool stops or after (ASan:
 * no leak, no use after free), and its callback never runs.  The opening
 * itself runs in txn_admin's and txn_owed's tests and the integration tests
 * (approval, stranded requests, owed notifications). */
#include "txn_csr.h"
#include "fixture/gate_fixture.h"
/* the fixture's request helpers are not used here */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "gateway/txn/engine_fixture.h"
#pragma GCC diagnostic pop

static int opened;

static void
on_opened(void *arg, int rc, struct csr *csr)
{
	(void)arg;
	(void)rc;
	csr_free(csr);
	opened++;
}

/* A job queued behind a blocked worker on a pool of one thread, then the
 * pool stopped; cancel_first: the owner cancels it before the stop. */
static void
drop_one(int cancel_first)
{
	static struct gate g = GATE_INIT;
	static uint8_t sealed[64] = {1, 2, 3};
	struct worker_pool *pool = worker_pool_new(fx->base, 1);
	struct gw gw = fx->gw;
	struct store_txn t = {0};
	struct txn_csr_job *job = NULL;
	pthread_t th;

	assert_non_null(pool);
	gw.workers = pool;
	g = (struct gate)GATE_INIT;
	t.csr.sealed = sealed;
	t.csr.sealed_len = sizeof(sealed);
	t.csr.hashed = 1;
	snprintf(t.profile, sizeof(t.profile), "auto");
	assert_int_equal(worker_pool_submit(pool, gate_work, NULL, &g), 0);
	gate_wait_started(&g);
	assert_int_equal(txn_csr_open(&gw, &fx->ps->v[0], &t, on_opened, NULL, &job), 0);
	assert_non_null(job);
	if (cancel_first)
		txn_csr_cancel(job);
	assert_int_equal(pthread_create(&th, NULL, open_later, &g), 0);
	worker_pool_stop(pool); /* drops the job */
	if (!cancel_first)
		txn_csr_cancel(job); /* the owner's free at shutdown */
	worker_pool_free(pool);
	pthread_join(th, NULL);
	assert_int_equal(opened, 0);
}

static void
test_dropped_then_cancelled(void **state)
{
	(void)state;
	drop_one(0);
}

static void
test_cancelled_then_dropped(void **state)
{
	(void)state;
	drop_one(1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_dropped_then_cancelled, reset),
	    cmocka_unit_test_setup(test_cancelled_then_dropped, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
