/* csr_int.h: helpers shared by the files of gateway/csr/ (private). */
#ifndef SGW_CSR_INT_H
#define SGW_CSR_INT_H

#include <stddef.h>

#include <openssl/asn1.h>

#include "csr.h"

/* csr_util.c */
int csr_strlist_add(struct cfg_strlist *l, const char *s, size_t len);
void csr_strlist_free(struct cfg_strlist *l);
/* Any ASN.1 string to a NUL-terminated UTF-8 copy; embedded NULs refused. */
int csr_asn1_to_utf8(const ASN1_STRING *s, char **ret);
/* The device's text made printable for a message: '?' for anything else. */
void csr_text_shown(char *dst, size_t size, const char *src);
/* Characters (UTF-8 code points) in s. */
size_t csr_text_chars(const char *s);

/* csr_san.c: the subjectAltName of the extensionRequest into c->names, the
 * per-kind lists and c->san_der. */
int csr_san_parse(struct csr *c, struct sgw_err *err);
void csr_san_free(struct csr *c);

/* csr_policy_names.c: each subjectAltName against the profile's rules. */
int csr_policy_check_names(const struct cfg_csr_policy *pol, const struct csr *c,
			   struct sgw_err *err);

#endif
