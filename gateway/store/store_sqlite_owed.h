/* store_sqlite_owed.h: the SQLite store's owed validator notifications
 * (store_sqlite_owed.c); the ops of store.h on the store's connection. */
#ifndef SGW_STORE_SQLITE_OWED_H
#define SGW_STORE_SQLITE_OWED_H

#include <sqlite3.h>

#include "store.h"

int sqo_put(sqlite3 *db, const struct store_owed *o);
int sqo_del(sqlite3 *db, int64_t txn_id);
int sqo_due(sqlite3 *db, const char *me, int64_t now, int64_t stale, size_t max,
	    store_owed_each each, void *arg);

#endif
