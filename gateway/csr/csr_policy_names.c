/* csr_policy_names.c: the subjectAltNames against the profile's rules.
 * Deny by default: DNS names match san_dns, IP and e-mail names need their
 * switch, URIs a san_uri pattern, UPNs allow_upn (and a san_upn pattern when
 * some are given); any other otherName, directoryName, registeredID,
 * x400Address and ediPartyName is refused.  Pure. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "csr_int.h"

#define DEFAULT_MAX_SANS 50
#define DEFAULT_MAX_NAME 255
#define DEFAULT_MAX_URI 1024

/* One DNS label of letters, digits, '-' and '_': what a "*." pattern
 * stands for.  A literal "*" in the request is not a label, so a wildcard
 * pattern never lets a device obtain a wildcard certificate. */
static int
is_label(const char *s, size_t len)
{
	if (len == 0 || len > 63)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

/* "*.example.com" matches exactly one label in front of ".example.com";
 * any other pattern is an exact name.  Case-insensitive. */
static int
dns_match(const char *pattern, const char *name)
{
	const char *dot;

	if (pattern[0] == '*' && pattern[1] == '.') {
		dot = strchr(name, '.');
		if (dot == NULL || !is_label(name, (size_t)(dot - name)))
			return 0;
		return strcasecmp(dot, pattern + 1) == 0;
	}
	return strcasecmp(pattern, name) == 0;
}

/* An exact URI, or a prefix when the pattern ends in '*' (the only place a
 * '*' may be, checked at config load).  Case-sensitive, whole value. */
static int
uri_match(const char *pattern, const char *uri)
{
	size_t n = strlen(pattern);

	if (n > 0 && pattern[n - 1] == '*')
		return strncmp(uri, pattern, n - 1) == 0;
	return strcmp(uri, pattern) == 0;
}

/* "user@domain" exactly, or "*@domain": one non-empty local part without
 * '@' at exactly that domain.  Case-insensitive. */
static int
upn_match(const char *pattern, const char *upn)
{
	const char *at = strchr(upn, '@');

	if (pattern[0] == '*' && pattern[1] == '@')
		return at != NULL && at != upn && strchr(at + 1, '@') == NULL &&
		       strcasecmp(at + 1, pattern + 2) == 0;
	return strcasecmp(pattern, upn) == 0;
}

static int
any_match(const struct cfg_strlist *patterns, const char *v,
	  int (*match)(const char *, const char *))
{
	for (size_t i = 0; i < patterns->n; i++)
		if (match(patterns->v[i], v))
			return 1;
	return 0;
}

/* 1 when a rule allows the name. */
static int
allowed(const struct cfg_csr_policy *pol, const struct csr_name *n)
{
	switch (n->type) {
	case CSR_NAME_DNS:
		return pol->san_dns.n == 0 || any_match(&pol->san_dns, n->value, dns_match);
	case CSR_NAME_IP:
		return pol->allow_san_ip;
	case CSR_NAME_EMAIL:
		return pol->allow_san_email;
	case CSR_NAME_URI:
		return any_match(&pol->san_uri, n->value, uri_match);
	case CSR_NAME_UPN:
		return pol->allow_upn &&
		       (pol->san_upn.n == 0 || any_match(&pol->san_upn, n->value, upn_match));
	default: /* no rule can allow the other kinds */
		return 0;
	}
}

/* Printable ASCII for the IA5String kinds; UTF-8 without controls for UPN. */
static int
clean(const struct csr_name *n)
{
	for (const unsigned char *p = (const unsigned char *)n->value; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 0;
		if (n->type != CSR_NAME_UPN && (*p == ' ' || *p > 0x7e))
			return 0;
	}
	return 1;
}

static int
check_one(const struct cfg_csr_policy *pol, const struct csr_name *n, struct sgw_err *err)
{
	const char *kind = csr_name_type_name(n->type);
	int max = n->type == CSR_NAME_URI
		      ? (pol->max_uri_length > 0 ? pol->max_uri_length : DEFAULT_MAX_URI)
		  : pol->max_name_length > 0 ? pol->max_name_length
					     : DEFAULT_MAX_NAME;
	size_t len = csr_text_chars(n->value);
	char shown[128];

	if (len > (size_t)max)
		return sgw_err_set(err, SGW_EDENIED,
				   "subjectAltName %s has %zu characters, at most %d allowed", kind,
				   len, max);
	csr_text_shown(shown, sizeof(shown), n->value);
	if (!clean(n))
		return sgw_err_set(err, SGW_EDENIED,
				   "subjectAltName %s '%s' has characters not allowed in it", kind,
				   shown);
	if (allowed(pol, n))
		return 0;
	if (n->type >= CSR_NAME_OTHER)
		return sgw_err_set(err, SGW_EDENIED,
				   "subjectAltName of type %s%s%s%s is not allowed (no rule can "
				   "allow it)",
				   kind, shown[0] != '\0' ? " (" : "", shown,
				   shown[0] != '\0' ? ")" : "");
	return sgw_err_set(err, SGW_EDENIED,
			   "subjectAltName %s '%s' is not allowed by the profile's rules", kind,
			   shown);
}

int
csr_policy_check_names(const struct cfg_csr_policy *pol, const struct csr *c, struct sgw_err *err)
{
	int max = pol->max_sans > 0 ? pol->max_sans : DEFAULT_MAX_SANS;
	int r;

	if (c->n_names > (size_t)max)
		return sgw_err_set(err, SGW_EDENIED,
				   "CSR has %zu subjectAltNames, at most %d allowed", c->n_names,
				   max);
	for (size_t i = 0; i < c->n_names; i++)
		if ((r = check_one(pol, &c->names[i], err)) < 0)
			return r;
	return 0;
}
