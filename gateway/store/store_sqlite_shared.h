/* store_sqlite_shared.h: the SQLite store's shared state of issue 20
 * (store_sqlite_shared.c): CA revocations, the current CRL, cluster leases.
 * store_sqlite.c opens it after the migrations, forwards its store_ops to
 * it and closes it before the database; it calls nothing in store_sqlite.c.
 * Include nowhere else. */
#ifndef SGW_STORE_SQLITE_SHARED_H
#define SGW_STORE_SQLITE_SHARED_H

#include <sqlite3.h>

#include "store.h"

struct sq_shared; /* its statements */

int sqh_open(sqlite3 *db, struct sq_shared **ret, struct sgw_err *err);
void sqh_close(struct sq_shared *h); /* accepts NULL */

/* the store_ops of the same names (store.h), on h's database */
int sqh_ca_revoke(struct sq_shared *h, const char *ca, const struct store_revoked *rv);
int sqh_ca_revoked_list(struct sq_shared *h, const char *ca, store_revoked_each each, void *arg);
int sqh_ca_crl_get(struct sq_shared *h, const char *ca, struct store_crl *ret);
int sqh_ca_crl_put(struct sq_shared *h, const char *ca, const struct store_crl *c);
int sqh_lease_take(struct sq_shared *h, const char *job, const char *holder, int64_t now, int ttl,
		   int *ret_held);

int sqh_ca_crl_seed(struct sq_shared *h, const char *ca, const struct store_crl *c);
int sqh_lease_get(struct sq_shared *h, const char *job, char *ret_holder, size_t cap,
		  int64_t *ret_expires);
int sqh_ca_crl_number(struct sq_shared *h, const char *ca, int64_t *ret);

#endif
