/* fuzz_http_trust.c: gateway/core/http_trust.c's pin_sha256 parser.  The
 * input is split at '\n' into up to 8 list items; what is accepted is curl's
 * "sha256//<44 base64>" joined by ';', one per item, each 32 bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "http_trust.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_out(const char *out, size_t n)
{
	const char *p = out;

	for (size_t i = 0; i < n; i++) {
		uint8_t *raw = NULL;
		size_t len = 0;

		if (strncmp(p, "sha256//", 8) != 0 ||
		    b64_decode(p + 8, 44, B64_STD, B64_STRICT, &raw, &len) != 0 || len != 32)
			abort();
		free(raw);
		p += 52;
		if (*p != (i + 1 < n ? ';' : '\0'))
			abort();
		p += i + 1 < n;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *v[8], out[HTTP_TRUST_PINNED_SIZE];
	struct cfg_strlist l = {.v = v, .n = 0};
	char *p, *nl;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (p = buf; l.n < 8 && p != NULL; p = nl) {
		if ((nl = strchr(p, '\n')) != NULL)
			*nl++ = '\0';
		v[l.n++] = p;
	}
	if (http_trust_pins(&l, out, sizeof(out)) == 0)
		check_out(out, l.n);
	free(buf);
	return 0;
}
