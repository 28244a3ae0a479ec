/* store_sqlite_adm.h: the SQLite store's queries for the admin API
 * (store_sqlite_adm.c).  store_sqlite.c opens them after the migrations,
 * forwards its store_ops to them with their state and closes them before the
 * database; they call nothing in store_sqlite.c.  Include nowhere else. */
#ifndef SGW_STORE_SQLITE_ADM_H
#define SGW_STORE_SQLITE_ADM_H

#include <sqlite3.h>

#include "store.h"

struct sq_adm; /* its statements and statistics */

int sqa_open(sqlite3 *db, struct sq_adm **ret, struct sgw_err *err);
void sqa_close(struct sq_adm *a); /* accepts NULL */

/* the store_ops of the same names (store.h), on a's database */
int sqa_txn_list(struct sq_adm *a, const struct store_txn_filter *f, store_txn_each each,
		 void *arg);
int sqa_txn_count(struct sq_adm *a, int state, int64_t *ret);
int sqa_txn_decide(struct sq_adm *a, const struct store_txn *t, const char *admin);
int sqa_txn_decider(struct sq_adm *a, int64_t id, char *ret_admin, size_t cap);
int sqa_otp_put(struct sq_adm *a, const struct store_otp *o);
int sqa_otp_consume(struct sq_adm *a, const char *profile, const uint8_t sha256[32], int64_t now,
		    char *ret_subject, size_t cap);
int sqa_otp_peek(struct sq_adm *a, const char *profile, const uint8_t sha256[32], int64_t now,
		 char *ret_subject, size_t cap);
int sqa_otp_count(struct sq_adm *a, const char *profile, int64_t now, int64_t *ret);
int sqa_cert_search(struct sq_adm *a, const struct store_cert_filter *f, store_cert_each each,
		    void *arg, int64_t *next);
int sqa_stats(struct sq_adm *a, struct store_stats *ret);

#endif
