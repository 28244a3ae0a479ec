/* template.c: certificate templates of the local CA (KU/EKU/SAN copy
 * rules, validity) from YAML, and the certificate they describe.
 *
 *   templates: { device: { validity_days: 365, backdate: 300,
 *                          key_usage: [digitalSignature, keyEncipherment],
 *                          extended_key_usage: [clientAuth],
 *                          copy_sans: true, copy_subject: true,
 *                          crl_distribution_points: [URL], ca_issuers: [URL], ocsp: [URL],
 *                          policies: [OID], cps_uri: URL } }   (template_ext.c)
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "template.h"
#include "template_ext.h"

#define TMPL_MAX_DAYS 7300
#define TMPL_MAX_BACKDATE 86400

struct name_val {
	const char *name;
	int val;
};

/* keyUsage bit numbers (RFC 5280 4.2.1.3).  keyCertSign and cRLSign are
 * left out: the certificates are end-entity (CA:FALSE). */
static const struct name_val ku_names[] = {
    {"digitalSignature", 0}, {"nonRepudiation", 1},   {"contentCommitment", 1},
    {"keyEncipherment", 2},  {"dataEncipherment", 3}, {"keyAgreement", 4},
    {"encipherOnly", 7},     {"decipherOnly", 8},     {NULL, 0},
};

static const struct name_val eku_names[] = {
    {"serverAuth", NID_server_auth},
    {"clientAuth", NID_client_auth},
    {"codeSigning", NID_code_sign},
    {"emailProtection", NID_email_protect},
    {"timeStamping", NID_time_stamp},
    {"OCSPSigning", NID_OCSP_sign},
    {"ipsecIKE", NID_ipsec_IKE},
    {"msSmartcardLogin", NID_ms_smartcard_login},
    {"msEFS", NID_ms_efs},
    {NULL, 0},
};

#define KU_BIT(n) (1u << (n))
#define KU_DEFAULT (KU_BIT(0) | KU_BIT(2)) /* digitalSignature, keyEncipherment */

/* What cfg_parse_map fills for one template. */
struct tmpl_yaml {
	int validity_days;
	int backdate;
	struct cfg_strlist key_usage;
	struct cfg_strlist extended_key_usage;
	int copy_sans;
	int copy_subject;
	struct tmpl_ext_yaml ext;
};

static const struct cfg_field tmpl_fields[] = {
    {"validity_days", CFG_INT, offsetof(struct tmpl_yaml, validity_days), 0},
    {"backdate", CFG_DURATION, offsetof(struct tmpl_yaml, backdate), 0},
    {"key_usage", CFG_STRLIST, offsetof(struct tmpl_yaml, key_usage), 0},
    {"extended_key_usage", CFG_STRLIST, offsetof(struct tmpl_yaml, extended_key_usage), 0},
    {"copy_sans", CFG_BOOL, offsetof(struct tmpl_yaml, copy_sans), 0},
    {"copy_subject", CFG_BOOL, offsetof(struct tmpl_yaml, copy_subject), 0},
    {"crl_distribution_points", CFG_STRLIST,
     offsetof(struct tmpl_yaml, ext.crl_distribution_points), 0},
    {"ca_issuers", CFG_STRLIST, offsetof(struct tmpl_yaml, ext.ca_issuers), 0},
    {"ocsp", CFG_STRLIST, offsetof(struct tmpl_yaml, ext.ocsp), 0},
    {"policies", CFG_STRLIST, offsetof(struct tmpl_yaml, ext.policies), 0},
    {"cps_uri", CFG_STR, offsetof(struct tmpl_yaml, ext.cps_uri), 0},
    {NULL, 0, 0, 0},
};

static void
tmpl_defaults(struct tmpl_params *p)
{
	memset(p, 0, sizeof(*p));
	p->validity_days = 365;
	p->backdate = 300;
	p->ku = KU_DEFAULT;
	p->eku[0] = NID_client_auth;
	p->n_eku = 1;
	p->copy_sans = 1;
	p->copy_subject = 1;
}

static int
lookup_name(const struct name_val *t, const char *name)
{
	for (size_t i = 0; t[i].name != NULL; i++)
		if (strcmp(t[i].name, name) == 0)
			return t[i].val;
	return -1;
}

static int
parse_ku(const struct cfg_node *tn, const char *path, const struct cfg_strlist *l,
	 struct tmpl_params *p, struct sgw_err *err)
{
	const struct cfg_node *ln = cfg_node_get(tn, "key_usage");
	int bit;

