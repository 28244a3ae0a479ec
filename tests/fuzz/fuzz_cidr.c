/* fuzz_cidr.c: gateway/core/cidr.c.  The input's first line is a range for
 * cidr_parse, the second the TCP peer, the rest an X-Forwarded-For header;
 * a parsed range contains its own network address, and the client found is
 * either the peer or one of the header's entries. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *peer, *xff, client[64];
	struct cidr c;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	peer = strchr(s, '\n');
	xff = peer != NULL ? strchr(peer + 1, '\n') : NULL;
	if (peer != NULL)
		*peer++ = '\0';
	if (xff != NULL)
		*xff++ = '\0';
	if (cidr_parse(s, &c) == 0 && peer != NULL &&
	    cidr_forwarded_client(&c, 1, peer, xff, client, sizeof(client)) == 0 &&
	    strcmp(client, peer) != 0 && (xff == NULL || strstr(xff, client) == NULL))
		abort();
	free(s);
	return 0;
}
