/* store_sqlite_adm.c: the SQLite store's queries for the admin API: listing
 * transactions, recording approvals and rejections, one-time challenges,
 * certificate search, and the time spent in SQLite (SQLITE_TRACE_PROFILE).
 * The schema is migration 2 in store_sqlite_schema.c. */
#include <stdio.h>
#include <stdlib.h>

#include "store_sqlite_adm.h"
#include "store_sqlite_row.h"

#define SQA_MAX_ROWS 10000
#define SQA_OTP_SWEEP_LIMIT 1000

enum sqa_stmt {
	SQA_TXN_LIST,	  /* one state: walks the (state, created) index */
	SQA_TXN_LIST_ALL, /* any state: rowid order, stops at the limit */
	SQA_TXN_COUNT,
	SQA_TXN_DECIDE,
	SQA_APPROVAL_PUT,
	SQA_APPROVAL_GET,
	SQA_OTP_PUT,
	SQA_OTP_SWEEP,
	SQA_OTP_CONSUME,
	SQA_OTP_PEEK,
	SQA_OTP_COUNT,
	SQA_CERT_TOP,
	SQA_CERT_SEARCH,
	SQA_CERT_SEARCH_SERIAL,
	SQA_STMT_MAX
};

static const char *const sqa_sql[SQA_STMT_MAX] = {
    /* "?1 < 0 OR state = ?1" would keep SQLite off the index: the approval
     * timer's sweep then sorted the whole table on the loop thread */
    [SQA_TXN_LIST] = "SELECT " SQ_TXN_COLS " FROM transactions t"
		     " WHERE state = ?1 AND (?2 = 0 OR EXISTS (SELECT 1 FROM approvals"
		     " a WHERE a.txn_id = t.id AND a.state = ?4)) ORDER BY created, id LIMIT ?3",
    [SQA_TXN_LIST_ALL] = "SELECT " SQ_TXN_COLS " FROM transactions t"
			 " WHERE ?1 < 0 AND (?2 = 0 OR EXISTS (SELECT 1 FROM approvals"
			 " a WHERE a.txn_id = t.id AND a.state = ?4)) ORDER BY id LIMIT ?3",
    [SQA_TXN_COUNT] = "SELECT count(*) FROM transactions WHERE state = ?1",
    [SQA_TXN_DECIDE] =
	"UPDATE transactions SET state = ?1, reason = ?2, updated = ?3, instance = ?6,"
	" " SQ_SET_SEALED_FOR("?1") " WHERE id = ?4 AND state = ?5",
    [SQA_APPROVAL_PUT] = "INSERT OR REPLACE INTO approvals (txn_id, admin, state, reason, at)"
			 " VALUES (?1, ?2, ?3, ?4, ?5)",
    [SQA_APPROVAL_GET] = "SELECT admin FROM approvals WHERE txn_id = ?1",
    [SQA_OTP_PUT] = "INSERT INTO otps (profile, sha256, subject, issued_by, created, expires)"
		    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SQA_OTP_SWEEP] = "DELETE FROM otps WHERE rowid IN"
		      " (SELECT rowid FROM otps WHERE expires <= ?1 LIMIT ?2)",
    /* one statement: the check and the use cannot be separated */
    [SQA_OTP_CONSUME] = "UPDATE otps SET used = ?3 WHERE profile = ?1 AND sha256 = ?2"
			" AND used = 0 AND expires > ?3 RETURNING subject",
    /* usable now, not used: the validator's check; txn_accept consumes it */
    [SQA_OTP_PEEK] = "SELECT subject FROM otps WHERE profile = ?1 AND sha256 = ?2"
		     " AND used = 0 AND expires > ?3",
    [SQA_OTP_COUNT] = "SELECT count(*) FROM otps WHERE profile = ?1 AND used = 0 AND expires > ?2",
    /* one past the newest certificate's position */
    [SQA_CERT_TOP] = "SELECT coalesce(max(id), 0) + 1 FROM certificates",
    /* a substring match reads the window [?5, ?4) of rowids, newest first */
    [SQA_CERT_SEARCH] = "SELECT " SQ_CERT_COLS ", id FROM certificates"
			" WHERE id < ?4 AND id >= ?5"
			" AND (?1 = '' OR instr(lower(subject), lower(?1)) > 0)"
			" ORDER BY id DESC LIMIT ?3",
    /* a serial is a lookup in certificates_serial; "?2 = '' OR serial = ?2"
     * kept SQLite off that index (669 ms on the loop with 1M certificates) */
    [SQA_CERT_SEARCH_SERIAL] = "SELECT " SQ_CERT_COLS " FROM certificates"
			       " WHERE serial = ?2 AND (?1 = '' OR instr(lower(subject),"
			       " lower(?1)) > 0) ORDER BY id DESC LIMIT ?3",
};

