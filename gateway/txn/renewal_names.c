/* renewal_names.c: a renewal names nothing its signer does not: each
 * subject attribute (type and value) and each subjectAltName of the CSR is
 * one of the signer certificate's (renewal.allow_new_names off). */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509v3.h>

#include "renewal.h"

/* Same type and the same characters (compared as UTF-8, whatever string
 * type each side was encoded with). */
static int
entry_eq(const X509_NAME_ENTRY *a, const X509_NAME_ENTRY *b)
{
	unsigned char *ua = NULL, *ub = NULL;
	int la, lb, eq;

	if (OBJ_cmp(X509_NAME_ENTRY_get_object(a), X509_NAME_ENTRY_get_object(b)) != 0)
		return 0;
	la = ASN1_STRING_to_UTF8(&ua, X509_NAME_ENTRY_get_data(a));
	lb = ASN1_STRING_to_UTF8(&ub, X509_NAME_ENTRY_get_data(b));
	eq = la >= 0 && la == lb && memcmp(ua, ub, (size_t)la) == 0;
	OPENSSL_free(ua);
	OPENSSL_free(ub);
	return eq;
}

static int
subject_subset(const X509_NAME *signer, const X509_NAME *req)
{
	int i, j, n = X509_NAME_entry_count(signer), found;

	for (i = 0; i < X509_NAME_entry_count(req); i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(req, i);

		for (found = 0, j = 0; j < n && !found; j++)
			found = entry_eq(e, X509_NAME_get_entry(signer, j));
		if (!found)
			return i;
	}
	return -1;
}

/* The CSR's subjectAltName; *ret_bad = 1 when it is there twice or does not
 * parse. */
static GENERAL_NAMES *
req_sans(X509_REQ *req, int *ret_bad)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES *g = NULL;
	int crit = -1;

	if (exts != NULL)
		g = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	*ret_bad = g == NULL && crit != -1;
	return g;
}

/* Index of the first name of req not in signer, or -1. */
static int
sans_subset(const GENERAL_NAMES *signer, const GENERAL_NAMES *req)
{
	int i, j, found;

	for (i = 0; i < sk_GENERAL_NAME_num(req); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(req, i);

		for (found = 0, j = 0; j < sk_GENERAL_NAME_num(signer) && !found; j++)
			found = GENERAL_NAME_cmp(g, sk_GENERAL_NAME_value(signer, j)) == 0;
		if (!found)
			return i;
	}
	return -1;
}

int
renewal_names_subset(X509 *signer, X509_REQ *req, struct sgw_err *err)
{
	GENERAL_NAMES *have, *want;
	int bad = 0, i;

	i = subject_subset(X509_get_subject_name(signer), X509_REQ_get_subject_name(req));
	if (i >= 0)
		return sgw_err_set(err, SGW_EDENIED,
				   "renewal adds subject attribute %d the signer certificate does "
				   "not have (renewal.allow_new_names)",
				   i + 1);
	want = req_sans(req, &bad);
	if (bad)
		return sgw_err_set(err, SGW_EDENIED, "renewal CSR: subjectAltName does not parse");
	have = X509_get_ext_d2i(signer, NID_subject_alt_name, NULL, NULL);
	i = want != NULL ? sans_subset(have, want) : -1;
	GENERAL_NAMES_free(have);
	GENERAL_NAMES_free(want);
	if (i >= 0)
		return sgw_err_set(err, SGW_EDENIED,
				   "renewal adds subjectAltName %d the signer certificate does not "
				   "have (renewal.allow_new_names)",
				   i + 1);
	return 0;
}
