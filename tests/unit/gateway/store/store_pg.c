/* tests for the PostgreSQL store (gateway/store/store_pg*.c) against a real
 * server: store_pg.sh starts PostgreSQL 15 in a temporary directory and runs
 * this binary with SGW_PG_CONNINFO and SGW_PG_PASSWORD_FILE set.  Each test
 * starts from an empty schema (the migrations run at every open). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "store.h"
#include "store_owed_cases.h"

static const uint8_t csr_bytes[] = {0x30, 0x82, 0x01, 0x00, 0xde, 0xad, 0xbe, 0xef};
static const uint8_t der_bytes[] = {0x30, 0x82, 0x02, 0x00, 0x01, 0x00, 0x03};

struct fx {
	struct cfg_store cfg;
	struct store *s;
	PGconn *db; /* the test's own connection, to look behind the store */
};

static PGconn *
db_connect_to(const char *conninfo)
{
	const char *kw[] = {"dbname", "password", NULL};
	const char *val[] = {conninfo, NULL, NULL};
	char pw[128] = "";
	FILE *fp = fopen(getenv("SGW_PG_PASSWORD_FILE"), "r");
	PGconn *c;

	assert_non_null(fp);
	assert_non_null(fgets(pw, sizeof(pw), fp));
	fclose(fp);
	pw[strcspn(pw, "\r\n")] = '\0';
	val[1] = pw;
	c = PQconnectdbParams(kw, val, 1);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connect: %s", PQerrorMessage(c));
	return c;
}

static PGconn *
db_connect(void)
{
	return db_connect_to(getenv("SGW_PG_CONNINFO"));
}

static void
db_exec(struct fx *f, const char *sql)
{
	PGresult *res = PQexec(f->db, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(f->db));
	PQclear(res);
}

static long long
db_int(struct fx *f, const char *sql)
{
	PGresult *res = PQexec(f->db, sql);
	long long v;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		fail_msg("%s: %s", sql, PQerrorMessage(f->db));
	v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return v;
}

static void
fx_open(struct fx *f)
{
	struct sgw_err err = {{0}};
	int r = store_open(&f->cfg, &f->s, &err);

	if (r != 0)
		fail_msg("store_open: %d %s", r, err.msg);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	if (getenv("SGW_PG_CONNINFO") == NULL || getenv("SGW_PG_PASSWORD_FILE") == NULL)
		fail_msg("run through store_pg.sh (SGW_PG_CONNINFO, SGW_PG_PASSWORD_FILE)");
	f->cfg.type = "postgresql";
	f->cfg.conninfo = getenv("SGW_PG_CONNINFO");
	f->cfg.password_file = getenv("SGW_PG_PASSWORD_FILE");
	f->cfg.pool = 4;
	f->cfg.nonce_ttl = 86400;
	f->db = db_connect();
	db_exec(f, "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
	fx_open(f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	PQfinish(f->db);
	free(f);
	return 0;
}

static void
make_txn(struct store_txn *t, const char *tid, uint8_t keybyte)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->profile, sizeof(t->profile), "ios");
	snprintf(t->transaction_id, sizeof(t->transaction_id), "%s", tid);
	memset(t->signer_key_sha256, keybyte, sizeof(t->signer_key_sha256));
	t->state = TXN_SUBMITTED;
	t->msg_type = 19;
	snprintf(t->subject, sizeof(t->subject), "CN=device-%s", tid);
	snprintf(t->peer, sizeof(t->peer), "192.0.2.7");
	snprintf(t->instance, sizeof(t->instance), "gw-a");
	t->created = 1700000000;
	t->updated = 1700000000;
	t->csr.sealed = (uint8_t *)csr_bytes;
	t->csr.sealed_len = sizeof(csr_bytes);
	memset(t->csr.sha256, 0x5a, sizeof(t->csr.sha256));
	t->csr.hashed = 1;
	snprintf(t->csr.info, sizeof(t->csr.info), "{\"key\":\"RSA 2048\"}");
}

static void
make_cert(struct store_cert *c, const char *serial, const char *subject)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->serial, sizeof(c->serial), "%s", serial);
	snprintf(c->issuer, sizeof(c->issuer), "CN=Test CA,O=Example");
	snprintf(c->subject, sizeof(c->subject), "%s", subject);
	c->not_before = 1700000000;
	c->not_after = 1800000000;
	c->der = (uint8_t *)der_bytes;
	c->der_len = sizeof(der_bytes);
}

static void
make_otp(struct store_otp *o, uint8_t b, int64_t expires)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->profile, sizeof(o->profile), "otp");
	memset(o->sha256, b, sizeof(o->sha256));
	snprintf(o->subject, sizeof(o->subject), "printer-7");
	snprintf(o->issued_by, sizeof(o->issued_by), "dev");
	o->created = 1700000000;
	o->expires = expires;
}

