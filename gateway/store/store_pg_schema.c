/* store_pg_schema.c: the PostgreSQL store's schema.  Migration i (0-based)
 * brings it to version i + 1, each in its own transaction with its row in
 * schema_version.  The whole pass holds a session advisory lock, so that
 * of several instances starting at the same moment one migrates and the
 * others wait, then find nothing left to do.  Never edit a migration that
 * has shipped: append one.
 *
 * The columns match the SQLite store's (store_sqlite_schema.c) so that
 * the row decoders agree; integers are BIGINT throughout (one decoder),
 * the CSR and certificates BYTEA. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_pg_schema.h"

#define PG_MIGRATION_LOCK "7365637067770001" /* "scepgw" + 1: any constant the cluster shares */

static const char *const pg_migrations[] = {
    "CREATE TABLE transactions (id BIGSERIAL PRIMARY KEY, profile TEXT NOT NULL,"
    " transaction_id TEXT NOT NULL,"
    " signer_key_sha256 BYTEA NOT NULL CHECK (length(signer_key_sha256) = 32),"
    " state BIGINT NOT NULL, msg_type BIGINT NOT NULL, subject TEXT NOT NULL,"
    " peer TEXT NOT NULL, reason TEXT NOT NULL, cert_serial TEXT NOT NULL,"
    " backend_handle TEXT NOT NULL, csr_sealed BYTEA, created BIGINT NOT NULL,"
    " updated BIGINT NOT NULL,"
    " csr_sha256 BYTEA CHECK (csr_sha256 IS NULL OR length(csr_sha256) = 32),"
    " csr_info TEXT NOT NULL DEFAULT '', instance TEXT NOT NULL DEFAULT '',"
    " UNIQUE (profile, transaction_id, signer_key_sha256));"
    "CREATE INDEX transactions_state ON transactions (state, created);"
    "CREATE INDEX transactions_signer ON transactions (signer_key_sha256, profile);"
    "CREATE TABLE certificates (id BIGSERIAL PRIMARY KEY, serial TEXT NOT NULL,"
    " issuer TEXT NOT NULL, subject TEXT NOT NULL, not_before BIGINT NOT NULL,"
    " not_after BIGINT NOT NULL, der BYTEA NOT NULL,"
    " txn_id BIGINT REFERENCES transactions (id),"
    " revoked BIGINT NOT NULL DEFAULT 0, revoked_at BIGINT NOT NULL DEFAULT 0,"
    " revoke_reason BIGINT NOT NULL DEFAULT 0, superseded_by TEXT NOT NULL DEFAULT '',"
    " UNIQUE (issuer, serial));"
    "CREATE INDEX certificates_serial ON certificates (serial);"
    "CREATE INDEX certificates_txn ON certificates (txn_id);"
    "CREATE TABLE nonces (nonce BYTEA PRIMARY KEY, expires BIGINT NOT NULL);"
    "CREATE INDEX nonces_expires ON nonces (expires);"
    "CREATE TABLE approvals (txn_id BIGINT PRIMARY KEY REFERENCES transactions (id),"
    " admin TEXT NOT NULL, state BIGINT NOT NULL, reason TEXT NOT NULL, at BIGINT NOT NULL);"
    "CREATE TABLE otps (id BIGSERIAL PRIMARY KEY, profile TEXT NOT NULL,"
    " sha256 BYTEA NOT NULL UNIQUE CHECK (length(sha256) = 32), subject TEXT NOT NULL,"
    " issued_by TEXT NOT NULL, created BIGINT NOT NULL, expires BIGINT NOT NULL,"
    " used BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX otps_expires ON otps (expires);"
    /* the shared state of the local CA and the cluster's jobs (issue 20) */
    "CREATE TABLE ca_revoked (id BIGSERIAL, ca TEXT NOT NULL, serial TEXT NOT NULL,"
    " reason BIGINT NOT NULL, at BIGINT NOT NULL, PRIMARY KEY (ca, serial));"
    "CREATE TABLE ca_crl (ca TEXT PRIMARY KEY, number BIGINT NOT NULL,"
    " next_update BIGINT NOT NULL, der BYTEA NOT NULL);"
    "CREATE TABLE leases (job TEXT PRIMARY KEY, holder TEXT NOT NULL,"
    " expires BIGINT NOT NULL);",
    /* validator notifications still owed (issue 20, store_pg_owed.c) */
    "CREATE TABLE owed (txn_id BIGINT PRIMARY KEY, profile TEXT NOT NULL,"
    " kind BIGINT NOT NULL, reason TEXT NOT NULL, owner TEXT NOT NULL,"
    " attempts BIGINT NOT NULL, next_try BIGINT NOT NULL, created BIGINT NOT NULL,"
    " csr_sealed BYTEA);"
    "CREATE INDEX owed_next ON owed (next_try);",
};
#define PG_SCHEMA_VERSION ((int)(sizeof(pg_migrations) / sizeof(pg_migrations[0])))

/* One simple query; its message in err on failure. */
static int
pg_run(PGconn *c, const char *sql, PGresult **ret, struct sgw_err *err)
{
	PGresult *res = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		const char *m = PQerrorMessage(c);
		size_t n = strlen(m);

		while (n > 0 && m[n - 1] == '\n')
			n--;
		sgw_err_set(err, SGW_EIO, "migration: %.*s", (int)n, m);
		PQclear(res);
		return -SGW_EIO;
	}
	if (ret != NULL)
		*ret = res;
	else
		PQclear(res);
	return 0;
}

static int
pg_version(PGconn *c, long *ret, struct sgw_err *err)
{
	PGresult *res = NULL;
	int r = pg_run(c, "SELECT coalesce(max(version), 0) FROM schema_version", &res, err);

	if (r == 0)
		*ret = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return r;
}

static int
pg_migrate_locked(PGconn *c, struct sgw_err *err)
{
	char sql[160];
	long v = 0;
	int r;

	r = pg_run(c,
		   "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY,"
		   " applied BIGINT NOT NULL)",
		   NULL, err);
	if (r == 0)
		r = pg_version(c, &v, err);
	if (r < 0)
		return r;
	if (v > PG_SCHEMA_VERSION)
		return sgw_err_set(
		    err, SGW_EIO,
		    "the database's schema version %ld is newer than this scepgw's (%d)", v,
		    PG_SCHEMA_VERSION);
	for (; v < PG_SCHEMA_VERSION && r == 0; v++) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO schema_version (version, applied)"
			 " VALUES (%ld, extract(epoch FROM now())::bigint)",
			 v + 1);
		r = pg_run(c, "BEGIN", NULL, err);
		if (r == 0)
			r = pg_run(c, pg_migrations[v], NULL, err);
		if (r == 0)
			r = pg_run(c, sql, NULL, err);
		if (r == 0)
			r = pg_run(c, "COMMIT", NULL, err);
		if (r < 0)
			PQclear(PQexec(c, "ROLLBACK"));
		else
			log_info("store: migrated to version %ld", v + 1);
	}
	return r;
}

int
pg_schema_migrate(PGconn *c, struct sgw_err *err)
{
	struct sgw_err unlock_err;
	int r;

	r = pg_run(c, "SELECT pg_advisory_lock(" PG_MIGRATION_LOCK ")", NULL, err);
	if (r < 0)
		return r;
	r = pg_migrate_locked(c, err);
	if (pg_run(c, "SELECT pg_advisory_unlock(" PG_MIGRATION_LOCK ")", NULL, &unlock_err) < 0 &&
	    r == 0)
		r = sgw_err_set(err, SGW_EIO, "%s", unlock_err.msg);
	return r;
}
