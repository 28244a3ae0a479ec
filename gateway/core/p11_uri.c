/* p11_uri.c: the RFC 7512 parser (p11_uri.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "p11_uri.h"

#define SCHEME "pkcs11:"
#define SCHEME_LEN 7

int
p11_uri_is(const char *s)
{
	return s != NULL && strncasecmp(s, SCHEME, SCHEME_LEN) == 0;
}

void
p11_uri_clear(struct p11_uri *u)
{
	free(u->token);
	free(u->manufacturer);
	free(u->model);
	free(u->serial);
	free(u->object);
	memset(u, 0, sizeof(*u));
}

/* RFC 7512 pchar minus ';' (the separator) plus '%' escapes, decoded into
 * out (at most P11_URI_MAX_VALUE bytes). */
static int
decode(const uint8_t *v, size_t len, uint8_t *out, size_t *ret_len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = v[i];

		if (n == P11_URI_MAX_VALUE)
			return -SGW_EPARSE;
		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return -SGW_EPARSE;
			hi = b64_hex_nibble(v[i + 1]);
			lo = b64_hex_nibble(v[i + 2]);
			if (hi < 0 || lo < 0)
				return -SGW_EPARSE;
			out[n++] = (uint8_t)(hi << 4 | lo);
			i += 2;
			continue;
		}
		if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#' || c == '/' || c == '"' ||
		    c == '<' || c == '>' || c == '\\' || c == '^' || c == '`' || c == '{' ||
		    c == '|' || c == '}')
			return -SGW_EPARSE;
		out[n++] = c;
	}
	*ret_len = n;
	return 0;
}

static int
set_str(char **dst, const uint8_t *v, size_t n)
{
	if (*dst != NULL || memchr(v, 0, n) != NULL)
		return -SGW_EPARSE;
	if ((*dst = malloc(n + 1)) == NULL)
		return -SGW_ENOMEM;
	memcpy(*dst, v, n);
	(*dst)[n] = '\0';
	return 0;
}

static int
set_type(struct p11_uri *u, const uint8_t *v, size_t n)
{
	static const char *const names[P11_URI_TYPE_MAX] = {NULL,   "private",	  "public",
							    "cert", "secret-key", "data"};

	if (u->type != P11_URI_TYPE_ANY)
		return -SGW_EPARSE;
	for (int t = 1; t < P11_URI_TYPE_MAX; t++)
		if (strlen(names[t]) == n && memcmp(names[t], v, n) == 0) {
			u->type = (enum p11_uri_type)t;
			return 0;
		}
	return -SGW_EPARSE;
}

static int
set_slot_id(struct p11_uri *u, const uint8_t *v, size_t n)
{
	unsigned long x = 0;

	if (u->has_slot_id || n == 0 || n > 9)
		return -SGW_EPARSE;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -SGW_EPARSE;
		x = x * 10 + (unsigned long)(v[i] - '0');
	}
	u->slot_id = x;
	u->has_slot_id = 1;
	return 0;
}

/* One "name=value" path attribute. */
static int
attribute(struct p11_uri *u, const uint8_t *a, size_t len, struct sgw_err *err)
{
	const uint8_t *eq = memchr(a, '=', len);
	uint8_t v[P11_URI_MAX_VALUE];
	size_t nlen, vlen = 0;
	int r;

	if (eq == NULL)
		return sgw_err_set(err, SGW_EPARSE, "PKCS#11 URI: attribute without '='");
	nlen = (size_t)(eq - a);
	if (decode(eq + 1, len - nlen - 1, v, &vlen) < 0)
		return sgw_err_set(err, SGW_EPARSE,
				   "PKCS#11 URI: bad character, escape or length in a value");
#define IS(name) (nlen == sizeof(name) - 1 && memcmp(a, name, nlen) == 0)
	if (IS("token"))
		r = set_str(&u->token, v, vlen);
	else if (IS("manufacturer"))
		r = set_str(&u->manufacturer, v, vlen);
	else if (IS("model"))
		r = set_str(&u->model, v, vlen);
	else if (IS("serial"))
		r = set_str(&u->serial, v, vlen);
	else if (IS("object"))
		r = set_str(&u->object, v, vlen);
	else if (IS("type"))
		r = set_type(u, v, vlen);
	else if (IS("slot-id"))
		r = set_slot_id(u, v, vlen);
	else if (IS("id")) {
		r = u->has_id || vlen == 0 ? -SGW_EPARSE : 0;
		if (r == 0) {
			memcpy(u->id, v, vlen);
			u->id_len = vlen;
			u->has_id = 1;
		}
	} else if (nlen > 2 && memcmp(a, "x-", 2) == 0)
		r = 0; /* vendor attributes may be ignored (RFC 7512 2.3) */
	else
		return sgw_err_set(err, SGW_EPARSE,
				   "PKCS#11 URI: unknown or unsupported attribute '%.*s'",
				   (int)(nlen > 32 ? 32 : nlen), (const char *)a);
#undef IS
	if (r == -SGW_ENOMEM)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	if (r < 0)
		return sgw_err_set(err, SGW_EPARSE,
				   "PKCS#11 URI: attribute '%.*s' repeated or its value invalid",
				   (int)(nlen > 32 ? 32 : nlen), (const char *)a);
	return 0;
}

int
p11_uri_parse(const uint8_t *buf, size_t len, struct p11_uri *u, struct sgw_err *err)
{
	size_t i, start;
	int r;

	memset(u, 0, sizeof(*u));
	if (len < SCHEME_LEN || strncasecmp((const char *)buf, SCHEME, SCHEME_LEN) != 0)
		return sgw_err_set(err, SGW_EPARSE, "not a PKCS#11 URI (pkcs11:...)");
	if (memchr(buf, '?', len) != NULL)
		return sgw_err_set(
		    err, SGW_EPARSE,
		    "PKCS#11 URI: query attributes (pin-value, module-path, ...) are "
		    "not accepted: the module and PIN come from the pkcs11 section");
	for (start = i = SCHEME_LEN; i <= len; i++) {
		if (i < len && buf[i] != ';')
			continue;
		if (i > start && (r = attribute(u, buf + start, i - start, err)) < 0) {
			p11_uri_clear(u);
			return r;
		}
		start = i + 1;
	}
	if (u->object == NULL && !u->has_id) {
		p11_uri_clear(u);
		return sgw_err_set(err, SGW_EPARSE,
				   "PKCS#11 URI: names no key (give object= or id=)");
	}
	if (u->type != P11_URI_TYPE_ANY && u->type != P11_URI_TYPE_PRIVATE) {
		p11_uri_clear(u);
		return sgw_err_set(err, SGW_EPARSE, "PKCS#11 URI: type must be private for a key");
	}
	return 0;
}
