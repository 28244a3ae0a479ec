/* store_pg_row.c: decoding the PostgreSQL store's binary result rows
 * (store_pg_row.h).  BIGINT is 8 bytes in network order; text and bytea
 * are their bytes. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_pg_row.h"
#include "store_pg_sql.h"

int
pg_col_i64(const PGresult *res, int row, int col, int64_t *ret)
{
	const unsigned char *p;
	uint64_t v = 0;

	if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != 8)
		return -SGW_EIO;
	p = (const unsigned char *)PQgetvalue(res, row, col);
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	*ret = (int64_t)v;
	return 0;
}

static int
col_int(const PGresult *res, int row, int col, int lo, int hi, int *ret)
{
	int64_t v = 0;

	if (pg_col_i64(res, row, col, &v) < 0 || v < lo || v > hi)
		return -SGW_EIO;
	*ret = (int)v;
	return 0;
}

int
pg_col_text(const PGresult *res, int row, int col, char *dst, size_t cap)
{
	int n = PQgetlength(res, row, col);

	if (PQgetisnull(res, row, col) || n < 0 || (size_t)n > cap - 1)
		return -SGW_EIO;
	memcpy(dst, PQgetvalue(res, row, col), (size_t)n);
	dst[n] = '\0';
	return 0;
}

int
pg_col_fixed(const PGresult *res, int row, int col, uint8_t *dst, size_t len)
{
	if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != (int)len)
		return -SGW_EIO;
	memcpy(dst, PQgetvalue(res, row, col), len);
	return 0;
}

int
pg_col_blob(const PGresult *res, int row, int col, int nullable, uint8_t **ret, size_t *ret_len)
{
	int n = PQgetlength(res, row, col);
	uint8_t *copy;

	if (PQgetisnull(res, row, col)) {
		if (!nullable)
			return -SGW_EIO;
		n = 0;
	}
	if (n > PG_MAX_BLOB)
		return -SGW_EIO;
	if (n <= 0) {
		*ret = NULL;
		*ret_len = 0;
		return 0;
	}
	copy = malloc((size_t)n);
	if (copy == NULL)
		return -SGW_ENOMEM;
	memcpy(copy, PQgetvalue(res, row, col), (size_t)n);
	*ret = copy;
	*ret_len = (size_t)n;
	return 0;
}

int
pg_row_txn(const PGresult *res, int row, struct store_txn *ret)
{
	struct store_txn t;
	int r = 0;

	if (PQnfields(res) != PG_TXN_NCOLS)
		return -SGW_EIO;
	memset(&t, 0, sizeof(t));
	r |= pg_col_i64(res, row, 0, &t.id);
	r |= pg_col_text(res, row, 1, t.profile, sizeof(t.profile));
	r |= pg_col_text(res, row, 2, t.transaction_id, sizeof(t.transaction_id));
	r |= pg_col_fixed(res, row, 3, t.signer_key_sha256, sizeof(t.signer_key_sha256));
	r |= col_int(res, row, 4, 0, TXN_STATE_MAX - 1, &t.state);
	r |= col_int(res, row, 5, INT_MIN, INT_MAX, &t.msg_type);
	r |= pg_col_text(res, row, 6, t.subject, sizeof(t.subject));
	r |= pg_col_text(res, row, 7, t.peer, sizeof(t.peer));
	r |= pg_col_text(res, row, 8, t.reason, sizeof(t.reason));
	r |= pg_col_text(res, row, 9, t.cert_serial, sizeof(t.cert_serial));
	r |= pg_col_text(res, row, 10, t.backend_handle, sizeof(t.backend_handle));
	r |= pg_col_i64(res, row, 12, &t.created);
	r |= pg_col_i64(res, row, 13, &t.updated);
	if (!PQgetisnull(res, row, 14)) { /* none: a row without a CSR */
		r |= pg_col_fixed(res, row, 14, t.csr.sha256, sizeof(t.csr.sha256));
		t.csr.hashed = 1;
	}
	r |= pg_col_text(res, row, 15, t.csr.info, sizeof(t.csr.info));
	r |= pg_col_text(res, row, 16, t.instance, sizeof(t.instance));
	if (r == 0) /* last: nothing to free on the way out */
		r = pg_col_blob(res, row, 11, 1, &t.csr.sealed, &t.csr.sealed_len);
	if (r < 0) {
		if (r == -SGW_EIO)
			log_err("store: postgresql: corrupt transactions row");
		return r;
	}
	memcpy(ret, &t, sizeof(t));
	return 0;
}

int
pg_row_cert(const PGresult *res, int row, int extra, struct store_cert *ret)
{
	struct store_cert c;
	int r = 0;

	if (PQnfields(res) != PG_CERT_NCOLS + extra)
		return -SGW_EIO;
	memset(&c, 0, sizeof(c));
	r |= pg_col_text(res, row, 0, c.serial, sizeof(c.serial));
	r |= pg_col_text(res, row, 1, c.issuer, sizeof(c.issuer));
	r |= pg_col_text(res, row, 2, c.subject, sizeof(c.subject));
	r |= pg_col_i64(res, row, 3, &c.not_before);
	r |= pg_col_i64(res, row, 4, &c.not_after);
	if (!PQgetisnull(res, row, 6)) /* no transaction: 0 */
		r |= pg_col_i64(res, row, 6, &c.txn_id);
	r |= col_int(res, row, 7, 0, 1, &c.revoked);
	r |= pg_col_i64(res, row, 8, &c.revoked_at);
	r |= col_int(res, row, 9, INT_MIN, INT_MAX, &c.revoke_reason);
	r |= pg_col_text(res, row, 10, c.superseded_by, sizeof(c.superseded_by));
	if (r == 0)
		r = pg_col_blob(res, row, 5, 0, &c.der, &c.der_len);
	if (r == 0 && c.der == NULL)
		r = -SGW_EIO;
	if (r < 0) {
		if (r == -SGW_EIO)
			log_err("store: postgresql: corrupt certificates row");
		return r;
	}
	memcpy(ret, &c, sizeof(c));
	return 0;
}
