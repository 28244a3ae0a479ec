/* tests for gateway/store/store_sqlite_shared.c: the shared state of issue 20
 * (CA revocations, the CRL number's compare-and-set, cluster leases) and the
 * instance column of a transaction, through the store's entry points. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store.h"
#include "store_fixture.h"

struct fx {
	struct store_fixture db;
	struct store *s;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct sgw_err err = {{0}};

	assert_non_null(f);
	store_fixture_init(&f->db, "/tmp", "shared");
	assert_int_equal(store_open(&f->db.cfg, &f->s, &err), 0);
	*state = f;
	return 0;
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

struct seen {
	struct store_revoked v[8];
	size_t n, stop_at;
};

static int
collect(void *arg, const struct store_revoked *r)
{
	struct seen *s = arg;

	s->v[s->n++] = *r;
	return s->stop_at != 0 && s->n == s->stop_at ? -1 : 0;
}

static void
test_ca_revoke(void **state)
{
	struct fx *f = *state;
	struct store_revoked a = {"0a", 1, 100}, b = {"01ff", 0, 200}, bad = {"", 1, 1};
	struct seen s = {0};

	assert_int_equal(store_ca_revoke(f->s, "ca1", &a), 0);
	assert_int_equal(store_ca_revoke(f->s, "ca1", &b), 0);
	assert_int_equal(store_ca_revoke(f->s, "ca1", &a), -SGW_EEXIST);
	assert_int_equal(store_ca_revoke(f->s, "ca2", &a), 0); /* another CA */
	assert_int_equal(store_ca_revoke(f->s, "ca1", &bad), -SGW_EINVAL);
	bad = (struct store_revoked){"0b", 11, 1};
	assert_int_equal(store_ca_revoke(f->s, "ca1", &bad), -SGW_EINVAL);
	assert_int_equal(store_ca_revoke(f->s, "", &a), -SGW_EINVAL);

	assert_int_equal(store_ca_revoked_list(f->s, "ca1", collect, &s), 0);
	assert_int_equal(s.n, 2); /* oldest first, only ca1's */
	assert_string_equal(s.v[0].serial, "0a");
	assert_int_equal(s.v[0].reason, 1);
	assert_int_equal(s.v[0].when, 100);
	assert_string_equal(s.v[1].serial, "01ff");
	assert_int_equal(s.v[1].when, 200);
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	assert_int_equal(store_ca_revoked_list(f->s, "ca1", collect, &s), 0);
	assert_int_equal(s.n, 1);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_ca_revoked_list(f->s, "none", collect, &s), 0);
	assert_int_equal(s.n, 0);
}

static void
crl_put(struct fx *f, const char *ca, int64_t number, const char *text, int expect)
{
	struct store_crl c = {number, 1000 + number, (uint8_t *)text, strlen(text)};

	assert_int_equal(store_ca_crl_put(f->s, ca, &c), expect);
}

static void
crl_expect(struct fx *f, const char *ca, int64_t number, const char *text)
{
	struct store_crl c = {0};

	assert_int_equal(store_ca_crl_get(f->s, ca, &c), 0);
	assert_int_equal(c.number, number);
	assert_int_equal(c.next_update, 1000 + number);
	assert_int_equal(c.der_len, strlen(text));
	assert_memory_equal(c.der, text, c.der_len);
	free(c.der);
}

static void
test_ca_crl_cas(void **state)
{
	struct fx *f = *state;
	struct store_crl c = {0};
	int64_t n = 0;

	assert_int_equal(store_ca_crl_get(f->s, "ca1", &c), -SGW_ENOTFOUND);
	crl_put(f, "ca1", 2, "two", -SGW_EEXIST); /* none stored: 1 first */
	assert_int_equal(store_ca_crl_get(f->s, "ca1", &c), -SGW_ENOTFOUND);
	assert_int_equal(store_ca_crl_number(f->s, "ca1", &n), -SGW_ENOTFOUND);
	crl_put(f, "ca1", 1, "one", 0);
	crl_expect(f, "ca1", 1, "one");
	assert_int_equal(store_ca_crl_number(f->s, "ca1", &n), 0);
	assert_int_equal(n, 1);
	/* two instances build number 2: the second loses and reads the first's */
	crl_put(f, "ca1", 2, "two-a", 0);
	crl_put(f, "ca1", 2, "two-b", -SGW_EEXIST);
	crl_expect(f, "ca1", 2, "two-a");
	crl_put(f, "ca1", 1, "old", -SGW_EEXIST); /* never backwards */
	crl_put(f, "ca1", 4, "gap", -SGW_EEXIST); /* nor a gap */
	crl_put(f, "ca1", 3, "three", 0);
	crl_expect(f, "ca1", 3, "three");
	assert_int_equal(store_ca_crl_number(f->s, "ca1", &n), 0);
	assert_int_equal(n, 3);
	crl_put(f, "ca2", 1, "other", 0); /* each CA its own number */
	crl_expect(f, "ca2", 1, "other");
	crl_expect(f, "ca1", 3, "three");
	crl_put(f, "ca1", 0, "zero", -SGW_EINVAL);
}

