/* store_pg_param.h: the parameters of one PostgreSQL statement
 * (store_pg_param.c), as pg_exec (store_pg_pool.h) sends them. */
#ifndef SGW_STORE_PG_PARAM_H
#define SGW_STORE_PG_PARAM_H

#include <stddef.h>
#include <stdint.h>

#define PG_MAX_PARAMS 20

/* The parameters of one statement: text, int64 (sent as text) or bytea
 * (binary).  Borrowed: the values must outlive the call. */
struct pg_params {
	int n;
	const char *val[PG_MAX_PARAMS];
	int len[PG_MAX_PARAMS];
	int fmt[PG_MAX_PARAMS];
	char num[PG_MAX_PARAMS][24];
};

/* Append one parameter ($n + 1).  Text is cut at cap - 1 bytes (what a
 * char[cap] field holds); NULL text is "". */
void pg_param_str(struct pg_params *p, const char *s, size_t cap);
void pg_param_i64(struct pg_params *p, int64_t v);
void pg_param_bytes(struct pg_params *p, const uint8_t *b, size_t len); /* NULL: SQL NULL */

#endif
