/* store_sync.c: the group-commit thread (see store_sync.h).  Counters:
 * `committed` counts commits (loop thread), `flushed` the commits known
 * durable (sync thread); a waiter remembers `committed` when it queued and is
 * released once `flushed` reaches it.  Waiters queue in commit order, so the
 * loop releases them from the head.  The eventfd wakes the loop as in
 * worker.c.
 *
 * A commit alone does not wake the sync thread (an enrollment commits two or
 * three times but its reply waits once): a waiter does, through `wanted`.
 * Commits nobody waits for are flushed after SYNC_LAZY_MS at the latest.
 *
 * A flush that fails (fdatasync: EIO, ENOSPC) leaves the commits it covered
 * in the page cache only, and Linux may report the error once and then call
 * the pages clean: retrying proves nothing.  So `bad` remembers the newest
 * commit a failed flush covered, and every waiter up to it is released with
 * -SGW_EIO instead (its reply becomes an error, not an answer the gateway
 * may forget). */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store_sync.h"

#define SYNC_LAZY_MS 50

struct sync_waiter {
	uint64_t gen;
	store_durable_fn cb;
	void *arg;
	struct sync_waiter *next;
};

struct store_sync {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t committed; /* under lock */
	uint64_t flushed;   /* under lock */
	uint64_t wanted;    /* under lock: the newest commit a waiter needs */
	uint64_t bad;	    /* under lock: the newest commit a failed flush covered */
	int stopping;	    /* under lock */
	pthread_t thread;
	int efd;
	struct event *ev;
	store_flush_fn flush;
	void *flush_arg;
	struct sync_waiter *head; /* loop thread only */
	struct sync_waiter *tail;
};

/* Sync thread, under y->lock: until a waiter wants a flush, stopping, or
 * commits nobody waits for have waited SYNC_LAZY_MS. */
static void
sync_wait(struct store_sync *y)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += SYNC_LAZY_MS / 1000;
	until.tv_nsec += (SYNC_LAZY_MS % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (y->wanted <= y->flushed && !y->stopping) {
		if (y->committed == y->flushed)
			pthread_cond_wait(&y->cond, &y->lock);
		else if (pthread_cond_timedwait(&y->cond, &y->lock, &until) == ETIMEDOUT)
			return;
	}
}

static void *
sync_main(void *arg)
{
	struct store_sync *y = arg;
	uint64_t target, before, one = 1;
	int r;

	pthread_mutex_lock(&y->lock);
	for (;;) {
		sync_wait(y);
		if (y->committed == y->flushed) {
			if (y->stopping) /* nothing left */
				break;
			continue;
		}
		target = y->committed;
		before = y->flushed;
		pthread_mutex_unlock(&y->lock);
		r = y->flush(y->flush_arg); /* the callback logs its failures */
		pthread_mutex_lock(&y->lock);
		y->flushed = target;
		if (r < 0)
			y->bad = target;
		/* a waiter may have queued during the flush: look only now */
		if (y->wanted > before && write(y->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_err("store: group commit: cannot wake the loop: %s", strerror(errno));
	}
	pthread_mutex_unlock(&y->lock);
	return NULL;
}

/* Loop thread: release the waiters whose commits were flushed, with an
 * error for those a failed flush covered. */
static void
release(struct store_sync *y, uint64_t upto, uint64_t bad)
{
	struct sync_waiter *w;

	while ((w = y->head) != NULL && w->gen <= upto) {
		y->head = w->next;
		if (y->head == NULL)
			y->tail = NULL;
		w->cb(w->arg, w->gen <= bad ? -SGW_EIO : 0);
		free(w);
	}
}

static void
on_flushed(evutil_socket_t fd, short what, void *arg)
{
	struct store_sync *y = arg;
	uint64_t n, upto, bad;

	(void)what;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_err("store: group commit: eventfd: %s", strerror(errno));
	pthread_mutex_lock(&y->lock);
	upto = y->flushed;
	bad = y->bad;
	pthread_mutex_unlock(&y->lock);
	release(y, upto, bad);
}

int
store_sync_new(struct event_base *base, store_flush_fn flush, void *arg, struct store_sync **ret,
	       struct sgw_err *err)
{
	struct store_sync *y = calloc(1, sizeof(*y));
	pthread_condattr_t ca;

	if (y == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "store: out of memory");
	y->flush = flush;
	y->flush_arg = arg;
	y->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (y->efd < 0) {
		free(y);
		return sgw_err_set(err, SGW_EIO, "store: eventfd: %s", strerror(errno));
	}
	y->ev = event_new(base, y->efd, EV_READ | EV_PERSIST, on_flushed, y);
	if (y->ev == NULL || event_add(y->ev, NULL) != 0) {
		event_free(y->ev);
		close(y->efd);
		free(y);
		return sgw_err_set(err, SGW_ENOMEM, "store: cannot watch the eventfd");
	}
	pthread_mutex_init(&y->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* sync_wait()'s deadline */
	pthread_cond_init(&y->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&y->thread, NULL, sync_main, y) != 0) {
		pthread_cond_destroy(&y->cond);
		pthread_mutex_destroy(&y->lock);
		event_free(y->ev);
		close(y->efd);
		free(y);
		return sgw_err_set(err, SGW_EIO, "store: cannot start the sync thread");
	}
	(void)pthread_setname_np(y->thread, "scepgw-sync");
	*ret = y;
	return 0;
}

void
store_sync_committed(struct store_sync *y)
{
	pthread_mutex_lock(&y->lock);
	if (y->committed++ == y->flushed) /* the thread sleeps without a deadline */
		pthread_cond_signal(&y->cond);
	pthread_mutex_unlock(&y->lock);
}

int
store_sync_await(struct store_sync *y, store_durable_fn cb, void *arg)
{
	struct sync_waiter *w;
	uint64_t gen, one = 1;
	int flushed, failed;

	pthread_mutex_lock(&y->lock);
	gen = y->committed;
	flushed = y->flushed == gen;
	failed = gen != 0 && gen <= y->bad;
	if (!flushed && y->wanted < gen) {
		y->wanted = gen;
		pthread_cond_signal(&y->cond);
	}
	pthread_mutex_unlock(&y->lock);
	if (flushed && !failed)
		return 0;
	if ((w = malloc(sizeof(*w))) == NULL)
		return -SGW_ENOMEM;
	*w = (struct sync_waiter){gen, cb, arg, NULL};
	if (y->tail != NULL)
		y->tail->next = w;
	else
		y->head = w;
	y->tail = w;
	/* flushed, but that flush failed: the loop releases it with the error */
	if (flushed && write(y->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_err("store: group commit: cannot wake the loop: %s", strerror(errno));
	return -SGW_EAGAIN;
}

void
store_sync_free(struct store_sync *y)
{
	if (y == NULL)
		return;
	pthread_mutex_lock(&y->lock);
	y->stopping = 1;
	pthread_cond_signal(&y->cond);
	pthread_mutex_unlock(&y->lock);
	pthread_join(y->thread, NULL);
	/* the daemon drains its requests before it closes the store; one still
	 * waiting here outlived the drain, and its HTTP request is gone */
	if (y->head != NULL)
		log_warn("store: requests still waited for the disk at shutdown");
	while (y->head != NULL) {
		struct sync_waiter *w = y->head;

		y->head = w->next;
		free(w);
	}
	event_free(y->ev);
	close(y->efd);
	pthread_cond_destroy(&y->cond);
	pthread_mutex_destroy(&y->lock);
	free(y);
}
