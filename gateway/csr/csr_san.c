/* csr_san.c: the subjectAltName of a CSR's extensionRequest (pure).
 *
 * Every GeneralName becomes a struct csr_name, in order, whatever its kind
 * (RFC 5280 4.2.1.6), so the policy sees all of them and refuses a kind no
 * rule allows.  DNS, IP, e-mail and URI names also fill the per-kind lists
 * that approval rules, validators and the admin API read.  The names of the
 * kinds the policy inspects are encoded again as c->san_der: the only
 * subjectAltName a CA is handed, so a kind the policy never looked at
 * cannot reach a certificate even by mistake. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "csr_int.h"

static const char *const name_types[CSR_NAME_MAX] = {
    [CSR_NAME_DNS] = "DNS",	     [CSR_NAME_IP] = "IP",   [CSR_NAME_EMAIL] = "email",
    [CSR_NAME_URI] = "URI",	     [CSR_NAME_UPN] = "UPN", [CSR_NAME_OTHER] = "otherName",
    [CSR_NAME_DIRNAME] = "dirName",  [CSR_NAME_RID] = "RID", [CSR_NAME_X400] = "x400Address",
    [CSR_NAME_EDI] = "ediPartyName",
};

const char *
csr_name_type_name(enum csr_name_type t)
{
	return (unsigned)t < CSR_NAME_MAX ? name_types[t] : "?";
}

/* The kinds a policy rule can allow: the only ones a CA is given. */
static int
inspected(enum csr_name_type t)
{
	return t == CSR_NAME_DNS || t == CSR_NAME_IP || t == CSR_NAME_EMAIL || t == CSR_NAME_URI ||
	       t == CSR_NAME_UPN;
}

static int
ip_text(const ASN1_OCTET_STRING *ip, char **ret)
{
	char buf[INET6_ADDRSTRLEN];
	int len = ASN1_STRING_length(ip);
	int af = len == 4 ? AF_INET : len == 16 ? AF_INET6 : -1;

	if (af < 0 || inet_ntop(af, ASN1_STRING_get0_data(ip), buf, sizeof(buf)) == NULL)
		return -SGW_EPARSE;
	*ret = strdup(buf);
	return *ret != NULL ? 0 : -SGW_ENOMEM;
}

static int
ia5_text(const ASN1_IA5STRING *s, char **ret)
{
	const char *p = (const char *)ASN1_STRING_get0_data(s);
	int len = ASN1_STRING_length(s);

	if (len <= 0 || memchr(p, '\0', (size_t)len) != NULL)
		return -SGW_EPARSE;
	*ret = strndup(p, (size_t)len);
	return *ret != NULL ? 0 : -SGW_ENOMEM;
}

static int
oid_text(const ASN1_OBJECT *o, char **ret)
{
	char buf[128];

	if (OBJ_obj2txt(buf, sizeof(buf), o, 1) <= 0)
		return -SGW_EPARSE;
	*ret = strdup(buf);
	return *ret != NULL ? 0 : -SGW_ENOMEM;
}

static int
other_name(const OTHERNAME *on, struct csr_name *n)
{
	if (OBJ_obj2nid(on->type_id) == NID_ms_upn && on->value != NULL &&
	    on->value->type == V_ASN1_UTF8STRING) {
		n->type = CSR_NAME_UPN;
		return csr_asn1_to_utf8(on->value->value.utf8string, &n->value);
	}
	n->type = CSR_NAME_OTHER;
	return oid_text(on->type_id, &n->value);
}

/* One GeneralName into n (kind and text). */
static int
classify(const GENERAL_NAME *gn, struct csr_name *n)
{
	switch (gn->type) {
	case GEN_DNS:
		n->type = CSR_NAME_DNS;
		return ia5_text(gn->d.dNSName, &n->value);
	case GEN_EMAIL:
		n->type = CSR_NAME_EMAIL;
		return ia5_text(gn->d.rfc822Name, &n->value);
	case GEN_URI:
		n->type = CSR_NAME_URI;
		return ia5_text(gn->d.uniformResourceIdentifier, &n->value);
	case GEN_IPADD:
		n->type = CSR_NAME_IP;
		return ip_text(gn->d.iPAddress, &n->value);
	case GEN_OTHERNAME:
		return other_name(gn->d.otherName, n);
	case GEN_RID:
		n->type = CSR_NAME_RID;
		return oid_text(gn->d.registeredID, &n->value);
	case GEN_DIRNAME:
		n->type = CSR_NAME_DIRNAME;
		break;
	case GEN_X400:
		n->type = CSR_NAME_X400;
		break;
	case GEN_EDIPARTY:
		n->type = CSR_NAME_EDI;
		break;
	default:
		return -SGW_EPARSE;
	}
	n->value = strdup("");
	return n->value != NULL ? 0 : -SGW_ENOMEM;
}

