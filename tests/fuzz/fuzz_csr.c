/* fuzz_csr.c: csr_parse (PKCS#10 DER: signature, subject, challenge, SANs)
 * and csr_policy_check on whatever parses. */
#include <stddef.h>
#include <stdint.h>

#include "csr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *patterns[] = {"*.example.com", "host.example.org"};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg_csr_policy pol = {
	    .key_types = CSR_KEY_RSA | CSR_KEY_EC,
	    .min_rsa_bits = 2048,
	    .san_dns = {patterns, 2},
	    .require_cn = 1,
	};
	struct sgw_err err;
	struct csr *c = NULL;

	if (csr_parse(data, size, &c, &err) == 0) {
		csr_policy_check(&pol, c, &err);
		csr_free(c);
	}
	return 0;
}
