/* csr_policy.c: per-profile CSR rules: key type and size, the subject (its
 * size, each attribute's length, the CN and its pattern, an emailAddress),
 * then the subjectAltNames (csr_policy_names.c).  Pure; the reason goes into
 * err, printable, and never contains the challenge. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>
#include <openssl/x509.h>

#include "csr_int.h"

#define DEFAULT_MAX_CN 64 /* RFC 5280 ub-common-name */
#define DEFAULT_MAX_ATTR 255
#define DEFAULT_MAX_SUBJECT 1024

static int
check_key(const struct cfg_csr_policy *pol, const struct csr *c, struct sgw_err *err)
{
	if (c->key_type == 0)
		return sgw_err_set(err, SGW_EDENIED, "CSR key type is neither RSA nor EC");
	if ((pol->key_types & (unsigned)c->key_type) == 0)
		return sgw_err_set(err, SGW_EDENIED, "CSR key type %s is not allowed",
				   c->key_type == CSR_KEY_RSA ? "RSA" : "EC");
	if (c->key_type == CSR_KEY_RSA && c->key_bits < pol->min_rsa_bits)
		return sgw_err_set(err, SGW_EDENIED,
				   "CSR RSA key has %d bits, at least %d required", c->key_bits,
				   pol->min_rsa_bits);
	return 0;
}

/* One subject attribute: its length and, for an emailAddress (an e-mail
 * name in the subject, RFC 5280 4.1.2.6, which the CA copies), the e-mail
 * rule. */
static int
check_attr(const struct cfg_csr_policy *pol, const X509_NAME_ENTRY *e, struct sgw_err *err)
{
	int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
	int max = nid == NID_commonName
		      ? (pol->max_cn_length > 0 ? pol->max_cn_length : DEFAULT_MAX_CN)
		  : pol->max_attr_length > 0 ? pol->max_attr_length
					     : DEFAULT_MAX_ATTR;
	const char *sn = nid != NID_undef ? OBJ_nid2sn(nid) : "an attribute";
	char *v = NULL;
	size_t len;

	if (csr_asn1_to_utf8(X509_NAME_ENTRY_get_data(e), &v) < 0)
		return sgw_err_set(err, SGW_EDENIED, "CSR subject %s is not a valid string", sn);
	len = csr_text_chars(v);
	free(v);
	if (len > (size_t)max)
		return sgw_err_set(err, SGW_EDENIED,
				   "CSR subject %s has %zu characters, at most %d allowed", sn, len,
				   max);
	if (nid == NID_pkcs9_emailAddress && !pol->allow_san_email)
		return sgw_err_set(
		    err, SGW_EDENIED,
		    "an emailAddress in the subject is not allowed (allow_san_email)");
	return 0;
}

static int
check_subject(const struct cfg_csr_policy *pol, const struct csr *c, struct sgw_err *err)
{
	const X509_NAME *name = X509_REQ_get_subject_name(c->req);
	int max = pol->max_subject_length > 0 ? pol->max_subject_length : DEFAULT_MAX_SUBJECT;
	int len = i2d_X509_NAME(name, NULL), r;

	if (len < 0 || len > max)
		return sgw_err_set(err, SGW_EDENIED, "CSR subject has %d bytes, at most %d allowed",
				   len, max);
	for (int i = 0; i < X509_NAME_entry_count(name); i++)
		if ((r = check_attr(pol, X509_NAME_get_entry(name, i), err)) < 0)
			return r;
	return 0;
}

static int
check_cn(const struct cfg_csr_policy *pol, const struct csr *c, struct sgw_err *err)
{
	char shown[128];

	if (pol->require_cn && (c->cn == NULL || c->cn[0] == '\0'))
		return sgw_err_set(err, SGW_EDENIED, "CSR subject has no commonName");
	if (pol->cn_pattern == NULL)
		return 0;
	if (c->cns.n == 0)
		return sgw_err_set(err, SGW_EDENIED, "CSR subject has no commonName (cn_pattern)");
	for (size_t i = 0; i < c->cns.n; i++) {
		if (fnmatch(pol->cn_pattern, c->cns.v[i], FNM_CASEFOLD) == 0)
			continue;
		csr_text_shown(shown, sizeof(shown), c->cns.v[i]);
		return sgw_err_set(err, SGW_EDENIED,
				   "CSR commonName '%s' does not match cn_pattern", shown);
	}
	return 0;
}

int
csr_policy_check(const struct cfg_csr_policy *pol, const struct csr *c, struct sgw_err *err)
{
	int r;

	r = check_key(pol, c, err);
	if (r == 0)
		r = check_subject(pol, c, err);
	if (r == 0)
		r = check_cn(pol, c, err);
	if (r == 0)
		r = csr_policy_check_names(pol, c, err);
	return r;
}
