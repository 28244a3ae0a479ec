/* scep_query.h: the SCEP query string (RFC 8894 4.1): operation=...&message=...
 * Pure parsing: percent-decoding, the lenient base64 of GET PKIOperation. */
#ifndef SGW_SCEP_QUERY_H
#define SGW_SCEP_QUERY_H

#include <stddef.h>
#include <stdint.h>

#define SCEP_QUERY_MAX (256 * 1024)

struct scep_query {
	char operation[32]; /* empty when absent */
	char *message;	    /* percent-decoded, NUL-terminated; NULL when absent */
	size_t message_len;
};

/* -SGW_EPARSE for bad escapes, an oversized query or operation. Unknown
 * parameters are ignored; a repeated parameter keeps its first value. */
int scep_query_parse(const char *query, size_t len, struct scep_query *ret);
void scep_query_clear(struct scep_query *q);

/* Standard base64 (RFC 4648 4), or base64url (5) when the text uses '-' or
 * '_' and neither '+' nor '/' (micromdm scepclient); lenient as real clients
 * need: a ' ' reads as '+' (form-decoding damage), CR/LF are skipped, padding
 * may be missing. */
int scep_base64_decode(const char *in, size_t len, uint8_t **ret, size_t *ret_len);

#endif
