/* proxy_proto.h: the PROXY protocol header (HAProxy, versions 1 and 2) a
 * load balancer sends first on each connection to name the client it
 * accepted.  Pure: bytes in, a parsed header out; no I/O, no logging.
 *
 *   v1: "PROXY TCP4 <src> <dst> <sport> <dport>\r\n", TCP6 likewise, or
 *       "PROXY UNKNOWN[ anything]\r\n"; 107 bytes at most.
 *   v2: the 12-byte signature \r\n\r\n\0\r\nQUIT\n, a version/command byte
 *       (0x20 LOCAL, 0x21 PROXY), an address family/transport byte, a
 *       16-bit length, then that many bytes: the addresses (12 for
 *       AF_INET, 36 for AF_INET6, 216 for AF_UNIX) and TLVs (skipped).
 *
 * A header that names no IP client (v1 UNKNOWN, v2 LOCAL, an unspecified or
 * AF_UNIX family) leaves the connection's own peer as the client. */
#ifndef SGW_PROXY_PROTO_H
#define SGW_PROXY_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define PROXY_V1_MAX 107 /* a v1 line, CRLF included */
#define PROXY_MAX 4096	 /* a v2 header with its TLVs, at most (refused beyond) */

struct proxy_hdr {
	int version;	   /* 1 or 2 */
	int family;	   /* AF_INET or AF_INET6 for a client address; 0: none (keep the peer) */
	uint8_t src[16];   /* the client, network byte order (4 bytes for AF_INET) */
	uint8_t dst[16];   /* the address the balancer was reached at */
	uint16_t src_port; /* host byte order */
	uint16_t dst_port;
};

/* The first len bytes of a connection.  Returns the header's length (> 0)
 * with *ret filled; 0 when these bytes may still begin a header (read
 * more); -SGW_EPARSE when they cannot, with the reason in err (naming no
 * client data but the header's kind).  Never reads past a complete header,
 * nor more than PROXY_MAX bytes. */
int proxy_proto_parse(const uint8_t *buf, size_t len, struct proxy_hdr *ret, struct sgw_err *err);

#endif
