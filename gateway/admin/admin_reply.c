/* admin_reply.c: the admin API's replies (admin_reply.h): JSON bodies, error
 * bodies with their audit line, replies held until the store is durable. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "admin_reply.h"
#include "http_server.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

void
admin_audit(const struct admin_principal *p, const char *action, int code, const char *what)
{
	log_info("audit admin=%s action=%s status=%d%s%s", p != NULL && p->name[0] ? p->name : "-",
		 action, code, what != NULL && what[0] ? " " : "", what != NULL ? what : "");
}

/* A reply held until the store's commits are durable (store_await_durable). */
struct held_reply {
	struct admin *a;
	struct evhttp_request *req;
	const char *action;
	int code;
	struct evbuffer *out;
};

static void
send_now(struct admin *a, struct evhttp_request *req, const char *action, int code,
	 struct evbuffer *out)
{
	evhttp_send_reply(req, code, code < 300 ? "OK" : "Error", out);
	metrics_admin(a->gw->metrics, action, code);
	evbuffer_free(out);
}

/* The flush failed: the change may not survive power loss, so the reply
 * built on it is replaced by a 503. */
static void
send_held(void *arg, int status)
{
	struct held_reply *h = arg;

	if (status < 0) {
		log_warn("admin: action=%s: store: flushing the commit failed: HTTP 503",
			 h->action);
		evbuffer_drain(h->out, evbuffer_get_length(h->out));
		evbuffer_add_printf(h->out, "{\"error\":\"store: flushing the commit failed\"}\n");
		h->code = 503;
		http_retry_after(h->req);
	}
	send_now(h->a, h->req, h->action, h->code, h->out);
	free(h);
}

void
admin_send(struct admin *a, struct evhttp_request *req, const char *action, int code,
	   struct evbuffer *out)
{
	struct held_reply *h = malloc(sizeof(*h));

	if (h != NULL) {
		*h = (struct held_reply){a, req, action, code, out};
		if (store_await_durable(a->gw->store, send_held, h) == -SGW_EAGAIN)
			return;
		free(h);
	}
	send_now(a, req, action, code, out);
}

void
admin_reply_buf(struct admin *a, struct evhttp_request *req, const char *action, int code,
		const char *type, struct evbuffer *out)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (code == 503)
		http_retry_after(req);
	if (code == 401)
		evhttp_add_header(h, "WWW-Authenticate", "Basic realm=\"scepgw\", Bearer");
	admin_send(a, req, action, code, out);
}

void
admin_reply_json(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
		 const char *action, int code, json_t *body)
{
	struct evbuffer *out = evbuffer_new();
	char *txt = body != NULL ? json_dumps(body, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;

	(void)p;
	json_decref(body);
	if (out == NULL || txt == NULL) {
		evbuffer_free(out);
		free(txt);
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evbuffer_add(out, txt, strlen(txt));
	evbuffer_add(out, "\n", 1);
	free(txt);
	admin_reply_buf(a, req, action, code, "application/json", out);
}

void
admin_reply_error(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
		  const char *action, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *c = msg; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == '"')
			*c = '?';
	admin_audit(p, action, code, msg);
	admin_reply_json(a, req, p, action, code, json_pack("{s:s}", "error", msg));
}

json_t *
admin_body_json(struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	unsigned char *p;

	if (len == 0 || len > ADMIN_MAX_BODY)
		return NULL;
	p = evbuffer_pullup(in, (ev_ssize_t)len);
	return p != NULL ? json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
}
