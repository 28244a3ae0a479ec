/* admin_auth.h: who is calling the admin API (bearer or basic-auth tokens,
 * client certificates). */
#ifndef SGW_ADMIN_AUTH_H
#define SGW_ADMIN_AUTH_H

#include <event2/http.h>

#include "admin_int.h"

struct admin_cert_ref;

/* Reads "name:sha256hex[:role]" lines into a->tokens. */
int admin_tokens_load(struct admin *a, const char *file, struct sgw_err *err);
/* 0 with *p filled, or -SGW_EAUTH (no or bad credentials).  When a client
 * certificate named p, *ref is it and the caller owes its revocation check
 * (admin_cert_revoked()) before acting; else ref->serial is "". */
int admin_authenticate(struct admin *a, struct evhttp_request *req, struct admin_principal *p,
		       struct admin_cert_ref *ref);

#endif
