/* cfg_dn.c: an RFC 4514 distinguished name from the configuration into an
 * X509_NAME (cfg_dn.h). */
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "b64.h"
#include "cfg_dn.h"

#define DN_VALUE_MAX 256
#define DN_TYPE_MAX 64

/* The type of one RDN: s[*i..] up to '=', spaces around it dropped. */
static int
dn_type(const char *s, size_t len, size_t *i, char *type)
{
	size_t n = 0;

	while (*i < len && s[*i] == ' ')
		(*i)++;
	while (*i < len && s[*i] != '=' && s[*i] != ' ') {
		char c = s[*i];

		if (n + 1 >= DN_TYPE_MAX || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
					      (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return -SGW_EPARSE;
		type[n++] = c;
		(*i)++;
	}
	while (*i < len && s[*i] == ' ')
		(*i)++;
	type[n] = '\0';
	if (n == 0 || *i == len || s[*i] != '=')
		return -SGW_EPARSE;
	(*i)++;
	return 0;
}

/* The value of one RDN: s[*i..] up to an unescaped ',' or the end; unescaped
 * spaces around it dropped.  *i is left on the ',' or at len. */
static int
dn_value(const char *s, size_t len, size_t *i, unsigned char *val, size_t *ret_n)
{
	size_t n = 0, keep = 0; /* keep: length up to the last escaped or non-space byte */
	int h1, h2;

	while (*i < len && s[*i] == ' ')
		(*i)++;
	if (*i < len && s[*i] == '#')
		return -SGW_EPARSE;
	for (; *i < len && s[*i] != ','; (*i)++) {
		char c = s[*i];

		if (n == DN_VALUE_MAX || c == '+' || c == '"' || c == ';' || c == '<' || c == '>' ||
		    c == '\0')
			return -SGW_EPARSE;
		if (c != '\\') {
			val[n++] = (unsigned char)c;
			keep = c != ' ' ? n : keep;
			continue;
		}
		if (++(*i) == len)
			return -SGW_EPARSE;
		c = s[*i];
		if (strchr(",+\"\\<>;=# ", c) != NULL) {
			val[n++] = (unsigned char)c;
		} else if (*i + 1 < len && (h1 = b64_hex_nibble(c)) >= 0 &&
			   (h2 = b64_hex_nibble(s[*i + 1])) >= 0) {
			val[n++] = (unsigned char)(h1 << 4 | h2);
			(*i)++;
		} else {
			return -SGW_EPARSE;
		}
		keep = n;
	}
	if (keep == 0)
		return -SGW_EPARSE;
	*ret_n = keep;
	return 0;
}

/* One RDN, inserted first (the written order is the reverse of DER's). */
static int
dn_rdn(X509_NAME *name, const char *s, size_t len, size_t *i)
{
	unsigned char val[DN_VALUE_MAX];
	char type[DN_TYPE_MAX];
	ASN1_OBJECT *obj;
	size_t n = 0;
	int ok;

	if (dn_type(s, len, i, type) < 0 || dn_value(s, len, i, val, &n) < 0)
		return -SGW_EPARSE;
	if ((obj = OBJ_txt2obj(type, 0)) == NULL) { /* types are case-insensitive: "cn" */
		for (char *c = type; *c != '\0'; c++)
			*c = (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
		obj = OBJ_txt2obj(type, 0);
	}
	if (obj == NULL || OBJ_obj2nid(obj) == NID_undef)
		ok = 0; /* an OID OpenSSL does not know: say it with its name */
	else
		ok = X509_NAME_add_entry_by_OBJ(name, obj, MBSTRING_UTF8, val, (int)n, 0, 0);
	ASN1_OBJECT_free(obj);
	return ok ? 0 : -SGW_EPARSE;
}

int
cfg_dn_parse(const char *s, size_t len, X509_NAME **ret)
{
	X509_NAME *name;
	size_t i = 0;
	int r = -SGW_EPARSE;

	if (len == 0 || len > CFG_DN_MAX || memchr(s, '\0', len) != NULL)
		return r;
	if ((name = X509_NAME_new()) == NULL)
		return -SGW_ENOMEM;
	for (;;) {
		if (X509_NAME_entry_count(name) == CFG_DN_MAX_RDNS || dn_rdn(name, s, len, &i) < 0)
			goto out;
		if (i == len)
			break;
		i++; /* the ',' */
	}
	*ret = name;
	name = NULL;
	r = 0;
out:
	X509_NAME_free(name);
	ERR_clear_error();
	return r;
}
