/* approval.c: approval rules of an RA profile: auto, manual, or manual unless
 * every condition of auto_if holds (subject attribute patterns, DNS SANs,
 * key type and size).  Pure: no I/O. */
#include <fnmatch.h>
#include <string.h>

#include "approval.h"

static int
dns_allowed(const struct cfg_strlist *patterns, const char *name)
{
	for (size_t i = 0; i < patterns->n; i++)
		if (fnmatch(patterns->v[i], name, FNM_CASEFOLD) == 0)
			return 1;
	return 0;
}

static int
value_matches(const char *value, void *pattern)
{
	return fnmatch(pattern, value, FNM_CASEFOLD) == 0;
}

/* Each listed attribute is present and every value of it matches its
 * pattern as a whole (not the RFC 2253 string, where "CN=*.lab.example.com*"
 * matched CN=x.lab.example.com.evil.org). */
static int
subject_matches(const struct cfg_approval_rule *rule, const struct csr *c)
{
	for (size_t i = 0; i < rule->n_subject_matches; i++)
		if (!csr_subject_all(c, rule->subject_matches[i].nid, value_matches,
				     rule->subject_matches[i].pattern))
			return 0;
	return 1;
}

/* 1 when the CSR meets every condition of the rule. */
int
approval_rule_matches(const struct cfg_approval_rule *rule, const struct csr *c)
{
	if (!subject_matches(rule, c))
		return 0;
	if (rule->san_dns.n > 0) {
		if (c->san_dns.n == 0)
			return 0;
		for (size_t i = 0; i < c->san_dns.n; i++)
			if (!dns_allowed(&rule->san_dns, c->san_dns.v[i]))
				return 0;
	}
	if (rule->key_types != 0 && (c->key_type & (int)rule->key_types) == 0)
		return 0;
	if (rule->min_rsa_bits > 0 && c->key_type == CSR_KEY_RSA &&
	    c->key_bits < rule->min_rsa_bits)
		return 0;
	return 1;
}

enum approval_decision
approval_decide(const struct cfg_ra_profile *ra, const struct csr *c)
{
	if (ra->approval == NULL || strcmp(ra->approval, "auto") == 0)
		return APPROVAL_AUTO;
	if (strcmp(ra->approval, "rules") == 0 && approval_rule_matches(&ra->auto_if, c))
		return APPROVAL_AUTO;
	return APPROVAL_MANUAL;
}