	if (ln == NULL)
		return 0; /* keep the default */
	p->ku = 0;
	for (size_t i = 0; i < l->n; i++) {
		bit = lookup_name(ku_names, l->v[i]);
		if (bit < 0)
			return cfg_err(err, SGW_EINVAL, cfg_node_item(ln, i), path,
				       "key_usage: unknown or not allowed '%s'", l->v[i]);
		p->ku |= KU_BIT(bit);
	}
	return 0;
}

static int
parse_eku(const struct cfg_node *tn, const char *path, const struct cfg_strlist *l,
	  struct tmpl_params *p, struct sgw_err *err)
{
	const struct cfg_node *ln = cfg_node_get(tn, "extended_key_usage");
	int nid;

	if (ln == NULL)
		return 0;
	if (l->n > TMPL_MAX_EKU)
		return cfg_err(err, SGW_EINVAL, ln, path,
			       "extended_key_usage: more than %d entries", TMPL_MAX_EKU);
	p->n_eku = 0;
	for (size_t i = 0; i < l->n; i++) {
		nid = lookup_name(eku_names, l->v[i]);
		if (nid < 0)
			return cfg_err(err, SGW_EINVAL, cfg_node_item(ln, i), path,
				       "extended_key_usage: unknown '%s'", l->v[i]);
		p->eku[p->n_eku++] = nid;
	}
	return 0;
}

/* Values only replace the defaults when their key is present, whatever
 * cfg_parse_map leaves in absent fields. */
static int
parse_scalars(const struct cfg_node *tn, const char *path, const struct tmpl_yaml *y,
	      struct tmpl_params *p, struct sgw_err *err)
{
	if (cfg_node_get(tn, "validity_days") != NULL) {
		if (y->validity_days < 1 || y->validity_days > TMPL_MAX_DAYS)
			return cfg_err(err, SGW_EINVAL, cfg_node_get(tn, "validity_days"), path,
				       "validity_days: must be 1..%d", TMPL_MAX_DAYS);
		p->validity_days = y->validity_days;
	}
	if (cfg_node_get(tn, "backdate") != NULL) {
		if (y->backdate < 0 || y->backdate > TMPL_MAX_BACKDATE)
			return cfg_err(err, SGW_EINVAL, cfg_node_get(tn, "backdate"), path,
				       "backdate: must be 0..%d seconds", TMPL_MAX_BACKDATE);
		p->backdate = y->backdate;
	}
	if (cfg_node_get(tn, "copy_sans") != NULL)
		p->copy_sans = y->copy_sans;
	if (cfg_node_get(tn, "copy_subject") != NULL)
		p->copy_subject = y->copy_subject;
	return 0;
}

static int
parse_one(const struct cfg_node *tn, const char *path, struct tmpl_params *p, struct sgw_err *err)
{
	struct tmpl_yaml y;
	int r;

	memset(&y, 0, sizeof(y));
	tmpl_defaults(p);
	r = cfg_parse_map(tn, path, tmpl_fields, &y, err);
	if (r == 0)
		r = parse_scalars(tn, path, &y, p, err);
	if (r == 0)
		r = parse_ku(tn, path, &y.key_usage, p, err);
	if (r == 0)
		r = parse_eku(tn, path, &y.extended_key_usage, p, err);
	if (r == 0)
		r = tmpl_ext_parse(tn, path, &y.ext, p, err);
	cfg_fields_free(tmpl_fields, &y);
	return r;
}

static int
add_default(struct tmpl_set *s)
{
	s->v = calloc(1, sizeof(*s->v));
	if (s->v == NULL || (s->v[0].name = strdup("default")) == NULL)
		return -SGW_ENOMEM;
	tmpl_defaults(&s->v[0].p);
	s->n = 1;
	return 0;
}

static int
parse_set(const struct cfg_node *node, const char *path, struct tmpl_set *s, struct sgw_err *err)
{
	size_t n = cfg_node_count(node);
	char sub[256];
	int r;

	if (cfg_node_type(node) != CFG_NODE_MAP || n == 0 || n > TMPL_MAX)
		return cfg_err(err, SGW_EINVAL, node, path,
			       "templates: must be a mapping of 1..%d templates", TMPL_MAX);
	s->v = calloc(n, sizeof(*s->v));
	if (s->v == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s.templates.%s", path, cfg_node_key(node, i));
		r = parse_one(cfg_node_item(node, i), sub, &s->v[i].p, err);
		if (r < 0)
			return r;
		s->v[i].name = strdup(cfg_node_key(node, i));
		if (s->v[i].name == NULL)
			return sgw_err_set(err, SGW_ENOMEM, "out of memory");
		s->n = i + 1;
	}
	return 0;
}

