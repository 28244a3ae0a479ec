/* fuzz_ejbca_json.c: the EJBCA REST reply parsers (backends/ejbca/ejbca_json.c).
 * The first byte picks the parser and, for replies, the HTTP status. */
#include <stdint.h>
#include <stdlib.h>

#include "ejbca/ejbca_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long status[] = {201, 202, 400, 422, 503, 200};
	struct ejbca_reply rep;
	struct ejbca_der der = {0};
	char dn[512], msg[256], id[32];

	if (size < 1)
		return 0;
	if (ejbca_json_parse_reply(status[data[0] % 6], data + 1, size - 1, &rep) == 0)
		ejbca_reply_clear(&rep);
	(void)ejbca_json_ca_dn(data + 1, size - 1, "FakeIssuingCA", dn, sizeof(dn));
	if (ejbca_json_crl(data + 1, size - 1, &der) == 0)
		free(der.der);
	ejbca_json_message(data + 1, size - 1, msg, sizeof(msg));
	if (data[size - 1] == '\0')
		(void)ejbca_link_request_id((const char *)data, id, sizeof(id));
	return 0;
}
