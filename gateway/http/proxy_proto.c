/* proxy_proto.c: the PROXY protocol v1 and v2 header parser (proxy_proto.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy_proto.h"

#define V2_HEAD 16 /* signature, version/command, family, length */

static const uint8_t v2_sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
				   0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
static const char v1_sig[] = "PROXY ";

/* ---- v1 ------------------------------------------------------------------ */

/* The next space-separated field of the line [*p, end) into out (cap
 * bytes); advances *p past it and one space. */
static int
v1_field(const char **p, const char *end, char *out, size_t cap)
{
	const char *s = *p, *e = s;

	while (e < end && *e != ' ')
		e++;
	if (e == s || (size_t)(e - s) >= cap)
		return -1;
	memcpy(out, s, (size_t)(e - s));
	out[e - s] = '\0';
	*p = e < end ? e + 1 : e;
	return 0;
}

/* A decimal port without a sign or leading zero. */
static int
v1_port(const char *s, uint16_t *ret)
{
	unsigned long v = 0;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0') || strlen(s) > 5)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v > 65535)
		return -1;
	*ret = (uint16_t)v;
	return 0;
}

/* The line between "PROXY " and the CRLF. */
static int
v1_line(const char *p, const char *end, struct proxy_hdr *h, struct sgw_err *err)
{
	char proto[8], src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], sport[8], dport[8];

	if (v1_field(&p, end, proto, sizeof(proto)) < 0)
		return sgw_err_set(err, SGW_EPARSE, "PROXY v1: no protocol");
	if (strcmp(proto, "UNKNOWN") == 0)
		return 0; /* the rest of the line is ignored */
	if (strcmp(proto, "TCP4") == 0)
		h->family = AF_INET;
	else if (strcmp(proto, "TCP6") == 0)
		h->family = AF_INET6;
	else
		return sgw_err_set(err, SGW_EPARSE, "PROXY v1: protocol not TCP4, TCP6 or UNKNOWN");
	if (v1_field(&p, end, src, sizeof(src)) < 0 || v1_field(&p, end, dst, sizeof(dst)) < 0 ||
	    v1_field(&p, end, sport, sizeof(sport)) < 0 ||
	    v1_field(&p, end, dport, sizeof(dport)) < 0 || p != end)
		return sgw_err_set(err, SGW_EPARSE, "PROXY v1: not 4 fields after the protocol");
	if (inet_pton(h->family, src, h->src) != 1 || inet_pton(h->family, dst, h->dst) != 1)
		return sgw_err_set(err, SGW_EPARSE, "PROXY v1: an address is not %s",
				   h->family == AF_INET ? "IPv4" : "IPv6");
	if (v1_port(sport, &h->src_port) < 0 || v1_port(dport, &h->dst_port) < 0)
		return sgw_err_set(err, SGW_EPARSE, "PROXY v1: a port is not 0..65535");
	return 0;
}

static int
parse_v1(const uint8_t *buf, size_t len, struct proxy_hdr *h, struct sgw_err *err)
{
	const char *s = (const char *)buf;
	size_t n = len < PROXY_V1_MAX ? len : PROXY_V1_MAX;
	const char *lf = memchr(s, '\n', n);
	int r;

	if (lf == NULL)
		return len >= PROXY_V1_MAX
			   ? sgw_err_set(err, SGW_EPARSE, "PROXY v1: no CRLF in 107 bytes")
			   : 0;
	if (lf == s || lf[-1] != '\r')
		return sgw_err_set(err, SGW_EPARSE, "PROXY v1: a line feed without CR");
	if (memchr(s, '\r', (size_t)(lf - 1 - s)) != NULL || memchr(s, '\0', (size_t)(lf - s)))
		return sgw_err_set(err, SGW_EPARSE, "PROXY v1: a control byte in the line");
	h->version = 1;
	if (lf[-2] == ' ')
		return sgw_err_set(err, SGW_EPARSE, "PROXY v1: a space before the CRLF");
	if ((r = v1_line(s + sizeof(v1_sig) - 1, lf - 1, h, err)) < 0)
		return r;
	return (int)(lf + 1 - s);
}

/* ---- v2 ------------------------------------------------------------------ */

static int
parse_v2(const uint8_t *buf, size_t len, struct proxy_hdr *h, struct sgw_err *err)
{
	size_t body, total;
	unsigned cmd, fam;

	if (len < V2_HEAD)
		return 0;
	if ((buf[12] >> 4) != 2)
		return sgw_err_set(err, SGW_EPARSE, "PROXY v2: version %u, not 2", buf[12] >> 4);
	cmd = buf[12] & 0x0f;
	if (cmd > 1)
		return sgw_err_set(err, SGW_EPARSE, "PROXY v2: command %u, not LOCAL or PROXY",
				   cmd);
	body = (size_t)buf[14] << 8 | buf[15];
	total = V2_HEAD + body;
	if (total > PROXY_MAX)
		return sgw_err_set(err, SGW_EPARSE, "PROXY v2: %zu bytes, over %d", total,
				   PROXY_MAX);
	if (len < total)
		return 0;
	h->version = 2;
	fam = buf[13];
	if (cmd == 0) /* LOCAL: the balancer's own connection (health check) */
		return (int)total;
	if (fam == 0x11 || fam == 0x12 || fam == 0x21 || fam == 0x22) {
		/* AF_INET or AF_INET6, stream or datagram: source and destination
		 * addresses, then their ports */
		size_t alen = (fam >> 4) == 1 ? 4 : 16;
		const uint8_t *a = buf + V2_HEAD, *port = a + 2 * alen;

		if (body < 2 * alen + 4)
			return sgw_err_set(err, SGW_EPARSE, "PROXY v2: %zu bytes for IPv%d", body,
					   alen == 4 ? 4 : 6);
		h->family = alen == 4 ? AF_INET : AF_INET6;
		memcpy(h->src, a, alen);
		memcpy(h->dst, a + alen, alen);
		h->src_port = (uint16_t)(port[0] << 8 | port[1]);
		h->dst_port = (uint16_t)(port[2] << 8 | port[3]);
	} else if (fam != 0x00 && fam != 0x31 && fam != 0x32) {
		return sgw_err_set(err, SGW_EPARSE, "PROXY v2: address family/transport 0x%02x",
				   fam);
	} /* else AF_UNSPEC or AF_UNIX: no IP client, the peer stays */
	return (int)total;
}

/* ---- interface ----------------------------------------------------------- */

int
proxy_proto_parse(const uint8_t *buf, size_t len, struct proxy_hdr *ret, struct sgw_err *err)
{
	size_t n2 = len < sizeof(v2_sig) ? len : sizeof(v2_sig);
	size_t n1 = len < sizeof(v1_sig) - 1 ? len : sizeof(v1_sig) - 1;

	memset(ret, 0, sizeof(*ret));
	if (len == 0)
		return 0;
	if (memcmp(buf, v2_sig, n2) == 0)
		return parse_v2(buf, len, ret, err);
	if (memcmp(buf, v1_sig, n1) == 0)
		return len < sizeof(v1_sig) - 1 ? 0 : parse_v1(buf, len, ret, err);
	return sgw_err_set(err, SGW_EPARSE, "no PROXY protocol header");
}
