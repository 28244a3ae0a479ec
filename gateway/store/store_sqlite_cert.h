/* store_sqlite_cert.h: the SQLite store's certificates table
 * (store_sqlite_cert.c).  store_sqlite.c opens it after the migrations,
 * forwards its store_ops to it and closes it before the database; it calls
 * nothing in store_sqlite.c.  Include nowhere else. */
#ifndef SGW_STORE_SQLITE_CERT_H
#define SGW_STORE_SQLITE_CERT_H

#include <sqlite3.h>

#include "store.h"

struct sq_cert; /* its statements */

int sqc_open(sqlite3 *db, struct sq_cert **ret, struct sgw_err *err);
void sqc_close(struct sq_cert *q); /* accepts NULL */

/* Insert c, linked to the transaction txn_id (0: none), inside the caller's
 * transaction (store_txn_issue). */
int sqc_put(struct sq_cert *q, const struct store_cert *c, int64_t txn_id);
/* the store_ops of the same names (store.h), on q's database */
int sqc_get(struct sq_cert *q, const char *issuer, const char *serial, struct store_cert *ret);
int sqc_count(struct sq_cert *q, int64_t *ret);
int sqc_revoke(struct sq_cert *q, const char *issuer, const char *serial, int reason, int64_t when);
int sqc_find_serial(struct sq_cert *q, const char *serial, struct store_cert *ret);
int sqc_superseded(struct sq_cert *q, const char *issuer, const char *serial, const char *profile,
		   const uint8_t key_sha256[32], int *ret_superseded);
int sqc_supersede(struct sq_cert *q, const char *issuer, const char *serial, const char *by);

#endif
