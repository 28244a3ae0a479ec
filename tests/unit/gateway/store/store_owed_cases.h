/* The owed-notification cases (store.h owed_put/del/due) every store
 * passes: included by the SQLite and the PostgreSQL store tests. */
#ifndef SGW_TEST_STORE_OWED_CASES_H
#define SGW_TEST_STORE_OWED_CASES_H

#include <string.h>

#include "store.h"

struct owed_seen {
	struct store_owed v[8];
	uint8_t csr[8][16];
	size_t n;
};

static int
owed_collect(void *arg, const struct store_owed *o)
{
	struct owed_seen *s = arg;

	if (s->n == 8)
		return -1;
	s->v[s->n] = *o;
	memset(s->csr[s->n], 0, sizeof(s->csr[0]));
	if (o->csr_sealed != NULL && o->csr_sealed_len <= sizeof(s->csr[0]))
		memcpy(s->csr[s->n], o->csr_sealed, o->csr_sealed_len);
	s->v[s->n].csr_sealed = NULL; /* lent for the callback only */
	s->n++;
	return 0;
}

static void
owed_due_into(struct store *st, const char *me, int64_t now, int64_t stale, size_t max,
	      struct owed_seen *seen)
{
	memset(seen, 0, sizeof(*seen));
	assert_int_equal(store_owed_due(st, me, now, stale, max, owed_collect, seen), 0);
}

/* Rows are due at next_try, to their owner, to anyone once the owner's
 * instance lease lapsed (or was never taken) or once older than `stale`;
 * a put replaces the transaction's row; a delete is once. */
static void
owed_cases(struct store *st)
{
	static const uint8_t sealed[5] = {1, 2, 3, 4, 5};
	struct store_owed a = {.txn_id = 11,
			       .profile = "intune",
			       .kind = STORE_OWED_SUCCESS,
			       .owner = "gw-a",
			       .attempts = 1,
			       .next_try = 100,
			       .created = 50,
			       .csr_sealed = sealed,
			       .csr_sealed_len = sizeof(sealed)};
	struct store_owed b = {.txn_id = 12,
			       .profile = "intune",
			       .kind = STORE_OWED_FAILURE,
			       .reason = "CA backend failed: boom",
			       .owner = "gw-b",
			       .attempts = 1,
			       .next_try = 200,
			       .created = 150};
	struct owed_seen seen;
	int held = 0;

	assert_int_equal(store_owed_put(st, &a), 0);
	assert_int_equal(store_owed_put(st, &b), 0);
	/* no lease taken by gw-a: its due row is anyone's */
	owed_due_into(st, "gw-c", 150, 0, 10, &seen);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.v[0].txn_id, 11);
	assert_string_equal(seen.v[0].owner, "gw-a");
	assert_int_equal(seen.v[0].kind, STORE_OWED_SUCCESS);
	assert_int_equal(seen.v[0].attempts, 1);
	assert_int_equal(seen.v[0].created, 50);
	assert_int_equal(seen.v[0].csr_sealed_len, sizeof(sealed));
	assert_memory_equal(seen.csr[0], sealed, sizeof(sealed));
	/* gw-a lives: its row is its own, until older than the bound */
	assert_int_equal(store_lease_take(st, "instance:gw-a", "gw-a", 100, 900, &held), 0);
	assert_int_equal(held, 1);
	owed_due_into(st, "gw-c", 150, 0, 10, &seen);
	assert_int_equal(seen.n, 0);
	owed_due_into(st, "gw-a", 150, 0, 10, &seen);
	assert_int_equal(seen.n, 1);
	owed_due_into(st, "gw-c", 150, 51, 10, &seen);
	assert_int_equal(seen.n, 1);
	/* both due later; gw-b never took its lease; at most `max` */
	owed_due_into(st, "gw-c", 300, 0, 10, &seen);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.v[0].txn_id, 12);
	assert_string_equal(seen.v[0].reason, "CA backend failed: boom");
	assert_int_equal(seen.v[0].csr_sealed_len, 0);
	owed_due_into(st, "gw-a", 300, 0, 1, &seen);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.v[0].txn_id, 11);
	/* taken over: the row is replaced, not added */
	strcpy(a.owner, "gw-c");
	a.attempts = 2;
	a.next_try = 400;
	assert_int_equal(store_owed_put(st, &a), 0);
	owed_due_into(st, "gw-c", 500, 0, 10, &seen);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.v[0].txn_id, 12);
	assert_int_equal(seen.v[1].txn_id, 11);
	assert_int_equal(seen.v[1].attempts, 2);
	assert_string_equal(seen.v[1].owner, "gw-c");
	/* delivered */
	assert_int_equal(store_owed_del(st, 11), 0);
	assert_int_equal(store_owed_del(st, 11), -SGW_ENOTFOUND);
	owed_due_into(st, "gw-c", 500, 0, 10, &seen);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.v[0].txn_id, 12);
	/* refused input */
	b.txn_id = 0;
	assert_int_equal(store_owed_put(st, &b), -SGW_EINVAL);
}

#endif
