/* http_server.c: the SCEP listeners: one http_listener per listen: entry,
 * with the limits: section's body, header and time limits. */
#include <stdlib.h>

#include <event2/keyvalq_struct.h>

#include "http_server.h"
#include "log.h"

#define HTTP_MAX_LISTENERS 16

struct http_server {
	struct http_listener *l[HTTP_MAX_LISTENERS];
	size_t n;
};

static void
spec_from_cfg(const struct cfg *c, const struct cfg_listen *lc, struct http_counters *ctr,
	      struct http_spec *ret)
{
	*ret = (struct http_spec){
	    .what = "listen",
	    .address = lc->address,
	    .cert = lc->tls ? lc->tls_files.cert : NULL,
	    .key = lc->tls ? lc->tls_files.key : NULL,
	    .tls_flags = HTTP_TLS_SERVER_ORDER,
	    .max_body = c->limits.max_body,
	    .max_headers = c->limits.max_headers,
	    .timeout = c->limits.timeout,
	    .methods = EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD,
	    .max_sockets = (unsigned)c->limits.max_sockets,
	    .max_sockets_per_peer = (unsigned)c->limits.max_sockets_per_peer,
	    .request_timeout = c->limits.request_timeout,
	    .counters = ctr,
	    .proxy_protocol = lc->proxy_protocol,
	    .proxy_from = c->trusted_proxies,
	    .n_proxy_from = c->n_trusted_proxies,
	};
}

int
http_server_new(struct event_base *base, const struct cfg *c, struct http_counters *ctr,
		http_handler h, void *arg, struct http_server **ret, struct sgw_err *err)
{
	struct http_server *s;
	struct http_spec spec;
	int r = 0;

	if (c->n_listen > HTTP_MAX_LISTENERS)
		return sgw_err_set(err, SGW_EINVAL, "too many listeners (max %d)",
				   HTTP_MAX_LISTENERS);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -SGW_ENOMEM;
	for (; s->n < c->n_listen; s->n++) {
		spec_from_cfg(c, &c->listen[s->n], ctr, &spec);
		if ((r = http_listener_new(base, &spec, h, arg, &s->l[s->n], err)) < 0)
			break;
		log_info("listening on %s://%s%s", spec.cert != NULL ? "https" : "http",
			 spec.address, spec.proxy_protocol ? " (PROXY protocol)" : "");
	}
	if (r < 0) {
		http_server_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

void
http_server_close_listeners(struct http_server *s)
{
	for (size_t i = 0; i < s->n; i++)
		http_listener_close(s->l[i]);
}

void
http_server_free(struct http_server *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		http_listener_free(s->l[i]);
	free(s);
}

void
http_retry_after(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_remove_header(h, "Retry-After");
	evhttp_add_header(h, "Retry-After", HTTP_RETRY_AFTER);
}
