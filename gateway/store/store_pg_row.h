/* store_pg_row.h: rows of the PostgreSQL store decoded into records
 * (store_pg_row.c), from binary results: each column is checked for NULL
 * and its exact size before it is read, as the SQLite store does. */
#ifndef SGW_STORE_PG_ROW_H
#define SGW_STORE_PG_ROW_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "err.h"
#include "store_record.h"

#define PG_MAX_BLOB (256 * 1024) /* sealed CSR or certificate DER */

/* 0 or -SGW_EIO: a BIGINT, text that fits a char[cap], bytea of exactly len. */
int pg_col_i64(const PGresult *res, int row, int col, int64_t *ret);
int pg_col_text(const PGresult *res, int row, int col, char *dst, size_t cap);
int pg_col_fixed(const PGresult *res, int row, int col, uint8_t *dst, size_t len);
/* A malloc'd copy of a bytea of at most PG_MAX_BLOB bytes (NULL allowed
 * when nullable: *ret = NULL, *ret_len = 0); -SGW_ENOMEM. */
int pg_col_blob(const PGresult *res, int row, int col, int nullable, uint8_t **ret,
		size_t *ret_len);

/* PG_TXN_COLS / PG_CERT_COLS (store_pg_sql.h) of `row` into ret, written on
 * success only; -SGW_EIO for a corrupt row, -SGW_ENOMEM. */
int pg_row_txn(const PGresult *res, int row, struct store_txn *ret);
int pg_row_cert(const PGresult *res, int row, int extra, struct store_cert *ret);

#endif