/* ---- schema ---------------------------------------------------------------- */

static void
test_migrations_once(void **state)
{
	struct fx *f = *state;

	long long n = db_int(f, "SELECT count(*) FROM schema_version");

	assert_true(n >= 2); /* 1: the tables, 2: the owed notifications, ... */
	store_close(f->s);
	f->s = NULL;
	fx_open(f); /* a second start finds nothing to do */
	assert_int_equal(db_int(f, "SELECT count(*) FROM schema_version"), n);
	assert_int_equal(db_int(f, "SELECT max(version) FROM schema_version"), n);
}

/* ---- transactions ------------------------------------------------------------ */

static void
test_txn_roundtrip(void **state)
{
	struct fx *f = *state;
	struct store_txn t, got, dup;
	uint8_t key[32];

	make_txn(&t, "tid-1", 1);
	assert_int_equal(store_txn_insert(f->s, &t), 0);
	assert_true(t.id > 0);
	memset(key, 1, sizeof(key));
	assert_int_equal(store_txn_find(f->s, "ios", "tid-1", key, &got), 0);
	assert_int_equal(got.id, t.id);
	assert_string_equal(got.subject, "CN=device-tid-1");
	assert_string_equal(got.instance, "gw-a");
	assert_string_equal(got.csr.info, "{\"key\":\"RSA 2048\"}");
	assert_int_equal(got.csr.hashed, 1);
	assert_int_equal(got.csr.sealed_len, sizeof(csr_bytes));
	assert_memory_equal(got.csr.sealed, csr_bytes, sizeof(csr_bytes));
	store_txn_clear(&got);
	memset(key, 2, sizeof(key));
	assert_int_equal(store_txn_find(f->s, "ios", "tid-1", key, &got), -SGW_ENOTFOUND);

	make_txn(&dup, "tid-1", 1);
	assert_int_equal(store_txn_insert(f->s, &dup), -SGW_EEXIST);

	t.state = TXN_FAILED;
	snprintf(t.reason, sizeof(t.reason), "CA said no");
	snprintf(t.instance, sizeof(t.instance), "gw-b");
	t.updated = 1700000100;
	assert_int_equal(store_txn_update(f->s, &t), 0);
	assert_int_equal(store_txn_get(f->s, t.id, &got), 0);
	assert_int_equal(got.state, TXN_FAILED);
	assert_string_equal(got.reason, "CA said no");
	assert_string_equal(got.instance, "gw-b");
	assert_null(got.csr.sealed); /* final: the sealed CSR is dropped */
	store_txn_clear(&got);
	t.id = 999999;
	assert_int_equal(store_txn_update(f->s, &t), -SGW_ENOTFOUND);
}

/* txn_accept consumes the one-time challenge in the same transaction. */
static void
test_accept_consumes_otp(void **state)
{
	struct fx *f = *state;
	struct store_otp o;
	struct store_txn t, t2, got;
	uint8_t h[32], key[32];
	char subject[64];
	struct store_accept a = {.otp_profile = "otp", .otp_sha256 = h, .now = 1700000050};

	make_otp(&o, 0x11, 1700003600);
	assert_int_equal(store_otp_put(f->s, &o), 0);
	memset(h, 0x11, sizeof(h));
	assert_int_equal(store_otp_peek(f->s, "otp", h, 1700000050, subject, sizeof(subject)), 0);
	assert_string_equal(subject, "printer-7");

	make_txn(&t, "acc-1", 3);
	assert_int_equal(store_txn_accept(f->s, &t, &a), 0);
	assert_true(t.id > 0);
	assert_int_equal(store_otp_peek(f->s, "otp", h, 1700000050, subject, sizeof(subject)),
			 -SGW_ENOTFOUND);
	/* a second request with the same challenge: refused, nothing stored */
	make_txn(&t2, "acc-2", 4);
	assert_int_equal(store_txn_accept(f->s, &t2, &a), -SGW_EDENIED);
	memset(key, 4, sizeof(key));
	assert_int_equal(store_txn_find(f->s, "ios", "acc-2", key, &got), -SGW_ENOTFOUND);

	/* a known row given to a new request only as it was read */
	a.otp_sha256 = NULL;
	t.updated = 1700000200;
	a.seen_updated = 1; /* not what the row holds */
	assert_int_equal(store_txn_accept(f->s, &t, &a), -SGW_EEXIST);
	a.seen_updated = 1700000000;
	assert_int_equal(store_txn_accept(f->s, &t, &a), 0);
	assert_int_equal(store_txn_get(f->s, t.id, &got), 0);
	assert_int_equal(got.updated, 1700000200);
	store_txn_clear(&got);

	/* an expired challenge */
	make_otp(&o, 0x12, 1700000010);
	assert_int_equal(store_otp_put(f->s, &o), 0);
	memset(h, 0x12, sizeof(h));
	a.otp_sha256 = h;
	make_txn(&t2, "acc-3", 5);
	assert_int_equal(store_txn_accept(f->s, &t2, &a), -SGW_EDENIED);
	assert_int_equal(db_int(f, "SELECT count(*) FROM transactions"), 1);
}