int
tmpl_set_parse(const struct cfg_node *node, const char *path, struct tmpl_set *ret,
	       struct sgw_err *err)
{
	struct tmpl_set s = {NULL, 0};
	int r;

	if (node == NULL)
		r = add_default(&s) < 0 ? sgw_err_set(err, SGW_ENOMEM, "out of memory") : 0;
	else
		r = parse_set(node, path, &s, err);
	if (r < 0) {
		tmpl_set_free(&s);
		return r;
	}
	*ret = s;
	return 0;
}

void
tmpl_set_free(struct tmpl_set *s)
{
	if (s == NULL || s->v == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].name);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

const struct tmpl *
tmpl_find(const struct tmpl_set *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0)
			return &s->v[i];
	return NULL;
}

/* ---- issuance (worker thread) ------------------------------------------ */

/* 16 random bytes, top bit clear and a non-zero first byte: a positive
 * INTEGER that always encodes in exactly 16 octets (CA/B BR 7.1). */
static int
set_serial(X509 *x)
{
	unsigned char buf[16];
	BIGNUM *bn;
	int ok;

	do {
		if (RAND_bytes(buf, sizeof(buf)) != 1)
			return -SGW_EBACKEND;
		buf[0] &= 0x7f;
	} while (buf[0] == 0);
	bn = BN_bin2bn(buf, sizeof(buf), NULL);
	ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -SGW_ENOMEM;
}

static int
set_validity(X509 *x, const struct tmpl_issue *in, struct sgw_err *err)
{
	time_t now = time(NULL);
	time_t nb = now - in->tp.backdate;
	time_t na = now + (time_t)in->tp.validity_days * 86400;

	if (na > in->ca_not_after)
		na = in->ca_not_after;
	if (na <= now)
		return sgw_err_set(err, SGW_EBACKEND, "the issuing CA certificate has expired");
	if (ASN1_TIME_set(X509_getm_notBefore(x), nb) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), na) == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	return 0;
}

/* The whole CSR subject, or only its commonName(s). */
static int
set_subject(X509 *x, X509_REQ *req, int copy_all)
{
	const X509_NAME *src = X509_REQ_get_subject_name(req);
	X509_NAME *n;
	int i = -1, ok = 1;

	if (copy_all)
		return X509_set_subject_name(x, src) == 1 ? 0 : -SGW_ENOMEM;
	n = X509_NAME_new();
	if (n == NULL)
		return -SGW_ENOMEM;
	while (ok && (i = X509_NAME_get_index_by_NID(src, NID_commonName, i)) >= 0)
		ok = X509_NAME_add_entry(n, X509_NAME_get_entry(src, i), -1, 0);
	ok = ok && X509_set_subject_name(x, n) == 1;
	X509_NAME_free(n);
	return ok ? 0 : -SGW_ENOMEM;
}

static int
add_ext(X509 *x, int nid, void *val, int crit)
{
	return X509_add1_ext_i2d(x, nid, val, crit, X509V3_ADD_DEFAULT) == 1 ? 0 : -SGW_ENOMEM;
}

static int
add_basic_ku(X509 *x, unsigned ku)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	ASN1_BIT_STRING *bs = ASN1_BIT_STRING_new();
	int r = -SGW_ENOMEM;

	if (bc == NULL || bs == NULL)
		goto out;
	bc->ca = 0;
	r = add_ext(x, NID_basic_constraints, bc, 1);
	for (int bit = 0; r == 0 && bit <= 8; bit++)
		if ((ku & KU_BIT(bit)) && !ASN1_BIT_STRING_set_bit(bs, bit, 1))
			r = -SGW_ENOMEM;
	if (r == 0 && ku != 0)
		r = add_ext(x, NID_key_usage, bs, 1);
out:
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(bs);
	return r;
}

static int
add_eku(X509 *x, const struct tmpl_params *tp)
{
	EXTENDED_KEY_USAGE *eku;
	int r = -SGW_ENOMEM;

	if (tp->n_eku == 0)
		return 0;
	eku = sk_ASN1_OBJECT_new_null();
	if (eku == NULL)
		return r;
	for (size_t i = 0; i < tp->n_eku; i++)
		if (sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(tp->eku[i])) <= 0)
			goto out;
	r = add_ext(x, NID_ext_key_usage, eku, 0);
