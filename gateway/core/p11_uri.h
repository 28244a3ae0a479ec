/* p11_uri.h: RFC 7512 PKCS#11 URIs naming a private key on a token,
 * "pkcs11:token=scepgw;object=ra-sign;type=private".  A pure parser
 * (conventions 10): the path attributes that select a token and an object;
 * query attributes (pin-value, module-path, ...) are refused, because the
 * module and the PIN come from the configuration's pkcs11 section. */
#ifndef SGW_P11_URI_H
#define SGW_P11_URI_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define P11_URI_MAX_VALUE 128 /* bytes of one decoded attribute (token labels are 32) */

enum p11_uri_type {
	P11_URI_TYPE_ANY = 0,
	P11_URI_TYPE_PRIVATE,
	P11_URI_TYPE_PUBLIC,
	P11_URI_TYPE_CERT,
	P11_URI_TYPE_SECRET_KEY,
	P11_URI_TYPE_DATA,
	P11_URI_TYPE_MAX
};

struct p11_uri {
	/* token selection; NULL when absent */
	char *token, *manufacturer, *model, *serial;
	/* object selection */
	char *object;
	uint8_t id[P11_URI_MAX_VALUE];
	size_t id_len;
	int has_id;
	enum p11_uri_type type;
	unsigned long slot_id;
	int has_slot_id;
};

/* 1 when s starts with "pkcs11:" (case-insensitive scheme). */
int p11_uri_is(const char *s);
/* Parse; on failure *u is left cleared and err says why. */
int p11_uri_parse(const uint8_t *buf, size_t len, struct p11_uri *u, struct sgw_err *err);
void p11_uri_clear(struct p11_uri *u);

#endif