/* Nothing changes on failure: a taken key or a changed row leaves the
 * challenge usable; a known row given to a new request uses it too. */
static void
test_accept_failure_keeps_otp(void **state)
{
	struct fx *f = *state;
	struct store_otp o;
	struct store_txn t, dup, got;
	uint8_t h[32];
	char subject[64];
	struct store_accept a = {.otp_profile = "otp", .otp_sha256 = h, .now = 1700000050};

	make_txn(&t, "keep-1", 6);
	assert_int_equal(store_txn_insert(f->s, &t), 0);
	make_otp(&o, 0x31, 1700003600);
	assert_int_equal(store_otp_put(f->s, &o), 0);
	memset(h, 0x31, sizeof(h));
	make_txn(&dup, "keep-1", 6); /* the same key: taken */
	assert_int_equal(store_txn_accept(f->s, &dup, &a), -SGW_EEXIST);
	assert_int_equal(store_otp_peek(f->s, "otp", h, 1700000050, subject, sizeof(subject)), 0);

	t.updated = 1700000300;
	a.seen_updated = 5; /* the row changed since it was read */
	assert_int_equal(store_txn_accept(f->s, &t, &a), -SGW_EEXIST);
	assert_int_equal(store_otp_peek(f->s, "otp", h, 1700000050, subject, sizeof(subject)), 0);
	a.seen_updated = 1700000000;
	assert_int_equal(store_txn_accept(f->s, &t, &a), 0);
	assert_int_equal(store_otp_peek(f->s, "otp", h, 1700000050, subject, sizeof(subject)),
			 -SGW_ENOTFOUND);
	assert_int_equal(store_txn_get(f->s, t.id, &got), 0);
	assert_int_equal(got.updated, 1700000300);
	store_txn_clear(&got);
	/* used: the known row is not given to another request */
	t.updated = 1700000400;
	a.seen_updated = 1700000300;
	assert_int_equal(store_txn_accept(f->s, &t, &a), -SGW_EDENIED);
	assert_int_equal(db_int(f, "SELECT updated FROM transactions"), 1700000300);
}

struct race {
	struct store *s;
	int n;
	int ok;
	int denied;
	int other;
	pthread_mutex_t mu;
};

static void *
race_one(void *arg)
{
	struct race *rc = arg;
	struct store_txn t;
	uint8_t h[32];
	char tid[32];
	struct store_accept a = {.otp_profile = "otp", .otp_sha256 = h, .now = 1700000050};
	int r;

	memset(h, 0x21, sizeof(h));
	pthread_mutex_lock(&rc->mu);
	snprintf(tid, sizeof(tid), "race-%d", rc->n++);
	pthread_mutex_unlock(&rc->mu);
	make_txn(&t, tid, (uint8_t)(0x40 + (tid[5] - '0')));
	r = store_txn_accept(rc->s, &t, &a);
	pthread_mutex_lock(&rc->mu);
	if (r == 0)
		rc->ok++;
	else if (r == -SGW_EDENIED)
		rc->denied++;
	else
		rc->other++;
	pthread_mutex_unlock(&rc->mu);
	return NULL;
}

/* Eight threads on a pool of four use one challenge: exactly one wins. */
static void
test_otp_race(void **state)
{
	struct fx *f = *state;
	struct race rc = {.s = f->s};
	struct store_otp o;
	pthread_t th[8];

	pthread_mutex_init(&rc.mu, NULL);
	make_otp(&o, 0x21, 1700003600);
	assert_int_equal(store_otp_put(f->s, &o), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&th[i], NULL, race_one, &rc), 0);
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&rc.mu);
	assert_int_equal(rc.ok, 1);
	assert_int_equal(rc.denied, 7);
	assert_int_equal(rc.other, 0);
	assert_int_equal(db_int(f, "SELECT count(*) FROM transactions"), 1);
}

/* A renewal's claim on its signer (store.h struct store_accept), as the
 * SQLite store's: a second renewal signed by one certificate is refused
 * while the first is in progress, and once it is issued. */
