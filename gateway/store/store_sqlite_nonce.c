/* store_sqlite_nonce.c: the SQLite store's senderNonce replay cache
 * (store_sqlite_nonce.h): a nonce is kept until it expires; expired rows are
 * swept in bounded batches, every SQN_SWEEP_CALLS checks or SQN_SWEEP_SECONDS. */
#include <stdlib.h>

#include "store_sqlite_nonce.h"
#include "store_sqlite_row.h"

#define SQN_MAX_NONCE 64     /* senderNonce is 16 bytes in practice */
#define SQN_SWEEP_CALLS 1000 /* sweep expired nonces every N checks ... */
#define SQN_SWEEP_SECONDS 60 /* ... or every N seconds */
#define SQN_SWEEP_LIMIT 1000 /* rows deleted per sweep at most */

enum sqn_stmt { SQN_SWEEP, SQN_PUT, SQN_STMT_MAX };

static const char *const sqn_sql[SQN_STMT_MAX] = {
    [SQN_SWEEP] = "DELETE FROM nonces WHERE nonce IN"
		  " (SELECT nonce FROM nonces WHERE expires <= ?1 LIMIT ?2)",
    /* a live nonce makes this a no-op (changes() == 0); an expired one is replaced */
    [SQN_PUT] = "INSERT INTO nonces (nonce, expires) VALUES (?1, ?2)"
		" ON CONFLICT (nonce) DO UPDATE SET expires = excluded.expires"
		" WHERE nonces.expires <= ?3",
};

struct sq_nonce {
	sqlite3 *db;
	sqlite3_stmt *st[SQN_STMT_MAX];
	unsigned calls;
	int64_t swept; /* `now` of the last sweep */
};

int
sqn_open(sqlite3 *db, struct sq_nonce **ret, struct sgw_err *err)
{
	struct sq_nonce *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "store: out of memory");
	q->db = db;
	if (sq_prepare_n(db, sqn_sql, q->st, SQN_STMT_MAX, err) < 0) {
		sqn_close(q);
		return -SGW_EIO;
	}
	*ret = q;
	return 0;
}

void
sqn_close(struct sq_nonce *q)
{
	if (q == NULL)
		return;
	for (int i = 0; i < SQN_STMT_MAX; i++)
		sqlite3_finalize(q->st[i]);
	free(q);
}

/* Bounded: at most SQN_SWEEP_LIMIT rows per sweep, through the expires index. */
static int
sqn_sweep(struct sq_nonce *q, int64_t now)
{
	sqlite3_stmt *st = q->st[SQN_SWEEP];
	int bad = 0, r;

	if (++q->calls < SQN_SWEEP_CALLS && now >= q->swept && now - q->swept < SQN_SWEEP_SECONDS)
		return 0;
	q->calls = 0;
	q->swept = now;
	bad |= sqlite3_bind_int64(st, 1, now);
	bad |= sqlite3_bind_int(st, 2, SQN_SWEEP_LIMIT);
	if (bad != SQLITE_OK) {
		sq_reset(st);
		return sq_fail_db(q->db, "nonce sweep bind");
	}
	r = sqlite3_step(st) != SQLITE_DONE ? sq_fail_db(q->db, "nonce sweep") : 0;
	sq_reset(st);
	return r;
}

int
sqn_check(struct sq_nonce *q, const uint8_t *nonce, size_t len, int64_t now, int ttl)
{
	sqlite3_stmt *st = q->st[SQN_PUT];
	int bad = 0, r;

	if (nonce == NULL || len == 0 || len > SQN_MAX_NONCE || ttl <= 0)
		return -SGW_EINVAL;
	r = sqn_sweep(q, now);
	if (r < 0)
		return r;
	bad |= sqlite3_bind_blob(st, 1, nonce, (int)len, SQLITE_STATIC);
	bad |= sqlite3_bind_int64(st, 2, now + ttl);
	bad |= sqlite3_bind_int64(st, 3, now);
	if (bad != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
		r = sq_fail_db(q->db, "nonce insert");
	else if (sqlite3_changes(q->db) == 0)
		r = -SGW_EEXIST;
	sq_reset(st);
	return r;
}