out:
	sk_ASN1_OBJECT_free(eku); /* OBJ_nid2obj objects are static */
	return r;
}

/* SKI: SHA-1 of the subjectPublicKey BIT STRING (RFC 5280 4.2.1.2 method
 * 1); AKI: the CA's own SKI. */
static int
add_key_ids(X509 *x, const struct tmpl_issue *in)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	ASN1_OCTET_STRING *ski = ASN1_OCTET_STRING_new();
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	int r = -SGW_ENOMEM;

	if (ski == NULL || akid == NULL || (akid->keyid = ASN1_OCTET_STRING_new()) == NULL)
		goto out;
	if (!X509_pubkey_digest(x, EVP_sha1(), md, &mdlen) ||
	    !ASN1_OCTET_STRING_set(ski, md, (int)mdlen) ||
	    !ASN1_OCTET_STRING_set(akid->keyid, in->aki, (int)in->aki_len))
		goto out;
	r = add_ext(x, NID_subject_key_identifier, ski, 0);
	if (r == 0)
		r = add_ext(x, NID_authority_key_identifier, akid, 0);
out:
	ASN1_OCTET_STRING_free(ski);
	AUTHORITY_KEYID_free(akid);
	return r;
}

/* A kind of name a CSR policy can approve (DNS, IP, e-mail, URI, UPN);
 * directoryName, registeredID, x400Address, ediPartyName and any other
 * otherName never reach a certificate from here. */
static int
approvable(const GENERAL_NAME *gn)
{
	switch (gn->type) {
	case GEN_DNS:
	case GEN_IPADD:
	case GEN_EMAIL:
	case GEN_URI:
		return 1;
	case GEN_OTHERNAME:
		return OBJ_obj2nid(gn->d.otherName->type_id) == NID_ms_upn;
	default:
		return 0;
	}
}

/* The names to issue: the caller's approved GeneralNames, or (a caller
 * without them) the CSR's; either way only the approvable kinds. */
static int
issue_names(const struct tmpl_issue *in, GENERAL_NAMES **ret)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	const unsigned char *p = in->san_der;
	GENERAL_NAMES *gens = NULL;
	int crit = -1;

	if (in->names_approved && in->san_len > 0) {
		gens = d2i_GENERAL_NAMES(NULL, &p, (long)in->san_len);
		if (gens == NULL || p != in->san_der + in->san_len) {
			GENERAL_NAMES_free(gens);
			return -SGW_EPARSE;
		}
	} else if (!in->names_approved) {
		if ((exts = X509_REQ_get_extensions(in->req)) == NULL)
			return -SGW_EPARSE;
		gens = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
		if (gens == NULL && crit != -1)
			return -SGW_EPARSE;
	}
	for (int i = gens != NULL ? sk_GENERAL_NAME_num(gens) - 1 : -1; i >= 0; i--)
		if (!approvable(sk_GENERAL_NAME_value(gens, i)))
			GENERAL_NAME_free(sk_GENERAL_NAME_delete(gens, i));
	*ret = gens;
	return 0;
}

/* The subjectAltName, critical when the subject is empty (RFC 5280
 * 4.2.1.6).  Other requested extensions are ignored on purpose. */
static int
add_sans(X509 *x, const struct tmpl_issue *in, int *ret_n)
{
	GENERAL_NAMES *gens = NULL;
	int r, n;
	int empty = X509_NAME_entry_count(X509_get_subject_name(x)) == 0;

	r = issue_names(in, &gens);
	n = gens != NULL ? sk_GENERAL_NAME_num(gens) : 0;
	if (r == 0 && n > 0)
		r = add_ext(x, NID_subject_alt_name, gens, empty);
	GENERAL_NAMES_free(gens);
	*ret_n = n;
	return r;
}

static int
add_extensions(X509 *x, const struct tmpl_issue *in, struct sgw_err *err)
{
	unsigned ku = in->tp.ku;
	int r, n_san = 0;

	/* RFC 5480 3: no key or data encipherment with an EC key (the CSR's
	 * key, decoded with it: the certificate's is not decoded again) */
	if (EVP_PKEY_get_base_id(X509_REQ_get0_pubkey(in->req)) == EVP_PKEY_EC)
		ku &= ~(KU_BIT(2) | KU_BIT(3));
	r = add_basic_ku(x, ku);
	if (r == 0)
		r = add_eku(x, &in->tp);
	if (r == 0)
		r = add_key_ids(x, in);
	if (r == 0)
		r = tmpl_ext_add(x, &in->tp);
	if (r == 0 && in->tp.copy_sans) {
		r = add_sans(x, in, &n_san);
		if (r == -SGW_EPARSE)
			return sgw_err_set(err, r, "CSR subjectAltName does not parse");
	}
	if (r < 0)
		return sgw_err_set(err, r, "cannot add the certificate extensions");
	if (n_san == 0 && X509_NAME_entry_count(X509_get_subject_name(x)) == 0)
		return sgw_err_set(
		    err, SGW_EINVAL,
		    "the certificate would have neither a subject nor a subjectAltName");
	return 0;
}

