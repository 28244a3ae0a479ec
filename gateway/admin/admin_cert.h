/* admin_cert.h: who a verified client certificate is (admin.clients: pins,
 * subject + issuer), and whether this gateway revoked it. */
#ifndef SGW_ADMIN_CERT_H
#define SGW_ADMIN_CERT_H

#include <openssl/ssl.h>

#include "admin_int.h"

/* A client certificate that named an administrator, as the revocation check
 * needs it (issuer and serial as the store keeps them, its SHA-256 for logs). */
struct admin_cert_ref {
	char issuer[512];
	char serial[80];
	char fp[65];
};

/* The peer certificate of ssl: 0 with *p filled (name "cert:<entry name>",
 * the entry's role) and *ref, which the caller then checks with
 * admin_cert_revoked() before it acts on p; -SGW_EAUTH without one, when it
 * does not verify against admin.client_ca or matches no admin.clients entry.
 * Every refusal of a presented certificate is logged with its reason. */
int admin_cert_auth(struct admin *a, SSL *ssl, struct admin_principal *p,
		    struct admin_cert_ref *ref);
/* 0 when the store does not have ref revoked (or does not have it at all),
 * -SGW_EDENIED when it does, -SGW_EIO when it cannot say (logged).  A store
 * step's work (admin_read.c): on a store thread when the store may block. */
int admin_cert_revoked(struct store *s, const struct admin_cert_ref *ref);

/* "admin" (or NULL), "read", "challenge" into ADMIN_ROLE_*; -SGW_EINVAL. */
int admin_role_parse(const char *s, unsigned *ret);

#endif
