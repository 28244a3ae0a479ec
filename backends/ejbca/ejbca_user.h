/* ejbca_user.h: the template and the username of a request (ejbca_user.c). */
#ifndef SGW_EJBCA_USER_H
#define SGW_EJBCA_USER_H

#include "ejbca_int.h"

/* The template `name` (NULL: "default"), or NULL when none has that name. */
const struct ejbca_tmpl *ejbca_tmpl_find(const struct ejbca *e, const char *name);
/* prefix + (CN | SAN | txid) + suffix into out, unsafe characters as '_';
 * -SGW_ENOTFOUND when the CSR lacks the chosen name. */
int ejbca_username(const struct ejbca_tmpl *t, X509_REQ *req, const char *txid, char *out,
		   size_t size);

#endif
