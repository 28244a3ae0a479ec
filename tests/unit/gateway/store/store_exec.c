/* tests for gateway/store/store_exec.c and its use through store.c
 * (store_exec(), store_drain()): inline steps run work then done before
 * store_exec() returns, on the caller's thread; offloaded steps (offload:
 * true) run work on the one store thread, done later on the loop, each
 * exactly once, while the loop's own store calls stay safe (store.c's
 * lock); at shutdown a running step finishes, queued ones are dropped and
 * later ones refused, with nothing leaked. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "fixture/gate_fixture.h"
#include "revoke.h"
#include "store.h"
#include "store_exec.h"
#include "store_fixture.h"

#define NSTEPS 200

struct ctx {
	pthread_t loop_thread;
	struct event_base *base;
	struct store *s;
	int done_count;
	int n;
};

struct step {
	struct ctx *c;
	int i;
	int off_loop;	  /* work ran on another thread than the loop */
	int rc;		  /* work's store call */
	int done_calls;	  /* done ran this many times */
	int done_on_loop; /* and on the loop thread */
	int work_before_done;
};

static struct step steps[NSTEPS];

static void
step_work(void *arg)
{
	struct step *t = arg;
	uint8_t nonce[16] = {0};

	memcpy(nonce, &t->i, sizeof(t->i));
	t->off_loop = !pthread_equal(pthread_self(), t->c->loop_thread);
	t->rc = store_nonce_check(t->c->s, nonce, sizeof(nonce), 1000, 3600);
}

static void
step_done(void *arg)
{
	struct step *t = arg;

	t->work_before_done = t->rc == 0;
	t->done_calls++;
	t->done_on_loop = pthread_equal(pthread_self(), t->c->loop_thread);
	if (++t->c->done_count == t->c->n && t->c->base != NULL)
		event_base_loopbreak(t->c->base);
}

static struct store *
open_store(struct store_fixture *db, int offload, struct event_base *base)
{
	struct sgw_err err = {{0}};
	struct store *s = NULL;

	db->cfg.offload = offload;
	assert_int_equal(store_open(&db->cfg, &s, &err), 0);
	assert_int_equal(store_attach_loop(s, base, &err), 0);
	return s;
}

/* SQLite by default: no store thread, both callbacks inline. */
static void
test_inline(void **state)
{
	static struct ctx c;
	struct store_fixture db;
	struct event_base *base = event_base_new();

	(void)state;
	store_fixture_init(&db, "/tmp", "exec-inline");
	c = (struct ctx){.loop_thread = pthread_self(), .n = 3};
	c.s = open_store(&db, 0, base);
	assert_int_equal(store_threads(c.s), 0);
	for (int i = 0; i < 3; i++) {
		steps[i] = (struct step){.c = &c, .i = i};
		assert_int_equal(store_exec(c.s, step_work, step_done, &steps[i]), 0);
		/* already done, before store_exec() returned */
		assert_int_equal(steps[i].done_calls, 1);
		assert_int_equal(steps[i].off_loop, 0);
		assert_int_equal(steps[i].work_before_done, 1);
	}
	store_drain(c.s);
	store_close(c.s);
	store_fixture_remove(&db);
	event_base_free(base);
}

/* offload: true: work on the store thread, done on the loop, once each,
 * while the loop keeps calling the store itself. */
static void
test_offload(void **state)
{
	static struct ctx c;
	struct store_fixture db;
	uint8_t nonce[16];
	int64_t count = 0;

	(void)state;
	store_fixture_init(&db, "/tmp", "exec-offload");
	c = (struct ctx){.loop_thread = pthread_self(), .n = NSTEPS};
	c.base = event_base_new();
	c.s = open_store(&db, 1, c.base);
	assert_int_equal(store_threads(c.s), 1);
	for (int i = 0; i < NSTEPS; i++) {
		steps[i] = (struct step){.c = &c, .i = i};
		assert_int_equal(store_exec(c.s, step_work, step_done, &steps[i]), 0);
		/* the loop's own calls (admin API, timers) meanwhile */
		memset(nonce, 0xee, sizeof(nonce));
		memcpy(nonce, &i, sizeof(i));
		assert_int_equal(store_nonce_check(c.s, nonce, sizeof(nonce), 1000, 3600), 0);
		assert_int_equal(store_cert_count(c.s, &count), 0);
	}
	assert_true(c.done_count < NSTEPS); /* not inline */
	event_base_dispatch(c.base);
	assert_int_equal(c.done_count, NSTEPS);
	for (int i = 0; i < NSTEPS; i++) {
		assert_int_equal(steps[i].off_loop, 1);
		assert_int_equal(steps[i].done_calls, 1);
		assert_int_equal(steps[i].done_on_loop, 1);
		assert_int_equal(steps[i].work_before_done, 1);
	}
	/* each nonce was stored once: the same again is a replay */
	memset(nonce, 0, sizeof(nonce));
	assert_int_equal(store_nonce_check(c.s, nonce, sizeof(nonce), 1000, 3600), -SGW_EEXIST);
	store_drain(c.s);
	store_close(c.s);
	store_fixture_remove(&db);
	event_base_free(c.base);
}

