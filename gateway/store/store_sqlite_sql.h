/* store_sqlite_sql.h: the SQL of the SQLite store, in one place: the schema
 * migrations and every statement that store_sqlite.c prepares at open.
 * Private to store_sqlite.c (it defines static data); include nowhere else. */
#ifndef SGW_STORE_SQLITE_SQL_H
#define SGW_STORE_SQLITE_SQL_H

/* Migration i (0-based) brings the schema to version i + 1.  Never edit one
 * that has shipped: append a new one. */
static const char *const sq_migrations[] = {
    "CREATE TABLE transactions (id INTEGER PRIMARY KEY, profile TEXT NOT NULL,"
    " transaction_id TEXT NOT NULL,"
    " signer_key_sha256 BLOB NOT NULL CHECK (length(signer_key_sha256) = 32),"
    " state INTEGER NOT NULL, msg_type INTEGER NOT NULL, subject TEXT NOT NULL,"
    " peer TEXT NOT NULL, reason TEXT NOT NULL, cert_serial TEXT NOT NULL,"
    " backend_handle TEXT NOT NULL, csr BLOB, created INTEGER NOT NULL, updated INTEGER NOT NULL,"
    " UNIQUE (profile, transaction_id, signer_key_sha256));"
    "CREATE TABLE certificates (id INTEGER PRIMARY KEY, serial TEXT NOT NULL,"
    " issuer TEXT NOT NULL, subject TEXT NOT NULL, not_before INTEGER NOT NULL,"
    " not_after INTEGER NOT NULL, der BLOB NOT NULL, txn_id INTEGER REFERENCES transactions (id),"
    " revoked INTEGER NOT NULL DEFAULT 0, revoked_at INTEGER NOT NULL DEFAULT 0,"
    " revoke_reason INTEGER NOT NULL DEFAULT 0, UNIQUE (issuer, serial));"
    "CREATE INDEX certificates_subject ON certificates (subject);"
    "CREATE INDEX certificates_txn ON certificates (txn_id);"
    "CREATE TABLE nonces (nonce BLOB PRIMARY KEY, expires INTEGER NOT NULL);"
    "CREATE INDEX nonces_expires ON nonces (expires);",
    /* 2: approvals and one-time challenges (admin API) */
    "CREATE INDEX transactions_state ON transactions (state, created);"
    "CREATE TABLE approvals (txn_id INTEGER PRIMARY KEY REFERENCES transactions (id),"
    " admin TEXT NOT NULL, state INTEGER NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL);"
    "CREATE TABLE otps (id INTEGER PRIMARY KEY, profile TEXT NOT NULL,"
    " sha256 BLOB NOT NULL UNIQUE CHECK (length(sha256) = 32), subject TEXT NOT NULL,"
    " issued_by TEXT NOT NULL, created INTEGER NOT NULL, expires INTEGER NOT NULL,"
    " used INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX otps_expires ON otps (expires);",
    /* 3: fewer pages written per enrollment, no scan by serial.  The subject
     * index served nothing (the admin search is a substring match); serial
     * alone is how `scepgw revoke` and the admin API look a certificate up;
     * nonces are their own key (one b-tree instead of table + index). */
    "DROP INDEX certificates_subject;"
    "CREATE INDEX certificates_serial ON certificates (serial);"
    "CREATE TABLE nonces3 (nonce BLOB PRIMARY KEY, expires INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO nonces3 (nonce, expires) SELECT nonce, expires FROM nonces;"
    "DROP TABLE nonces;"
    "ALTER TABLE nonces3 RENAME TO nonces;"
    "CREATE INDEX nonces_expires ON nonces (expires);",
};
#define SQ_SCHEMA_VERSION ((int)(sizeof(sq_migrations) / sizeof(sq_migrations[0])))

enum sq_stmt {
	SQ_BEGIN,
	SQ_COMMIT,
	SQ_ROLLBACK,
	SQ_TXN_INSERT,
	SQ_TXN_FIND,
	SQ_TXN_GET,
	SQ_TXN_UPDATE,
	SQ_CERT_INSERT,
	SQ_CERT_GET,
	SQ_CERT_COUNT,
	SQ_CERT_REVOKE,
	SQ_CERT_BY_SERIAL,
	SQ_NONCE_SWEEP,
	SQ_NONCE_PUT,
	SQ_STMT_MAX
};

static const char *const sq_sql[SQ_STMT_MAX] = {
    [SQ_BEGIN] = "BEGIN IMMEDIATE",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
    [SQ_TXN_INSERT] = "INSERT INTO transactions (profile, transaction_id, signer_key_sha256,"
		      " state, msg_type, subject, peer, reason, cert_serial, backend_handle,"
		      " csr, created, updated)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    [SQ_TXN_FIND] = "SELECT " SQ_TXN_COLS " FROM transactions"
		    " WHERE profile = ?1 AND transaction_id = ?2 AND signer_key_sha256 = ?3",
    [SQ_TXN_GET] = "SELECT " SQ_TXN_COLS " FROM transactions WHERE id = ?1",
    [SQ_TXN_UPDATE] = "UPDATE transactions SET state = ?1, reason = ?2, backend_handle = ?3,"
		      " cert_serial = ?4, updated = ?5 WHERE id = ?6",
    [SQ_CERT_INSERT] = "INSERT INTO certificates (" SQ_CERT_COLS ")"
		       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [SQ_CERT_GET] = "SELECT " SQ_CERT_COLS " FROM certificates"
		    " WHERE issuer = ?1 AND serial = ?2",
    [SQ_CERT_COUNT] = "SELECT count(*) FROM certificates",
    [SQ_CERT_REVOKE] = "UPDATE certificates SET revoked = 1, revoked_at = ?3, revoke_reason = ?4"
		       " WHERE issuer = ?1 AND serial = ?2 AND revoked = 0",
    [SQ_CERT_BY_SERIAL] = "SELECT " SQ_CERT_COLS " FROM certificates WHERE serial = ?1 LIMIT 2",
    [SQ_NONCE_SWEEP] = "DELETE FROM nonces WHERE nonce IN"
		       " (SELECT nonce FROM nonces WHERE expires <= ?1 LIMIT ?2)",
    /* a live nonce makes this a no-op (changes() == 0); an expired one is replaced */
    [SQ_NONCE_PUT] = "INSERT INTO nonces (nonce, expires) VALUES (?1, ?2)"
		     " ON CONFLICT (nonce) DO UPDATE SET expires = excluded.expires"
		     " WHERE nonces.expires <= ?3",
};

#endif
