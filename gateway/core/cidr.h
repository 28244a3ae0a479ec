/* cidr.h: IP address ranges written as CIDR ("10.0.0.0/8", "2001:db8::/32",
 * a bare address for one host), and the client address of a request that
 * came through proxies the gateway trusts (X-Forwarded-For).  Pure. */
#ifndef SGW_CIDR_H
#define SGW_CIDR_H

#include <stddef.h>
#include <stdint.h>

struct cidr {
	int family;	  /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order, host bits cleared */
	int bits;	  /* prefix length */
};

/* "a.b.c.d[/n]" or an IPv6 address [/n]: 0, or -SGW_EPARSE (also when host
 * bits are set: "10.0.0.1/8" is a mistake, not a range). */
int cidr_parse(const char *s, struct cidr *ret);
/* 1 when the textual address `ip` lies in one of the n ranges (an IPv4
 * address also matches as ::ffff:a.b.c.d and the other way round). */
int cidr_match(const struct cidr *v, size_t n, const char *ip);

/* The client of a request whose TCP peer is `peer`: while the address at
 * hand is a trusted proxy, step one hop left in the X-Forwarded-For list
 * (the right-most entry is what the last proxy saw).  The first address that
 * is not trusted is the client; every entry must be an IP address (a
 * malformed list yields -SGW_EPARSE and the caller keeps `peer`).  With no
 * header or an untrusted peer, `peer` itself.  0 with ret (cap bytes). */
int cidr_forwarded_client(const struct cidr *trusted, size_t n, const char *peer, const char *xff,
			  char *ret, size_t cap);

#endif
