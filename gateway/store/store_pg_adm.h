/* store_pg_adm.h: the PostgreSQL store's admin queries (store_pg_adm.c):
 * transaction lists, approvals, one-time challenges, certificate search and
 * counts.  Called by store_pg.c only. */
#ifndef SGW_STORE_PG_ADM_H
#define SGW_STORE_PG_ADM_H

#include "store.h"
#include "store_pg_pool.h"

/* A one-row count(*) statement. */
int pga_count(struct pg_pool *pool, int id, const struct pg_params *p, int64_t *ret);
int pga_txn_list(struct pg_pool *pool, const struct store_txn_filter *f, store_txn_each each,
		 void *arg);
int pga_txn_decide(struct pg_pool *pool, const struct store_txn *t, const char *admin);
int pga_txn_decider(struct pg_pool *pool, int64_t id, char *ret_admin, size_t cap);
int pga_otp_put(struct pg_pool *pool, const struct store_otp *o);
/* PG_OTP_CONSUME or PG_OTP_PEEK on c (txn_accept's transaction) or on a
 * connection of its own (pga_otp): the bound subject, -SGW_ENOTFOUND. */
int pga_otp_subject(struct pg_conn *c, int id, const char *profile, const uint8_t sha256[32],
		    int64_t now, char *ret_subject, size_t cap);
int pga_otp(struct pg_pool *pool, int id, const char *profile, const uint8_t sha256[32],
	    int64_t now, char *ret_subject, size_t cap);
int pga_cert_search(struct pg_pool *pool, const struct store_cert_filter *f, store_cert_each each,
		    void *arg, int64_t *next);

#endif
