/* fuzz_intune_json.c: the Entra ID / Graph / Intune answer parsers
 * (gateway/validator/intune_json.c).  Every input goes through all three. */
#include <stdint.h>
#include <stdlib.h>

#include "intune_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char tok[256], uri[128], code[64], desc[64];
	struct intune_revocation rv[3];
	size_t n;
	long exp;

	(void)intune_json_token(data, size, tok, sizeof(tok), &exp);
	(void)intune_json_discovery(data, size, "ScepRequestValidationFEService", uri, sizeof(uri));
	(void)intune_json_result(data, size, code, sizeof(code), desc, sizeof(desc));
	(void)intune_json_revocations(data, size, rv, 3, &n);
	return 0;
}
