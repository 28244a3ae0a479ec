/* store_sqlite_schema.c: the SQLite store's database file and schema, set
 * up once at open: the file created with mode 0600, WAL and the synchronous
 * mode configured, and the numbered migrations applied (recorded in
 * schema_version, all in one transaction). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "store_sqlite_row.h"
#include "store_sqlite_schema.h"

#define SQ_BUSY_TIMEOUT_MS 2000

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
    /* 4: renewal scope (gateway/txn/renewal.c): the certificates issued for
     * requests signed by a key, to tell whether a signer was superseded */
    "CREATE INDEX transactions_signer ON transactions (signer_key_sha256, profile);",
    /* 5: the CSR kept sealed (store_record.h, struct store_csr): csr_sealed
     * replaces the clear csr column, which stays NULL from now on; the rows
     * an older version wrote are sealed or dropped once, at the first start,
     * by store_sqlite_legacy.c while csr_legacy.pending is 1. */
    "ALTER TABLE transactions ADD COLUMN csr_sealed BLOB;"
    "ALTER TABLE transactions ADD COLUMN csr_sha256 BLOB"
    " CHECK (csr_sha256 IS NULL OR length(csr_sha256) = 32);"
    "ALTER TABLE transactions ADD COLUMN csr_info TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE csr_legacy (pending INTEGER NOT NULL);"
    "INSERT INTO csr_legacy (pending) VALUES (1);",
    /* 6: renewal (gateway/txn/txn_supersede.c): the serial of the certificate
     * whose issuance superseded this one, '' while none */
    "ALTER TABLE certificates ADD COLUMN superseded_by TEXT NOT NULL DEFAULT '';",
    /* 7: shared state (issue 20, store_sqlite_shared.c): the instance that
     * last wrote a transaction, the local CA's revocations and current CRL
     * (they were files in its state_dir), and the leases of the jobs done
     * once per cluster */
    "ALTER TABLE transactions ADD COLUMN instance TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE ca_revoked (ca TEXT NOT NULL, serial TEXT NOT NULL,"
    " reason INTEGER NOT NULL, revoked_at INTEGER NOT NULL, PRIMARY KEY (ca, serial));"
    "CREATE TABLE ca_crl (ca TEXT PRIMARY KEY, number INTEGER NOT NULL CHECK (number > 0),"
    " next_update INTEGER NOT NULL, der BLOB NOT NULL);"
    "CREATE TABLE leases (job TEXT PRIMARY KEY, holder TEXT NOT NULL,"
    " expires INTEGER NOT NULL) WITHOUT ROWID;",
    /* 8: validator notifications still owed (issue 20, store_sqlite_owed.c) */
    "CREATE TABLE owed (txn_id INTEGER PRIMARY KEY, profile TEXT NOT NULL,"
    " kind INTEGER NOT NULL, reason TEXT NOT NULL, owner TEXT NOT NULL,"
    " attempts INTEGER NOT NULL, next_try INTEGER NOT NULL, created INTEGER NOT NULL,"
    " csr_sealed BLOB);"
    "CREATE INDEX owed_next ON owed (next_try);",
};
#define SQ_SCHEMA_VERSION ((int)(sizeof(sq_migrations) / sizeof(sq_migrations[0])))

/* Create the file with mode 0600 before SQLite sees it (SQLite would use 0644
 * less umask); SQLite gives the -wal and -shm files the same mode. */
int
sq_schema_create(const char *path, struct sgw_err *err)
{
	struct stat sb;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT)
		return sgw_err_set(err, SGW_EIO, "store.path: %s: parent directory does not exist",
				   path);
	if (fd < 0)
		return sgw_err_set(err, SGW_EIO, "store.path: %s: %s", path, strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return sgw_err_set(err, SGW_EIO, "store.path: %s: not a regular file", path);
	}
	if ((sb.st_mode & 077) != 0)
		log_warn("store: %s is accessible by group or others (mode %03o)", path,
			 (unsigned)(sb.st_mode & 0777));
	close(fd);
	return 0;
}

