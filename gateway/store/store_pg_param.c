/* store_pg_param.c: the parameters of a PostgreSQL statement
 * (store_pg_param.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_pg_param.h"

void
pg_param_str(struct pg_params *p, const char *s, size_t cap)
{
	if (p->n >= PG_MAX_PARAMS)
		abort(); /* a programming error: the statements have fewer */
	if (s == NULL)
		s = "";
	p->val[p->n] = s;
	p->len[p->n] = (int)strnlen(s, cap - 1);
	p->fmt[p->n] = 1; /* binary text is the bytes themselves: the cut is exact */
	p->n++;
}

void
pg_param_i64(struct pg_params *p, int64_t v)
{
	if (p->n >= PG_MAX_PARAMS)
		abort();
	snprintf(p->num[p->n], sizeof(p->num[p->n]), "%lld", (long long)v);
	p->val[p->n] = p->num[p->n];
	p->len[p->n] = 0;
	p->fmt[p->n] = 0;
	p->n++;
}

void
pg_param_bytes(struct pg_params *p, const uint8_t *b, size_t len)
{
	if (p->n >= PG_MAX_PARAMS)
		abort();
	p->val[p->n] = (const char *)b;
	p->len[p->n] = b != NULL ? (int)len : 0;
	p->fmt[p->n] = 1;
	p->n++;
}
