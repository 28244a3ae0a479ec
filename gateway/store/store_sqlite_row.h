/* store_sqlite_row.h: the lowest level of the SQLite store
 * (store_sqlite_row.c), shared by store_sqlite.c and its spokes
 * store_sqlite_adm.c and store_sqlite_sync.c; it calls none of them. */
#ifndef SGW_STORE_SQLITE_ROW_H
#define SGW_STORE_SQLITE_ROW_H

#include <stddef.h>

#include <sqlite3.h>

#include "err.h"
#include "store_record.h"

#define SQ_MAX_BLOB (256 * 1024)		       /* sealed CSR or certificate DER */
#define SQ_CAP(type, field) sizeof(((type *)0)->field) /* a text field's capacity */

/* An UPDATE's SET clause that drops the sealed CSR when the new state (the
 * parameter p) is final (TXN_STATE_FINAL: ISSUED .. EXPIRED). */
#define SQ_SET_SEALED_FOR(p) "csr_sealed = CASE WHEN " p " >= 5 THEN NULL ELSE csr_sealed END"
_Static_assert(TXN_ISSUED == 5 && TXN_EXPIRED == TXN_STATE_MAX - 1,
	       "SQ_SET_SEALED_FOR: the final states are the last ones, from 5");

/* The columns sq_row_txn and sq_row_cert decode, in this order: a row with
 * another number of columns, a column of another type (NULL only where the
 * schema allows it), a text longer than its field or a blob of another size
 * is corrupt. */
#define SQ_TXN_COLS                                                                                \
	"id, profile, transaction_id, signer_key_sha256, state, msg_type, subject, peer, reason, " \
	"cert_serial, backend_handle, csr_sealed, created, updated, csr_sha256, csr_info, "        \
	"instance"
#define SQ_CERT_COLS                                                                               \
	"serial, issuer, subject, not_before, not_after, der, txn_id, revoked, revoked_at, "       \
	"revoke_reason, superseded_by"
#define SQ_TXN_NCOLS 17
#define SQ_CERT_NCOLS 11

/* Prepare n statements sql[i] into st[i] (persistent); -SGW_EIO with the
 * error in err (the ones prepared stay in st for the caller to finalize). */
int sq_prepare_n(sqlite3 *db, const char *const *sql, sqlite3_stmt **st, int n,
		 struct sgw_err *err);
/* sqlite3_exec; the error (if any) in err */
int sq_exec_db(sqlite3 *db, const char *sql, struct sgw_err *err);
/* Map the failed call on db to an SGW code: -SGW_EEXIST for a unique-key
 * clash (not logged), otherwise logged "store: sqlite: what: ..." */
int sq_fail_db(sqlite3 *db, const char *what);
/* Reset st and clear its bindings (the reset's return repeats the last
 * step's error, already handled there). */
void sq_reset(sqlite3_stmt *st);
/* Step a bound one-row SELECT on db (bad: the binds' result), decode the row
 * into ret, reset: 0, -SGW_ENOTFOUND for no row, -SGW_EIO for a corrupt one
 * (logged), or the mapped error of the step. */
int sq_fetch(sqlite3 *db, sqlite3_stmt *st, int bad, int (*decode)(sqlite3_stmt *, void *),
	     void *ret);
/* Bind at most cap - 1 bytes of s (NULL: ""): what a char[cap] field holds. */
int sq_bind_str(sqlite3_stmt *st, int idx, const char *s, size_t cap);

/* Bind a struct store_csr to its three columns: sealed (NULL when none),
 * sha256 (NULL when not hashed), info.  Borrowed until the statement resets. */
int sq_bind_csr(sqlite3_stmt *st, int i_sealed, int i_sha256, int i_info,
		const struct store_csr *c);

/* Decode the current row into ret (written on success only); -SGW_EIO for a
 * corrupt row, -SGW_ENOMEM. */
int sq_row_txn(sqlite3_stmt *st, void *ret);  /* struct store_txn, SQ_TXN_COLS */
int sq_row_cert(sqlite3_stmt *st, void *ret); /* struct store_cert, SQ_CERT_COLS */
/* SQ_CERT_COLS and then the row's id (its position for a paged search). */
int sq_row_cert_at(sqlite3_stmt *st, struct store_cert *ret, int64_t *ret_id);

#endif
