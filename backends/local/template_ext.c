/* template_ext.c: CRL distribution points (RFC 5280 4.2.1.13), authority
 * information access (4.2.2.1: caIssuers and OCSP) and certificate policies
 * (4.2.1.4, with an optional CPS pointer qualifier) of a local CA template.
 *
 *   templates: { device: {
 *       crl_distribution_points: ["http://pki.example.com/crl/local-ca.crl"],
 *       ca_issuers: ["http://pki.example.com/issuing-ca.crt"],
 *       ocsp: ["http://ocsp.example.com/"],
 *       policies: ["1.3.6.1.4.1.55555.1.1"], cps_uri: "https://pki.example.com/cps" } }
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "template_ext.h"

/* A URI a relying party can fetch, as an IA5String can hold it. */
static const char *
url_problem(const char *u)
{
	static const char *const schemes[] = {"http://", "https://", "ldap://", NULL};
	size_t n = strlen(u), i;

	for (i = 0; schemes[i] != NULL; i++)
		if (strncmp(u, schemes[i], strlen(schemes[i])) == 0)
			break;
	if (schemes[i] == NULL)
		return "must start with http://, https:// or ldap://";
	if (n > TMPL_MAX_URL)
		return "longer than 255 bytes";
	if (n == strlen(schemes[i]) || u[strlen(schemes[i])] == '/')
		return "has no host";
	for (i = 0; i < n; i++)
		if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f || u[i] == '"' ||
		    u[i] == '<' || u[i] == '>' || u[i] == '\\')
			return "holds a space, a control, a non-ASCII or a \" < > \\ character";
	return NULL;
}

static GENERAL_NAME *
uri_name(const char *u)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	if (gn == NULL || s == NULL || !ASN1_STRING_set(s, u, (int)strlen(u))) {
		GENERAL_NAME_free(gn);
		ASN1_IA5STRING_free(s);
		return NULL;
	}
	GENERAL_NAME_set0_value(gn, GEN_URI, s);
	return gn;
}

/* Check every URL of list `key`: 0, or the error naming its line. */
static int
check_urls(const struct cfg_node *tn, const char *path, const char *key,
	   const struct cfg_strlist *l, struct sgw_err *err)
{
	const struct cfg_node *ln = cfg_node_get(tn, key);
	const char *why;

	if (l->n > TMPL_MAX_URLS)
		return cfg_err(err, SGW_EINVAL, ln, path, "%s: more than %d URLs", key,
			       TMPL_MAX_URLS);
	for (size_t i = 0; i < l->n; i++)
		if ((why = url_problem(l->v[i])) != NULL)
			return cfg_err(err, SGW_EINVAL, cfg_node_item(ln, i), path,
				       "%s: '%.80s' %s", key, l->v[i], why);
	return 0;
}

/* One distribution point whose full name is every URL: the same CRL at
 * each address. */
static int
add_cdp(STACK_OF(X509_EXTENSION) * exts, const struct cfg_strlist *l)
{
	CRL_DIST_POINTS *cdp = sk_DIST_POINT_new_null();
	DIST_POINT *dp = DIST_POINT_new();
	GENERAL_NAME *gn;
	int r = -SGW_ENOMEM;

	if (cdp == NULL || dp == NULL || (dp->distpoint = DIST_POINT_NAME_new()) == NULL ||
	    (dp->distpoint->name.fullname = GENERAL_NAMES_new()) == NULL)
		goto out;
	dp->distpoint->type = 0; /* fullName */
	for (size_t i = 0; i < l->n; i++)
		if ((gn = uri_name(l->v[i])) == NULL ||
		    sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn) <= 0) {
			GENERAL_NAME_free(gn);
			goto out;
		}
	if (sk_DIST_POINT_push(cdp, dp) <= 0)
		goto out;
	dp = NULL;
	r = X509V3_add1_i2d(&exts, NID_crl_distribution_points, cdp, 0, X509V3_ADD_DEFAULT) == 1
		? 0
		: -SGW_ENOMEM;
