/* store_pg_txn.h: the PostgreSQL store's transactions, certificates and
 * senderNonces (store_pg_txn.c): store_ops' operations of the same names
 * (store.h) on a pool.  Called from any thread. */
#ifndef SGW_STORE_PG_TXN_H
#define SGW_STORE_PG_TXN_H

#include <pthread.h>
#include <stdint.h>

#include "store.h"
#include "store_pg_pool.h"

/* When this instance last swept the expired senderNonces. */
struct pg_sweep {
	pthread_mutex_t mu;
	unsigned calls;
	int64_t last;
};

int pgt_txn_insert(struct pg_pool *pool, struct store_txn *t);
int pgt_txn_find(struct pg_pool *pool, const char *profile, const char *transaction_id,
		 const uint8_t key_sha256[32], struct store_txn *ret);
int pgt_txn_get(struct pg_pool *pool, int64_t id, struct store_txn *ret);
int pgt_txn_update(struct pg_pool *pool, const struct store_txn *t);
int pgt_txn_accept(struct pg_pool *pool, struct store_txn *t, const struct store_accept *a);
int pgt_txn_issue(struct pg_pool *pool, struct store_txn *t, const struct store_cert *c);
int pgt_cert_get(struct pg_pool *pool, const char *issuer, const char *serial,
		 struct store_cert *ret);
int pgt_cert_revoke(struct pg_pool *pool, const char *issuer, const char *serial, int reason,
		    int64_t when);
int pgt_cert_find_serial(struct pg_pool *pool, const char *serial, struct store_cert *ret);
int pgt_cert_superseded(struct pg_pool *pool, const char *issuer, const char *serial,
			const char *profile, const uint8_t key_sha256[32], int *ret_superseded);
int pgt_cert_supersede(struct pg_pool *pool, const char *issuer, const char *serial,
		       const char *by);
int pgt_nonce_check(struct pg_pool *pool, struct pg_sweep *sw, const uint8_t *nonce, size_t len,
		    int64_t now, int ttl);
/* nonce_check and txn_find in one round trip: the nonce's code returned,
 * the lookup's in *ret_found (0 and *ret, or -SGW_ENOTFOUND, ...). */
int pgt_nonce_find(struct pg_pool *pool, struct pg_sweep *sw, const uint8_t *nonce, size_t len,
		   int64_t now, int ttl, const char *profile, const char *transaction_id,
		   const uint8_t key_sha256[32], struct store_txn *ret, int *ret_found);

#endif