struct sq_adm {
	sqlite3 *db;
	sqlite3_stmt *st[SQA_STMT_MAX];
	struct store_stats stats;
};

/* SQLITE_TRACE_PROFILE: x is the statement's run time in nanoseconds. */
static int
sqa_trace(unsigned type, void *ctx, void *p, void *x)
{
	struct sq_adm *a = ctx;

	(void)p;
	if (type == SQLITE_TRACE_PROFILE && x != NULL) {
		a->stats.statements++;
		a->stats.seconds += (double)*(sqlite3_int64 *)x / 1e9;
	}
	return 0;
}

int
sqa_open(sqlite3 *db, struct sq_adm **ret, struct sgw_err *err)
{
	struct sq_adm *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "store: out of memory");
	a->db = db;
	if (sq_prepare_n(db, sqa_sql, a->st, SQA_STMT_MAX, err) < 0) {
		sqa_close(a);
		return -SGW_EIO;
	}
	sqlite3_trace_v2(db, SQLITE_TRACE_PROFILE, sqa_trace, a);
	*ret = a;
	return 0;
}

void
sqa_close(struct sq_adm *a)
{
	if (a == NULL)
		return;
	sqlite3_trace_v2(a->db, 0, NULL, NULL);
	for (int i = 0; i < SQA_STMT_MAX; i++)
		sqlite3_finalize(a->st[i]);
	free(a);
}

/* ---- helpers ------------------------------------------------------------- */

static int
sqa_fail(struct sq_adm *a, const char *what)
{
	return sq_fail_db(a->db, what);
}

static sqlite3_stmt *
sqa_stmt(struct sq_adm *a, enum sqa_stmt id)
{
	sqlite3_reset(a->st[id]);
	sqlite3_clear_bindings(a->st[id]);
	return a->st[id];
}