out:
	DIST_POINT_free(dp);
	CRL_DIST_POINTS_free(cdp);
	return r;
}

static int
push_access(AUTHORITY_INFO_ACCESS *aia, int method, const struct cfg_strlist *l)
{
	ACCESS_DESCRIPTION *ad;

	for (size_t i = 0; i < l->n; i++) {
		if ((ad = ACCESS_DESCRIPTION_new()) == NULL)
			return -SGW_ENOMEM;
		ASN1_OBJECT_free(ad->method);
		ad->method = OBJ_nid2obj(method);
		GENERAL_NAME_free(ad->location);
		if ((ad->location = uri_name(l->v[i])) == NULL ||
		    sk_ACCESS_DESCRIPTION_push(aia, ad) <= 0) {
			ACCESS_DESCRIPTION_free(ad);
			return -SGW_ENOMEM;
		}
	}
	return 0;
}

static int
add_aia(STACK_OF(X509_EXTENSION) * exts, const struct tmpl_ext_yaml *y)
{
	AUTHORITY_INFO_ACCESS *aia = sk_ACCESS_DESCRIPTION_new_null();
	int r = aia != NULL ? 0 : -SGW_ENOMEM;

	if (r == 0)
		r = push_access(aia, NID_ad_OCSP, &y->ocsp);
	if (r == 0)
		r = push_access(aia, NID_ad_ca_issuers, &y->ca_issuers);
	if (r == 0 && X509V3_add1_i2d(&exts, NID_info_access, aia, 0, X509V3_ADD_DEFAULT) != 1)
		r = -SGW_ENOMEM;
	AUTHORITY_INFO_ACCESS_free(aia);
	return r;
}

static POLICYQUALINFO *
cps_qualifier(const char *uri)
{
	POLICYQUALINFO *q = POLICYQUALINFO_new();

	if (q == NULL || (q->d.cpsuri = ASN1_IA5STRING_new()) == NULL ||
	    !ASN1_STRING_set(q->d.cpsuri, uri, (int)strlen(uri))) {
		POLICYQUALINFO_free(q);
		return NULL;
	}
	q->pqualid = OBJ_nid2obj(NID_id_qt_cps);
	return q;
}

static int
add_cps(POLICYINFO *pi, const char *uri)
{
	POLICYQUALINFO *q;

	if ((pi->qualifiers = sk_POLICYQUALINFO_new_null()) == NULL ||
	    (q = cps_qualifier(uri)) == NULL)
		return -SGW_ENOMEM;
	if (sk_POLICYQUALINFO_push(pi->qualifiers, q) <= 0) {
		POLICYQUALINFO_free(q);
		return -SGW_ENOMEM;
	}
	return 0;
}

/* The policy OIDs were checked by the caller. */
static int
add_policies(STACK_OF(X509_EXTENSION) * exts, const struct tmpl_ext_yaml *y)
{
	CERTIFICATEPOLICIES *cp = sk_POLICYINFO_new_null();
	POLICYINFO *pi = NULL;
	int r = -SGW_ENOMEM;

	for (size_t i = 0; cp != NULL && i < y->policies.n; i++) {
		if ((pi = POLICYINFO_new()) == NULL)
			goto out;
		ASN1_OBJECT_free(pi->policyid);
		if ((pi->policyid = OBJ_txt2obj(y->policies.v[i], 1)) == NULL)
			goto out;
		if (y->cps_uri != NULL && add_cps(pi, y->cps_uri) < 0)
			goto out;
		if (sk_POLICYINFO_push(cp, pi) <= 0)
			goto out;
		pi = NULL;
	}
	if (cp != NULL &&
	    X509V3_add1_i2d(&exts, NID_certificate_policies, cp, 0, X509V3_ADD_DEFAULT) == 1)
		r = 0;
out:
	POLICYINFO_free(pi);
	CERTIFICATEPOLICIES_free(cp);
	return r;
}

static int
check_policies(const struct cfg_node *tn, const char *path, const struct tmpl_ext_yaml *y,
	       struct sgw_err *err)
{
	const struct cfg_node *ln = cfg_node_get(tn, "policies");
	const char *why;
	ASN1_OBJECT *o;