static void
test_accept_renewal_claim(void **state)
{
	struct fx *f = *state;
	struct store_txn t1, t2, t3;
	struct store_cert c;
	struct store_accept a = {.now = 1700000000};

	make_txn(&t1, "signer", 1); /* issues 01, the certificate renewed below */
	assert_int_equal(store_txn_insert(f->s, &t1), 0);
	make_cert(&c, "01", "CN=device-signer");
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
	make_cert(&c, "02", "CN=device-renewal-1");
	assert_int_equal(store_txn_issue(f->s, &t2, &c), 0);
	make_txn(&t3, "renewal-3", 1);
	assert_int_equal(store_txn_accept(f->s, &t3, &a), -SGW_EBUSY);
	/* without a claim the same request is recorded (the challenge authorized it) */
	a.renews_serial = NULL;
	assert_int_equal(store_txn_accept(f->s, &t3, &a), 0);
}

struct renew_race {
	struct store *s;
	const char *issuer;
	int n, ok, busy, other;
	pthread_mutex_t mu;
};

static void *
renew_one(void *arg)
{
	struct renew_race *rc = arg;
	struct store_accept a = {
	    .now = 1700000050, .renews_issuer = rc->issuer, .renews_serial = "01"};
	struct store_txn t;
	char tid[32];
	int r;

	pthread_mutex_lock(&rc->mu);
	snprintf(tid, sizeof(tid), "renew-%d", rc->n++);
	pthread_mutex_unlock(&rc->mu);
	make_txn(&t, tid, 1);
	r = store_txn_accept(rc->s, &t, &a);
	pthread_mutex_lock(&rc->mu);
	if (r == 0)
		rc->ok++;
	else if (r == -SGW_EBUSY)
		rc->busy++;
	else
		rc->other++;
	pthread_mutex_unlock(&rc->mu);
	return NULL;
}

/* Eight renewals signed by one certificate at once, on a pool of four
 * connections: exactly one is recorded (the advisory lock; without it
 * several pass the check before any commits). */
static void
test_renewal_race(void **state)
{
	struct fx *f = *state;
	struct store_txn t;
	struct store_cert c;
	struct renew_race rc = {.s = f->s};
	pthread_t th[8];

	make_txn(&t, "signer", 1);
	assert_int_equal(store_txn_insert(f->s, &t), 0);
	make_cert(&c, "01", "CN=device-signer");
	assert_int_equal(store_txn_issue(f->s, &t, &c), 0);
	rc.issuer = c.issuer;
	pthread_mutex_init(&rc.mu, NULL);
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&th[i], NULL, renew_one, &rc), 0);
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&rc.mu);
	assert_int_equal(rc.ok, 1);
	assert_int_equal(rc.busy, 7);
	assert_int_equal(rc.other, 0);
}

/* ---- certificates ------------------------------------------------------------ */

static void
test_issue_duplicate(void **state)
{
	struct fx *f = *state;
	struct store_txn t1, t2, got;
	struct store_cert c, gc;
	int64_t n = 0;

	make_txn(&t1, "iss-1", 7);
	make_txn(&t2, "iss-2", 8);
	assert_int_equal(store_txn_insert(f->s, &t1), 0);
	assert_int_equal(store_txn_insert(f->s, &t2), 0);
	make_cert(&c, "0a1b", "CN=device-iss-1");
	assert_int_equal(store_txn_issue(f->s, &t1, &c), 0);
	assert_int_equal(t1.state, TXN_ISSUED);
	assert_string_equal(t1.cert_serial, "0a1b");
	assert_int_equal(store_txn_get(f->s, t1.id, &got), 0);
	assert_int_equal(got.state, TXN_ISSUED);
	assert_null(got.csr.sealed);
	store_txn_clear(&got);
	assert_int_equal(store_cert_get(f->s, c.issuer, "0a1b", &gc), 0);
	assert_int_equal(gc.txn_id, t1.id);
	assert_int_equal(gc.der_len, sizeof(der_bytes));
	assert_memory_equal(gc.der, der_bytes, sizeof(der_bytes));
	store_cert_clear(&gc);

	/* the same (issuer, serial) for another transaction: nothing changes */
	assert_int_equal(store_txn_issue(f->s, &t2, &c), -SGW_EEXIST);
	assert_int_equal(t2.state, TXN_SUBMITTED);
	assert_int_equal(store_txn_get(f->s, t2.id, &got), 0);
	assert_int_equal(got.state, TXN_SUBMITTED);
	assert_string_equal(got.cert_serial, "");
	assert_non_null(got.csr.sealed);
	store_txn_clear(&got);
	assert_int_equal(store_cert_count(f->s, &n), 0);
	assert_int_equal(n, 1);

	/* revoke, supersede, find by serial */
	assert_int_equal(store_cert_revoke(f->s, c.issuer, "0a1b", 1, 1700000500), 0);
	assert_int_equal(store_cert_revoke(f->s, c.issuer, "0a1b", 1, 1700000500), -SGW_EEXIST);
	assert_int_equal(store_cert_revoke(f->s, c.issuer, "ffff", 1, 1700000500), -SGW_ENOTFOUND);
	assert_int_equal(store_cert_find_serial(f->s, "0a1b", &gc), 0);
	assert_int_equal(gc.revoked, 1);
	assert_int_equal(gc.revoke_reason, 1);
	store_cert_clear(&gc);
	assert_int_equal(store_cert_supersede(f->s, c.issuer, "0a1b", "0c0d"), 0);
	assert_int_equal(store_cert_supersede(f->s, c.issuer, "0a1b", "0e0f"), -SGW_ENOTFOUND);
}

