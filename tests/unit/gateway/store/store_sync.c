/* tests for gateway/store/store_sync.c + store_sqlite_sync.c: group commit
 * in the daemon's mode (store_attach_loop). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "store.h"
#include "store_fixture.h"
#include "store_sync.h"

struct fx {
	struct store_fixture db;
	struct event_base *base;
	struct store *s;
	int released; /* store_await_durable callbacks run */
	int failed;   /* of which with an error */
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	store_fixture_init(&f->db, "/tmp", "sync");
	assert_non_null(f->base = event_base_new());
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	event_base_free(f->base);
	store_fixture_remove(&f->db);
	free(f);
	return 0;
}

static void
fx_open_attached(struct fx *f)
{
	struct sgw_err err = {{0}};

	if (store_open(&f->db.cfg, &f->s, &err) != 0 || store_attach_loop(f->s, f->base, &err) != 0)
		fail_msg("open/attach: %s", err.msg);
}

static void
make_txn(struct store_txn *t, int i, uint8_t *csr, size_t csr_len)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->profile, sizeof(t->profile), "dev");
	snprintf(t->transaction_id, sizeof(t->transaction_id), "sync-%d", i);
	memset(t->signer_key_sha256, i & 0xff, sizeof(t->signer_key_sha256));
	t->state = TXN_SUBMITTED;
	t->msg_type = 19;
	snprintf(t->subject, sizeof(t->subject), "CN=device-%d", i);
	t->created = t->updated = 1700000000;
	t->csr.sealed = csr;
	t->csr.sealed_len = csr_len;
}

static void
on_durable(void *arg, int status)
{
	((struct fx *)arg)->released++;
	if (status < 0)
		((struct fx *)arg)->failed++;
}

/* Run the loop until n callbacks ran (or 10 s passed). */
static void
wait_released(struct fx *f, int n)
{
	for (int i = 0; i < 1000 && f->released < n; i++) {
		struct timeval tv = {0, 10000};

		event_base_loopexit(f->base, &tv);
		event_base_dispatch(f->base);
	}
	assert_int_equal(f->released, n);
}

/* Every commit is eventually released, in order, through the loop; nothing
 * is released before it was flushed (a caller that got 0 had nothing
 * pending). */
static void
test_commits_released(void **state)
{
	struct fx *f = *state;
	uint8_t csr[64] = {0x30};
	struct store_txn t;
	int waiting = 0;

	fx_open_attached(f);
	assert_int_equal(store_await_durable(f->s, on_durable, f), 0); /* nothing written */
	for (int i = 0; i < 200; i++) {
		int r;

		make_txn(&t, i, csr, sizeof(csr));
		assert_int_equal(store_txn_insert(f->s, &t), 0);
		r = store_await_durable(f->s, on_durable, f);
		assert_true(r == 0 || r == -SGW_EAGAIN);
		waiting += r == -SGW_EAGAIN;
		if (r == 0)
			f->released++;
	}
	assert_true(waiting > 0); /* the loop has not run: the first one waits */
	wait_released(f, 200);
	assert_int_equal(store_await_durable(f->s, on_durable, f), 0);
}

