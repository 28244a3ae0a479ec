/* tests for gateway/store/store_sqlite_row.c: a row decodes only when every
 * column has its type and fits its field, whether the row comes from a
 * SELECT of literals or from a store whose file was changed behind it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"
#include "store_fixture.h"
#include "store_sqlite_row.h"

/* A good transactions row, one SQL expression per column (SQ_TXN_COLS). */
static const char *const txn_good[SQ_TXN_NCOLS] = {
    "7",	  "'ios'",	 "'tid-1'",	 "zeroblob(32)", "3",	      "19",
    "'CN=a'",	  "'192.0.2.1'", "'why'",	 "'1a2b'",	 "'order/1'", "x'3082'",
    "1700000000", "1700000001",	 "zeroblob(32)", "'{}'",	 "'gw-a'",
};

/* A good certificates row (SQ_CERT_COLS), then its id. */
static const char *const cert_good[SQ_CERT_NCOLS + 1] = {
    "'1a2b'", "'CN=CA'", "'CN=dev'",   "1700000000", "1800000000", "x'308201'",
    "7",      "1",	 "1700000500", "4",	     "'2c3d'",	   "42",
};

/* Per column: expressions of another type or size (each makes the row corrupt). */
struct bad {
	int col;
	const char *expr;
};

static const struct bad txn_bad[] = {
    {0, "'7'"},
    {16, "NULL"},
    {16, "1"},
    {16, "printf('%064d', 0)"},
    {0, "7.5"},
    {0, "NULL"},
    {0, "x'07'"},
    {1, "5"},
    {1, "NULL"},
    {1, "x'696f73'"},
    {2, "NULL"},
    {3, "NULL"},
    {3, "zeroblob(31)"},
    {3, "zeroblob(33)"},
    {3, "printf('%032d', 0)"},
    {4, "-1"},
    {4, "9"},
    {4, "'3'"},
    {4, "3.0"},
    {5, "2147483648"},
    {5, "'19'"},
    {6, "x'41'"},
    {7, "NULL"},
    {8, "1"},
    {9, "x'1a2b'"},
    {10, "NULL"},
    {11, "5"},
    {11, "'csr'"},
    {12, "NULL"},
    {12, "'now'"},
    {13, "1.0"},
    {11, "zeroblob(262145)"}, /* SQ_MAX_BLOB + 1 */
    {14, "zeroblob(31)"},
    {14, "'hash'"},
    {15, "NULL"},
    {15, "x'7b7d'"},
};

static const struct bad cert_bad[] = {
    {0, "NULL"}, {0, "x'1a2b'"}, {1, "1"},    {2, "NULL"},     {3, "'x'"},
    {4, "NULL"}, {5, "NULL"},	 {5, "x''"},  {5, "'der'"},    {6, "'7'"},
    {7, "2"},	 {7, "-1"},	 {7, "NULL"}, {8, "0.5"},      {9, "4294967296"},
    {9, "'4'"},	 {10, "NULL"},	 {10, "7"},   {10, "x'2c3d'"}, {5, "zeroblob(262145)"},
};

