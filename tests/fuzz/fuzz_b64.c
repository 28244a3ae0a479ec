/* fuzz_b64.c: gateway/b64.c in both alphabets and every mode.  The input is
 * decoded from an exact-size copy (ASan sees any overread); decode(encode(x))
 * is x; what decodes re-encodes to a text that decodes the same, and to the
 * input itself with B64_STRICT_NOPAD (one text per value). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
same(const char *s, const uint8_t *want, size_t len, enum b64_alphabet a, enum b64_mode m)
{
	uint8_t *out = NULL;
	size_t n = 0;
	int ok = b64_decode(s, strlen(s), a, m, &out, &n) == 0 && n == len &&
		 memcmp(out, want, len) == 0;

	free(out);
	return ok;
}

static void
check(const char *in, size_t len, enum b64_alphabet a, enum b64_mode m)
{
	uint8_t *dec = NULL;
	char *enc = NULL;
	size_t n = 0;

	if (b64_encode((const uint8_t *)in, len, a, m, &enc) != 0 ||
	    !same(enc, (const uint8_t *)in, len, a, m))
		abort();
	free(enc);
	if (b64_decode(in, len, a, m, &dec, &n) != 0)
		return;
	if (n > len / 4 * 3 + 2 || b64_encode(dec, n, a, m, &enc) != 0 || !same(enc, dec, n, a, m))
		abort();
	if (m == B64_STRICT_NOPAD && (strlen(enc) != len || memcmp(enc, in, len) != 0))
		abort();
	free(enc);
	free(dec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size > 0 ? size : 1);

	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	for (enum b64_alphabet a = 0; a < B64_ALPHABET_MAX; a++)
		for (enum b64_mode m = 0; m < B64_MODE_MAX; m++)
			check(in, size, a, m);
	free(in);
	return 0;
}
