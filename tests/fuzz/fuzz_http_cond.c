/* fuzz_http_cond.c: gateway/core/http_cond.c.  The input is parsed from an
 * exact-size copy (ASan sees any overread) as an HTTP-date and as an
 * If-None-Match list.  A date that parses formats back to the same text; a
 * list that parses still parses, and then matches, with the tag appended. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "http_cond.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TAG "\"0123abcd\""

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *in = malloc(size > 0 ? size : 1), *more;
	char buf[HTTP_DATE_LEN];
	size_t first = 0;
	time_t t;
	int m;

	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	while (first < size && (in[first] == ' ' || in[first] == '\t'))
		first++;
	if (http_date_parse(in, size, &t) == 0 &&
	    (http_date_format(t, buf, sizeof(buf)) != 0 || strlen(buf) != size ||
	     memcmp(buf, in, size) != 0))
		abort();
	m = http_etag_match(in, size, TAG);
	if (m != 0 && m != 1 && m != -SGW_EINVAL)
		abort();
	if (m >= 0 && (first >= size || in[first] != '*') &&
	    (more = malloc(size + 2 + strlen(TAG))) != NULL) {
		memcpy(more, in, size);
		memcpy(more + size, ", " TAG, 2 + strlen(TAG));
		if (http_etag_match(more, size + 2 + strlen(TAG), TAG) != 1)
			abort();
		free(more);
	}
	free(in);
	return 0;
}
