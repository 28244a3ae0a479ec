/* admin_cert.h: who a verified client certificate is (admin.clients: pins,
 * subject + issuer), and whether this gateway revoked it. */
#ifndef SGW_ADMIN_CERT_H
#define SGW_ADMIN_CERT_H

#include <openssl/ssl.h>

#include "admin_int.h"

/* The peer certificate of ssl: 0 with *p filled (name "cert:<entry name>",
 * the entry's role); -SGW_EAUTH without one, when it does not verify against
 * admin.client_ca or matches no admin.clients entry; -SGW_EDENIED when the
 * store has it revoked; -SGW_EIO when the store cannot say.  Every refusal
 * of a presented certificate is logged with its reason. */
int admin_cert_auth(struct admin *a, SSL *ssl, struct admin_principal *p);

/* "admin" (or NULL), "read", "challenge" into ADMIN_ROLE_*; -SGW_EINVAL. */
int admin_role_parse(const char *s, unsigned *ret);

#endif
