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
#define CSR_MAX_SANS 128	/* GeneralNames in the subjectAltName, all kinds */

/* Every GeneralName kind (RFC 5280 4.2.1.6); the policy allows DNS, IP,
 * e-mail, URI and UPN by rule and refuses the rest. */
enum csr_name_type {
	CSR_NAME_DNS,
	CSR_NAME_IP,
	CSR_NAME_EMAIL,
	CSR_NAME_URI,
	CSR_NAME_UPN,	  /* otherName 1.3.6.1.4.1.311.20.2.3, a UTF8String */
	CSR_NAME_OTHER,	  /* any other otherName; value = its type-id OID */
	CSR_NAME_DIRNAME, /* directoryName; value = "" */
	CSR_NAME_RID,	  /* registeredID; value = the OID */
	CSR_NAME_X400,	  /* x400Address; value = "" */
	CSR_NAME_EDI,	  /* ediPartyName; value = "" */
	CSR_NAME_MAX
};

struct csr_name {
	enum csr_name_type type;
	char *value; /* UTF-8, NUL-free; IP as text ("192.0.2.1"); owned */
};

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
	struct csr_name *names; /* every GeneralName of the subjectAltName, in order */
	size_t n_names;
	struct cfg_strlist cns; /* every commonName of the subject, UTF-8 */
	/* The subjectAltName rebuilt from the names of the kinds the policy
	 * inspects (DNS, IP, e-mail, URI, UPN), in order, as DER GeneralNames:
	 * what a CA is given once csr_policy_check() passed.  NULL: none. */
	uint8_t *san_der;
	size_t san_len;
};

/* -SGW_EPARSE for garbage, -SGW_EAUTH when the self-signature does not verify. */
int csr_parse(const uint8_t *der, size_t len, struct csr **ret, struct sgw_err *err);
void csr_free(struct csr *c);

/* 1 when the subject has at least one attribute `nid` and every such value
 * (UTF-8) satisfies match(value, arg); 0 otherwise (a value that is not a
 * valid string never matches). */
int csr_subject_all(const struct csr *c, int nid, int (*match)(const char *value, void *arg),
		    void *arg);

/* "DNS", "IP", "email", "URI", "UPN", "otherName", "dirName", "RID", "x400Address", "ediPartyName"
 */
const char *csr_name_type_name(enum csr_name_type t);

/* Per-profile CSR rules (csr_policy.c, csr_policy_names.c): deny by default,
 * a name of a kind no rule allows is refused.  0 or -SGW_EDENIED with the
 * reason in err (it names the kind; printable ASCII, never the challenge). */
int csr_policy_check(const struct cfg_csr_policy *pol, const struct csr *c, struct sgw_err *err);

#endif
