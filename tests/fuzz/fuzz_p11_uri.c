/* fuzz_p11_uri.c: gateway/core/p11_uri.c.  A parsed URI names a key (object
 * or id), holds NUL-free strings within the value cap, and frees cleanly;
 * a refused one leaves nothing allocated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p11_uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_str(const char *s)
{
	if (s != NULL && strlen(s) > P11_URI_MAX_VALUE)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sgw_err err = {{0}};
	struct p11_uri u;

	if (p11_uri_parse(data, size, &u, &err) < 0) {
		if (u.token != NULL || u.object != NULL || err.msg[0] == '\0')
			abort();
		return 0;
	}
	if ((u.object == NULL && !u.has_id) || u.id_len > P11_URI_MAX_VALUE ||
	    (u.type != P11_URI_TYPE_ANY && u.type != P11_URI_TYPE_PRIVATE))
		abort();
	check_str(u.token);
	check_str(u.manufacturer);
	check_str(u.model);
	check_str(u.serial);
	check_str(u.object);
	p11_uri_clear(&u);
	return 0;
}
