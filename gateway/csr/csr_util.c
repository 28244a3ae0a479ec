/* csr_util.c: the small helpers of gateway/csr/ (pure): string lists, ASN.1
 * strings to UTF-8, device text made printable, UTF-8 lengths. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "csr_int.h"

void
csr_strlist_free(struct cfg_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int
csr_strlist_add(struct cfg_strlist *l, const char *s, size_t len)
{
	char **v;
	char *copy;

	if (l->n >= CSR_MAX_SANS)
		return -SGW_EPARSE;
	copy = strndup(s, len);
	if (copy == NULL)
		return -SGW_ENOMEM;
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (v == NULL) {
		free(copy);
		return -SGW_ENOMEM;
	}
	v[l->n++] = copy;
	l->v = v;
	return 0;
}

/* Any ASN.1 string type to a NUL-terminated UTF-8 copy; embedded NULs are
 * refused (they would truncate the value for later string compares). */
int
csr_asn1_to_utf8(const ASN1_STRING *s, char **ret)
{
	unsigned char *utf8 = NULL;
	char *copy;
	int n;

	n = ASN1_STRING_to_UTF8(&utf8, s);
	if (n < 0)
		return -SGW_EPARSE;
	if (memchr(utf8, '\0', (size_t)n) != NULL) {
		OPENSSL_clear_free(utf8, (size_t)n);
		return -SGW_EPARSE;
	}
	copy = malloc((size_t)n + 1);
	if (copy != NULL) {
		memcpy(copy, utf8, (size_t)n);
		copy[n] = '\0';
	}
	OPENSSL_clear_free(utf8, (size_t)n);
	if (copy == NULL)
		return -SGW_ENOMEM;
	*ret = copy;
	return 0;
}

void
csr_text_shown(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < size && src[i] != '\0'; i++)
		dst[i] = isprint((unsigned char)src[i]) ? src[i] : '?';
	dst[i] = '\0';
}

size_t
csr_text_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80; /* not a continuation byte */
	return n;
}
