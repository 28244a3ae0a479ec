/* acme_ident.h: ACME order identifiers (RFC 8555 7.1.4, RFC 8738) from a
 * device's CSR.  Pure.  DNS and IP SANs become identifiers; a CSR without
 * either is mapped from its CN by the backend's rule, or refused with a
 * reason for the device. */
#ifndef SGW_ACME_IDENT_H
#define SGW_ACME_IDENT_H

#include <stddef.h>
#include <stdint.h>

#define ACME_MAX_IDENTS 32

enum acme_cn_mode {
	ACME_CN_REJECT, /* a CN-only CSR is refused */
	ACME_CN_DNS,	/* the CN must itself be a DNS name */
	ACME_CN_SUFFIX, /* CN + "." + suffix */
	ACME_CN_MODE_MAX
};

struct acme_ident_rule {
	enum acme_cn_mode cn_mode;
	const char *suffix;	 /* ACME_CN_SUFFIX */
	char *const *cn_domains; /* ACME_CN_DNS: allowed parent domains; none = any */
	size_t n_cn_domains;
};

struct acme_ident {
	char type[4]; /* "dns" or "ip" */
	char value[256];
};

/* 0 with the identifiers, or -SGW_EDENIED / -SGW_EPARSE with a reason. */
int acme_idents_from_csr(const uint8_t *der, size_t len, const struct acme_ident_rule *rule,
			 struct acme_ident *out, size_t *ret_n, char *reason, size_t reason_size);
/* {"identifiers":[{"type":..,"value":..},...]} */
int acme_idents_payload(const struct acme_ident *ids, size_t n, char **ret);
/* 1 for a lower-case fully qualified host name (LDH labels, at least two). */
int acme_dns_name_ok(const char *name);
int acme_cn_mode_parse(const char *s, enum acme_cn_mode *ret);

#endif