/* A commit the reply waited for is in the database after kill -9. */
static void
test_kill9_after_release(void **state)
{
	struct fx *f = *state;
	struct store_txn t, got;
	uint8_t csr[64] = {0x30};
	int status;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sgw_err err = {{0}};

		event_reinit(f->base);
		if (store_open(&f->db.cfg, &f->s, &err) != 0 ||
		    store_attach_loop(f->s, f->base, &err) != 0)
			_exit(2);
		make_txn(&t, 7, csr, sizeof(csr));
		if (store_txn_insert(f->s, &t) != 0)
			_exit(3);
		if (store_await_durable(f->s, on_durable, f) == -SGW_EAGAIN)
			while (f->released == 0)
				event_base_loop(f->base, EVLOOP_ONCE);
		kill(getpid(), SIGKILL);
		_exit(4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	fx_open_attached(f);
	make_txn(&t, 7, csr, sizeof(csr));
	assert_int_equal(store_txn_find(f->s, "dev", "sync-7", t.signer_key_sha256, &got), 0);
	assert_int_equal(got.state, TXN_SUBMITTED);
	store_txn_clear(&got);
}

/* The sync thread checkpoints: the WAL does not grow with the data written
 * (48 MB here, against a restart threshold of about 32 MB).  It failed now
 * and then on a loaded machine when the writer ran unpaced. */
static void
test_wal_bounded(void **state)
{
	struct fx *f = *state;
	static uint8_t csr[16384];
	struct store_txn t;
	struct stat sb;
	off_t max = 0;
	char wal[160];

	fx_open_attached(f);
	snprintf(wal, sizeof(wal), "%s-wal", f->db.path);
	csr[0] = 0x30;
	for (int i = 0; i < 3000; i++) {
		make_txn(&t, i, csr, sizeof(csr));
		assert_int_equal(store_txn_insert(f->s, &t), 0);
		if (store_await_durable(f->s, on_durable, f) == 0)
			f->released++;
		if (i % 50 == 0) {
			/* paced: every commit so far durable first, so the sync
			 * thread has run however loaded the machine is (without
			 * its checkpoints the WAL still grows to 48 MB) */
			wait_released(f, i + 1);
			assert_int_equal(stat(wal, &sb), 0);
			if (sb.st_size > max)
				max = sb.st_size;
		}
	}
	wait_released(f, 3000);
	assert_true(max < 40 * 1024 * 1024);
}

/* A commit nobody waits for is flushed anyway, shortly (SYNC_LAZY_MS): a
 * later await finds it durable without queueing. */
static void
test_unawaited_commit_flushed(void **state)
{
	struct fx *f = *state;
	uint8_t csr[64] = {0x30};
	struct store_txn t;

	fx_open_attached(f);
	make_txn(&t, 1, csr, sizeof(csr));
	assert_int_equal(store_txn_insert(f->s, &t), 0);
	usleep(1000000); /* 20 times the window: room for a loaded machine */
	assert_int_equal(store_await_durable(f->s, on_durable, f), 0);
	assert_int_equal(f->released, 0);
}

static int
slow_flush(void *arg)
{
	(void)arg;
	usleep(300000);
	return 0;
}

/* A waiter that queues while a flush nobody waited for is running is
 * released when that flush ends (the reply must not hang). */
static void
test_waiter_during_lazy_flush(void **state)
{
	struct fx *f = *state;
	struct sgw_err err = {{0}};
	struct store_sync *y = NULL;

	assert_int_equal(store_sync_new(f->base, slow_flush, NULL, &y, &err), 0);
	store_sync_committed(y);
	usleep(150000); /* past the lazy window: the slow flush runs */
	assert_int_equal(store_sync_await(y, on_durable, f), -SGW_EAGAIN);
	wait_released(f, 1);
	store_sync_free(y);
}

/* store.synchronous: normal: nothing ever waits. */
static void
test_normal_never_waits(void **state)
{
	struct fx *f = *state;
	uint8_t csr[64] = {0x30};
	struct store_txn t;

	f->db.cfg.synchronous = "normal";
	fx_open_attached(f);
	make_txn(&t, 1, csr, sizeof(csr));
	assert_int_equal(store_txn_insert(f->s, &t), 0);
	assert_int_equal(store_await_durable(f->s, on_durable, f), 0);
}

/* A flush that fails (the fdatasync of the WAL, here a flush callback that
 * returns -SGW_EIO as sqs_flush does) releases its waiters with the error,
 * also one that queues after that flush; the next good flush releases
 * with 0 again. */
static int flush_result;

static int
fake_flush(void *arg)
{
	(void)arg;
	return flush_result;
}

static void
test_failed_flush_fails_waiters(void **state)
{
	struct fx *f = *state;
	struct store_sync *y;
	struct sgw_err err = {{0}};

	assert_int_equal(store_sync_new(f->base, fake_flush, NULL, &y, &err), 0);
	flush_result = -SGW_EIO;
	store_sync_committed(y);
	assert_int_equal(store_sync_await(y, on_durable, f), -SGW_EAGAIN);
	store_sync_committed(y);
	assert_int_equal(store_sync_await(y, on_durable, f), -SGW_EAGAIN);
	wait_released(f, 2);
	assert_int_equal(f->failed, 2);
	/* nothing committed since: still not durable, released with the error */
	assert_int_equal(store_sync_await(y, on_durable, f), -SGW_EAGAIN);
	wait_released(f, 3);
	assert_int_equal(f->failed, 3);
	flush_result = 0;
	store_sync_committed(y);
	assert_int_equal(store_sync_await(y, on_durable, f), -SGW_EAGAIN);
	wait_released(f, 4);
	assert_int_equal(f->failed, 3);
	assert_int_equal(store_sync_await(y, on_durable, f), 0);
	store_sync_free(y);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_commits_released, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kill9_after_release, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wal_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unawaited_commit_flushed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_waiter_during_lazy_flush, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_normal_never_waits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_flush_fails_waiters, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
