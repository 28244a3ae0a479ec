/* fuzz_acme_json.c: the ACME object parsers (directory, order, authorization,
 * account, problem document), Retry-After and the PEM chain. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acme/acme_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acme_dir d;
	struct acme_order o;
	struct acme_authz a;
	struct acme_account acct;
	struct acme_problem p;
	STACK_OF(X509) *chain = NULL;
	X509 *cert = NULL;
	char hdr[64];
	int secs;

	if (acme_dir_parse(data, size, &d) == 0)
		acme_dir_clear(&d);
	if (acme_order_parse(data, size, &o) == 0)
		acme_order_clear(&o);
	if (acme_authz_parse(data, size, &a) == 0)
		acme_authz_clear(&a);
	if (acme_problem_parse(data, size, &p) == 0)
		(void)acme_problem_short(&p);
	(void)acme_account_parse(data, size, &acct);
	if (acme_chain_parse(data, size, &cert, &chain) == 0) {
		X509_free(cert);
		sk_X509_pop_free(chain, X509_free);
	}
	if (size < sizeof(hdr)) {
		memcpy(hdr, data, size);
		hdr[size] = '\0';
		(void)acme_retry_after(hdr, 0, 86400, &secs);
	}
	return 0;
}
