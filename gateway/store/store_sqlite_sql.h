/* store_sqlite_sql.h: every statement that store_sqlite.c prepares at open
 * (the schema and its migrations are in store_sqlite_schema.c, the admin
 * API's statements in store_sqlite_adm.c, the certificates' in
 * store_sqlite_cert.c, the nonces' in store_sqlite_nonce.c).  Private to store_sqlite.c (it
 * defines static data); include nowhere else. */
#ifndef SGW_STORE_SQLITE_SQL_H
#define SGW_STORE_SQLITE_SQL_H

enum sq_stmt {
	SQ_BEGIN,
	SQ_COMMIT,
	SQ_ROLLBACK,
	SQ_TXN_INSERT,
	SQ_TXN_FIND,
	SQ_TXN_GET,
	SQ_TXN_UPDATE,
	SQ_TXN_RENEW,
	SQ_TXN_RENEWING,
	SQ_STMT_MAX
};

static const char *const sq_sql[SQ_STMT_MAX] = {
    [SQ_BEGIN] = "BEGIN IMMEDIATE",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
    [SQ_TXN_INSERT] = "INSERT INTO transactions (profile, transaction_id, signer_key_sha256,"
		      " state, msg_type, subject, peer, reason, cert_serial, backend_handle,"
		      " csr_sealed, created, updated, csr_sha256, csr_info, instance)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
		      " ?16)",
    [SQ_TXN_FIND] = "SELECT " SQ_TXN_COLS " FROM transactions"
		    " WHERE profile = ?1 AND transaction_id = ?2 AND signer_key_sha256 = ?3",
    [SQ_TXN_GET] = "SELECT " SQ_TXN_COLS " FROM transactions WHERE id = ?1",
    [SQ_TXN_UPDATE] =
	"UPDATE transactions SET state = ?1, reason = ?2, backend_handle = ?3,"
	" cert_serial = ?4, updated = ?5, instance = ?7, " SQ_SET_SEALED_FOR("?1") " WHERE id = ?6",
    /* a new request on a known row (txn_accept): every column of the request,
     * only if the row is as it was read (updated = ?12) */
    [SQ_TXN_RENEW] = "UPDATE transactions SET state = ?1, msg_type = ?2, subject = ?3,"
		     " peer = ?4, reason = '', cert_serial = '', backend_handle = '',"
		     " csr_sealed = ?5, csr_sha256 = ?6, csr_info = ?7, created = ?8,"
		     " updated = ?9, instance = ?12 WHERE id = ?10 AND updated = ?11",
    /* another request on profile ?1 signed by key ?2 in progress (a state
     * before ISSUED, 5: SQ_SET_SEALED_FOR), through transactions_signer */
    [SQ_TXN_RENEWING] = "SELECT 1 FROM transactions WHERE signer_key_sha256 = ?2"
			" AND profile = ?1 AND id != ?3 AND state < 5 LIMIT 1",
};

#endif
