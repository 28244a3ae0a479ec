/* cidr.c: CIDR ranges and the X-Forwarded-For walk (cidr.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cidr.h"
#include "err.h"

#define CIDR_TEXT_MAX 64 /* an address with its prefix */
#define XFF_MAX_HOPS 32	 /* entries looked at, from the right */

/* An address (no prefix) into family and 16 bytes; 0 or -SGW_EPARSE. */
static int
addr_parse(const char *s, size_t len, int *family, uint8_t addr[16])
{
	char buf[CIDR_TEXT_MAX];

	if (len == 0 || len >= sizeof(buf))
		return -SGW_EPARSE;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, addr) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -SGW_EPARSE;
}

int
cidr_parse(const char *s, struct cidr *ret)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	int max;

	if (addr_parse(s, alen, &ret->family, ret->addr) < 0)
		return -SGW_EPARSE;
	max = ret->family == AF_INET ? 32 : 128;
	ret->bits = max;
	if (slash != NULL) {
		char *end;
		long b;

		if (slash[1] < '0' || slash[1] > '9')
			return -SGW_EPARSE;
		b = strtol(slash + 1, &end, 10);
		if (*end != '\0' || b < 0 || b > max || end - (slash + 1) > 3)
			return -SGW_EPARSE;
		ret->bits = (int)b;
	}
	for (int i = ret->bits; i < max; i++) /* host bits must be clear */
		if (ret->addr[i / 8] & (0x80 >> (i % 8)))
			return -SGW_EPARSE;
	return 0;
}

static int
prefix_eq(const uint8_t *a, const uint8_t *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)whole) != 0)
		return 0;
	return rest == 0 || ((a[whole] ^ b[whole]) & (0xff << (8 - rest))) == 0;
}

/* As an IPv4 address when it is one or an IPv4-mapped IPv6 one. */
static void
unmap(int *family, uint8_t addr[16])
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (*family == AF_INET6 && memcmp(addr, mapped, sizeof(mapped)) == 0) {
		memmove(addr, addr + 12, 4);
		memset(addr + 4, 0, 12);
		*family = AF_INET;
	}
}

static int
match_addr(const struct cidr *v, size_t n, int family, const uint8_t addr[16])
{
	for (size_t i = 0; i < n; i++) {
		struct cidr c = v[i];

		unmap(&c.family, c.addr);
		if (c.family == AF_INET && v[i].family == AF_INET6)
			c.bits -= 96; /* ::ffff:0:0/96 and longer: as IPv4 */
		if (c.family == family && c.bits >= 0 && prefix_eq(c.addr, addr, c.bits))
			return 1;
	}
	return 0;
}

int
cidr_match(const struct cidr *v, size_t n, const char *ip)
{
	uint8_t addr[16];
	int family;

	if (addr_parse(ip, strlen(ip), &family, addr) < 0)
		return 0;
	unmap(&family, addr);
	return match_addr(v, n, family, addr);
}

static int
copy_out(const char *s, size_t len, char *ret, size_t cap)
{
	if (len >= cap)
		return -SGW_EINVAL;
	memcpy(ret, s, len);
	ret[len] = '\0';
	return 0;
}

int
cidr_forwarded_client(const struct cidr *trusted, size_t n, const char *peer, const char *xff,
		      char *ret, size_t cap)
{
	const char *end, *start;
	int hops = 0;

	if (xff == NULL || !cidr_match(trusted, n, peer))
		return copy_out(peer, strlen(peer), ret, cap);
	end = xff + strlen(xff);
	while (hops++ < XFF_MAX_HOPS) {
		const char *a, *b;
		uint8_t addr[16];
		int family;

		start = end;
		while (start > xff && start[-1] != ',')
			start--;
		for (a = start; a < end && (*a == ' ' || *a == '\t'); a++)
			;
		for (b = end; b > a && (b[-1] == ' ' || b[-1] == '\t'); b--)
			;
		if (addr_parse(a, (size_t)(b - a), &family, addr) < 0)
			return -SGW_EPARSE;
		unmap(&family, addr);
		if (!match_addr(trusted, n, family, addr) || start == xff)
			return copy_out(a, (size_t)(b - a), ret,
					cap); /* the client, or the last hop */
		end = start - 1;	      /* the comma */
	}
	return -SGW_EPARSE; /* more trusted hops than any real chain has */
}
