/* cfg_subject.c: an approval rule's subject_matches, a mapping of subject
 * attributes to shell patterns matched on each parsed value (approval.c):
 *
 *   auto_if: { subject_matches: { CN: "*.lab.example.com", O: "Example Corp" } }
 *
 * It used to be one pattern on the whole RFC 2253 string, which
 * 'CN=x.lab.example.com.evil.org' matched as "CN=*.lab.example.com*"; that
 * form is now refused with a message saying what to write. */
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>

#include "cfg_subject.h"
#include "cfg_util.h"

#define SUBJECT_MATCHES_MAX 16

static int
parse_one(const struct cfg_node *n, size_t i, const char *path, struct cfg_subject_match *m,
	  struct sgw_err *err)
{
	const struct cfg_node *v = cfg_node_item(n, i);
	const char *key = cfg_node_key(n, i), *pat = cfg_node_scalar(v);
	char sub[CFG_PATH_MAX];

	cfg_subpath(sub, path, key);
	m->nid = OBJ_txt2nid(key);
	if (m->nid == NID_undef)
		return cfg_err(err, SGW_EINVAL, v, sub,
			       "unknown subject attribute '%s' (CN, O, OU, C, L, ST, ...)", key);
	if (pat == NULL || pat[0] == '\0')
		return cfg_err(err, SGW_EINVAL, v, sub, "expected a pattern for the %s value", key);
	if (cfg_set_name(&m->attr, key, err) < 0 || cfg_set_name(&m->pattern, pat, err) < 0)
		return -SGW_ENOMEM;
	return 0;
}

int
cfg_subject_matches_parse(const struct cfg_node *n, const char *path,
			  struct cfg_approval_rule *rule, struct sgw_err *err)
{
	size_t count = cfg_node_count(n);
	int r;

	if (cfg_node_scalar(n) != NULL)
		return cfg_err(err, SGW_EINVAL, n, path,
			       "a pattern on the whole subject string is no longer accepted (it "
			       "let 'CN=x.lab.example.com.evil.org' pass 'CN=*.lab.example.com*'); "
			       "match each attribute's value instead, e.g. "
			       "subject_matches: { CN: \"*.lab.example.com\" }");
	if (cfg_node_type(n) != CFG_NODE_MAP || count == 0 || count > SUBJECT_MATCHES_MAX)
		return cfg_err(err, SGW_EINVAL, n, path,
			       "expected a mapping of 1..%d subject attributes to patterns, e.g. "
			       "{ CN: \"*.lab.example.com\" }",
			       SUBJECT_MATCHES_MAX);
	rule->subject_matches = calloc(count, sizeof(*rule->subject_matches));
	if (rule->subject_matches == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	for (size_t i = 0; i < count; i++) {
		rule->n_subject_matches = i + 1;
		if ((r = parse_one(n, i, path, &rule->subject_matches[i], err)) < 0)
			return r;
	}
	return 0;
}

void
cfg_subject_matches_free(struct cfg_approval_rule *rule)
{
	for (size_t i = 0; i < rule->n_subject_matches; i++) {
		free(rule->subject_matches[i].attr);
		free(rule->subject_matches[i].pattern);
	}
	free(rule->subject_matches);
	rule->subject_matches = NULL;
	rule->n_subject_matches = 0;
}
