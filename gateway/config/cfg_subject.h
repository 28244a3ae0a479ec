/* cfg_subject.h: an approval rule's subject_matches (cfg_subject.c). */
#ifndef SGW_CFG_SUBJECT_H
#define SGW_CFG_SUBJECT_H

#include "cfg.h"
#include "err.h"

/* `n` is the subject_matches value: { CN: "*.lab.example.com", O: Example }.
 * The old string form (a pattern on the whole RFC 2253 subject) is an
 * error that says what to write instead. */
int cfg_subject_matches_parse(const struct cfg_node *n, const char *path,
			      struct cfg_approval_rule *rule, struct sgw_err *err);
void cfg_subject_matches_free(struct cfg_approval_rule *rule);

#endif