static void
count_done(void *arg)
{
	((struct gate *)arg)->done++;
}

/* Shutdown: store_drain() lets the running step finish, drops the queued
 * ones (neither callback) and refuses later ones; store_close() after it
 * leaks nothing (ASan). */
static void
test_drain(void **state)
{
	static struct gate g = GATE_INIT;
	struct store_fixture db;
	struct event_base *base = event_base_new();
	struct store *s;
	pthread_t t;

	(void)state;
	store_fixture_init(&db, "/tmp", "exec-drain");
	s = open_store(&db, 1, base);
	assert_int_equal(store_exec(s, gate_work, count_done, &g), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(store_exec(s, count_work, count_done, &g), 0);
	gate_wait_started(&g);
	assert_int_equal(pthread_create(&t, NULL, open_later, &g), 0);
	store_drain(s);
	assert_int_equal(g.ran, 1); /* the running step only */
	assert_int_equal(store_exec(s, count_work, count_done, &g), -SGW_EAGAIN);
	store_close(s);
	assert_int_equal(g.ran, 1);
	assert_int_equal(g.done, 0); /* the loop never ran: no done */
	pthread_join(t, NULL);
	store_fixture_remove(&db);
	event_base_free(base);
}

static int dropped;

static void
count_drop(void *arg)
{
	(void)arg;
	dropped++;
}

/* Steps with a drop (store_exec_owned()): the queued ones dropped at
 * store_drain() and the running one, finished but its done never run, at
 * store_close() each get their drop once, and no done. */
static void
test_drain_drop(void **state)
{
	static struct gate g = GATE_INIT;
	struct store_fixture db;
	struct event_base *base = event_base_new();
	struct store *s;
	pthread_t t;

	(void)state;
	dropped = 0;
	store_fixture_init(&db, "/tmp", "exec-drop");
	s = open_store(&db, 1, base);
	assert_int_equal(store_exec_owned(s, gate_work, count_done, count_drop, &g), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(store_exec_owned(s, count_work, count_done, count_drop, &g), 0);
	assert_int_equal(store_exec(s, count_work, count_done, &g), 0); /* no drop */
	gate_wait_started(&g);
	assert_int_equal(pthread_create(&t, NULL, open_later, &g), 0);
	store_drain(s);
	assert_int_equal(dropped, 3); /* the queued ones with a drop */
	store_close(s);
	assert_int_equal(dropped, 4); /* and the one that ran: its done never will */
	assert_int_equal(g.done, 0);
	pthread_join(t, NULL);
	store_fixture_remove(&db);
	event_base_free(base);
}

static int revoke_cbs, revoke_drops;

static void
rv_cb(void *arg, struct revoke_op *op)
{
	(void)arg;
	(void)op;
	revoke_cbs++;
}

static void
rv_drop(void *arg, struct revoke_op *op)
{
	assert_ptr_equal(arg, op);
	revoke_drops++;
}

/* A revocation (revoke.c) whose store step is dropped at shutdown: its
 * owner's drop runs (txn_supersede.c frees its job there), not its cb. */
static void
test_drain_revoke(void **state)
{
	static struct gate g = GATE_INIT;
	struct store_fixture db;
	struct event_base *base = event_base_new();
	struct revoke_op op;
	struct sgw_err err = {{0}};
	struct store *s;
	pthread_t t;

	(void)state;
	store_fixture_init(&db, "/tmp", "exec-revoke");
	s = open_store(&db, 1, base);
	assert_int_equal(store_exec(s, gate_work, count_done, &g), 0);
	gate_wait_started(&g);
	op = (struct revoke_op){.store = s, .cb = rv_cb, .drop = rv_drop, .arg = &op};
	snprintf(op.serial, sizeof(op.serial), "01");
	assert_int_equal(revoke_start(&op, &err), 0); /* queued behind the gate */
	assert_int_equal(pthread_create(&t, NULL, open_later, &g), 0);
	store_drain(s);
	store_close(s);
	assert_int_equal(revoke_drops, 1);
	assert_int_equal(revoke_cbs, 0);
	pthread_join(t, NULL);
	store_fixture_remove(&db);
	event_base_free(base);
}

/* The executor alone: a pool of the size asked for (a blocking store's
 * store.pool), inline without one. */
static void
test_pool_size(void **state)
{
	struct event_base *base = event_base_new();
	struct store_exec *x = store_exec_new(base, 3);

	(void)state;
	assert_non_null(x);
	assert_int_equal(store_exec_threads(x), 3);
	assert_int_equal(store_exec_threads(NULL), 0);
	store_exec_stop(x);
	store_exec_stop(NULL);
	store_exec_free(x);
	store_exec_free(NULL);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_inline),	 cmocka_unit_test(test_offload),
	    cmocka_unit_test(test_drain),	 cmocka_unit_test(test_drain_drop),
	    cmocka_unit_test(test_drain_revoke), cmocka_unit_test(test_pool_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
