/* store_pg_schema.h: the PostgreSQL store's schema (store_pg_schema.c):
 * numbered migrations recorded in schema_version, run under an advisory
 * lock so that instances starting together apply each one exactly once. */
#ifndef SGW_STORE_PG_SCHEMA_H
#define SGW_STORE_PG_SCHEMA_H

#include <libpq-fe.h>

#include "err.h"

/* Bring the database to this version's schema (a pg_pool_cfg setup). */
int pg_schema_migrate(PGconn *c, struct sgw_err *err);

#endif