	if (y->policies.n > TMPL_MAX_URLS)
		return cfg_err(err, SGW_EINVAL, ln, path, "policies: more than %d OIDs",
			       TMPL_MAX_URLS);
	for (size_t i = 0; i < y->policies.n; i++) {
		const char *s = y->policies.v[i];

		o = strspn(s, "0123456789.") == strlen(s) ? OBJ_txt2obj(s, 1) : NULL;
		ERR_clear_error();
		ASN1_OBJECT_free(o);
		if (o == NULL)
			return cfg_err(
			    err, SGW_EINVAL, cfg_node_item(ln, i), path,
			    "policies: '%.80s' is not a dotted OID (such as 2.23.140.1.2.1)", s);
	}
	if (y->cps_uri != NULL && y->policies.n == 0)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(tn, "cps_uri"), path,
			       "cps_uri: qualifies the policies: list them in policies:");
	if (y->cps_uri != NULL && (why = url_problem(y->cps_uri)) != NULL)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(tn, "cps_uri"), path,
			       "cps_uri: '%.80s' %s", y->cps_uri, why);
	return 0;
}

static int
encode(const struct tmpl_ext_yaml *y, struct tmpl_params *p)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	unsigned char *der = NULL;
	int r = exts != NULL ? 0 : -SGW_ENOMEM, n;

	/* -SGW_EINVAL only when the encoding is too large */
	if (r == 0 && y->crl_distribution_points.n > 0)
		r = add_cdp(exts, &y->crl_distribution_points);
	if (r == 0 && y->ocsp.n + y->ca_issuers.n > 0)
		r = add_aia(exts, y);
	if (r == 0 && y->policies.n > 0)
		r = add_policies(exts, y);
	if (r == 0 && sk_X509_EXTENSION_num(exts) > 0) {
		n = i2d_X509_EXTENSIONS(exts, &der);
		if (n <= 0)
			r = -SGW_ENOMEM;
		else if ((size_t)n > sizeof(p->ext_der))
			r = -SGW_EINVAL;
		else
			memcpy(p->ext_der, der, (size_t)(p->ext_len = (size_t)n));
	}
	OPENSSL_free(der);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	ERR_clear_error();
	return r;
}

int
tmpl_ext_parse(const struct cfg_node *tn, const char *path, const struct tmpl_ext_yaml *y,
	       struct tmpl_params *p, struct sgw_err *err)
{
	int r;

	p->ext_len = 0;
	if ((r = check_urls(tn, path, "crl_distribution_points", &y->crl_distribution_points,
			    err)) < 0 ||
	    (r = check_urls(tn, path, "ca_issuers", &y->ca_issuers, err)) < 0 ||
	    (r = check_urls(tn, path, "ocsp", &y->ocsp, err)) < 0 ||
	    (r = check_policies(tn, path, y, err)) < 0)
		return r;
	r = encode(y, p);
	if (r == -SGW_EINVAL)
		return cfg_err(err, SGW_EINVAL, tn, path,
			       "the CRL distribution points, AIA and policies take more than %zu "
			       "bytes: list fewer URLs",
			       sizeof(p->ext_der));
	return r < 0 ? sgw_err_set(err, r, "%s: cannot encode the extensions", path) : 0;
}

int
tmpl_ext_add(X509 *x, const struct tmpl_params *p)
{
	const unsigned char *d = p->ext_der;
	STACK_OF(X509_EXTENSION) * exts;
	int r = 0;

	if (p->ext_len == 0)
		return 0;
	exts = d2i_X509_EXTENSIONS(NULL, &d, (long)p->ext_len);
	if (exts == NULL)
		return -SGW_ENOMEM;
	for (int i = 0; r == 0 && i < sk_X509_EXTENSION_num(exts); i++)
		if (X509_add_ext(x, sk_X509_EXTENSION_value(exts, i), -1) != 1)
			r = -SGW_ENOMEM;
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return r;
}
