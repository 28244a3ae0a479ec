/* store_pg_adm.c: the PostgreSQL store's admin queries (store_pg_adm.h),
 * the same semantics as store_sqlite_adm.c.  A decision is one statement
 * (store_pg_sql.c, PG_TXN_DECIDE): of two administrators deciding at once
 * on two instances, the second waits on the row, then finds it decided. */
#include <stdio.h>
#include <string.h>

#include "store_pg_adm.h"
#include "store_pg_row.h"
#include "store_pg_sql.h"

#define PGA_MAX_ROWS 10000
#define PGA_OTP_SWEEP_LIMIT 1000

int
pga_count(struct pg_pool *pool, int id, const struct pg_params *p, int64_t *ret)
{
	PGresult *res;
	int r = pg_pool_exec(pool, id, p, &res);

	if (r < 0)
		return r;
	r = PQntuples(res) == 1 ? pg_col_i64(res, 0, 0, ret) : -SGW_EIO;
	PQclear(res);
	return r;
}

int
pga_txn_list(struct pg_pool *pool, const struct store_txn_filter *f, store_txn_each each, void *arg)
{
	size_t max = f->max > 0 && f->max < PGA_MAX_ROWS ? f->max : PGA_MAX_ROWS;
	struct pg_params p = {0};
	PGresult *res;
	int r;

	pg_param_i64(&p, f->state);
	pg_param_i64(&p, f->approved ? 1 : 0);
	pg_param_i64(&p, (int64_t)max);
	pg_param_i64(&p, TXN_SUBMITTED);
	r = pg_pool_exec(pool, f->state < 0 ? PG_TXN_LIST_ALL : PG_TXN_LIST, &p, &res);
	if (r < 0)
		return r;
	for (int i = 0; i < PQntuples(res); i++) {
		struct store_txn t;

		if ((r = pg_row_txn(res, i, &t)) < 0)
			break;
		r = each(arg, &t);
		store_txn_clear(&t);
		if (r < 0) { /* the callback stopped the walk */
			r = 0;
			break;
		}
	}
	PQclear(res);
	return r;
}

int
pga_txn_decide(struct pg_pool *pool, const struct store_txn *t, const char *admin)
{
	struct pg_params p = {0};
	PGresult *res;
	int r;

	if (t->state < 0 || t->state >= TXN_STATE_MAX || admin == NULL)
		return -SGW_EINVAL;
	pg_param_i64(&p, t->state);
	pg_param_str(&p, t->reason, sizeof(t->reason));
	pg_param_i64(&p, t->updated);
	pg_param_str(&p, t->instance, sizeof(t->instance));
	pg_param_i64(&p, t->id);
	pg_param_i64(&p, TXN_AWAITING_APPROVAL);
	pg_param_str(&p, admin, 64);
	if ((r = pg_pool_exec(pool, PG_TXN_DECIDE, &p, &res)) < 0)
		return r;
	r = PQntuples(res) == 1 ? 0 : -SGW_ENOTFOUND;
	PQclear(res);
	return r;
}

/* The first column of the only row as text into ret (cap bytes, cut). */
static int
pga_text1(PGresult *res, char *ret, size_t cap)
{
	if (PQntuples(res) == 0)
		return -SGW_ENOTFOUND;
	if (PQgetisnull(res, 0, 0))
		return -SGW_EIO;
	snprintf(ret, cap, "%.*s", PQgetlength(res, 0, 0), PQgetvalue(res, 0, 0));
	return 0;
}

int
pga_txn_decider(struct pg_pool *pool, int64_t id, char *ret_admin, size_t cap)
{
	struct pg_params p = {0};
	PGresult *res;
	int r;

	pg_param_i64(&p, id);
	if ((r = pg_pool_exec(pool, PG_APPROVAL_GET, &p, &res)) < 0)
		return r;
	r = pga_text1(res, ret_admin, cap);
	PQclear(res);
	return r;
}