/* An upgrade: the number a CA kept in its files continues. */
static void
test_ca_crl_seed(void **state)
{
	struct fx *f = *state;
	struct store_crl c = {41, 1041, (uint8_t *)"imported", 8};

	assert_int_equal(store_ca_crl_seed(f->s, "ca1", &c), 0);
	crl_expect(f, "ca1", 41, "imported");
	c.number = 7;
	assert_int_equal(store_ca_crl_seed(f->s, "ca1", &c), -SGW_EEXIST); /* once only */
	crl_expect(f, "ca1", 41, "imported");
	crl_put(f, "ca1", 42, "next", 0);
	crl_expect(f, "ca1", 42, "next");
}

static void
take(struct fx *f, const char *job, const char *holder, int64_t now, int ttl, int expect)
{
	int held = -1;

	assert_int_equal(store_lease_take(f->s, job, holder, now, ttl, &held), 0);
	assert_int_equal(held, expect);
}

static void
test_lease(void **state)
{
	struct fx *f = *state;
	char holder[64];
	int64_t until = 0;
	int held = 0;

	take(f, "expiry", "A", 1000, 30, 1); /* free: A takes it */
	take(f, "expiry", "B", 1010, 30, 0); /* A's until 1030 */
	take(f, "expiry", "A", 1020, 30, 1); /* A renews: until 1050 */
	take(f, "expiry", "B", 1049, 30, 0);
	take(f, "other", "B", 1049, 30, 1);  /* leases are per job */
	take(f, "expiry", "B", 1050, 30, 1); /* A died: expired, B takes over */
	take(f, "expiry", "A", 1060, 30, 0); /* A is back: B holds it now */
	take(f, "expiry", "B", 1079, 30, 1);
	assert_int_equal(store_lease_get(f->s, "expiry", holder, sizeof(holder), &until), 0);
	assert_string_equal(holder, "B");
	assert_int_equal(until, 1109);
	assert_int_equal(store_lease_get(f->s, "never", holder, sizeof(holder), &until),
			 -SGW_ENOTFOUND);
	assert_int_equal(store_lease_take(f->s, "", "A", 1, 30, &held), -SGW_EINVAL);
	assert_int_equal(store_lease_take(f->s, "x", "A", 1, 0, &held), -SGW_EINVAL);
}

/* The lease survives the process: a second open of the file sees it. */
static void
test_lease_two_opens(void **state)
{
	struct fx *f = *state;
	struct store *s2 = NULL;
	struct sgw_err err = {{0}};
	int held = -1;

	assert_int_equal(store_open(&f->db.cfg, &s2, &err), 0);
	take(f, "feed", "A", 100, 10, 1);
	assert_int_equal(store_lease_take(s2, "feed", "B", 105, 10, &held), 0);
	assert_int_equal(held, 0);
	assert_int_equal(store_lease_take(s2, "feed", "B", 110, 10, &held), 0);
	assert_int_equal(held, 1);
	take(f, "feed", "A", 111, 10, 0);
	store_close(s2);
}

static void
test_txn_instance(void **state)
{
	struct fx *f = *state;
	struct store_txn t = {0}, got = {0};

	snprintf(t.profile, sizeof(t.profile), "p");
	snprintf(t.transaction_id, sizeof(t.transaction_id), "tid");
	snprintf(t.instance, sizeof(t.instance), "gw-a");
	t.state = TXN_SUBMITTED;
	assert_int_equal(store_txn_insert(f->s, &t), 0);
	assert_int_equal(store_txn_get(f->s, t.id, &got), 0);
	assert_string_equal(got.instance, "gw-a");
	store_txn_clear(&got);
	snprintf(t.instance, sizeof(t.instance), "gw-b");
	t.state = TXN_FAILED;
	assert_int_equal(store_txn_update(f->s, &t), 0);
	assert_int_equal(store_txn_get(f->s, t.id, &got), 0);
	assert_string_equal(got.instance, "gw-b");
	store_txn_clear(&got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ca_revoke, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ca_crl_cas, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ca_crl_seed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lease, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lease_two_opens, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_txn_instance, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