/* A copy of an AlgorithmIdentifier's parameters, for X509_ALGOR_set0. */
static int
param_dup(int ptype, const void *pval, void **ret)
{
	*ret = NULL;
	switch (ptype) {
	case V_ASN1_UNDEF: /* absent (Ed25519, ...) */
	case V_ASN1_NULL:  /* rsaEncryption */
		return 0;
	case V_ASN1_OBJECT: /* a named curve */
		*ret = OBJ_dup(pval);
		break;
	case V_ASN1_BOOLEAN: /* not a string, and no key type has it */
		return -SGW_EPARSE;
	default: /* SEQUENCE (explicit parameters, RSASSA-PSS) and other strings */
		*ret = ASN1_STRING_dup(pval);
		break;
	}
	return *ret != NULL ? 0 : -SGW_ENOMEM;
}

/* The CSR's SubjectPublicKeyInfo, copied as it is (algorithm, parameters,
 * key bits).  X509_set_pubkey() would encode the decoded EVP_PKEY again
 * (an OSSL_ENCODER run) and decode the result (an OSSL_DECODER run). */
static int
copy_pubkey(X509 *x, X509_REQ *req)
{
	const ASN1_OBJECT *obj;
	const unsigned char *bits;
	const void *pval;
	X509_ALGOR *alg;
	ASN1_OBJECT *obj_copy = NULL;
	unsigned char *bits_copy = NULL;
	void *pval_copy = NULL;
	int len, ptype, r;

	if (!X509_PUBKEY_get0_param(NULL, &bits, &len, &alg, X509_REQ_get_X509_PUBKEY(req)) ||
	    len <= 0)
		return -SGW_EPARSE;
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	if ((r = param_dup(ptype, pval, &pval_copy)) < 0)
		return r;
	obj_copy = OBJ_dup(obj);
	bits_copy = OPENSSL_memdup(bits, (size_t)len);
	if (obj_copy != NULL && bits_copy != NULL &&
	    X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), obj_copy, ptype, pval_copy, bits_copy,
				   len) == 1)
		return 0;
	ASN1_OBJECT_free(obj_copy);
	OPENSSL_free(bits_copy);
	if (ptype == V_ASN1_OBJECT)
		ASN1_OBJECT_free(pval_copy);
	else
		ASN1_STRING_free(pval_copy);
	return -SGW_ENOMEM;
}

static int
build(X509 *x, const struct tmpl_issue *in, struct sgw_err *err)
{
	EVP_PKEY *pkey = X509_REQ_get0_pubkey(in->req);
	int r;

	if (pkey == NULL || (!in->req_verified && X509_REQ_verify(in->req, pkey) != 1))
		return sgw_err_set(err, SGW_EAUTH, "CSR signature does not verify");
	if (X509_set_version(x, X509_VERSION_3) != 1 || X509_set_issuer_name(x, in->issuer) != 1)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	r = copy_pubkey(x, in->req);
	if (r == -SGW_EPARSE)
		return sgw_err_set(err, r, "CSR public key cannot be copied");
	if (r < 0)
		return sgw_err_set(err, r, "out of memory");
	r = set_serial(x);
	if (r < 0)
		return sgw_err_set(err, r, "cannot make a serial number");
	r = set_validity(x, in, err);
	if (r < 0)
		return r;
	r = set_subject(x, in->req, in->tp.copy_subject);
	if (r < 0)
		return sgw_err_set(err, r, "cannot set the subject");
	return add_extensions(x, in, err);
}

int
tmpl_issue(const struct tmpl_issue *in, X509 **ret, struct sgw_err *err)
{
	X509 *x = X509_new();
	int r;

	if (x == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	r = build(x, in, err);
	if (r == 0 && keyop_x509_sign(in->key, x, in->md) < 0)
		r = sgw_err_set(err, SGW_EBACKEND, "signing with the CA key failed");
	ERR_clear_error();
	if (r < 0) {
		X509_free(x);
		return r;
	}
	*ret = x;
	return 0;
}
