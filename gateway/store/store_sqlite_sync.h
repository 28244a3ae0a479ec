/* store_sqlite_sync.h: group commit for the SQLite store
 * (store_sqlite_sync.c), attached by store_sqlite.c once the daemon's loop
 * runs.  Include nowhere else. */
#ifndef SGW_STORE_SQLITE_SYNC_H
#define SGW_STORE_SQLITE_SYNC_H

#include <sqlite3.h>

#include <event2/event.h>

#include "err.h"
#include "store.h"

struct sq_sync;

int sqs_attach(sqlite3 *db, const char *path, struct event_base *base, struct sq_sync **ret,
	       struct sgw_err *err);
void sqs_detach(sqlite3 *db, struct sq_sync *s); /* accepts NULL */
int sqs_await(struct sq_sync *s, store_durable_fn cb, void *arg);

#endif