/* Run a statement without rows; *changes gets sqlite3_changes() when given. */
static int
sqa_done(struct sq_adm *a, sqlite3_stmt *st, int bad, const char *what, int *changes)
{
	int r = 0;

	if (bad != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
		r = sqa_fail(a, what);
	else if (changes != NULL)
		*changes = sqlite3_changes(a->db);
	sqlite3_reset(st);
	return r;
}

static int
sqa_count(struct sq_adm *a, sqlite3_stmt *st, int bad, int64_t *ret)
{
	int r = 0;

	if (bad == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	else
		r = sqa_fail(a, "count");
	sqlite3_reset(st);
	return r;
}

/* ---- transactions -------------------------------------------------------- */

int
sqa_txn_list(struct sq_adm *a, const struct store_txn_filter *f, store_txn_each each, void *arg)
{
	sqlite3_stmt *st = sqa_stmt(a, f->state < 0 ? SQA_TXN_LIST_ALL : SQA_TXN_LIST);
	size_t max = f->max > 0 && f->max < SQA_MAX_ROWS ? f->max : SQA_MAX_ROWS;
	int bad = 0, rc = SQLITE_DONE, r = 0;

	bad |= sqlite3_bind_int(st, 1, f->state);
	bad |= sqlite3_bind_int(st, 2, f->approved ? 1 : 0);
	bad |= sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
	bad |= sqlite3_bind_int(st, 4, TXN_SUBMITTED);
	if (bad != SQLITE_OK) {
		sqlite3_reset(st);
		return sqa_fail(a, "txn list bind");
	}
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_txn t;

		if ((r = sq_row_txn(st, &t)) < 0)
			break;
		r = each(arg, &t);
		store_txn_clear(&t);
		r = r < 0 ? 1 : 0; /* the callback stopped the walk */
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = sqa_fail(a, "txn list");
	sqlite3_reset(st);
	return r < 0 ? r : 0;
}

int
sqa_txn_count(struct sq_adm *a, int state, int64_t *ret)
{
	sqlite3_stmt *st = sqa_stmt(a, SQA_TXN_COUNT);

	return sqa_count(a, st, sqlite3_bind_int(st, 1, state), ret);
}

static int
sqa_decide_locked(struct sq_adm *a, const struct store_txn *t, const char *admin)
{
	sqlite3_stmt *st = sqa_stmt(a, SQA_TXN_DECIDE);
	int bad = 0, n = 0, r;

	bad |= sqlite3_bind_int(st, 1, t->state);
	bad |= sq_bind_str(st, 2, t->reason, sizeof(t->reason));
	bad |= sqlite3_bind_int64(st, 3, t->updated);
	bad |= sqlite3_bind_int64(st, 4, t->id);
	bad |= sqlite3_bind_int(st, 5, TXN_AWAITING_APPROVAL);
	bad |= sq_bind_str(st, 6, t->instance, sizeof(t->instance));
	if ((r = sqa_done(a, st, bad, "txn decide", &n)) < 0)
		return r;
	if (n == 0)
		return -SGW_ENOTFOUND;
	st = sqa_stmt(a, SQA_APPROVAL_PUT);
	bad = sqlite3_bind_int64(st, 1, t->id);
	bad |= sq_bind_str(st, 2, admin, 64);
	bad |= sqlite3_bind_int(st, 3, t->state);
	bad |= sq_bind_str(st, 4, t->reason, sizeof(t->reason));
	bad |= sqlite3_bind_int64(st, 5, t->updated);
	return sqa_done(a, st, bad, "approval insert", NULL);
}

int
sqa_txn_decide(struct sq_adm *a, const struct store_txn *t, const char *admin)
{
	int r;

	if (t->state < 0 || t->state >= TXN_STATE_MAX || admin == NULL)
		return -SGW_EINVAL;
	if (sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return sqa_fail(a, "begin");
	r = sqa_decide_locked(a, t, admin);
	if (r == 0 && sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		r = sqa_fail(a, "commit");
	if (r < 0 && !sqlite3_get_autocommit(a->db))
		(void)sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

int
sqa_txn_decider(struct sq_adm *a, int64_t id, char *ret_admin, size_t cap)
{
	sqlite3_stmt *st = sqa_stmt(a, SQA_APPROVAL_GET);
	int rc, r = -SGW_ENOTFOUND;

	rc = sqlite3_bind_int64(st, 1, id) != SQLITE_OK ? SQLITE_ERROR : sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *s = sqlite3_column_text(st, 0);

		snprintf(ret_admin, cap, "%s", s != NULL ? (const char *)s : "");
		r = 0;
	} else if (rc != SQLITE_DONE) {
		r = sqa_fail(a, "approval get");
	}
	sqlite3_reset(st);
	return r;
}

/* ---- one-time challenges ------------------------------------------------- */

int
sqa_otp_put(struct sq_adm *a, const struct store_otp *o)
{
	sqlite3_stmt *st = sqa_stmt(a, SQA_OTP_SWEEP);
	int bad = 0, r;

	bad |= sqlite3_bind_int64(st, 1, o->created);
	bad |= sqlite3_bind_int(st, 2, SQA_OTP_SWEEP_LIMIT);
	if ((r = sqa_done(a, st, bad, "otp sweep", NULL)) < 0)
		return r;
	st = sqa_stmt(a, SQA_OTP_PUT);
	bad = sq_bind_str(st, 1, o->profile, sizeof(o->profile));
	bad |= sqlite3_bind_blob(st, 2, o->sha256, 32, SQLITE_STATIC);
	bad |= sq_bind_str(st, 3, o->subject, sizeof(o->subject));
	bad |= sq_bind_str(st, 4, o->issued_by, sizeof(o->issued_by));
	bad |= sqlite3_bind_int64(st, 5, o->created);
	bad |= sqlite3_bind_int64(st, 6, o->expires);
	return sqa_done(a, st, bad, "otp insert", NULL);
}

/* SQA_OTP_CONSUME or SQA_OTP_PEEK: one row at most (sha256 is unique), the
 * challenge's bound subject; -SGW_ENOTFOUND when unknown, used or expired. */
static int
otp_subject(struct sq_adm *a, enum sqa_stmt id, const char *profile, const uint8_t sha256[32],
	    int64_t now, char *ret_subject, size_t cap)
{
	sqlite3_stmt *st = sqa_stmt(a, id);
	int bad = 0, rc, r = -SGW_ENOTFOUND;

	bad |= sq_bind_str(st, 1, profile, 64);
	bad |= sqlite3_bind_blob(st, 2, sha256, 32, SQLITE_STATIC);
	bad |= sqlite3_bind_int64(st, 3, now);
	rc = bad != SQLITE_OK ? SQLITE_ERROR : sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *s = sqlite3_column_text(st, 0);

		snprintf(ret_subject, cap, "%s", s != NULL ? (const char *)s : "");
		rc = sqlite3_step(st); /* finish the statement (the UPDATE) */
		r = 0;
	}
	if (rc != SQLITE_DONE)
		r = sqa_fail(a, "otp");
	sqlite3_reset(st);
	return r;
}

int
sqa_otp_consume(struct sq_adm *a, const char *profile, const uint8_t sha256[32], int64_t now,
		char *ret_subject, size_t cap)
{
	return otp_subject(a, SQA_OTP_CONSUME, profile, sha256, now, ret_subject, cap);
}

int
sqa_otp_peek(struct sq_adm *a, const char *profile, const uint8_t sha256[32], int64_t now,
	     char *ret_subject, size_t cap)
{
	return otp_subject(a, SQA_OTP_PEEK, profile, sha256, now, ret_subject, cap);
}

int
sqa_otp_count(struct sq_adm *a, const char *profile, int64_t now, int64_t *ret)
{
	sqlite3_stmt *st = sqa_stmt(a, SQA_OTP_COUNT);
	int bad = sq_bind_str(st, 1, profile, 64);

	bad |= sqlite3_bind_int64(st, 2, now);
	return sqa_count(a, st, bad, ret);
}

/* ---- certificates, statistics -------------------------------------------- */

/* The window a search without a serial reads: [*lo, *hi). */
static int
cert_window(struct sq_adm *a, const struct store_cert_filter *f, int64_t *lo, int64_t *hi)
{
	int64_t w = f->window > 0 ? (int64_t)f->window : STORE_CERT_WINDOW;
	int r = sqa_count(a, sqa_stmt(a, SQA_CERT_TOP), SQLITE_OK, hi);

	if (r < 0)
		return r;
	if (f->before > 0 && f->before < *hi)
		*hi = f->before;
	*lo = *hi > w ? *hi - w : 0;
	return 0;
}

int
sqa_cert_search(struct sq_adm *a, const struct store_cert_filter *f, store_cert_each each,
		void *arg, int64_t *next)
{
	int by_serial = f->serial != NULL && f->serial[0] != '\0';
	size_t max = f->max > 0 && f->max < SQA_MAX_ROWS ? f->max : SQA_MAX_ROWS, n = 0;
	int64_t lo = 0, hi = 0, last = 0;
	sqlite3_stmt *st;
	int bad = 0, rc = SQLITE_DONE, r = 0;

	*next = 0;
	if (!by_serial && (r = cert_window(a, f, &lo, &hi)) < 0)
		return r;
	st = sqa_stmt(a, by_serial ? SQA_CERT_SEARCH_SERIAL : SQA_CERT_SEARCH);
	bad |= sq_bind_str(st, 1, f->subject, 512);
	bad |= sqlite3_bind_int64(st, 3, (int64_t)max);
	if (by_serial)
		bad |= sq_bind_str(st, 2, f->serial, 80);
	else
		bad |= sqlite3_bind_int64(st, 4, hi) | sqlite3_bind_int64(st, 5, lo);
	if (bad != SQLITE_OK) {
		sqlite3_reset(st);
		return sqa_fail(a, "cert search bind");
	}
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_cert c;

		r = by_serial ? sq_row_cert(st, &c) : sq_row_cert_at(st, &c, &last);
		if (r < 0)
			break;
		n++;
		r = each(arg, &c) < 0 ? 1 : 0;
		store_cert_clear(&c);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = sqa_fail(a, "cert search");
	sqlite3_reset(st);
	/* a full page continues below its last row; otherwise below the window
	 * (rowids start at 1: nothing is below 1) */
	if (r >= 0 && !by_serial)
		*next = n == max ? last : lo > 1 ? lo : 0;
	return r < 0 ? r : 0;
}

int
sqa_stats(struct sq_adm *a, struct store_stats *ret)
{
	*ret = a->stats;
	return 0;
}
