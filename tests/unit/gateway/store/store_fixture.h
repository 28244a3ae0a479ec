/* store_fixture.h: what the store's tests share (store_sqlite.c,
 * store_sqlite_row.c, store_sync.c here; defined in store_fixture.c): an
 * SQLite store's configuration for a database file in a fresh temporary
 * directory, and its removal with the WAL files. */
#ifndef SGW_TEST_STORE_FIXTURE_H
#define SGW_TEST_STORE_FIXTURE_H

#include "store.h"

struct store_fixture {
	char dir[64];	      /* <base>/sgw-<tag>-XXXXXX */
	char path[128];	      /* dir/scepgw.db */
	struct cfg_store cfg; /* sqlite at path, nonce_ttl one day */
};

/* A new directory under base ("/tmp", "/dev/shm") for db; db is cleared
 * first, so set cfg fields after this call. */
void store_fixture_init(struct store_fixture *db, const char *base, const char *tag);
/* Removes the database, its -wal and -shm files and the directory. */
void store_fixture_remove(const struct store_fixture *db);

#endif
