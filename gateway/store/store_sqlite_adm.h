/* store_sqlite_int.h: shared between store_sqlite.c (the core store) and
 * store_sqlite_adm.c (the admin API's queries: lists, approvals, one-time
 * challenges, certificate search, statistics).  Include nowhere else. */
#ifndef SGW_STORE_SQLITE_INT_H
#define SGW_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "store.h"

struct sq_adm; /* store_sqlite_adm.c: its statements and statistics */

/* store_sqlite.c */
struct sq_adm *sq_adm_of(void *priv);

/* store_sqlite_sync.c: group commit once the daemon's loop runs */
struct sq_sync;
int sqs_attach(sqlite3 *db, const char *path, struct event_base *base, struct sq_sync **ret,
	       struct sgw_err *err);
void sqs_detach(sqlite3 *db, struct sq_sync *s); /* accepts NULL */
int sqs_await(struct sq_sync *s, store_durable_fn cb, void *arg);

/* store_sqlite_adm.c: prepared after the migrations, closed before the db */
int sqa_open(sqlite3 *db, struct sq_adm **ret, struct sgw_err *err);
void sqa_close(struct sq_adm *a);

int sqa_txn_list(void *priv, const struct store_txn_filter *f, store_txn_each each, void *arg);
int sqa_txn_count(void *priv, int state, int64_t *ret);
int sqa_txn_decide(void *priv, const struct store_txn *t, const char *admin);
int sqa_txn_decider(void *priv, int64_t id, char *ret_admin, size_t cap);
int sqa_otp_put(void *priv, const struct store_otp *o);
int sqa_otp_consume(void *priv, const char *profile, const uint8_t sha256[32], int64_t now,
		    char *ret_subject, size_t cap);
int sqa_otp_count(void *priv, const char *profile, int64_t now, int64_t *ret);
int sqa_cert_search(void *priv, const struct store_cert_filter *f, store_cert_each each, void *arg,
		    int64_t *next);
int sqa_stats(void *priv, struct store_stats *ret);

#define SQA_OPS                                                                                    \
	.txn_list = sqa_txn_list, .txn_count = sqa_txn_count, .txn_decide = sqa_txn_decide,        \
	.txn_decider = sqa_txn_decider, .otp_put = sqa_otp_put, .otp_consume = sqa_otp_consume,    \
	.otp_count = sqa_otp_count, .cert_search = sqa_cert_search, .stats = sqa_stats

#endif
