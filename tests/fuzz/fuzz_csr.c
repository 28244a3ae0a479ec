/* fuzz_csr.c: csr_parse (PKCS#10 DER: signature, subject, challenge, every
 * subjectAltName kind) and csr_policy_check on whatever parses, with a rule
 * for each kind the policy can allow. */
#include <stddef.h>
#include <stdint.h>

#include "csr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *patterns[] = {"*.example.com", "host.example.org"};
static char *uris[] = {"spiffe://corp.example.com/*", "urn:dev:1"};
static char *upns[] = {"*@corp.example.com", "svc@example.org"};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg_csr_policy pol = {
	    .key_types = CSR_KEY_RSA | CSR_KEY_EC,
	    .min_rsa_bits = 2048,
	    .san_dns = {patterns, 2},
	    .san_uri = {uris, 2},
	    .allow_upn = 1,
	    .san_upn = {upns, 2},
	    .allow_san_email = 1,
	    .require_cn = 1,
	    .cn_pattern = "*.example.com",
	};
	struct sgw_err err;
	struct csr *c = NULL;

	if (csr_parse(data, size, &c, &err) == 0) {
		csr_policy_check(&pol, c, &err);
		csr_free(c);
	}
	return 0;
}