struct fx {
	sqlite3 *db;
	sqlite3_stmt *st;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(sqlite3_open(":memory:", &f->db), SQLITE_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	sqlite3_finalize(f->st);
	sqlite3_close(f->db);
	free(f);
	return 0;
}

/* SELECT the n expressions of cols, expression `col` replaced by `expr`
 * (col -1: none), and step to the row. */
static sqlite3_stmt *
row(struct fx *f, const char *const *cols, int n, int col, const char *expr)
{
	char sql[8192];
	size_t len = 0;

	len += (size_t)snprintf(sql, sizeof(sql), "SELECT ");
	for (int i = 0; i < n; i++) {
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s%s", i > 0 ? ", " : "",
					i == col ? expr : cols[i]);
		assert_true(len < sizeof(sql));
	}
	sqlite3_finalize(f->st);
	f->st = NULL;
	if (sqlite3_prepare_v2(f->db, sql, -1, &f->st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(f->db));
	assert_int_equal(sqlite3_step(f->st), SQLITE_ROW);
	return f->st;
}

/* A text expression of n characters. */
static const char *
text_of(char *buf, size_t cap, size_t n)
{
	assert_true(n + 3 <= cap);
	buf[0] = '\'';
	memset(buf + 1, 'p', n);
	buf[n + 1] = '\'';
	buf[n + 2] = '\0';
	return buf;
}

static void
test_txn_good(void **state)
{
	struct fx *f = *state;
	struct store_txn t;
	uint8_t zero[32] = {0};

	assert_int_equal(sq_row_txn(row(f, txn_good, SQ_TXN_NCOLS, -1, NULL), &t), 0);
	assert_int_equal(t.id, 7);
	assert_string_equal(t.profile, "ios");
	assert_string_equal(t.transaction_id, "tid-1");
	assert_memory_equal(t.signer_key_sha256, zero, 32);
	assert_int_equal(t.state, TXN_SUBMITTED);
	assert_int_equal(t.msg_type, 19);
	assert_string_equal(t.subject, "CN=a");
	assert_string_equal(t.peer, "192.0.2.1");
	assert_string_equal(t.reason, "why");
	assert_string_equal(t.cert_serial, "1a2b");
	assert_string_equal(t.backend_handle, "order/1");
	assert_int_equal(t.csr.sealed_len, 2);
	assert_memory_equal(t.csr.sealed, "\x30\x82", 2);
	assert_int_equal(t.created, 1700000000);
	assert_int_equal(t.updated, 1700000001);
	assert_int_equal(t.csr.hashed, 1);
	assert_string_equal(t.csr.info, "{}");
	assert_string_equal(t.instance, "gw-a");
	store_txn_clear(&t);

	/* no CSR hash (a row that never had a CSR) */
	assert_int_equal(sq_row_txn(row(f, txn_good, SQ_TXN_NCOLS, 14, "NULL"), &t), 0);
	assert_int_equal(t.csr.hashed, 0);
	store_txn_clear(&t);

	/* no CSR: NULL or an empty blob */
	assert_int_equal(sq_row_txn(row(f, txn_good, SQ_TXN_NCOLS, 11, "NULL"), &t), 0);
	assert_null(t.csr.sealed);
	assert_int_equal(t.csr.sealed_len, 0);
	assert_int_equal(sq_row_txn(row(f, txn_good, SQ_TXN_NCOLS, 11, "x''"), &t), 0);
	assert_null(t.csr.sealed);
	/* the largest CSR */
	assert_int_equal(sq_row_txn(row(f, txn_good, SQ_TXN_NCOLS, 11, "zeroblob(262144)"), &t), 0);
	assert_int_equal(t.csr.sealed_len, SQ_MAX_BLOB);
	store_txn_clear(&t);
}

static void
test_txn_bad(void **state)
{
	struct fx *f = *state;
	struct store_txn t;
	char big[600];

	for (size_t i = 0; i < sizeof(txn_bad) / sizeof(txn_bad[0]); i++) {
		memset(&t, 0xa5, sizeof(t));
		if (sq_row_txn(row(f, txn_good, SQ_TXN_NCOLS, txn_bad[i].col, txn_bad[i].expr),
			       &t) != -SGW_EIO)
			fail_msg("column %d = %s decoded", txn_bad[i].col, txn_bad[i].expr);
		assert_int_equal(t.id, (int64_t)0xa5a5a5a5a5a5a5a5); /* ret left alone */
	}
	/* a text fills its field with the NUL, no more */
	assert_int_equal(
	    sq_row_txn(row(f, txn_good, SQ_TXN_NCOLS, 1, text_of(big, sizeof(big), 63)), &t), 0);
	assert_int_equal(strlen(t.profile), 63);
	store_txn_clear(&t);
	assert_int_equal(
	    sq_row_txn(row(f, txn_good, SQ_TXN_NCOLS, 1, text_of(big, sizeof(big), 64)), &t),
	    -SGW_EIO);
	assert_int_equal(
	    sq_row_txn(row(f, txn_good, SQ_TXN_NCOLS, 6, text_of(big, sizeof(big), 512)), &t),
	    -SGW_EIO);
	/* one column too few or too many */
	assert_int_equal(sq_row_txn(row(f, txn_good, SQ_TXN_NCOLS - 1, -1, NULL), &t), -SGW_EIO);
	assert_int_equal(sq_row_txn(row(f, cert_good, SQ_CERT_NCOLS + 1, -1, NULL), &t), -SGW_EIO);
}

static void
test_cert_good(void **state)
{
	struct fx *f = *state;
	struct store_cert c;
	int64_t id = 0;

	assert_int_equal(sq_row_cert(row(f, cert_good, SQ_CERT_NCOLS, -1, NULL), &c), 0);
	assert_string_equal(c.serial, "1a2b");
	assert_string_equal(c.issuer, "CN=CA");
	assert_string_equal(c.subject, "CN=dev");
	assert_int_equal(c.not_before, 1700000000);
	assert_int_equal(c.not_after, 1800000000);
	assert_int_equal(c.der_len, 3);
	assert_memory_equal(c.der, "\x30\x82\x01", 3);
	assert_int_equal(c.txn_id, 7);
	assert_int_equal(c.revoked, 1);
	assert_int_equal(c.revoked_at, 1700000500);
	assert_int_equal(c.revoke_reason, 4);
	assert_string_equal(c.superseded_by, "2c3d");
	store_cert_clear(&c);
	/* no transaction */
	assert_int_equal(sq_row_cert(row(f, cert_good, SQ_CERT_NCOLS, 6, "NULL"), &c), 0);
	assert_int_equal(c.txn_id, 0);
	store_cert_clear(&c);
	/* with the row's id after the columns */
	assert_int_equal(sq_row_cert_at(row(f, cert_good, SQ_CERT_NCOLS + 1, -1, NULL), &c, &id),
			 0);
	assert_int_equal(id, 42);
	assert_string_equal(c.serial, "1a2b");
	store_cert_clear(&c);
}

static void
test_cert_bad(void **state)
{
	struct fx *f = *state;
	struct store_cert c;
	int64_t id = -1;

	for (size_t i = 0; i < sizeof(cert_bad) / sizeof(cert_bad[0]); i++) {
		memset(&c, 0xa5, sizeof(c));
		if (sq_row_cert(row(f, cert_good, SQ_CERT_NCOLS, cert_bad[i].col, cert_bad[i].expr),
				&c) != -SGW_EIO)
			fail_msg("column %d = %s decoded", cert_bad[i].col, cert_bad[i].expr);
		assert_int_equal(c.not_before, (int64_t)0xa5a5a5a5a5a5a5a5);
		if (sq_row_cert_at(
			row(f, cert_good, SQ_CERT_NCOLS + 1, cert_bad[i].col, cert_bad[i].expr), &c,
			&id) != -SGW_EIO)
			fail_msg("column %d = %s decoded with its id", cert_bad[i].col,
				 cert_bad[i].expr);
		assert_int_equal(id, -1);
	}
	assert_int_equal(sq_row_cert(row(f, cert_good, SQ_CERT_NCOLS + 1, -1, NULL), &c), -SGW_EIO);
	assert_int_equal(sq_row_cert_at(row(f, cert_good, SQ_CERT_NCOLS, -1, NULL), &c, &id),
			 -SGW_EIO);
	assert_int_equal(
	    sq_row_cert_at(row(f, cert_good, SQ_CERT_NCOLS + 1, SQ_CERT_NCOLS, "'42'"), &c, &id),
	    -SGW_EIO);
	assert_int_equal(id, -1);
}

/* ---- through the store: a file changed behind its back -------------------- */

static int
each_txn(void *arg, const struct store_txn *t)
{
	(void)t;
	++*(int *)arg;
	return 0;
}

static int
each_cert(void *arg, const struct store_cert *c)
{
	(void)c;
	++*(int *)arg;
	return 0;
}

static void
corrupt(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void
test_store_corrupt(void **state)
{
	struct store_fixture db;
	struct store_txn_filter tf = {.state = -1, .max = 10};
	struct store_cert_filter cf = {.max = 10};
	struct sgw_err err = {{0}};
	struct store_txn t = {.state = TXN_SUBMITTED, .created = 1, .updated = 1}, got;
	struct store_cert c = {.der_len = 3}, gc;
	struct store *s = NULL;
	int64_t next = 0;
	int n = 0;

	(void)state;
	store_fixture_init(&db, "/tmp", "row");
	assert_int_equal(store_open(&db.cfg, &s, &err), 0);
	snprintf(t.profile, sizeof(t.profile), "ios");
	snprintf(t.transaction_id, sizeof(t.transaction_id), "tid");
	assert_int_equal(store_txn_insert(s, &t), 0);
	snprintf(c.serial, sizeof(c.serial), "0a");
	snprintf(c.issuer, sizeof(c.issuer), "CN=CA");
	c.der = (uint8_t *)"\x30\x82\x01";
	assert_int_equal(store_txn_issue(s, &t, &c), 0);
	assert_int_equal(store_txn_get(s, t.id, &got), 0);
	store_txn_clear(&got);
	assert_int_equal(store_cert_get(s, "CN=CA", "0a", &gc), 0);
	store_cert_clear(&gc);

	corrupt(db.path, "UPDATE transactions SET created = 'yesterday'");
	assert_int_equal(store_txn_get(s, t.id, &got), -SGW_EIO);
	assert_int_equal(store_txn_find(s, "ios", "tid", t.signer_key_sha256, &got), -SGW_EIO);
	assert_int_equal(store_txn_list(s, &tf, each_txn, &n), -SGW_EIO);
	assert_int_equal(n, 0);
	corrupt(db.path, "UPDATE certificates SET der = 'not a blob'");
	assert_int_equal(store_cert_get(s, "CN=CA", "0a", &gc), -SGW_EIO);
	assert_int_equal(store_cert_find_serial(s, "0a", &gc), -SGW_EIO);
	assert_int_equal(store_cert_search(s, &cf, each_cert, &n, &next), -SGW_EIO);
	cf.serial = "0a";
	assert_int_equal(store_cert_search(s, &cf, each_cert, &n, &next), -SGW_EIO);
	assert_int_equal(n, 0);

	store_close(s);
	store_fixture_remove(&db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_txn_good, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_txn_bad, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cert_good, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cert_bad, setup, teardown),
	    cmocka_unit_test(test_store_corrupt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
