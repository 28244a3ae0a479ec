/* admin_http.c: the admin listener: its own evhttp socket (loopback by
 * default), TLS with optional client certificates, authentication and
 * routing to the routes (admin_api.c, admin_mscep.c); the replies and the
 * audit line are admin_reply.c's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>

#include "admin_api.h"
#include "admin_auth.h"
#include "admin_mscep.h"
#include "admin_reply.h"
#include "http_server.h"
#include "keyop.h"
#include "log.h"
#include "metrics.h"
#include "secret_file.h"
#include "store.h"

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

static void
serve_metrics(struct admin *a, struct evhttp_request *req, const struct admin_principal *p)
{
	struct evbuffer *out = evbuffer_new();

	if (out == NULL || metrics_render(a->gw->metrics, a->gw->store, out) < 0) {
		evbuffer_free(out);
		admin_reply_error(a, req, p, "metrics", 500, "cannot render the metrics");
		return;
	}
	admin_reply_buf(a, req, "metrics", 200, "text/plain; version=0.0.4", out);
}

static void
route(struct admin *a, struct evhttp_request *req, char **segs, int n,
      const struct evkeyvalq *query)
{
	struct admin_principal p;
	int get = evhttp_request_get_command(req) == EVHTTP_REQ_GET;

	if (n == 1 && strcmp(segs[0], "healthz") == 0) { /* liveness: no credentials */
		admin_reply_json(a, req, NULL, "healthz", 200, json_pack("{s:s}", "status", "ok"));
		return;
	}
	if (admin_authenticate(a, req, &p) < 0) {
		admin_reply_error(a, req, NULL, "auth", 401, "authentication required");
		return;
	}
	if (n == 2 && strcmp(segs[0], "certsrv") == 0 && strcmp(segs[1], "mscep_admin") == 0) {
		if (!(p.role & ADMIN_ROLE_CHALLENGE))
			admin_reply_error(a, req, &p, "mscep_admin", 403, "not allowed");
		else
			admin_mscep(a, req, &p);
		return;
	}
	if (n == 1 && strcmp(segs[0], "metrics") == 0 && get) {
		if (!(p.role & ADMIN_ROLE_READ))
			admin_reply_error(a, req, &p, "metrics", 403, "not allowed");
		else
			serve_metrics(a, req, &p);
		return;
	}
	if (n >= 2 && strcmp(segs[0], "api") == 0 && strcmp(segs[1], "v1") == 0) {
		admin_api(a, req, &p, segs + 2, n - 2, query);
		return;
	}
	admin_reply_error(a, req, &p, "route", 404, "no such route");
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct admin *a = arg;
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
		route(a, req, segs, n, &query);
	}
	evhttp_clear_headers(&query);
	free(copy);
}

/* ---- listener ------------------------------------------------------------ */

static struct bufferevent *
tls_bevcb(struct event_base *base, void *arg)
{
	SSL *ssl = SSL_new(((struct admin *)arg)->ssl);

	if (ssl == NULL)
		return NULL;
	return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					      BEV_OPT_CLOSE_ON_FREE);
}

/* Any verification result is accepted at the handshake (bearer tokens work
 * without a client certificate); admin_auth.c reads it per request. */
static int
verify_any(int ok, X509_STORE_CTX *ctx)
{
	(void)ok;
	(void)ctx;
	return 1;
}

static int
tls_setup(struct admin *a, struct sgw_err *err)
{
	const struct cfg_admin *c = a->cfg;
	int r = -SGW_EINVAL;

	if ((a->ssl = SSL_CTX_new(TLS_server_method())) == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "SSL_CTX_new failed");
	SSL_CTX_set_min_proto_version(a->ssl, TLS1_2_VERSION);
	SSL_CTX_set_options(a->ssl, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
	if ((r = secret_file_check(c->tls_files.key, err)) < 0)
		goto out;
	r = -SGW_EINVAL;
	if (SSL_CTX_use_certificate_chain_file(a->ssl, c->tls_files.cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(a->ssl, c->tls_files.key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(a->ssl) != 1) {
		sgw_err_set(err, SGW_EPARSE, "admin.tls: cannot load %s / %s", c->tls_files.cert,
			    c->tls_files.key);
		goto out;
	}
	if (c->client_ca != NULL) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(c->client_ca);

		if (names == NULL ||
		    SSL_CTX_load_verify_locations(a->ssl, c->client_ca, NULL) != 1) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			sgw_err_set(err, SGW_EPARSE, "admin.client_ca: cannot load %s",
				    c->client_ca);
			goto out;
		}
		SSL_CTX_set_client_CA_list(a->ssl, names);
		SSL_CTX_set_verify(a->ssl, SSL_VERIFY_PEER, verify_any);
	}
	r = 0;
out:
	ERR_clear_error();
	return r;
}

int
admin_new(struct gw *gw, struct txn_admin *ta, struct admin **ret, struct sgw_err *err)
{
	const struct cfg_admin *c = &gw->cfg->admin;
	struct admin *a;
	char host[64];
	unsigned short port;
	int r = -SGW_ENOMEM;

	*ret = NULL;
	if (!c->enabled)
		return 0;
	if (http_parse_address(c->listen, host, sizeof(host), &port) < 0)
		return sgw_err_set(err, SGW_EINVAL, "admin.listen: bad address '%s'", c->listen);
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return r;
	a->gw = gw;
	a->ta = ta;
	a->cfg = c;
	if (c->tokens_file != NULL && (r = admin_tokens_load(a, c->tokens_file, err)) < 0)
		goto fail;
	if (c->tls && (r = tls_setup(a, err)) < 0)
		goto fail;
	r = sgw_err_set(err, SGW_ENOMEM, "out of memory");
	if ((a->http = evhttp_new(gw->base)) == NULL)
		goto fail;
	evhttp_set_max_body_size(a->http, ADMIN_MAX_BODY);
	evhttp_set_max_headers_size(a->http, ADMIN_MAX_HEADERS);
	evhttp_set_timeout(a->http, ADMIN_TIMEOUT);
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_gencb(a->http, on_request, a);
	if (a->ssl != NULL)
		evhttp_set_bevcb(a->http, tls_bevcb, a);
	if (evhttp_bind_socket(a->http, host, port) != 0) {
		r = sgw_err_set(err, SGW_EIO, "admin.listen %s: cannot bind: %s", c->listen,
				strerror(errno));
		goto fail;
	}
	log_info("admin API on %s://%s (%zu token(s)%s)", a->ssl != NULL ? "https" : "http",
		 c->listen, a->n_tokens, c->client_ca != NULL ? ", client certificates" : "");
	*ret = a;
	return 0;
fail:
	admin_free(a);
	return r;
}

void
admin_free(struct admin *a)
{
	if (a == NULL)
		return;
	admin_api_free(a);
	if (a->http != NULL)
		evhttp_free(a->http);
	SSL_CTX_free(a->ssl);
	if (a->tokens != NULL)
		OPENSSL_cleanse(a->tokens, ADMIN_MAX_TOKENS * sizeof(*a->tokens));
	free(a->tokens);
	free(a);
}
