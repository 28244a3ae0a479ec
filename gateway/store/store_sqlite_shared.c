/* store_sqlite_shared.c: the SQLite store's shared state of issue 20 (schema:
 * migration 7): the revocations and the current CRL of a CA the gateway runs
 * (the local backend), and the leases of the jobs done once per cluster.
 * Each operation is one statement, so each is atomic on its own: the CRL
 * number is a compare-and-set, a lease is taken or renewed by one upsert. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_sqlite_row.h"
#include "store_sqlite_shared.h"

#define SQH_MAX_CRL (16 * 1024 * 1024) /* a CRL of LCRL_MAX_ENTRIES fits */
#define SQH_NAME_MAX 128	       /* a CA's or a job's name, a holder */

enum sqh_stmt {
	SQH_REVOKE,
	SQH_REVOKED_LIST,
	SQH_CRL_GET,
	SQH_CRL_PUT,
	SQH_LEASE_TAKE,
	SQH_CRL_SEED,
	SQH_LEASE_GET,
	SQH_CRL_NUMBER,
	SQH_STMT_MAX
};

static const char *const sqh_sql[SQH_STMT_MAX] = {
    [SQH_REVOKE] = "INSERT INTO ca_revoked (ca, serial, reason, revoked_at)"
		   " VALUES (?1, ?2, ?3, ?4)",
    [SQH_REVOKED_LIST] = "SELECT serial, reason, revoked_at FROM ca_revoked WHERE ca = ?1"
			 " ORDER BY rowid",
    [SQH_CRL_GET] = "SELECT number, next_update, der FROM ca_crl WHERE ca = ?1",
    /* number ?2 only as the successor of the stored one, or as 1 when none
     * is stored: otherwise nothing changes (changes() == 0) */
    [SQH_CRL_PUT] = "INSERT INTO ca_crl (ca, number, next_update, der)"
		    " SELECT ?1, ?2, ?3, ?4 WHERE ?2 = 1 OR EXISTS (SELECT 1 FROM ca_crl"
		    " WHERE ca = ?1) ON CONFLICT (ca) DO UPDATE SET number = excluded.number,"
		    " next_update = excluded.next_update, der = excluded.der"
		    " WHERE ca_crl.number = excluded.number - 1",
    /* free, expired or ours: ours until ?3 + ?4 (changes() == 1) */
    [SQH_LEASE_TAKE] = "INSERT INTO leases (job, holder, expires) VALUES (?1, ?2, ?3 + ?4)"
		       " ON CONFLICT (job) DO UPDATE SET holder = excluded.holder,"
		       " expires = excluded.expires"
		       " WHERE leases.holder = excluded.holder OR leases.expires <= ?3",
    [SQH_CRL_SEED] = "INSERT INTO ca_crl (ca, number, next_update, der) VALUES (?1, ?2, ?3, ?4)"
		     " ON CONFLICT (ca) DO NOTHING",
    [SQH_LEASE_GET] = "SELECT holder, expires FROM leases WHERE job = ?1",
    [SQH_CRL_NUMBER] = "SELECT number FROM ca_crl WHERE ca = ?1",
};

struct sq_shared {
	sqlite3 *db;
	sqlite3_stmt *st[SQH_STMT_MAX];
};

int
sqh_open(sqlite3 *db, struct sq_shared **ret, struct sgw_err *err)
{
	struct sq_shared *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "store: out of memory");
	h->db = db;
	if (sq_prepare_n(db, sqh_sql, h->st, SQH_STMT_MAX, err) < 0) {
		sqh_close(h);
		return -SGW_EIO;
	}
	*ret = h;
	return 0;
}

void
sqh_close(struct sq_shared *h)
{
	if (h == NULL)
		return;
	for (int i = 0; i < SQH_STMT_MAX; i++)
		sqlite3_finalize(h->st[i]);
	free(h);
}

static int
name_ok(const char *s)
{
	return s != NULL && s[0] != '\0' && strlen(s) < SQH_NAME_MAX;
}

