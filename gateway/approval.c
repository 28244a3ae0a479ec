/* approval.c: approval rules of an RA profile. */
#include <string.h>

#include "approval.h"

enum approval_decision
approval_decide(const struct cfg_ra_profile *ra, const struct csr *c)
{
	(void)c;
	if (ra->approval != NULL && strcmp(ra->approval, "manual") == 0)
		return APPROVAL_MANUAL;
	return APPROVAL_AUTO;
}
