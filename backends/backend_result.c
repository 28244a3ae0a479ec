/* backend_result.c: releasing a struct backend_result (backend_result.h). */
#include <string.h>

#include "backend_result.h"

void
backend_result_clear(struct backend_result *r)
{
	if (r == NULL)
		return;
	X509_free(r->cert);
	sk_X509_pop_free(r->chain, X509_free);
	memset(r, 0, sizeof(*r));
}
