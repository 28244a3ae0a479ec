/* fuzz_proxy_proto.c: gateway/http/proxy_proto.c.  A header found is never
 * longer than the input nor PROXY_MAX, a v1 header ends in CRLF within 107
 * bytes, and every shorter prefix of the input is no header (0 or refused). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_hdr h;
	struct sgw_err err;
	int r = proxy_proto_parse(data, size, &h, &err);

	if (r > 0 && ((size_t)r > size || r > PROXY_MAX))
		abort();
	if (r > 0 && h.version == 1 &&
	    (r > PROXY_V1_MAX || data[r - 1] != '\n' || data[r - 2] != '\r'))
		abort();
	if (r > 0 && proxy_proto_parse(data, (size_t)r - 1, &h, &err) > 0)
		abort();
	return 0;
}
