/* fuzz_ejbca_json.c: the EJBCA REST reply parsers (backends/ejbca/ejbca_json.c)
 * and the certificate decoders (backends/ejbca/ejbca_cert.c: the chain
 * download as PEM, a DER certificate).  The first byte picks the HTTP status
 * of the replies. */
#include <stdint.h>
#include <stdlib.h>

#include "ejbca/ejbca_cert.h"
#include "ejbca/ejbca_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long status[] = {201, 202, 400, 422, 503, 200};
	struct ejbca_reply rep;
	struct ejbca_der der = {0};
	STACK_OF(X509) *chain = NULL;
	char dn[512], msg[256], id[32];

	if (size < 1)
		return 0;
	if (ejbca_json_parse_reply(status[data[0] % 6], data + 1, size - 1, &rep) == 0)
		ejbca_reply_clear(&rep);
	(void)ejbca_json_ca_dn(data + 1, size - 1, "FakeIssuingCA", dn, sizeof(dn));
	if (ejbca_json_crl(data + 1, size - 1, &der) == 0)
		free(der.der);
	ejbca_json_message(data + 1, size - 1, msg, sizeof(msg));
	if (ejbca_chain_from_pem(data + 1, size - 1, &chain) == 0)
		sk_X509_pop_free(chain, X509_free);
	X509_free(ejbca_x509_from_der(data + 1, size - 1));
	if (data[size - 1] == '\0')
		(void)ejbca_link_request_id((const char *)data, id, sizeof(id));
	return 0;
}
