/* scep_query.c: query-string decoding for SCEP over HTTP; the message= is
 * lenient base64 (b64.c, B64_LENIENT). */
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "err.h"
#include "scep_query.h"

/* Percent-decode [s, s+len) into a new NUL-terminated string.  '+' stays '+'
 * (it is meaningful in base64; RFC 3986 query semantics, not forms). */
static int
pct_decode(const char *s, size_t len, char **ret, size_t *ret_len)
{
	char *out = malloc(len + 1);
	size_t o = 0;
	int hi, lo;

	if (out == NULL)
		return -SGW_ENOMEM;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		if (i + 2 >= len) {
			free(out);
			return -SGW_EPARSE;
		}
		hi = b64_hex_nibble((unsigned char)s[i + 1]);
		lo = b64_hex_nibble((unsigned char)s[i + 2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return -SGW_EPARSE;
		}
		out[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[o] = '\0';
	*ret = out;
	*ret_len = o;
	return 0;
}

static int
set_param(struct scep_query *q, const char *k, size_t klen, const char *v, size_t vlen)
{
	char *val;
	size_t n;
	int r;

	if (klen == 9 && memcmp(k, "operation", 9) == 0) {
		if (q->operation[0] != '\0')
			return 0;
		r = pct_decode(v, vlen, &val, &n);
		if (r < 0)
			return r;
		if (n == 0 || n >= sizeof(q->operation) || strlen(val) != n) {
			free(val);
			return -SGW_EPARSE;
		}
		memcpy(q->operation, val, n + 1);
		free(val);
		return 0;
	}
	if (klen == 7 && memcmp(k, "message", 7) == 0) {
		if (q->message != NULL)
			return 0;
		return pct_decode(v, vlen, &q->message, &q->message_len);
	}
	return 0;
}

int
scep_query_parse(const char *query, size_t len, struct scep_query *ret)
{
	struct scep_query q = {0};
	const char *p = query, *end = query + len, *amp, *eq;
	int r;

	if (len > SCEP_QUERY_MAX)
		return -SGW_EPARSE;
	while (p < end) {
		amp = memchr(p, '&', (size_t)(end - p));
		if (amp == NULL)
			amp = end;
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq != NULL) {
			r = set_param(&q, p, (size_t)(eq - p), eq + 1, (size_t)(amp - eq - 1));
			if (r < 0) {
				scep_query_clear(&q);
				return r;
			}
		}
		p = amp + 1;
	}
	*ret = q;
	return 0;
}

void
scep_query_clear(struct scep_query *q)
{
	free(q->message);
	q->message = NULL;
	q->message_len = 0;
	q->operation[0] = '\0';
}

/* micromdm scepclient sends the GET message= in the URL-safe alphabet (RFC
 * 4648 5: '-' and '_'), the others in the standard one: a text with '-' or
 * '_' and neither '+' nor '/' is read as base64url; a mix is refused. */
static enum b64_alphabet
message_alphabet(const char *in, size_t len)
{
	int url = 0, std = 0;

	for (size_t i = 0; i < len; i++) {
		url |= in[i] == '-' || in[i] == '_';
		std |= in[i] == '+' || in[i] == '/';
	}
	return url && !std ? B64_URL : B64_STD;
}

/* The GET message= is never empty: an input that decodes to nothing is refused. */
int
scep_base64_decode(const char *in, size_t len, uint8_t **ret, size_t *ret_len)
{
	uint8_t *out;
	size_t n;
	int r;

	if ((r = b64_decode(in, len, message_alphabet(in, len), B64_LENIENT, &out, &n)) < 0)
		return r;
	if (n == 0) {
		free(out);
		return -SGW_EPARSE;
	}
	*ret = out;
	*ret_len = n;
	return 0;
}
