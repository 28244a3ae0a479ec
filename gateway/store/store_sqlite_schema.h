/* store_sqlite_schema.h: the SQLite store's database file and schema
 * (store_sqlite_schema.c), for store_sqlite.c's open.  Include nowhere else. */
#ifndef SGW_STORE_SQLITE_SCHEMA_H
#define SGW_STORE_SQLITE_SCHEMA_H

#include <sqlite3.h>

#include "cfg.h"
#include "err.h"

/* Create path with mode 0600 if it is missing (SQLite would use 0644 less
 * umask); warn when group or others can read it. */
int sq_schema_create(const char *path, struct sgw_err *err);
/* On the newly opened db: WAL, cfg's synchronous mode, foreign keys, and
 * every migration not applied yet. */
int sq_schema_setup(sqlite3 *db, const struct cfg_store *cfg, struct sgw_err *err);

#endif
