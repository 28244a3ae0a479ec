/* store_sqlite_legacy.h: the one-time pass over the CSRs that an older
 * version kept in clear (store_sqlite_legacy.c), for store_sqlite.c's
 * txn_legacy_csr.  Include nowhere else. */
#ifndef SGW_STORE_SQLITE_LEGACY_H
#define SGW_STORE_SQLITE_LEGACY_H

#include <sqlite3.h>

#include "store.h"

/* store_ops.txn_legacy_csr (store.h) on db, before the group-commit thread
 * has its connection. */
int sql_legacy_csr(sqlite3 *db, store_legacy_fn fn, void *arg, struct sgw_err *err);

#endif
