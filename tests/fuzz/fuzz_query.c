/* fuzz_query.c: the SCEP query string and the lenient base64 decoder. */
#include <stdint.h>
#include <stdlib.h>

#include "scep_query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scep_query q;
	uint8_t *out = NULL;
	size_t n = 0;

	if (scep_query_parse((const char *)data, size, &q) == 0) {
		if (q.message != NULL &&
		    scep_base64_decode(q.message, q.message_len, &out, &n) == 0)
			free(out);
		scep_query_clear(&q);
	}
	if (scep_base64_decode((const char *)data, size, &out, &n) == 0)
		free(out);
	return 0;
}
