/* store_sqlite_nonce.h: the SQLite store's senderNonce replay cache
 * (store_sqlite_nonce.c).  store_sqlite.c opens it after the migrations,
 * forwards store_ops.nonce_check to it and closes it before the database.
 * Include nowhere else. */
#ifndef SGW_STORE_SQLITE_NONCE_H
#define SGW_STORE_SQLITE_NONCE_H

#include <sqlite3.h>

#include "store.h"

struct sq_nonce; /* its statements and sweep schedule */

int sqn_open(sqlite3 *db, struct sq_nonce **ret, struct sgw_err *err);
void sqn_close(struct sq_nonce *q); /* accepts NULL */
/* store_ops.nonce_check (store.h) on q's database */
int sqn_check(struct sq_nonce *q, const uint8_t *nonce, size_t len, int64_t now, int ttl);

#endif