/* Run a bound statement without rows; *ret_changes = sqlite3_changes(). */
static int
sqh_done(struct sq_shared *h, sqlite3_stmt *st, int bad, const char *what, int *ret_changes)
{
	int r = 0;

	if (bad != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
		r = sq_fail_db(h->db, what);
	else if (ret_changes != NULL)
		*ret_changes = sqlite3_changes(h->db);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

int
sqh_ca_revoke(struct sq_shared *h, const char *ca, const struct store_revoked *rv)
{
	sqlite3_stmt *st = h->st[SQH_REVOKE];
	int bad = 0;

	if (!name_ok(ca) || rv == NULL || rv->serial[0] == '\0' || rv->reason < 0 ||
	    rv->reason > 10)
		return -SGW_EINVAL;
	bad |= sq_bind_str(st, 1, ca, SQH_NAME_MAX);
	bad |= sq_bind_str(st, 2, rv->serial, sizeof(rv->serial));
	bad |= sqlite3_bind_int(st, 3, rv->reason);
	bad |= sqlite3_bind_int64(st, 4, rv->when);
	return sqh_done(h, st, bad, "ca revoke", NULL); /* a clash: -SGW_EEXIST */
}

static int
row_revoked(sqlite3_stmt *st, struct store_revoked *ret)
{
	const unsigned char *s = sqlite3_column_text(st, 0);
	int n = sqlite3_column_bytes(st, 0);

	memset(ret, 0, sizeof(*ret));
	if (sqlite3_column_type(st, 0) != SQLITE_TEXT || s == NULL || n <= 0 ||
	    (size_t)n >= sizeof(ret->serial) || sqlite3_column_type(st, 1) != SQLITE_INTEGER ||
	    sqlite3_column_type(st, 2) != SQLITE_INTEGER)
		return -SGW_EIO;
	memcpy(ret->serial, s, (size_t)n);
	ret->reason = sqlite3_column_int(st, 1);
	ret->when = sqlite3_column_int64(st, 2);
	return 0;
}

int
sqh_ca_revoked_list(struct sq_shared *h, const char *ca, store_revoked_each each, void *arg)
{
	sqlite3_stmt *st = h->st[SQH_REVOKED_LIST];
	int rc = SQLITE_DONE, r = 0;

	if (!name_ok(ca) || each == NULL)
		return -SGW_EINVAL;
	if (sq_bind_str(st, 1, ca, SQH_NAME_MAX) != SQLITE_OK)
		r = sq_fail_db(h->db, "ca revoked list");
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_revoked rv;

		if ((r = row_revoked(st, &rv)) < 0)
			break;
		if (each(arg, &rv) < 0) {
			rc = SQLITE_DONE; /* the callback stopped the walk */
			break;
		}
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = sq_fail_db(h->db, "ca revoked list");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

int
sqh_ca_crl_get(struct sq_shared *h, const char *ca, struct store_crl *ret)
{
	sqlite3_stmt *st = h->st[SQH_CRL_GET];
	int rc, r = 0;

	if (!name_ok(ca) || ret == NULL)
		return -SGW_EINVAL;
	rc = sq_bind_str(st, 1, ca, SQH_NAME_MAX) != SQLITE_OK ? SQLITE_ERROR : sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = -SGW_ENOTFOUND;
	} else if (rc != SQLITE_ROW) {
		r = sq_fail_db(h->db, "ca crl get");
	} else if (sqlite3_column_type(st, 0) != SQLITE_INTEGER ||
		   sqlite3_column_type(st, 1) != SQLITE_INTEGER ||
		   sqlite3_column_type(st, 2) != SQLITE_BLOB || sqlite3_column_bytes(st, 2) <= 0 ||
		   sqlite3_column_bytes(st, 2) > SQH_MAX_CRL) {
		r = -SGW_EIO;
	} else {
		size_t n = (size_t)sqlite3_column_bytes(st, 2);
		uint8_t *der = malloc(n);

		if (der == NULL) {
			r = -SGW_ENOMEM;
		} else {
			memcpy(der, sqlite3_column_blob(st, 2), n);
			ret->number = sqlite3_column_int64(st, 0);
			ret->next_update = sqlite3_column_int64(st, 1);
			ret->der = der;
			ret->der_len = n;
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

/* SQH_CRL_PUT or SQH_CRL_SEED: -SGW_EEXIST when nothing changed */
static int
crl_store(struct sq_shared *h, enum sqh_stmt id, const char *ca, const struct store_crl *c)
{
	sqlite3_stmt *st = h->st[id];
	int bad = 0, n = 0, r;

	if (!name_ok(ca) || c == NULL || c->number < 1 || c->der == NULL || c->der_len == 0 ||
	    c->der_len > SQH_MAX_CRL)
		return -SGW_EINVAL;
	bad |= sq_bind_str(st, 1, ca, SQH_NAME_MAX);
	bad |= sqlite3_bind_int64(st, 2, c->number);
	bad |= sqlite3_bind_int64(st, 3, c->next_update);
	bad |= sqlite3_bind_blob(st, 4, c->der, (int)c->der_len, SQLITE_STATIC);
	r = sqh_done(h, st, bad, "ca crl put", &n);
	return r == 0 && n == 0 ? -SGW_EEXIST : r;
}

int
sqh_ca_crl_put(struct sq_shared *h, const char *ca, const struct store_crl *c)
{
	return crl_store(h, SQH_CRL_PUT, ca, c);
}

int
sqh_ca_crl_seed(struct sq_shared *h, const char *ca, const struct store_crl *c)
{
	return crl_store(h, SQH_CRL_SEED, ca, c);
}

int
sqh_lease_take(struct sq_shared *h, const char *job, const char *holder, int64_t now, int ttl,
	       int *ret_held)
{
	sqlite3_stmt *st = h->st[SQH_LEASE_TAKE];
	int bad = 0, n = 0, r;

	if (!name_ok(job) || !name_ok(holder) || ttl <= 0 || ret_held == NULL)
		return -SGW_EINVAL;
	bad |= sq_bind_str(st, 1, job, SQH_NAME_MAX);
	bad |= sq_bind_str(st, 2, holder, SQH_NAME_MAX);
	bad |= sqlite3_bind_int64(st, 3, now);
	bad |= sqlite3_bind_int(st, 4, ttl);
	r = sqh_done(h, st, bad, "lease take", &n);
	if (r == 0)
		*ret_held = n > 0;
	return r;
}

int
sqh_lease_get(struct sq_shared *h, const char *job, char *ret_holder, size_t cap,
	      int64_t *ret_expires)
{
	sqlite3_stmt *st = h->st[SQH_LEASE_GET];
	const unsigned char *p;
	int rc, r = 0;

	if (!name_ok(job) || ret_holder == NULL || cap == 0 || ret_expires == NULL)
		return -SGW_EINVAL;
	rc = sq_bind_str(st, 1, job, SQH_NAME_MAX) != SQLITE_OK ? SQLITE_ERROR : sqlite3_step(st);
	if (rc == SQLITE_DONE)
		r = -SGW_ENOTFOUND;
	else if (rc != SQLITE_ROW)
		r = sq_fail_db(h->db, "lease get");
	else if (sqlite3_column_type(st, 0) != SQLITE_TEXT ||
		 sqlite3_column_type(st, 1) != SQLITE_INTEGER ||
		 (p = sqlite3_column_text(st, 0)) == NULL)
		r = -SGW_EIO;
	if (r == 0 && rc == SQLITE_ROW) {
		snprintf(ret_holder, cap, "%s", (const char *)p);
		*ret_expires = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

int
sqh_ca_crl_number(struct sq_shared *h, const char *ca, int64_t *ret)
{
	sqlite3_stmt *st = h->st[SQH_CRL_NUMBER];
	int rc, r = 0;

	if (!name_ok(ca) || ret == NULL)
		return -SGW_EINVAL;
	rc = sq_bind_str(st, 1, ca, SQH_NAME_MAX) != SQLITE_OK ? SQLITE_ERROR : sqlite3_step(st);
	if (rc == SQLITE_DONE)
		r = -SGW_ENOTFOUND;
	else if (rc != SQLITE_ROW)
		r = sq_fail_db(h->db, "ca crl number");
	else if (sqlite3_column_type(st, 0) != SQLITE_INTEGER)
		r = -SGW_EIO;
	else
		*ret = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}
