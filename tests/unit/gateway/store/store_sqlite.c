/* tests for gateway/store/store.c, store_record.c and the SQLite store
 * (store_sqlite*.c); each test gets a fresh temp dir */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"
#include "store_fixture.h"

struct fx {
	struct store_fixture db;
	struct store *s;
};

static const uint8_t csr_bytes[] = {0x30, 0x82, 0x01, 0x00, 0xde, 0xad, 0xbe, 0xef};
static const uint8_t der_bytes[] = {0x30, 0x82, 0x02, 0x00, 0x01, 0x02, 0x03};

static int
fx_setup(void **state, const char *base)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	store_fixture_init(&f->db, base, "store");
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return fx_setup(state, "/tmp");
}

/* For the bulk test: every commit is fsync'd, so on a busy disk 10k inserts
 * take minutes; tmpfs keeps it about CPU cost (statement reuse, indexes). */
static int
setup_shm(void **state)
{
	struct stat sb;

	if (stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) && access("/dev/shm", W_OK) == 0)
		return fx_setup(state, "/dev/shm");
	return fx_setup(state, "/tmp");
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	store_fixture_remove(&f->db);
	free(f);
	return 0;
}

static void
fx_open(struct fx *f)
{
	struct sgw_err err = {{0}};
	int r;

	r = store_open(&f->db.cfg, &f->s, &err);
	if (r != 0)
		fail_msg("store_open: %d %s", r, err.msg);
}

static void
fx_reopen(struct fx *f)
{
	store_close(f->s);
	f->s = NULL;
	fx_open(f);
}

/* One integer from the database through a separate connection. */
static int64_t
db_int(const struct fx *f, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_open_v2(f->db.path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* 1 when SQLite's plan for `query` names `index`. */
static int
plan_uses(const struct fx *f, const char *query, const char *index)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char sql[512];
	int found = 0;

	snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", query);
	assert_int_equal(sqlite3_open_v2(f->db.path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		found |= strstr((const char *)sqlite3_column_text(st, 3), index) != NULL;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return found;
}

/* 1 when the file (absent: 0) holds the bytes of s. */
static int
file_has(const char *path, const char *s)
{
	FILE *fp = fopen(path, "rb");
	char buf[1 << 16];
	size_t n, keep = 0, len = strlen(s);
	int found = 0;

	if (fp == NULL)
		return 0;
	while (!found && (n = fread(buf + keep, 1, sizeof(buf) - keep, fp)) > 0) {
		n += keep;
		found = memmem(buf, n, s, len) != NULL;
		keep = n < len ? n : len - 1;
		memmove(buf, buf + n - keep, keep);
	}
	fclose(fp);
	return found;
}

static void
make_txn(struct store_txn *t, const char *tid, uint8_t keybyte)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->profile, sizeof(t->profile), "ios");
	snprintf(t->transaction_id, sizeof(t->transaction_id), "%s", tid);
	memset(t->signer_key_sha256, keybyte, sizeof(t->signer_key_sha256));
	t->state = TXN_RECEIVED;
	t->msg_type = 19;
	snprintf(t->subject, sizeof(t->subject), "CN=device-%s", tid);
	snprintf(t->peer, sizeof(t->peer), "192.0.2.7");
	t->created = 1700000000;
	t->updated = 1700000000;
	t->csr.sealed = (uint8_t *)csr_bytes;
	t->csr.sealed_len = sizeof(csr_bytes);
}

static void
make_cert(struct store_cert *c, const char *serial)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->serial, sizeof(c->serial), "%s", serial);
	snprintf(c->issuer, sizeof(c->issuer), "CN=Test CA,O=Example");
	snprintf(c->subject, sizeof(c->subject), "CN=device");
	c->not_before = 1700000000;
	c->not_after = 1800000000;
	c->der = (uint8_t *)der_bytes;
	c->der_len = sizeof(der_bytes);
}

static void
test_state_names(void **state)
{
	(void)state;
	assert_string_equal(txn_state_name(TXN_RECEIVED), "RECEIVED");
	assert_string_equal(txn_state_name(TXN_BACKEND_PENDING), "BACKEND_PENDING");
	assert_string_equal(txn_state_name(TXN_FAILED), "FAILED");
	assert_string_equal(txn_state_name(TXN_STATE_MAX), "UNKNOWN");
	assert_string_equal(txn_state_name(-1), "UNKNOWN");
}

