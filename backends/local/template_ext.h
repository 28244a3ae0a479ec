/* template_ext.h: the extensions a local CA template adds for relying
 * parties (private to backends/local/): CRL distribution points, authority
 * information access (caIssuers, OCSP) and certificate policies.  They are
 * checked and DER-encoded once at configure time into the template's
 * parameters (by value, like the rest of a template), and added to each
 * certificate as they are. */
#ifndef SGW_LOCAL_TEMPLATE_EXT_H
#define SGW_LOCAL_TEMPLATE_EXT_H

#include <openssl/x509.h>

#include "template.h"

#define TMPL_MAX_URLS 8	 /* per list */
#define TMPL_MAX_URL 255 /* bytes of one URL */

/* What cfg_parse_map fills for these keys of one template. */
struct tmpl_ext_yaml {
	struct cfg_strlist crl_distribution_points;
	struct cfg_strlist ca_issuers;
	struct cfg_strlist ocsp;
	struct cfg_strlist policies;
	char *cps_uri;
};

/* Check the URLs (http://, https:// or ldap://, printable ASCII) and OIDs
 * (dotted numbers) of template node tn and encode the extensions into
 * p->ext_der; none of the keys = no extension.  Errors name the line. */
int tmpl_ext_parse(const struct cfg_node *tn, const char *path, const struct tmpl_ext_yaml *y,
		   struct tmpl_params *p, struct sgw_err *err);

/* Add the template's encoded extensions to x (worker thread). */
int tmpl_ext_add(X509 *x, const struct tmpl_params *p);

#endif
