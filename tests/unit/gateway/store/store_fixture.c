/* store_fixture.c: the store tests' database directory (store_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "store_fixture.h"

void
store_fixture_init(struct store_fixture *db, const char *base, const char *tag)
{
	*db = (struct store_fixture){0}; /* every cfg_store field the test does not set is unset */
	snprintf(db->dir, sizeof(db->dir), "%s/sgw-%s-XXXXXX", base, tag);
	assert_non_null(mkdtemp(db->dir));
	snprintf(db->path, sizeof(db->path), "%s/scepgw.db", db->dir);
	db->cfg.type = "sqlite";
	db->cfg.path = db->path;
	db->cfg.nonce_ttl = 86400;
}

void
store_fixture_remove(const struct store_fixture *db)
{
	char p[160];

	unlink(db->path);
	snprintf(p, sizeof(p), "%s-wal", db->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", db->path);
	unlink(p);
	rmdir(db->dir);
}