static void
test_open_creates_schema(void **state)
{
	struct fx *f = *state;
	struct store_txn t;
	struct stat sb;
	char wal[160];

	fx_open(f);
	assert_int_equal(stat(f->db.path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	make_txn(&t, "t1", 1);
	assert_int_equal(store_txn_insert(f->s, &t), 0);
	snprintf(wal, sizeof(wal), "%s-wal", f->db.path);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(db_int(f, "SELECT max(version) FROM schema_version"), 8);
	assert_int_equal(db_int(f, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
				   " name IN ('transactions', 'certificates', 'nonces')"),
			 3);
	assert_int_equal(db_int(f, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND"
				   " name IN ('certificates_serial', 'nonces_expires')"),
			 2);
	assert_int_equal(db_int(f, "SELECT count(*) FROM sqlite_master WHERE"
				   " name = 'certificates_subject'"),
			 0);
}

/* Migration 3 on a database left by migrations 1 and 2: the remembered
 * nonces survive the move to a WITHOUT ROWID table, and a lookup by serial
 * alone uses the new index instead of a scan. */
static void
test_migration_3(void **state)
{
	struct fx *f = *state;
	uint8_t nonce[16];
	sqlite3 *db = NULL;

	memset(nonce, 0x33, sizeof(nonce));
	fx_open(f);
	assert_int_equal(store_nonce_check(f->s, nonce, sizeof(nonce), 1700000000, 600), 0);
	store_close(f->s);
	f->s = NULL;
	/* back to the version-2 layout of the nonces and certificates indexes */
	assert_int_equal(sqlite3_open(f->db.path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(
		db,
		"DROP INDEX certificates_serial;"
		"CREATE INDEX certificates_subject ON certificates (subject);"
		"CREATE TABLE nonces2 (nonce BLOB PRIMARY KEY, expires INTEGER"
		" NOT NULL);"
		"INSERT INTO nonces2 SELECT nonce, expires FROM nonces;"
		"DROP TABLE nonces; ALTER TABLE nonces2 RENAME TO nonces;"
		"CREATE INDEX nonces_expires ON nonces (expires);"
		"DROP INDEX transactions_signer;"
		"DROP TABLE csr_legacy;"
		"ALTER TABLE transactions DROP COLUMN csr_sealed;"
		"ALTER TABLE transactions DROP COLUMN csr_sha256;"
		"ALTER TABLE transactions DROP COLUMN csr_info;"
		"ALTER TABLE certificates DROP COLUMN superseded_by;"
		"ALTER TABLE transactions DROP COLUMN instance;"
		"DROP TABLE ca_revoked; DROP TABLE ca_crl; DROP TABLE leases; DROP TABLE owed;"
		"DELETE FROM schema_version WHERE version >= 3;",
		NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	fx_open(f);
	assert_int_equal(db_int(f, "SELECT max(version) FROM schema_version"), 8);
	assert_int_equal(store_nonce_check(f->s, nonce, sizeof(nonce), 1700000001, 600),
			 -SGW_EEXIST);
	assert_int_equal(db_int(f, "SELECT count(*) FROM sqlite_master WHERE name = 'nonces' AND"
				   " sql LIKE '%WITHOUT ROWID%'"),
			 1);
	assert_true(plan_uses(f, "SELECT der FROM certificates WHERE serial = 'ab'",
			      "certificates_serial"));
}

static void
test_open_errors(void **state)
{
	struct fx *f = *state;
	struct cfg_store cfg = f->db.cfg;
	struct sgw_err err = {{0}};
	struct store *s = NULL;
	char bad[160];

	snprintf(bad, sizeof(bad), "%s/missing/scepgw.db", f->db.dir);
	cfg.path = bad;
	assert_int_equal(store_open(&cfg, &s, &err), -SGW_EIO);
	assert_null(s);
	assert_non_null(strstr(err.msg, "parent directory does not exist"));

	cfg.path = f->db.dir; /* a directory */
	assert_true(store_open(&cfg, &s, &err) < 0);
	assert_null(s);

	cfg.path = f->db.path;
	cfg.type = "postgres";
	assert_int_equal(store_open(&cfg, &s, &err), -SGW_EINVAL);
	assert_non_null(strstr(err.msg, "postgres"));
}

static void
test_reopen_keeps_data(void **state)
{
	struct fx *f = *state;
	struct store_txn t, got;

	fx_open(f);
	make_txn(&t, "persist", 2);
	assert_int_equal(store_txn_insert(f->s, &t), 0);
	fx_reopen(f);
	fx_reopen(f);
	assert_int_equal(store_txn_find(f->s, "ios", "persist", t.signer_key_sha256, &got), 0);
	assert_int_equal(got.id, t.id);
	store_txn_clear(&got);
	assert_int_equal(db_int(f, "SELECT count(*) FROM schema_version"), 8);
}

/* A database from a newer scepgw is refused, not silently used. */
static void
test_schema_too_new(void **state)
{
	struct fx *f = *state;
	struct sgw_err err = {{0}};
	struct store *s = NULL;
	sqlite3 *db = NULL;

	fx_open(f);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(sqlite3_open(f->db.path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db, "INSERT INTO schema_version VALUES (99, 0)", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(&f->db.cfg, &s, &err), -SGW_EIO);
	assert_null(s);
	assert_non_null(strstr(err.msg, "newer"));
}

static void
test_txn_crud(void **state)
{
	struct fx *f = *state;
	struct store_txn t, got;
	uint8_t other[32];

	fx_open(f);
	make_txn(&t, "abc", 3);
	assert_int_equal(store_txn_insert(f->s, &t), 0);
	assert_true(t.id > 0);

	assert_int_equal(store_txn_find(f->s, "ios", "abc", t.signer_key_sha256, &got), 0);
	assert_int_equal(got.id, t.id);
	assert_string_equal(got.subject, "CN=device-abc");
	assert_string_equal(got.peer, "192.0.2.7");
	assert_int_equal(got.state, TXN_RECEIVED);
	assert_int_equal(got.msg_type, 19);
	assert_int_equal(got.created, 1700000000);
	assert_memory_equal(got.signer_key_sha256, t.signer_key_sha256, 32);
	assert_int_equal(got.csr.sealed_len, sizeof(csr_bytes));
	assert_memory_equal(got.csr.sealed, csr_bytes, sizeof(csr_bytes));
	store_txn_clear(&got);
	assert_null(got.csr.sealed);

	t.state = TXN_BACKEND_PENDING;
	snprintf(t.backend_handle, sizeof(t.backend_handle), "order/42");
	snprintf(t.reason, sizeof(t.reason), "waiting");
	t.updated = 1700000100;
	assert_int_equal(store_txn_update(f->s, &t), 0);
	assert_int_equal(store_txn_get(f->s, t.id, &got), 0);
	assert_int_equal(got.state, TXN_BACKEND_PENDING);
	assert_string_equal(got.backend_handle, "order/42");
	assert_string_equal(got.reason, "waiting");
	assert_int_equal(got.updated, 1700000100);
	assert_int_equal(got.created, 1700000000);
	store_txn_clear(&got);

	memset(other, 9, sizeof(other));
	assert_int_equal(store_txn_find(f->s, "ios", "abc", other, &got), -SGW_ENOTFOUND);
	assert_int_equal(store_txn_find(f->s, "android", "abc", t.signer_key_sha256, &got),
			 -SGW_ENOTFOUND);
	assert_int_equal(store_txn_get(f->s, t.id + 1000, &got), -SGW_ENOTFOUND);
	t.id += 1000;
	assert_int_equal(store_txn_update(f->s, &t), -SGW_ENOTFOUND);
	t.state = TXN_STATE_MAX;
	assert_int_equal(store_txn_update(f->s, &t), -SGW_EINVAL);
}

static void
test_txn_bounds(void **state)
{
	struct fx *f = *state;
	struct store_txn t, got;

	fx_open(f);
	make_txn(&t, "x", 4);
	memset(t.profile, 'p', sizeof(t.profile)); /* no NUL: bound by the field */
	memset(t.transaction_id, 'T', sizeof(t.transaction_id));
	assert_int_equal(store_txn_insert(f->s, &t), 0);
	assert_int_equal(store_txn_get(f->s, t.id, &got), 0);
	assert_int_equal(strlen(got.profile), sizeof(got.profile) - 1);
	assert_int_equal(strlen(got.transaction_id), sizeof(got.transaction_id) - 1);
	store_txn_clear(&got);
	/* a lookup with an over-long key truncates the same way */
	{
		char profile[100], tid[200];

		memset(profile, 'p', sizeof(profile) - 1);
		profile[sizeof(profile) - 1] = '\0';
		memset(tid, 'T', sizeof(tid) - 1);
		tid[sizeof(tid) - 1] = '\0';
		assert_int_equal(store_txn_find(f->s, profile, tid, t.signer_key_sha256, &got), 0);
		assert_int_equal(got.id, t.id);
		store_txn_clear(&got);
	}

	make_txn(&t, "big", 4);
	t.csr.sealed_len = 1024 * 1024;
	assert_int_equal(store_txn_insert(f->s, &t), -SGW_EINVAL);
	t.csr.sealed = NULL;
	t.csr.sealed_len = 0;
	assert_int_equal(store_txn_insert(f->s, &t), 0);
	assert_int_equal(store_txn_get(f->s, t.id, &got), 0);
	assert_null(got.csr.sealed);
	assert_int_equal(got.csr.sealed_len, 0);
}

static void
test_txn_unique(void **state)
{
	struct fx *f = *state;
	struct store_txn t, t2;

	fx_open(f);
	make_txn(&t, "dup", 5);
	assert_int_equal(store_txn_insert(f->s, &t), 0);
	make_txn(&t2, "dup", 5);
	assert_int_equal(store_txn_insert(f->s, &t2), -SGW_EEXIST);
	assert_int_equal(t2.id, 0);
	make_txn(&t2, "dup", 6); /* another signer key: another transaction */
	assert_int_equal(store_txn_insert(f->s, &t2), 0);
	assert_true(t2.id != t.id);
	assert_int_equal(db_int(f, "SELECT count(*) FROM transactions"), 2);
}

static void
test_txn_issue(void **state)
{
	struct fx *f = *state;
	struct store_txn a, b, got;
	struct store_cert c, gc;
	int64_t n;

	fx_open(f);
	make_txn(&a, "a", 7);
	make_txn(&b, "b", 8);
	a.state = b.state = TXN_SUBMITTED;
	assert_int_equal(store_txn_insert(f->s, &a), 0);
	assert_int_equal(store_txn_insert(f->s, &b), 0);
	make_cert(&c, "1a2b");
	a.updated = 1700000200;
	assert_int_equal(store_txn_issue(f->s, &a, &c), 0);
	assert_int_equal(a.state, TXN_ISSUED);
	assert_string_equal(a.cert_serial, "1a2b");
	assert_int_equal(store_txn_get(f->s, a.id, &got), 0);
	assert_int_equal(got.state, TXN_ISSUED);
	assert_string_equal(got.cert_serial, "1a2b");
	assert_int_equal(got.updated, 1700000200);
	store_txn_clear(&got);

	assert_int_equal(store_cert_get(f->s, c.issuer, "1a2b", &gc), 0);
	assert_string_equal(gc.subject, "CN=device");
	assert_int_equal(gc.txn_id, a.id);
	assert_int_equal(gc.not_after, 1800000000);
	assert_int_equal(gc.revoked, 0);
	assert_int_equal(gc.der_len, sizeof(der_bytes));
	assert_memory_equal(gc.der, der_bytes, sizeof(der_bytes));
	store_cert_clear(&gc);
	assert_null(gc.der);

	/* same (issuer, serial) for b: nothing changes */
	assert_int_equal(store_txn_issue(f->s, &b, &c), -SGW_EEXIST);
	assert_int_equal(b.state, TXN_SUBMITTED);
	assert_int_equal(store_txn_get(f->s, b.id, &got), 0);
	assert_int_equal(got.state, TXN_SUBMITTED);
	assert_string_equal(got.cert_serial, "");
	store_txn_clear(&got);
	assert_int_equal(store_cert_count(f->s, &n), 0);
	assert_int_equal(n, 1);

	/* unknown transaction: no certificate row is left behind */
	make_cert(&c, "ff");
	b.id = 999999;
	assert_int_equal(store_txn_issue(f->s, &b, &c), -SGW_ENOTFOUND);
	assert_int_equal(store_cert_get(f->s, c.issuer, "ff", &gc), -SGW_ENOTFOUND);
	assert_int_equal(store_cert_count(f->s, &n), 0);
	assert_int_equal(n, 1);
	/* the store still works after the rollbacks */
	b.id = a.id + 1;
	assert_int_equal(store_txn_issue(f->s, &b, &c), 0);
	assert_int_equal(store_cert_count(f->s, &n), 0);
	assert_int_equal(n, 2);
}

static void
test_cert_get(void **state)
{
	struct fx *f = *state;
	struct store_txn t;
	struct store_cert c, gc;
	int64_t n = -1;

	fx_open(f);
	assert_int_equal(store_cert_count(f->s, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_cert_get(f->s, "CN=Test CA,O=Example", "01", &gc), -SGW_ENOTFOUND);
	make_txn(&t, "c", 9);
	assert_int_equal(store_txn_insert(f->s, &t), 0);
	make_cert(&c, "01");
	c.der_len = 1024 * 1024;
	assert_int_equal(store_txn_issue(f->s, &t, &c), -SGW_EINVAL);
	c.der_len = sizeof(der_bytes);
	assert_int_equal(store_txn_issue(f->s, &t, &c), 0);
	assert_int_equal(store_cert_get(f->s, "CN=Other CA", "01", &gc), -SGW_ENOTFOUND);
	assert_int_equal(store_cert_get(f->s, "CN=Test CA,O=Example", "01", &gc), 0);
	assert_string_equal(gc.serial, "01");
	store_cert_clear(&gc);
}

/* Superseded: a newer certificate of the issuer, on the profile, for a
 * request signed by the key (store.h cert_superseded), found through the
 * transactions_signer index. */
static void
test_cert_superseded(void **state)
{
	struct fx *f = *state;
	static const char issuer[] = "CN=Test CA,O=Example";
	struct store_txn t1, t2, t3;
	struct store_cert c;
	uint8_t k1[32];
	int sup = -1;

	fx_open(f);
	memset(k1, 1, sizeof(k1));
	make_txn(&t1, "first", 1); /* issues 01, signed by key 1 */
	assert_int_equal(store_txn_insert(f->s, &t1), 0);
	make_cert(&c, "01");
	assert_int_equal(store_txn_issue(f->s, &t1, &c), 0);
	assert_int_equal(store_cert_superseded(f->s, issuer, "01", "ios", k1, &sup), 0);
	assert_int_equal(sup, 0);
	/* not stored: any certificate for key 1 on the profile supersedes it */
	assert_int_equal(store_cert_superseded(f->s, issuer, "99", "ios", k1, &sup), 0);
	assert_int_equal(sup, 1);
	make_txn(&t2, "renewal", 1); /* a renewal signed by 01 (key 1) issues 02 */
	assert_int_equal(store_txn_insert(f->s, &t2), 0);
	make_cert(&c, "02");
	assert_int_equal(store_txn_issue(f->s, &t2, &c), 0);
	assert_int_equal(store_cert_superseded(f->s, issuer, "01", "ios", k1, &sup), 0);
	assert_int_equal(sup, 1);
	assert_int_equal(store_cert_superseded(f->s, issuer, "02", "ios", k1, &sup), 0);
	assert_int_equal(sup, 0);
	assert_int_equal(store_cert_superseded(f->s, issuer, "01", "android", k1, &sup), 0);
	assert_int_equal(sup, 0);
	assert_int_equal(store_cert_superseded(f->s, "CN=Other", "01", "ios", k1, &sup), 0);
	assert_int_equal(sup, 0);
	make_txn(&t3, "other-key", 2); /* another key's certificate changes nothing */
	assert_int_equal(store_txn_insert(f->s, &t3), 0);
	make_cert(&c, "03");
	assert_int_equal(store_txn_issue(f->s, &t3, &c), 0);
	assert_int_equal(store_cert_superseded(f->s, issuer, "02", "ios", k1, &sup), 0);
	assert_int_equal(sup, 0);
	assert_true(plan_uses(f,
			      "SELECT 1 FROM transactions t JOIN certificates c ON c.txn_id = t.id"
			      " WHERE t.signer_key_sha256 = x'01' AND t.profile = 'ios'"
			      " AND c.issuer = 'CN=x' AND c.id > coalesce((SELECT id FROM"
			      " certificates WHERE issuer = 'CN=x' AND serial = '01'), 0) LIMIT 1",
			      "transactions_signer"));
}

/* A renewal's claim in txn_accept (store.h struct store_accept): refused
 * (-SGW_EBUSY, nothing recorded) while another request on the profile
 * signed by the same key is in progress, and once the signer is superseded;
 * its own row, other keys and other profiles do not count. */
static void
test_accept_renewal_claim(void **state)
{
	struct fx *f = *state;
	struct store_txn t1, t2, t3;
	struct store_cert c;
	struct store_accept a = {.now = 1700000000};

	fx_open(f);
	make_txn(&t1, "signer", 1); /* issues 01, the certificate renewed below */
	assert_int_equal(store_txn_insert(f->s, &t1), 0);
	make_cert(&c, "01");
	assert_int_equal(store_txn_issue(f->s, &t1, &c), 0);
	a.renews_issuer = c.issuer;
	a.renews_serial = "01";
	make_txn(&t2, "renewal-1", 1);
	t2.state = TXN_AWAITING_APPROVAL;
	assert_int_equal(store_txn_accept(f->s, &t2, &a), 0);
	make_txn(&t3, "renewal-2", 1); /* signed by 01 too, while renewal-1 waits */
	assert_int_equal(store_txn_accept(f->s, &t3, &a), -SGW_EBUSY);
	assert_int_equal(t3.id, 0);
	assert_int_equal(db_int(f, "SELECT count(*) FROM transactions"), 2);
	/* renewal-1 taken over by a new request of its own (its row): not a conflict */
	a.seen_updated = t2.updated;
	assert_int_equal(store_txn_accept(f->s, &t2, &a), 0);
	a.seen_updated = 0;
	make_txn(&t3, "other-profile", 1);
	snprintf(t3.profile, sizeof(t3.profile), "android");
	assert_int_equal(store_txn_accept(f->s, &t3, &a), 0);
	make_txn(&t3, "other-key", 2);
	assert_int_equal(store_txn_accept(f->s, &t3, &a), 0);
	/* renewal-1 issued: 01 is superseded, a later renewal still refused */
	make_cert(&c, "02");
	assert_int_equal(store_txn_issue(f->s, &t2, &c), 0);
	make_txn(&t3, "renewal-3", 1);
	assert_int_equal(store_txn_accept(f->s, &t3, &a), -SGW_EBUSY);
	/* without a claim the same request is recorded (the challenge authorized it) */
	a.renews_serial = NULL;
	assert_int_equal(store_txn_accept(f->s, &t3, &a), 0);
}

/* Supersede (store.h cert_supersede, migration 6): the first successor is
 * recorded, and only for a stored certificate of that issuer. */
static void
test_cert_supersede(void **state)
{
	struct fx *f = *state;
	struct store_txn t;
	struct store_cert c;

	fx_open(f);
	make_txn(&t, "old", 1);
	assert_int_equal(store_txn_insert(f->s, &t), 0);
	make_cert(&c, "01");
	assert_int_equal(store_txn_issue(f->s, &t, &c), 0);
	assert_int_equal(db_int(f, "SELECT count(*) FROM certificates WHERE superseded_by = ''"),
			 1);
	assert_int_equal(store_cert_supersede(f->s, c.issuer, "02", "03"), -SGW_ENOTFOUND);
	assert_int_equal(store_cert_supersede(f->s, "CN=Other", "01", "03"), -SGW_ENOTFOUND);
	assert_int_equal(store_cert_supersede(f->s, c.issuer, "01", ""), -SGW_EINVAL);
	assert_int_equal(store_cert_supersede(f->s, c.issuer, "01", NULL), -SGW_EINVAL);
	assert_int_equal(store_cert_supersede(f->s, c.issuer, "01", "02"), 0);
	assert_int_equal(store_cert_supersede(f->s, c.issuer, "01", "03"), -SGW_ENOTFOUND);
	fx_reopen(f);
	assert_int_equal(
	    db_int(
		f,
		"SELECT count(*) FROM certificates WHERE serial = '01' AND superseded_by = '02'"),
	    1);
}

static void
test_nonce(void **state)
{
	struct fx *f = *state;
	uint8_t n1[16], n2[16];
	int64_t now = 1700000000;
	int i;

	fx_open(f);
	memset(n1, 0x11, sizeof(n1));
	memset(n2, 0x22, sizeof(n2));
	assert_int_equal(store_nonce_check(f->s, n1, sizeof(n1), now, 300), 0);
	assert_int_equal(store_nonce_check(f->s, n1, sizeof(n1), now + 1, 300), -SGW_EEXIST);
	assert_int_equal(store_nonce_check(f->s, n1, sizeof(n1), now + 299, 300), -SGW_EEXIST);
	assert_int_equal(store_nonce_check(f->s, n2, sizeof(n2), now + 1, 300), 0);
	/* expired: accepted again and remembered anew */
	assert_int_equal(store_nonce_check(f->s, n1, sizeof(n1), now + 300, 300), 0);
	assert_int_equal(store_nonce_check(f->s, n1, sizeof(n1), now + 301, 300), -SGW_EEXIST);
	assert_int_equal(store_nonce_check(f->s, n1, 8, now + 301, 300), 0); /* prefix differs */

	assert_int_equal(store_nonce_check(f->s, NULL, 16, now, 300), -SGW_EINVAL);
	assert_int_equal(store_nonce_check(f->s, n1, 0, now, 300), -SGW_EINVAL);
	assert_int_equal(store_nonce_check(f->s, n1, 4096, now, 300), -SGW_EINVAL);
	assert_int_equal(store_nonce_check(f->s, n1, sizeof(n1), now, 0), -SGW_EINVAL);

	/* the sweep removes expired rows: an hour later only the new one is left */
	for (i = 0; i < 50; i++) {
		n2[0] = (uint8_t)i;
		assert_int_equal(store_nonce_check(f->s, n2, sizeof(n2), now + 400, 10), 0);
	}
	n2[1] = 0xff;
	assert_int_equal(store_nonce_check(f->s, n2, sizeof(n2), now + 4000, 10), 0);
	assert_int_equal(db_int(f, "SELECT count(*) FROM nonces"), 1);
}

static void
test_cert_revoke(void **state)
{
	struct fx *f = *state;
	struct store_txn t;
	struct store_cert c, got;

	fx_open(f);
	make_txn(&t, "rv", 9);
	assert_int_equal(store_txn_insert(f->s, &t), 0);
	make_cert(&c, "0a1b");
	assert_int_equal(store_txn_issue(f->s, &t, &c), 0);
	assert_int_equal(store_cert_revoke(f->s, c.issuer, "ffff", 1, 1700000100), -SGW_ENOTFOUND);
	assert_int_equal(store_cert_revoke(f->s, "CN=Other", "0a1b", 1, 1700000100),
			 -SGW_ENOTFOUND);
	assert_int_equal(store_cert_revoke(f->s, c.issuer, "0a1b", 11, 1700000100), -SGW_EINVAL);
	assert_int_equal(store_cert_revoke(f->s, c.issuer, "0a1b", 1, 1700000100), 0);
	/* a second revocation changes nothing (the first reason and time stay) */
	assert_int_equal(store_cert_revoke(f->s, c.issuer, "0a1b", 4, 1700000200), -SGW_EEXIST);
	fx_reopen(f);
	assert_int_equal(store_cert_get(f->s, c.issuer, "0a1b", &got), 0);
	assert_int_equal(got.revoked, 1);
	assert_int_equal(got.revoked_at, 1700000100);
	assert_int_equal(got.revoke_reason, 1);
	store_cert_clear(&got);

	assert_int_equal(store_cert_find_serial(f->s, "0a1b", &got), 0);
	assert_string_equal(got.issuer, c.issuer);
	assert_int_equal(got.revoked, 1);
	store_cert_clear(&got);
	assert_int_equal(store_cert_find_serial(f->s, "0a1c", &got), -SGW_ENOTFOUND);
	/* the same serial under a second issuer: ambiguous without the issuer */
	make_txn(&t, "rv2", 10);
	assert_int_equal(store_txn_insert(f->s, &t), 0);
	make_cert(&c, "0a1b");
	snprintf(c.issuer, sizeof(c.issuer), "CN=Other CA");
	assert_int_equal(store_txn_issue(f->s, &t, &c), 0);
	assert_int_equal(store_cert_find_serial(f->s, "0a1b", &got), -SGW_EEXIST);
	assert_int_equal(db_int(f, "SELECT count(*) FROM certificates WHERE revoked = 1"), 1);
}

/* The child commits and then dies by SIGKILL without closing anything. */
static void
test_durability_kill9(void **state)
{
	struct fx *f = *state;
	struct store_txn t, got;
	struct store_cert c;
	uint8_t nonce[16];
	int status;
	pid_t pid;

	memset(nonce, 0x5a, sizeof(nonce));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *s = NULL;

		if (store_open(&f->db.cfg, &s, NULL) != 0)
			_exit(2);
		make_txn(&t, "durable", 10);
		make_cert(&c, "d00d");
		if (store_txn_insert(s, &t) != 0 || store_txn_issue(s, &t, &c) != 0 ||
		    store_nonce_check(s, nonce, sizeof(nonce), 1700000000, 600) != 0)
			_exit(3);
		kill(getpid(), SIGKILL);
		_exit(4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);

	fx_open(f);
	memset(t.signer_key_sha256, 10, sizeof(t.signer_key_sha256));
	assert_int_equal(store_txn_find(f->s, "ios", "durable", t.signer_key_sha256, &got), 0);
	assert_int_equal(got.state, TXN_ISSUED);
	assert_string_equal(got.cert_serial, "d00d");
	store_txn_clear(&got);
	make_cert(&c, "d00d");
	assert_int_equal(store_cert_get(f->s, c.issuer, "d00d", &c), 0);
	store_cert_clear(&c);
	assert_int_equal(store_nonce_check(f->s, nonce, sizeof(nonce), 1700000001, 600),
			 -SGW_EEXIST);
}

static void
test_bulk_10k(void **state)
{
	struct fx *f = *state;
	struct store_txn t, got;
	char tid[32];
	int i;

	fx_open(f);
	for (i = 0; i < 10000; i++) {
		snprintf(tid, sizeof(tid), "bulk-%d", i);
		make_txn(&t, tid, (uint8_t)i);
		assert_int_equal(store_txn_insert(f->s, &t), 0);
	}
	make_txn(&t, "bulk-9999", (uint8_t)9999);
	assert_int_equal(store_txn_find(f->s, "ios", "bulk-9999", t.signer_key_sha256, &got), 0);
	store_txn_clear(&got);
	assert_int_equal(db_int(f, "SELECT count(*) FROM transactions"), 10000);
}

/* ---- admin queries (store_sqlite_adm.c, migration 2) ---------------------- */

static int
count_each(void *arg, const struct store_txn *t)
{
	int *n = arg;

	assert_non_null(t->csr.sealed);
	(*n)++;
	return *n >= 100 ? -1 : 0;
}

static void
test_txn_list_decide(void **state)
{
	struct fx *f = *state;
	struct store_txn t[3], got;
	struct store_txn_filter flt = {.state = TXN_AWAITING_APPROVAL, .max = 10};
	int64_t n = 0;
	int seen = 0;

	fx_open(f);
	for (int i = 0; i < 3; i++) {
		char tid[16];

		snprintf(tid, sizeof(tid), "p%d", i);
		make_txn(&t[i], tid, (uint8_t)(10 + i));
		t[i].state = TXN_AWAITING_APPROVAL;
		assert_int_equal(store_txn_insert(f->s, &t[i]), 0);
	}
	assert_int_equal(store_txn_count(f->s, TXN_AWAITING_APPROVAL, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(store_txn_list(f->s, &flt, count_each, &seen), 0);
	assert_int_equal(seen, 3);

	/* approve one: the state changes and an approval row names the admin */
	t[0].csr.sealed = NULL;
	t[0].csr.sealed_len = 0;
	t[0].state = TXN_SUBMITTED;
	assert_int_equal(store_txn_decide(f->s, &t[0], "token:alice"), 0);
	assert_int_equal(db_int(f, "SELECT count(*) FROM approvals WHERE admin = 'token:alice'"),
			 1);
	/* a second decision on the same transaction changes nothing */
	t[0].state = TXN_REJECTED;
	assert_int_equal(store_txn_decide(f->s, &t[0], "token:bob"), -SGW_ENOTFOUND);
	assert_int_equal(store_txn_get(f->s, t[0].id, &got), 0);
	assert_int_equal(got.state, TXN_SUBMITTED);
	store_txn_clear(&got);

	/* approved + SUBMITTED: what a restart resubmits */
	seen = 0;
	flt = (struct store_txn_filter){.state = TXN_SUBMITTED, .approved = 1, .max = 10};
	assert_int_equal(store_txn_list(f->s, &flt, count_each, &seen), 0);
	assert_int_equal(seen, 1);
	/* survives a reopen (kill -9 is covered by the durability test) */
	fx_reopen(f);
	assert_int_equal(store_txn_count(f->s, TXN_AWAITING_APPROVAL, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_txn_decide(f->s, &t[0], "x"), -SGW_ENOTFOUND);
}

static void
test_otp(void **state)
{
	struct fx *f = *state;
	struct store_otp o = {0};
	char subj[256];
	int64_t n = 0;

	fx_open(f);
	snprintf(o.profile, sizeof(o.profile), "ios");
	memset(o.sha256, 0xab, sizeof(o.sha256));
	snprintf(o.subject, sizeof(o.subject), "device-1");
	o.created = 1000;
	o.expires = 2000;
	assert_int_equal(store_otp_put(f->s, &o), 0);
	assert_int_equal(store_otp_put(f->s, &o), -SGW_EEXIST);
	assert_int_equal(store_otp_count(f->s, "ios", 1500, &n), 0);
	assert_int_equal(n, 1);
	/* wrong profile, expired: no */
	assert_int_equal(store_otp_consume(f->s, "mac", o.sha256, 1500, subj, sizeof(subj)),
			 -SGW_ENOTFOUND);
	assert_int_equal(store_otp_consume(f->s, "ios", o.sha256, 2000, subj, sizeof(subj)),
			 -SGW_ENOTFOUND);
	/* once */
	assert_int_equal(store_otp_consume(f->s, "ios", o.sha256, 1500, subj, sizeof(subj)), 0);
	assert_string_equal(subj, "device-1");
	assert_int_equal(store_otp_consume(f->s, "ios", o.sha256, 1501, subj, sizeof(subj)),
			 -SGW_ENOTFOUND);
	assert_int_equal(store_otp_count(f->s, "ios", 1500, &n), 0);
	assert_int_equal(n, 0);
	/* expired ones are swept when new ones are issued */
	memset(o.sha256, 0xcd, sizeof(o.sha256));
	o.created = 3000;
	o.expires = 4000;
	assert_int_equal(store_otp_put(f->s, &o), 0);
	assert_int_equal(db_int(f, "SELECT count(*) FROM otps"), 1);
}

static int
cert_each(void *arg, const struct store_cert *c)
{
	int *n = arg;

	assert_non_null(c->der);
	(*n)++;
	return 0;
}

/* store_cert_search: the rows found; *next as it answered */
static int
search(struct fx *f, const char *subject, const char *serial, size_t max, size_t window,
       int64_t before, int64_t *next)
{
	struct store_cert_filter q = {
	    .subject = subject, .serial = serial, .before = before, .window = window, .max = max};
	int n = 0;

	assert_int_equal(store_cert_search(f->s, &q, cert_each, &n, next), 0);
	return n;
}

/* txn_accept: the one-time challenge and the request in one commit.  A
 * challenge used meanwhile leaves no row; a known row taken over by a new
 * request gets every request column, unless it changed since it was read. */
static void
test_txn_accept(void **state)
{
	struct fx *f = *state;
	struct store_otp o = {0};
	struct store_txn t, t2, got;
	struct store_accept a = {.otp_profile = "ios", .now = 1500};
	char subj[256];

	fx_open(f);
	snprintf(o.profile, sizeof(o.profile), "ios");
	memset(o.sha256, 0x5a, sizeof(o.sha256));
	o.created = 1000;
	o.expires = 2000;
	assert_int_equal(store_otp_put(f->s, &o), 0);
	a.otp_sha256 = o.sha256;
	assert_int_equal(store_otp_peek(f->s, "ios", o.sha256, 1500, subj, sizeof(subj)), 0);
	make_txn(&t, "acc-1", 1);
	assert_int_equal(store_txn_accept(f->s, &t, &a), 0);
	assert_true(t.id > 0);
	/* used: a second request with it loses, and nothing of it is stored */
	assert_int_equal(store_otp_peek(f->s, "ios", o.sha256, 1500, subj, sizeof(subj)),
			 -SGW_ENOTFOUND);
	make_txn(&t2, "acc-2", 2);
	assert_int_equal(store_txn_accept(f->s, &t2, &a), -SGW_EDENIED);
	assert_int_equal(store_txn_find(f->s, "ios", "acc-2", t2.signer_key_sha256, &got),
			 -SGW_ENOTFOUND);
	/* a known row for a new request: only as it was read */
	a.otp_sha256 = NULL;
	make_txn(&t2, "acc-1", 1);
	t2.id = t.id;
	snprintf(t2.subject, sizeof(t2.subject), "CN=new");
	t2.csr.hashed = 1;
	memset(t2.csr.sha256, 0x77, sizeof(t2.csr.sha256));
	t2.created = t2.updated = 1700000100;
	a.seen_updated = 1699999999;
	assert_int_equal(store_txn_accept(f->s, &t2, &a), -SGW_EEXIST);
	a.seen_updated = t.updated;
	assert_int_equal(store_txn_accept(f->s, &t2, &a), 0);
	assert_int_equal(store_txn_get(f->s, t.id, &got), 0);
	assert_string_equal(got.subject, "CN=new");
	assert_int_equal(got.created, 1700000100);
	assert_true(got.csr.hashed && got.csr.sha256[0] == 0x77);
	assert_non_null(got.csr.sealed);
	store_txn_clear(&got);
	/* final: the sealed CSR is dropped, the hash stays */
	t2.state = TXN_REJECTED;
	assert_int_equal(store_txn_update(f->s, &t2), 0);
	assert_int_equal(store_txn_get(f->s, t.id, &got), 0);
	assert_null(got.csr.sealed);
	assert_true(got.csr.hashed);
	store_txn_clear(&got);
}

static int
legacy_seal(void *arg, struct store_txn *t, const uint8_t *csr, size_t len)
{
	(*(int *)arg)++;
	t->csr.hashed = 1;
	t->csr.sha256[0] = (uint8_t)len;
	if (t->state == TXN_ISSUED)
		return -SGW_EINVAL; /* nothing kept sealed */
	if ((t->csr.sealed = malloc(len)) == NULL)
		return -SGW_ENOMEM;
	for (size_t i = 0; i < len; i++)
		t->csr.sealed[i] = csr[i] ^ 0xff;
	t->csr.sealed_len = len;
	return 0;
}

/* The CSRs an older version stored in clear: through the callback once,
 * none left in the file or its WAL. */
static void
test_legacy_csr(void **state)
{
	struct fx *f = *state;
	struct sgw_err err = {{0}};
	struct store_txn t[2], got;
	sqlite3 *db = NULL;
	char wal[160];
	int n = 0;

	fx_open(f);
	assert_int_equal(store_txn_legacy_csr(f->s, legacy_seal, &n, &err), 0); /* none yet */
	make_txn(&t[0], "leg-1", 1);
	make_txn(&t[1], "leg-2", 2);
	t[1].state = TXN_ISSUED;
	assert_int_equal(store_txn_insert(f->s, &t[0]), 0);
	assert_int_equal(store_txn_insert(f->s, &t[1]), 0);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(sqlite3_open(f->db.path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "UPDATE transactions SET csr = x'5345435245542d4348414c',"
				      " csr_sealed = NULL; UPDATE csr_legacy SET pending = 1;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	fx_open(f);
	assert_int_equal(store_txn_legacy_csr(f->s, legacy_seal, &n, &err), 2);
	assert_int_equal(n, 2);
	assert_int_equal(store_txn_legacy_csr(f->s, legacy_seal, &n, &err), 0); /* once */
	assert_int_equal(store_txn_get(f->s, t[0].id, &got), 0);
	assert_int_equal(got.csr.sealed_len, 11);
	assert_int_equal(got.csr.sealed[0], 'S' ^ 0xff);
	store_txn_clear(&got);
	assert_int_equal(store_txn_get(f->s, t[1].id, &got), 0);
	assert_null(got.csr.sealed);
	assert_true(got.csr.hashed && got.csr.sha256[0] == 11);
	assert_int_equal(db_int(f, "SELECT count(*) FROM transactions WHERE csr IS NOT NULL"), 0);
	snprintf(wal, sizeof(wal), "%s-wal", f->db.path);
	assert_false(file_has(f->db.path, "SECRET-CHAL"));
	assert_false(file_has(wal, "SECRET-CHAL"));
}

static void
test_cert_search(void **state)
{
	struct fx *f = *state;
	struct store_txn t;
	struct store_cert c;
	struct store_stats st = {0};
	int64_t next = -1;

	fx_open(f);
	for (int i = 0; i < 3; i++) {
		char tid[16], serial[16];

		snprintf(tid, sizeof(tid), "c%d", i);
		snprintf(serial, sizeof(serial), "a%d", i);
		make_txn(&t, tid, (uint8_t)(40 + i));
		assert_int_equal(store_txn_insert(f->s, &t), 0);
		make_cert(&c, serial);
		snprintf(c.subject, sizeof(c.subject), "CN=Host-%d,O=Example", i);
		assert_int_equal(store_txn_issue(f->s, &t, &c), 0);
	}
	assert_int_equal(search(f, "", "", 10, 0, 0, &next), 3);
	assert_int_equal(next, 0);
	assert_int_equal(search(f, "host-1", "", 10, 0, 0, &next), 1);
	assert_int_equal(search(f, "", "a2", 10, 0, 0, &next), 1);
	/* serial and subject together: both must match */
	assert_int_equal(search(f, "host-2", "a2", 10, 0, 0, &next), 1);
	assert_int_equal(search(f, "host-1", "a2", 10, 0, 0, &next), 0);
	assert_int_equal(search(f, "", "a9", 10, 0, 0, &next), 0);
	assert_int_equal(search(f, "%", "", 10, 0, 0, &next), 0);
	/* a full page continues below its last row */
	assert_int_equal(search(f, "", "", 2, 0, 0, &next), 2);
	assert_int_equal(next, 2);
	assert_int_equal(search(f, "", "", 2, 0, next, &next), 1);
	assert_int_equal(next, 0);
	/* the window bounds what one call reads: the oldest match is found
	 * only by following next */
	assert_int_equal(search(f, "host-0", "", 10, 1, 0, &next), 0);
	assert_int_equal(next, 3);
	assert_int_equal(search(f, "host-0", "", 10, 1, next, &next), 0);
	assert_int_equal(next, 2);
	assert_int_equal(search(f, "host-0", "", 10, 1, next, &next), 1);
	assert_int_equal(next, 0);
	assert_int_equal(search(f, "", "", 10, 2, 0, &next), 2);
	assert_int_equal(next, 2);
	assert_int_equal(store_stats(f->s, &st), 0);
	assert_true(st.statements > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_state_names),
	    cmocka_unit_test_setup_teardown(test_open_creates_schema, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_schema_too_new, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migration_3, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_txn_crud, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_txn_bounds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_txn_unique, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_txn_issue, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cert_get, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nonce, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cert_superseded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cert_supersede, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cert_revoke, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_durability_kill9, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bulk_10k, setup_shm, teardown),
	    cmocka_unit_test_setup_teardown(test_txn_list_decide, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_otp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_txn_accept, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_accept_renewal_claim, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_legacy_csr, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cert_search, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