struct seen {
	int n;
	char last[80];
};

static int
count_cert(void *arg, const struct store_cert *c)
{
	struct seen *s = arg;

	s->n++;
	snprintf(s->last, sizeof(s->last), "%s", c->serial);
	return 0;
}

static void
test_cert_search_window(void **state)
{
	struct fx *f = *state;
	struct store_cert_filter flt = {.subject = "WIDGET", .window = 3, .max = 100};
	struct store_txn t;
	struct store_cert c;
	struct seen s = {0};
	int64_t next = 0;
	char serial[16], tid[16];

	for (int i = 0; i < 5; i++) {
		snprintf(tid, sizeof(tid), "w-%d", i);
		make_txn(&t, tid, (uint8_t)(0x60 + i));
		assert_int_equal(store_txn_insert(f->s, &t), 0);
		snprintf(serial, sizeof(serial), "%02x", 0x10 + i);
		make_cert(&c, serial, i % 2 ? "CN=widget-odd" : "CN=Widget-even");
		assert_int_equal(store_txn_issue(f->s, &t, &c), 0);
	}
	/* ids 1..5: the newest window is [3, 6) */
	assert_int_equal(store_cert_search(f->s, &flt, count_cert, &s, &next), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.last, "12");
	assert_int_equal(next, 3);
	flt.before = next;
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_cert_search(f->s, &flt, count_cert, &s, &next), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(next, 0);
	/* by serial */
	flt = (struct store_cert_filter){.serial = "13", .max = 10};
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_cert_search(f->s, &flt, count_cert, &s, &next), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.last, "13");
}

/* ---- nonces, decisions --------------------------------------------------------- */