int
pga_otp_put(struct pg_pool *pool, const struct store_otp *o)
{
	struct pg_params p = {0};
	int r;

	pg_param_i64(&p, o->created);
	pg_param_i64(&p, PGA_OTP_SWEEP_LIMIT);
	if ((r = pg_pool_exec(pool, PG_OTP_SWEEP, &p, NULL)) < 0)
		return r;
	memset(&p, 0, sizeof(p));
	pg_param_str(&p, o->profile, sizeof(o->profile));
	pg_param_bytes(&p, o->sha256, 32);
	pg_param_str(&p, o->subject, sizeof(o->subject));
	pg_param_str(&p, o->issued_by, sizeof(o->issued_by));
	pg_param_i64(&p, o->created);
	pg_param_i64(&p, o->expires);
	return pg_pool_exec(pool, PG_OTP_PUT, &p, NULL);
}

int
pga_otp_subject(struct pg_conn *c, int id, const char *profile, const uint8_t sha256[32],
		int64_t now, char *ret_subject, size_t cap)
{
	struct pg_params p = {0};
	PGresult *res;
	int r;

	pg_param_str(&p, profile, 64);
	pg_param_bytes(&p, sha256, 32);
	pg_param_i64(&p, now);
	if ((r = pg_exec(c, id, &p, &res)) < 0)
		return r;
	r = pga_text1(res, ret_subject, cap);
	PQclear(res);
	return r;
}

int
pga_otp(struct pg_pool *pool, int id, const char *profile, const uint8_t sha256[32], int64_t now,
	char *ret_subject, size_t cap)
{
	struct pg_conn *c;
	int r = pg_acquire(pool, &c);

	if (r < 0)
		return r;
	r = pga_otp_subject(c, id, profile, sha256, now, ret_subject, cap);
	pg_release(pool, c);
	return r;
}

/* The window a search without a serial reads: [*lo, *hi) of ids. */
static int
cert_window(struct pg_pool *pool, const struct store_cert_filter *f, int64_t *lo, int64_t *hi)
{
	int64_t w = f->window > 0 ? (int64_t)f->window : STORE_CERT_WINDOW;
	int r = pga_count(pool, PG_CERT_TOP, NULL, hi);

	if (r < 0)
		return r;
	if (f->before > 0 && f->before < *hi)
		*hi = f->before;
	*lo = *hi > w ? *hi - w : 0;
	return 0;
}

int
pga_cert_search(struct pg_pool *pool, const struct store_cert_filter *f, store_cert_each each,
		void *arg, int64_t *next)
{
	int by_serial = f->serial != NULL && f->serial[0] != '\0';
	size_t max = f->max > 0 && f->max < PGA_MAX_ROWS ? f->max : PGA_MAX_ROWS, n = 0;
	int64_t lo = 0, hi = 0, last = 0;
	struct pg_params p = {0};
	PGresult *res;
	int r;

	*next = 0;
	if (!by_serial && (r = cert_window(pool, f, &lo, &hi)) < 0)
		return r;
	pg_param_str(&p, f->subject, 512);
	if (by_serial) {
		pg_param_str(&p, f->serial, 80);
		pg_param_i64(&p, (int64_t)max);
	} else {
		pg_param_i64(&p, (int64_t)max);
		pg_param_i64(&p, hi);
		pg_param_i64(&p, lo);
	}
	r = pg_pool_exec(pool, by_serial ? PG_CERT_SEARCH_SERIAL : PG_CERT_SEARCH, &p, &res);
	if (r < 0)
		return r;
	for (int i = 0; i < PQntuples(res); i++) {
		struct store_cert c;

		if ((!by_serial && (r = pg_col_i64(res, i, PG_CERT_NCOLS, &last)) < 0) ||
		    (r = pg_row_cert(res, i, by_serial ? 0 : 1, &c)) < 0)
			break;
		n++;
		r = each(arg, &c);
		store_cert_clear(&c);
		if (r < 0) {
			r = 1; /* the callback stopped the walk */
			break;
		}
	}
	PQclear(res);
	/* a full page continues below its last row; otherwise below the window
	 * (ids start at 1: nothing is below 1) */
	if (r >= 0 && !by_serial)
		*next = n == max ? last : lo > 1 ? lo : 0;
	return r < 0 ? r : 0;
}