/* One-row, one-column query run once at open; text or integer result. */
static int
sq_query1(sqlite3 *db, const char *sql, int64_t *ret_int, char *ret_txt, size_t cap,
	  struct sgw_err *err)
{
	sqlite3_stmt *st = NULL;
	int r = -SGW_EIO;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		sgw_err_set(err, SGW_EIO, "store: sqlite: %s: %s", sql, sqlite3_errmsg(db));
		goto out;
	}
	if (ret_int != NULL)
		*ret_int = sqlite3_column_int64(st, 0);
	if (ret_txt != NULL) {
		const unsigned char *p = sqlite3_column_text(st, 0);

		snprintf(ret_txt, cap, "%s", p != NULL ? (const char *)p : "");
	}
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

static int
sq_migrate_locked(sqlite3 *db, struct sgw_err *err)
{
	char sql[128];
	int64_t v = 0;
	int r;

	r = sq_exec_db(db,
		       "CREATE TABLE IF NOT EXISTS schema_version"
		       " (version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)",
		       err);
	if (r == 0)
		r = sq_query1(db, "SELECT coalesce(max(version), 0) FROM schema_version", &v, NULL,
			      0, err);
	if (r < 0)
		return r;
	if (v > SQ_SCHEMA_VERSION)
		return sgw_err_set(err, SGW_EIO,
				   "store: database schema version %lld is newer than this scepgw "
				   "(%d)",
				   (long long)v, SQ_SCHEMA_VERSION);
	for (; v < SQ_SCHEMA_VERSION && r == 0; v++) {
		r = sq_exec_db(db, sq_migrations[v], err);
		snprintf(sql, sizeof(sql),
			 "INSERT INTO schema_version (version, applied)"
			 " VALUES (%lld, strftime('%%s', 'now'))",
			 (long long)v + 1);
		if (r == 0)
			r = sq_exec_db(db, sql, err);
	}
	return r;
}

static int
sq_migrate(sqlite3 *db, struct sgw_err *err)
{
	int r;

	r = sq_exec_db(db, "BEGIN IMMEDIATE", err);
	if (r < 0)
		return r;
	r = sq_migrate_locked(db, err);
	if (r == 0)
		r = sq_exec_db(db, "COMMIT", err);
	if (r < 0 && !sqlite3_get_autocommit(db))
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static int
sq_configure(sqlite3 *db, const struct cfg_store *cfg, struct sgw_err *err)
{
	char mode[16];
	int r;

	if (sqlite3_extended_result_codes(db, 1) != SQLITE_OK ||
	    sqlite3_busy_timeout(db, SQ_BUSY_TIMEOUT_MS) != SQLITE_OK)
		return sgw_err_set(err, SGW_EIO, "store: sqlite: %s", sqlite3_errmsg(db));
	r = sq_query1(db, "PRAGMA journal_mode = WAL", NULL, mode, sizeof(mode), err);
	if (r < 0)
		return r;
	if (strcmp(mode, "wal") != 0)
		return sgw_err_set(err, SGW_EIO, "store: sqlite: cannot enable WAL (mode '%s')",
				   mode);
	/* FULL: each commit is fsync'd before the reply (the default).  NORMAL
	 * (WAL): a commit survives a crash of the process, kill -9 included,
	 * but the last ones may be lost on power loss; the database stays
	 * consistent either way. */
	if (cfg->synchronous != NULL && strcmp(cfg->synchronous, "normal") == 0)
		return sq_exec_db(db, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
				  err);
	return sq_exec_db(db, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;", err);
}

int
sq_schema_setup(sqlite3 *db, const struct cfg_store *cfg, struct sgw_err *err)
{
	int r = sq_configure(db, cfg, err);

	if (r == 0)
		r = sq_migrate(db, err);
	return r;
}