static struct cfg_strlist *
kind_list(struct csr *c, enum csr_name_type t)
{
	switch (t) {
	case CSR_NAME_DNS:
		return &c->san_dns;
	case CSR_NAME_IP:
		return &c->san_ip;
	case CSR_NAME_EMAIL:
		return &c->san_email;
	case CSR_NAME_URI:
		return &c->san_uri;
	default:
		return NULL;
	}
}

static int
add_name(struct csr *c, const GENERAL_NAME *gn)
{
	struct csr_name *n = &c->names[c->n_names];
	struct cfg_strlist *l;
	int r;

	r = classify(gn, n);
	if (r < 0) {
		free(n->value);
		n->value = NULL;
		return r;
	}
	c->n_names++;
	l = kind_list(c, n->type);
	return l != NULL ? csr_strlist_add(l, n->value, strlen(n->value)) : 0;
}

/* c->san_der: the GeneralNames of the inspected kinds, in order. */
static int
encode_inspected(struct csr *c, const GENERAL_NAMES *gens)
{
	GENERAL_NAMES *keep = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *dup;
	unsigned char *der = NULL;
	int len, r = -SGW_ENOMEM;

	if (keep == NULL)
		return r;
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		if (!inspected(c->names[i].type))
			continue;
		dup = GENERAL_NAME_dup(sk_GENERAL_NAME_value(gens, i));
		if (dup == NULL || sk_GENERAL_NAME_push(keep, dup) <= 0) {
			GENERAL_NAME_free(dup);
			goto out;
		}
	}
	r = 0;
	if (sk_GENERAL_NAME_num(keep) == 0)
		goto out;
	len = i2d_GENERAL_NAMES(keep, &der);
	if (len <= 0) {
		r = -SGW_ENOMEM;
		goto out;
	}
	c->san_der = der;
	c->san_len = (size_t)len;
out:
	GENERAL_NAMES_free(keep);
	return r;
}

static int
add_names(struct csr *c, const GENERAL_NAMES *gens, struct sgw_err *err)
{
	int n = sk_GENERAL_NAME_num(gens), r;

	if (n <= 0)
		return 0; /* no name (RFC 5280 wants one): nothing to inspect or copy */
	if (n > CSR_MAX_SANS)
		return sgw_err_set(err, SGW_EPARSE, "CSR has more than %d subjectAltNames",
				   CSR_MAX_SANS);
	c->names = calloc((size_t)n, sizeof(*c->names));
	if (c->names == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	for (int i = 0; i < n; i++) {
		r = add_name(c, sk_GENERAL_NAME_value(gens, i));
		if (r < 0)
			return sgw_err_set(err, -r, "CSR subjectAltName entry %d is invalid", i);
	}
	r = encode_inspected(c, gens);
	return r < 0 ? sgw_err_set(err, -r, "out of memory") : 0;
}

int
csr_san_parse(struct csr *c, struct sgw_err *err)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(c->req);
	GENERAL_NAMES *gens = NULL;
	int crit = -1, r = sgw_err_set(err, SGW_EPARSE, "CSR extensionRequest does not parse");

	if (exts == NULL)
		return r;
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL) {
		if (crit == -1)
			r = 0; /* no SAN extension */
		else if (crit == -2)
			r = sgw_err_set(err, SGW_EPARSE, "CSR requests subjectAltName twice");
		else
			r = sgw_err_set(err, SGW_EPARSE, "CSR subjectAltName does not parse");
		goto out;
	}
	r = add_names(c, gens, err);
out:
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return r;
}

void
csr_san_free(struct csr *c)
{
	for (size_t i = 0; i < c->n_names; i++)
		free(c->names[i].value);
	free(c->names);
	OPENSSL_free(c->san_der);
	csr_strlist_free(&c->san_dns);
	csr_strlist_free(&c->san_ip);
	csr_strlist_free(&c->san_email);
	csr_strlist_free(&c->san_uri);
}
