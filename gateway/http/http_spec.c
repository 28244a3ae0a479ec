/* http_spec.c: a listener's address and its checks (http_spec.h). */
#include <stdlib.h>
#include <string.h>

#include "http_spec.h"

int
http_spec_parse_address(const char *addr, char *host, size_t hostlen, unsigned short *ret_port)
{
	const char *colon, *h = addr, *hend;
	char *end;
	long port;

	if (addr[0] == '[') {
		hend = strchr(addr, ']');
		if (hend == NULL || hend[1] != ':')
			return -SGW_EINVAL;
		h = addr + 1;
		colon = hend + 1;
	} else {
		colon = strrchr(addr, ':');
		if (colon == NULL)
			return -SGW_EINVAL;
		hend = colon;
	}
	if ((size_t)(hend - h) >= hostlen || hend == h)
		return -SGW_EINVAL;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || end == colon + 1 || port < 0 || port > 65535)
		return -SGW_EINVAL;
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	*ret_port = (unsigned short)port;
	return 0;
}

int
http_spec_check(const struct http_spec *s, struct sgw_err *err)
{
	char host[HTTP_HOST_MAX];
	unsigned short port;

	if (s->address == NULL ||
	    http_spec_parse_address(s->address, host, sizeof(host), &port) < 0)
		return sgw_err_set(err, SGW_EINVAL, "%s: bad address '%s'", s->what,
				   s->address != NULL ? s->address : "");
	if ((s->cert == NULL) != (s->key == NULL))
		return sgw_err_set(err, SGW_EINVAL, "%s: TLS needs a certificate and its key",
				   s->what);
	if (s->client_ca != NULL && s->cert == NULL)
		return sgw_err_set(err, SGW_EINVAL, "%s: client_ca needs tls", s->what);
	if (s->proxy_protocol && s->n_proxy_from == 0)
		return sgw_err_set(err, SGW_EINVAL,
				   "%s: proxy_protocol needs the balancers it is accepted from",
				   s->what);
	if (s->tls_flags >= HTTP_TLS_FLAG_MAX)
		return sgw_err_set(err, SGW_EINVAL, "%s: unknown TLS flags", s->what);
	if (s->max_body == 0 || s->max_headers == 0 || s->timeout <= 0 || s->methods == 0)
		return sgw_err_set(err, SGW_EINVAL,
				   "%s: body, header and time limits and methods must be set",
				   s->what);
	return 0;
}
