/* csr_policy.c: per-profile CSR rules (key type and size, CN, SANs).
 * Pure; the reason goes into err and never contains the challenge. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "csr.h"

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

static int
dns_allowed(const struct cfg_strlist *patterns, const char *name)
{
	if (patterns->n == 0)
		return 1;
	for (size_t i = 0; i < patterns->n; i++)
		if (dns_match(patterns->v[i], name))
			return 1;
	return 0;
}

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

/* The name comes from the device and ends up in logs: printable ASCII only. */
static void
safe_copy(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < size && src[i] != '\0'; i++)
		dst[i] = isprint((unsigned char)src[i]) ? src[i] : '?';
	dst[i] = '\0';
}

static int
check_sans(const struct cfg_csr_policy *pol, const struct csr *c, struct sgw_err *err)
{
	char shown[128];

	for (size_t i = 0; i < c->san_dns.n; i++) {
		if (dns_allowed(&pol->san_dns, c->san_dns.v[i]))
			continue;
		safe_copy(shown, sizeof(shown), c->san_dns.v[i]);
		return sgw_err_set(err, SGW_EDENIED, "DNS SAN '%s' is not allowed", shown);
	}
	if (!pol->allow_san_ip && c->san_ip.n > 0)
		return sgw_err_set(err, SGW_EDENIED, "IP address SANs are not allowed");
	if (!pol->allow_san_email && c->san_email.n > 0)
		return sgw_err_set(err, SGW_EDENIED, "email SANs are not allowed");
	return 0;
}

int
csr_policy_check(const struct cfg_csr_policy *pol, const struct csr *c, struct sgw_err *err)
{
	int r;

	r = check_key(pol, c, err);
	if (r < 0)
		return r;
	if (pol->require_cn && (c->cn == NULL || c->cn[0] == '\0'))
		return sgw_err_set(err, SGW_EDENIED, "CSR subject has no commonName");
	return check_sans(pol, c, err);
}
