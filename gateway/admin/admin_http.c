/* admin_http.c: the admin listener: its own socket (loopback by default;
 * an http_listener, TLS with optional client certificates), authentication
 * and routing to the routes (admin_api.c, admin_mscep.c); the replies and
 * the audit line are admin_reply.c's. */
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>

#include "admin_api.h"
#include "admin_auth.h"
#include "admin_mscep.h"
#include "admin_read.h"
#include "admin_reply.h"
#include "health.h"
#include "http_listen.h"
#include "log.h"
#include "metrics.h"

#define ADMIN_MAX_HEADERS (16 * 1024)
#define ADMIN_TIMEOUT 30
#define ADMIN_MAX_SEGS 8

/* Split "/a/b/c" into at most ADMIN_MAX_SEGS segments (in place). */
static int
split_path(char *path, char **segs)
{
	int n = 0;

	for (char *s = strtok(path, "/"); s != NULL; s = strtok(NULL, "/")) {
		if (n == ADMIN_MAX_SEGS)
			return -1;
		segs[n++] = s;
	}
	return n;
}

/* An authenticated request's route. */
static void
dispatch(struct admin *a, struct evhttp_request *req, const struct admin_principal *p, char **segs,
	 int n, const struct evkeyvalq *query)
{
	int get = evhttp_request_get_command(req) == EVHTTP_REQ_GET;

	if (n == 2 && strcmp(segs[0], "certsrv") == 0 && strcmp(segs[1], "mscep_admin") == 0) {
		if (!(p->role & ADMIN_ROLE_CHALLENGE))
			admin_reply_error(a, req, p, "mscep_admin", 403, "not allowed");
		else
			admin_mscep(a, req, p);
		return;
	}
	if (n == 1 && strcmp(segs[0], "metrics") == 0 && get) {
		if (!(p->role & ADMIN_ROLE_READ))
			admin_reply_error(a, req, p, "metrics", 403, "not allowed");
		else
			admin_read_metrics(a, req, p);
		return;
	}
	if (n >= 2 && strcmp(segs[0], "api") == 0 && strcmp(segs[1], "v1") == 0) {
		admin_api(a, req, p, segs + 2, n - 2, query);
		return;
	}
	admin_reply_error(a, req, p, "route", 404, "no such route");
}

static void parse_then_route(struct admin *a, struct evhttp_request *req,
			     const struct admin_principal *p);

/* After a client certificate's revocation check (admin_read.c). */
static void
authed(struct admin *a, struct evhttp_request *req, const struct admin_principal *p)
{
	parse_then_route(a, req, p);
}

/* p == NULL: not authenticated yet. */
static void
healthz_reply(void *arg, struct evhttp_request *req, int ok, const char *why)
{
	admin_reply_json(arg, req, NULL, "healthz", ok ? 200 : 503,
			 ok ? json_pack("{s:s}", "status", "ok")
			    : json_pack("{s:s,s:s}", "status", "not ready", "failing", why));
}

static void
route(struct admin *a, struct evhttp_request *req, const struct admin_principal *p, char **segs,
      int n, const struct evkeyvalq *query)
{
	struct admin_principal who;
	struct admin_cert_ref ref;

	if (p != NULL) {
		dispatch(a, req, p, segs, n, query);
		return;
	}
	if (n == 1 && strcmp(segs[0], "healthz") == 0) { /* readiness: no credentials */
		health_probe(a->gw, req, healthz_reply, a);
		return;
	}
	if (admin_authenticate(a, req, &who, &ref) < 0) {
		admin_reply_error(a, req, NULL, "auth", 401, "authentication required");
		return;
	}
	if (ref.serial[0] != '\0') /* a store step: off the loop when the store may block */
		admin_read_cert_check(a, req, &who, &ref, authed);
	else
		dispatch(a, req, &who, segs, n, query);
}

/* Split the request's path and query, then route() them. */
static void
parse_then_route(struct admin *a, struct evhttp_request *req, const struct admin_principal *p)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u != NULL ? evhttp_uri_get_path(u) : NULL;
	const char *qs = u != NULL ? evhttp_uri_get_query(u) : NULL;
	struct evkeyvalq query;
	char *segs[ADMIN_MAX_SEGS], *copy;
	int n;

	TAILQ_INIT(&query);
	copy = path != NULL ? evhttp_uridecode(path, 0, NULL) : NULL;
	if (copy == NULL || (qs != NULL && evhttp_parse_query_str(qs, &query) != 0) ||
	    (n = split_path(copy, segs)) < 0) {
		admin_reply_error(a, req, NULL, "route", 400, "bad request line");
	} else {
		route(a, req, p, segs, n, &query);
	}
	evhttp_clear_headers(&query);
	free(copy);
}

static void
on_request(struct evhttp_request *req, const struct http_origin *origin, void *arg)
{
	(void)origin; /* the admin listener speaks no PROXY protocol */
	parse_then_route(arg, req, NULL);
}

/* ---- listener ------------------------------------------------------------ */

/* The admin listener's spec: its own limits, GET and POST only, no TLS
 * session tickets, and client certificates when client_ca is set. */
static void
admin_spec(const struct cfg_admin *c, struct http_spec *ret)
{
	*ret = (struct http_spec){
	    .what = "admin.listen",
	    .address = c->listen,
	    .cert = c->tls ? c->tls_files.cert : NULL,
	    .key = c->tls ? c->tls_files.key : NULL,
	    .client_ca = c->tls ? c->client_ca : NULL,
	    .tls_flags = HTTP_TLS_NO_TICKETS,
	    .max_body = ADMIN_MAX_BODY,
	    .max_headers = ADMIN_MAX_HEADERS,
	    .timeout = ADMIN_TIMEOUT,
	    .methods = EVHTTP_REQ_GET | EVHTTP_REQ_POST,
	};
}

int
admin_new(struct gw *gw, struct txn_admin *ta, struct admin **ret, struct sgw_err *err)
{
	const struct cfg_admin *c = &gw->cfg->admin;
	struct http_spec spec;
	struct admin *a;
	int r;

	*ret = NULL;
	if (!c->enabled)
		return 0;
	admin_spec(c, &spec);
	if ((r = http_spec_check(&spec, err)) < 0)
		return r;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -SGW_ENOMEM;
	a->gw = gw;
	a->ta = ta;
	a->cfg = c;
	if ((c->tokens_file != NULL && (r = admin_tokens_load(a, c->tokens_file, err)) < 0) ||
	    (r = http_listener_new(gw->base, &spec, on_request, a, &a->listener, err)) < 0) {
		admin_free(a);
		return r;
	}
	log_info("admin API on %s://%s (%zu token(s)%s)", c->tls ? "https" : "http", c->listen,
		 a->n_tokens, spec.client_ca != NULL ? ", client certificates" : "");
	*ret = a;
	return 0;
}

void
admin_free(struct admin *a)
{
	if (a == NULL)
		return;
	admin_api_free(a);
	http_listener_free(a->listener);
	if (a->tokens != NULL)
		OPENSSL_cleanse(a->tokens, ADMIN_MAX_TOKENS * sizeof(*a->tokens));
	free(a->tokens);
	free(a);
}