static void
test_nonce_replay(void **state)
{
	struct fx *f = *state;
	const uint8_t n1[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

	assert_int_equal(store_nonce_check(f->s, n1, sizeof(n1), 1700000000, 60), 0);
	assert_int_equal(store_nonce_check(f->s, n1, sizeof(n1), 1700000010, 60), -SGW_EEXIST);
	/* expired: remembered again */
	assert_int_equal(store_nonce_check(f->s, n1, sizeof(n1), 1700000060, 60), 0);
	assert_int_equal(store_nonce_check(f->s, n1, sizeof(n1), 1700000061, 60), -SGW_EEXIST);
	assert_int_equal(store_nonce_check(f->s, n1, 0, 1700000061, 60), -SGW_EINVAL);
}

/* store_nonce_find (one round trip, pipeline mode): the nonce's verdict
 * returned, the lookup's in *found, both as the two separate calls give
 * them; the connection is clean for the next statement after each. */
static void
test_nonce_find_pipeline(void **state)
{
	struct fx *f = *state;
	const uint8_t n1[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
	struct store_txn t, got;
	int found = 1;

	make_txn(&t, "pipe-1", 0x31);
	assert_int_equal(store_txn_insert(f->s, &t), 0);
	memset(&got, 0, sizeof(got));
	assert_int_equal(store_nonce_find(f->s, n1, sizeof(n1), 1700000000, 60, "ios", "pipe-1",
					  t.signer_key_sha256, &got, &found),
			 0);
	assert_int_equal(found, 0);
	assert_int_equal(got.id, t.id);
	assert_string_equal(got.subject, t.subject);
	assert_int_equal(got.csr.sealed_len, t.csr.sealed_len);
	store_txn_clear(&got);
	/* the same nonce again: a replay, and the row is still found */
	memset(&got, 0, sizeof(got));
	assert_int_equal(store_nonce_find(f->s, n1, sizeof(n1), 1700000010, 60, "ios", "pipe-1",
					  t.signer_key_sha256, &got, &found),
			 -SGW_EEXIST);
	assert_int_equal(found, 0);
	store_txn_clear(&got);
	/* an unknown transaction: not found, the nonce still recorded */
	memset(&got, 0, sizeof(got));
	assert_int_equal(store_nonce_find(f->s, n1, sizeof(n1), 1700000100, 60, "ios", "pipe-2",
					  t.signer_key_sha256, &got, &found),
			 0);
	assert_int_equal(found, -SGW_ENOTFOUND);
	assert_int_equal(store_nonce_check(f->s, n1, sizeof(n1), 1700000101, 60), -SGW_EEXIST);
	/* after the pipelines, plain statements on the pool's connections work */
	for (int i = 0; i < 8; i++) {
		assert_int_equal(store_txn_get(f->s, t.id, &got), 0);
		store_txn_clear(&got);
	}
}

static void
test_decide_once(void **state)
{
	struct fx *f = *state;
	struct store_txn t;
	char who[64];
	int64_t n = 0;

	make_txn(&t, "dec-1", 9);
	t.state = TXN_AWAITING_APPROVAL;
	assert_int_equal(store_txn_insert(f->s, &t), 0);
	assert_int_equal(store_txn_count(f->s, TXN_AWAITING_APPROVAL, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_txn_decider(f->s, t.id, who, sizeof(who)), -SGW_ENOTFOUND);
	t.state = TXN_SUBMITTED;
	t.updated = 1700000300;
	assert_int_equal(store_txn_decide(f->s, &t, "alice"), 0);
	assert_int_equal(store_txn_decider(f->s, t.id, who, sizeof(who)), 0);
	assert_string_equal(who, "alice");
	/* no longer awaiting approval: a second decision changes nothing */
	t.state = TXN_REJECTED;
	assert_int_equal(store_txn_decide(f->s, &t, "bob"), -SGW_ENOTFOUND);
	assert_int_equal(store_txn_decider(f->s, t.id, who, sizeof(who)), 0);
	assert_string_equal(who, "alice");
	assert_int_equal(db_int(f, "SELECT state FROM transactions"), TXN_SUBMITTED);
}

/* ---- shared state: leases, the CA's revocations and CRL ------------------------- */

static void
test_lease(void **state)
{
	struct fx *f = *state;
	int held = -1;

	assert_int_equal(store_lease_take(f->s, "expiry", "gw-a", 1000, 30, &held), 0);
	assert_int_equal(held, 1);
	assert_int_equal(store_lease_take(f->s, "expiry", "gw-b", 1010, 30, &held), 0);
	assert_int_equal(held, 0);
	assert_int_equal(store_lease_take(f->s, "expiry", "gw-a", 1020, 30, &held), 0);
	assert_int_equal(held, 1); /* renewed until 1050 */
	assert_int_equal(store_lease_take(f->s, "expiry", "gw-b", 1049, 30, &held), 0);
	assert_int_equal(held, 0);
	assert_int_equal(store_lease_take(f->s, "expiry", "gw-b", 1050, 30, &held), 0);
	assert_int_equal(held, 1); /* expired: taken over */
	assert_int_equal(store_lease_take(f->s, "expiry", "gw-a", 1060, 30, &held), 0);
	assert_int_equal(held, 0);
	assert_int_equal(store_lease_take(f->s, "crl", "gw-a", 1060, 30, &held), 0);
	assert_int_equal(held, 1); /* another job is its own lease */
}

/* Who holds a lease and until when: how a survivor knows a dead instance's
 * rows are stranded (txn_admin.c). */
static void
test_lease_get(void **state)
{
	struct fx *f = *state;
	char holder[64] = "";
	int64_t until = 0;
	int held = -1;

	assert_int_equal(store_lease_get(f->s, "expiry", holder, sizeof(holder), &until),
			 -SGW_ENOTFOUND);
	assert_int_equal(store_lease_take(f->s, "expiry", "gw-a", 1000, 30, &held), 0);
	assert_int_equal(store_lease_get(f->s, "expiry", holder, sizeof(holder), &until), 0);
	assert_string_equal(holder, "gw-a");
	assert_int_equal(until, 1030);
	assert_int_equal(store_lease_take(f->s, "expiry", "gw-b", 1030, 30, &held), 0);
	assert_int_equal(held, 1); /* expired: taken over */
	assert_int_equal(store_lease_get(f->s, "expiry", holder, sizeof(holder), &until), 0);
	assert_string_equal(holder, "gw-b");
	assert_int_equal(until, 1060);
	assert_int_equal(store_lease_get(f->s, "expiry", holder, 3, &until), -SGW_EIO); /* cap */
	assert_int_equal(store_lease_get(f->s, "crl", holder, sizeof(holder), &until),
			 -SGW_ENOTFOUND);
}

/* An upgrade: the number a CA kept in its files continues; the cheap number
 * read follows every put. */
static void
test_crl_seed_number(void **state)
{
	struct fx *f = *state;
	uint8_t der[] = {0x30, 0x01, 0x07}, der2[] = {0x30, 0x01, 0x08};
	struct store_crl c = {.number = 41, .next_update = 1041, .der = der, .der_len = 3}, got;
	int64_t n = 0;

	assert_int_equal(store_ca_crl_number(f->s, "local-ca", &n), -SGW_ENOTFOUND);
	assert_int_equal(store_ca_crl_seed(f->s, "local-ca", &c), 0);
	assert_int_equal(store_ca_crl_number(f->s, "local-ca", &n), 0);
	assert_int_equal(n, 41);
	c.number = 7;
	c.der = der2;
	assert_int_equal(store_ca_crl_seed(f->s, "local-ca", &c), -SGW_EEXIST); /* once only */
	assert_int_equal(store_ca_crl_get(f->s, "local-ca", &got), 0);
	assert_int_equal(got.number, 41);
	assert_memory_equal(got.der, der, 3);
	free(got.der);
	c.number = 42;
	assert_int_equal(store_ca_crl_put(f->s, "local-ca", &c), 0); /* continues */
	assert_int_equal(store_ca_crl_number(f->s, "local-ca", &n), 0);
	assert_int_equal(n, 42);
	c.number = 0;
	assert_int_equal(store_ca_crl_seed(f->s, "local-ca", &c), -SGW_EINVAL);
	assert_int_equal(store_ca_crl_number(f->s, "other-ca", &n), -SGW_ENOTFOUND);
}

static void
test_crl_compare_and_set(void **state)
{
	struct fx *f = *state;
	uint8_t der1[] = {0x30, 0x01, 0x01}, der2[] = {0x30, 0x01, 0x02};
	struct store_crl c = {.number = 2, .next_update = 5000, .der = der1, .der_len = 3}, got;

	assert_int_equal(store_ca_crl_get(f->s, "local-ca", &got), -SGW_ENOTFOUND);
	assert_int_equal(store_ca_crl_put(f->s, "local-ca", &c), -SGW_EEXIST); /* not 1 */
	c.number = 1;
	assert_int_equal(store_ca_crl_put(f->s, "local-ca", &c), 0);
	assert_int_equal(store_ca_crl_put(f->s, "local-ca", &c), -SGW_EEXIST); /* taken */
	c.number = 2;
	c.der = der2;
	c.next_update = 6000;
	assert_int_equal(store_ca_crl_put(f->s, "local-ca", &c), 0);
	assert_int_equal(store_ca_crl_put(f->s, "local-ca", &c), -SGW_EEXIST);
	c.number = 4;
	assert_int_equal(store_ca_crl_put(f->s, "local-ca", &c), -SGW_EEXIST); /* skips 3 */
	assert_int_equal(store_ca_crl_get(f->s, "local-ca", &got), 0);
	assert_int_equal(got.number, 2);
	assert_int_equal(got.next_update, 6000);
	assert_int_equal(got.der_len, 3);
	assert_memory_equal(got.der, der2, 3);
	free(got.der);
	assert_int_equal(store_ca_crl_get(f->s, "other-ca", &got), -SGW_ENOTFOUND);
}

static int
collect_revoked(void *arg, const struct store_revoked *r)
{
	char *buf = arg;
	size_t n = strlen(buf);

	snprintf(buf + n, 256 - n, "%s:%d:%lld;", r->serial, r->reason, (long long)r->when);
	return 0;
}

static void
test_ca_revoke(void **state)
{
	struct fx *f = *state;
	struct store_revoked r1 = {.serial = "0b", .reason = 1, .when = 100};
	struct store_revoked r2 = {.serial = "0a", .reason = 4, .when = 200};
	char buf[256] = "";

	assert_int_equal(store_ca_revoke(f->s, "local-ca", &r1), 0);
	assert_int_equal(store_ca_revoke(f->s, "local-ca", &r2), 0);
	assert_int_equal(store_ca_revoke(f->s, "local-ca", &r1), -SGW_EEXIST);
	assert_int_equal(store_ca_revoke(f->s, "other-ca", &r1), 0);
	assert_int_equal(store_ca_revoked_list(f->s, "local-ca", collect_revoked, buf), 0);
	assert_string_equal(buf, "0b:1:100;0a:4:200;"); /* oldest first */
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The server drops every connection of the store (a restart, a failover):
 * the call that meets it fails with EUNAVAIL, the next ones fail at once
 * (no caller waits for a connect), the store says it is not ready, and the
 * reconnect thread brings the pool back within a few seconds. */
static void
test_reconnect(void **state)
{
	struct fx *f = *state;
	char why[128] = "";
	int64_t n = -1;
	double t0;
	int r = -1;

	assert_int_equal(store_cert_count(f->s, &n), 0);
	assert_true(db_int(f, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
			      " WHERE application_name = 'scepgw'") == 4);
	assert_int_equal(store_cert_count(f->s, &n), -SGW_EUNAVAIL);
	t0 = now_ms();
	assert_int_equal(store_cert_count(f->s, &n), -SGW_EUNAVAIL);
	assert_int_equal(store_ready(f->s, why, sizeof(why)), -SGW_EUNAVAIL);
	assert_true(now_ms() - t0 <
		    500); /* no connect: the server is up, a connect would succeed */
	assert_non_null(strstr(why, "reconnecting"));
	for (int i = 0; i < 100 && r != 0; i++) {
		usleep(50 * 1000);
		r = store_cert_count(f->s, &n);
	}
	assert_int_equal(r, 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_ready(f->s, why, sizeof(why)), 0);
}

/* Two stores opened while their database cannot be used (it does not
 * exist yet: the server refuses the login, as for a wrong password): each
 * open returns at once, every call fails with EUNAVAIL at once and the
 * store says why.  Once the database exists both connect by themselves,
 * the migrations run once (each version one row), and the calls work. */
static void
test_open_before_database(void **state)
{
	struct fx *f = *state;
	struct cfg_store cfg = f->cfg;
	struct store *s[2] = {NULL, NULL};
	struct fx late = {0};
	struct sgw_err err = {{0}};
	char conninfo[512], why[512] = "";
	int64_t n = -1;
	double t0;
	int r = -1;

	db_exec(f, "DROP DATABASE IF EXISTS scepgw_late");
	snprintf(conninfo, sizeof(conninfo), "%s dbname=scepgw_late", f->cfg.conninfo);
	cfg.conninfo = conninfo;
	t0 = now_ms();
	for (int i = 0; i < 2; i++)
		if (store_open(&cfg, &s[i], &err) != 0)
			fail_msg("store_open: %s", err.msg);
	assert_true(now_ms() - t0 < 3000); /* the first attempt, not the 5 s bound */
	assert_int_equal(store_cert_count(s[0], &n), -SGW_EUNAVAIL);
	assert_int_equal(store_ready(s[1], why, sizeof(why)), -SGW_EUNAVAIL);
	assert_non_null(strstr(why, "cannot connect"));
	assert_non_null(strstr(why, "scepgw_late"));
	db_exec(f, "CREATE DATABASE scepgw_late");
	for (int i = 0; i < 200 && r != 0; i++) {
		usleep(50 * 1000);
		r = store_cert_count(s[0], &n) | store_cert_count(s[1], &n);
	}
	assert_int_equal(r, 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_ready(s[0], why, sizeof(why)), 0);
	store_close(s[0]);
	store_close(s[1]);
	late.db = db_connect_to(conninfo);
	assert_true(db_int(&late, "SELECT count(*) FROM schema_version") >= 2);
	assert_int_equal(db_int(&late, "SELECT count(*) - max(version) FROM schema_version"), 0);
	PQfinish(late.db);
	db_exec(f, "DROP DATABASE scepgw_late WITH (FORCE)");
}

/* Another instance holds the migration lock (it migrates, or is stuck):
 * the open waits its bound (10 s) and returns, the store is not ready, and
 * closing it does not wait for the lock (the migration is cancelled).
 * Once the lock is free a store opens ready at once. */
static void
test_close_while_migrating(void **state)
{
	struct fx *f = *state;
	struct store *s = NULL;
	struct sgw_err err = {{0}};
	char why[512] = "";
	int64_t n = -1;
	double t0;

	db_exec(f, "SELECT pg_advisory_lock(7365637067770001)");
	t0 = now_ms();
	if (store_open(&f->cfg, &s, &err) != 0)
		fail_msg("store_open: %s", err.msg);
	assert_true(now_ms() - t0 >= 9000);
	assert_int_equal(store_cert_count(s, &n), -SGW_EUNAVAIL);
	assert_int_equal(store_ready(s, why, sizeof(why)), -SGW_EUNAVAIL);
	t0 = now_ms();
	store_close(s);
	assert_true(now_ms() - t0 < 2000);
	db_exec(f, "SELECT pg_advisory_unlock(7365637067770001)");
	t0 = now_ms();
	if (store_open(&f->cfg, &s, &err) != 0)
		fail_msg("store_open: %s", err.msg);
	assert_true(now_ms() - t0 < 5000);
	assert_int_equal(store_cert_count(s, &n), 0);
	store_close(s);
}

static void
test_ready(void **state)
{
	struct fx *f = *state;
	char why[128] = "";

	assert_int_equal(store_ready(f->s, why, sizeof(why)), 0);
}

/* ---- owed validator notifications (store_pg_owed.c) ------------------------ */

static void
test_owed(void **state)
{
	struct fx *f = *state;

	owed_cases(f->s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_migrations_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_txn_roundtrip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_accept_consumes_otp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_accept_failure_keeps_otp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_otp_race, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_issue_duplicate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cert_search_window, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nonce_replay, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_decide_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lease, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lease_get, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crl_seed_number, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crl_compare_and_set, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ca_revoke, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ready, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_before_database, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_close_while_migrating, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_owed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_accept_renewal_claim, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_renewal_race, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nonce_find_pipeline, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
