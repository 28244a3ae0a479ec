/* approval.h: the RA profile's approval rule decides, after authorization,
 * whether a request goes to the backend at once or waits for an operator
 * (CertRep PENDING until approved through the admin API). */
#ifndef SGW_APPROVAL_H
#define SGW_APPROVAL_H

#include "cfg.h"
#include "csr.h"

enum approval_decision { APPROVAL_AUTO, APPROVAL_MANUAL, APPROVAL_DECISION_MAX };

/* auto, manual, or (approval: {auto_if: ...}) manual unless the rule matches */
enum approval_decision approval_decide(const struct cfg_ra_profile *ra, const struct csr *c);
/* 1 when the CSR meets every condition of the rule (an empty rule matches). */
int approval_rule_matches(const struct cfg_approval_rule *rule, const struct csr *c);

#endif
