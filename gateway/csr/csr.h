/* csr.h: PKCS#10 parsing (pure).  csr_parse verifies the self-signature
 * (proof of possession) and extracts what policy and validators need. */
#ifndef SGW_CSR_H
#define SGW_CSR_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "cfg.h"
#include "err.h"

#define CSR_MAX_DER (64 * 1024) /* csr_parse refuses larger input */
#define CSR_MAX_SANS 128	/* per SAN kind */

struct csr {
	X509_REQ *req; /* owned */
	uint8_t *der;  /* owned copy of the DER */
	size_t der_len;
	char *subject;	 /* RFC 2253 string, owned */
	char *cn;	 /* first commonName, UTF-8, or NULL */
	char *challenge; /* challengePassword, or NULL: a secret, wiped on free, never logged */
	int key_type;	 /* CSR_KEY_RSA / CSR_KEY_EC, 0 for others */
	int key_bits;
	uint8_t key_sha256[32]; /* SHA-256 of the SubjectPublicKeyInfo DER */
	struct cfg_strlist san_dns;
	struct cfg_strlist san_ip; /* textual: "192.0.2.1", "2001:db8::1" */
	struct cfg_strlist san_email;
	struct cfg_strlist san_uri;
};

/* -SGW_EPARSE for garbage, -SGW_EAUTH when the self-signature does not verify. */
int csr_parse(const uint8_t *der, size_t len, struct csr **ret, struct sgw_err *err);
void csr_free(struct csr *c);

/* Per-profile CSR rules.  0 or -SGW_EDENIED with the reason in err. */
int csr_policy_check(const struct cfg_csr_policy *pol, const struct csr *c, struct sgw_err *err);

#endif
