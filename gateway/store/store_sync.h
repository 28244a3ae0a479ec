/* store_sync.h: group commit.  A store commits on the loop thread without
 * waiting for the disk; one background thread makes the commits durable (a
 * flush callback the store supplies: fdatasync of SQLite's WAL) and tells the
 * loop, which then releases every reply that waited for those commits.  All
 * commits made while one flush runs share the next one (PostgreSQL's group
 * commit, nginx's thread-pool notifier). */
#ifndef SGW_STORE_SYNC_H
#define SGW_STORE_SYNC_H

#include <event2/event.h>

#include "err.h"
#include "store.h"

struct store_sync;

/* Runs on the sync thread: make every commit made before the call durable.
 * 0, or -SGW_EIO (logged by the callback): the waiters for the commits it
 * covered are released with -SGW_EIO. */
typedef int (*store_flush_fn)(void *arg);

int store_sync_new(struct event_base *base, store_flush_fn flush, void *arg,
		   struct store_sync **ret, struct sgw_err *err);
/* Loop thread, after each commit.  Does not start a flush by itself: the
 * next store_sync_await() does, or a short timer (store_sync.c). */
void store_sync_committed(struct store_sync *y);
/* 0 when every commit so far is durable; otherwise cb(arg, status) runs on
 * the loop once the flush ended (status 0, or -SGW_EIO when it failed), and
 * -SGW_EAGAIN (-SGW_ENOMEM if the waiter cannot be queued: the caller goes
 * on, the commit survives the process in any case). */
int store_sync_await(struct store_sync *y, store_durable_fn cb, void *arg);
/* Flushes what is left and stops the thread; waiters not yet released are
 * dropped without their callback (the loop has stopped).  Accepts NULL. */
void store_sync_free(struct store_sync *y);

#endif
