/* store_pg_sql.h: every statement the PostgreSQL store prepares on each of
 * its connections (store_pg_sql.c), by number.  The schema is in
 * store_pg_schema.c. */
#ifndef SGW_STORE_PG_SQL_H
#define SGW_STORE_PG_SQL_H

enum pg_stmt {
	PG_TXN_INSERT,
	PG_TXN_FIND,
	PG_TXN_GET,
	PG_TXN_UPDATE,
	PG_TXN_RENEW,
	PG_TXN_INSERT_OTP,
	PG_TXN_ISSUE,
	PG_CERT_GET,
	PG_CERT_COUNT,
	PG_CERT_REVOKE,
	PG_CERT_BY_SERIAL,
	PG_CERT_SUPERSEDED,
	PG_CERT_SUPERSEDE,
	PG_NONCE_SWEEP,
	PG_NONCE_PUT,
	PG_TXN_LIST,
	PG_TXN_LIST_ALL,
	PG_TXN_COUNT,
	PG_TXN_DECIDE,
	PG_APPROVAL_GET,
	PG_OTP_SWEEP,
	PG_OTP_PUT,
	PG_OTP_CONSUME,
	PG_OTP_PEEK,
	PG_OTP_COUNT,
	PG_CERT_TOP,
	PG_CERT_SEARCH,
	PG_CERT_SEARCH_SERIAL,
	PG_CA_REVOKE,
	PG_CA_REVOKED_LIST,
	PG_CA_CRL_GET,
	PG_CA_CRL_FIRST,
	PG_CA_CRL_NEXT,
	PG_LEASE_TAKE,
	PG_CA_CRL_SEED,
	PG_LEASE_GET,
	PG_CA_CRL_NUMBER,
	PG_OWED_PUT, /* store_pg_owed.c */
	PG_OWED_DEL,
	PG_OWED_DUE,
	PG_RENEWAL_LOCK, /* a renewal's claim on its signer (txn_accept) */
	PG_RENEWAL_BUSY,
	PG_STMT_MAX
};

extern const char *const pg_sql[PG_STMT_MAX];

/* The columns pg_row_txn and pg_row_cert decode (store_pg_row.c), in order. */
#define PG_TXN_COLS                                                                                \
	"id, profile, transaction_id, signer_key_sha256, state, msg_type, subject, peer, reason, " \
	"cert_serial, backend_handle, csr_sealed, created, updated, csr_sha256, csr_info, "        \
	"instance"
#define PG_CERT_COLS                                                                               \
	"serial, issuer, subject, not_before, not_after, der, txn_id, revoked, revoked_at, "       \
	"revoke_reason, superseded_by"
#define PG_OWED_COLS "txn_id, profile, kind, reason, owner, attempts, next_try, created, csr_sealed"
#define PG_TXN_NCOLS 17
#define PG_CERT_NCOLS 11

#endif
