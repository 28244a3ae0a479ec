/* http_proxy.c: the PROXY protocol header read off a socket (http_proxy.h). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "http_proxy.h"

int
http_proxy_read(struct http_proxy *p, int fd, struct proxy_hdr *ret, struct sgw_err *err)
{
	ssize_t n, k;
	size_t take;
	int r;

	n = recv(fd, p->buf + p->have, sizeof(p->buf) - p->have, MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n < 0)
		return sgw_err_set(err, SGW_EIO, "%s before the PROXY header was complete",
				   strerror(errno));
	if (n == 0)
		return p->have == 0
			   ? sgw_err_set(err, SGW_EIO, "closed")
			   : sgw_err_set(err, SGW_EIO,
					 "closed before the PROXY header was complete (%zu bytes)",
					 p->have);
	if ((r = proxy_proto_parse(p->buf, p->have + (size_t)n, ret, err)) < 0)
		return r;
	/* all of it is header while the header is incomplete */
	take = r > 0 ? (size_t)r - p->have : (size_t)n;
	k = recv(fd, p->buf + p->have, take, 0);
	if (k != (ssize_t)take)
		return sgw_err_set(err, SGW_EIO, "the PROXY header could not be read");
	p->have += take;
	return r > 0;
}
