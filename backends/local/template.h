/* template.h: certificate templates of the local CA backend (private to
 * backends/local/).  A template is parsed from YAML at configure time and
 * copied by value into each signing job, so jobs never point into the
 * backend's state. */
#ifndef SGW_LOCAL_TEMPLATE_H
#define SGW_LOCAL_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "cfg_node.h"
#include "err.h"
#include "keyop.h"

#define TMPL_MAX_EKU 16
#define TMPL_MAX 64
#define TMPL_MAX_KEYID 64
#define TMPL_MAX_EXT_DER 2048 /* CRL distribution points, AIA, policies (template_ext.c) */

struct tmpl_params {
	int validity_days;
	int backdate; /* seconds notBefore lies in the past */
	unsigned ku;  /* bit n set = keyUsage bit n (RFC 5280); 0 = no keyUsage extension */
	int eku[TMPL_MAX_EKU]; /* NIDs; none = no extendedKeyUsage extension */
	size_t n_eku;
	int copy_sans;
	int copy_subject; /* 0: the subject is only the CSR's commonName(s) */
	/* the relying parties' extensions, encoded once (template_ext.c):
	 * a DER SEQUENCE OF Extension, ext_len 0 = none */
	uint8_t ext_der[TMPL_MAX_EXT_DER];
	size_t ext_len;
};

struct tmpl {
	char *name;
	struct tmpl_params p;
};

struct tmpl_set {
	struct tmpl *v;
	size_t n;
};

/* `node` is the templates: mapping or NULL; a "default" template with the
 * default values is added when none is given. */
int tmpl_set_parse(const struct cfg_node *node, const char *path, struct tmpl_set *ret,
		   struct sgw_err *err);
void tmpl_set_free(struct tmpl_set *s);
const struct tmpl *tmpl_find(const struct tmpl_set *s, const char *name);

/* Everything one issuance needs, by value or borrowed for its duration. */
struct tmpl_issue {
	X509_REQ *req;	  /* borrowed, only read */
	int req_verified; /* the caller verified req's self-signature already */
	const X509_NAME *issuer;
	uint8_t aki[TMPL_MAX_KEYID]; /* the CA's subjectKeyIdentifier */
	size_t aki_len;
	time_t ca_not_after; /* notAfter is clamped to the CA's */
	struct tmpl_params tp;
	/* the approved subjectAltName (struct backend_request): san_der is
	 * owned by the job; names_approved 0 = copy the CSR's, filtered */
	const uint8_t *san_der;
	size_t san_len;
	int names_approved;
	const struct keyop_key *key;
	const EVP_MD *md;
};

/* Build and sign the certificate (thread-safe: runs on a worker).  Its
 * SubjectPublicKeyInfo is the CSR's, copied as bytes: no key is decoded or
 * encoded, so X509_get0_pubkey() on *ret gives NULL (use its DER).  Fails
 * with a reason for the device in err. */
int tmpl_issue(const struct tmpl_issue *in, X509 **ret, struct sgw_err *err);

#endif
