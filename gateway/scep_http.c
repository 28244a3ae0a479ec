/* scep_http.c: SCEP over HTTP (RFC 8894 4): routing, the static replies and
 * the extraction of a PKIOperation message from POST or GET. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/sha.h>

#include "health.h"
#include "http_cond.h"
#include "http_server.h"
#include "log.h"
#include "metrics.h"
#include "profile.h"
#include "scep_http.h"
#include "scep_query.h"
#include "txn_pkiop.h"

/* name = profile: 0, or -SGW_ENOTFOUND when there is none. */
static int
route_to(const char *profile, char *name, size_t size)
{
	if (profile == NULL || strlen(profile) >= size)
		return -SGW_ENOTFOUND;
	memcpy(name, profile, strlen(profile) + 1);
	return 0;
}

int
scep_http_route(const char *path, const char *default_profile, const char *ndes_profile, char *name,
		size_t size)
{
	const char *p, *end;
	size_t n;

	if (strcmp(path, "/cgi-bin/pkiclient.exe") == 0)
		return route_to(default_profile, name, size);
	if (strcasecmp(path, "/certsrv/mscep/mscep.dll") == 0 ||
	    strcasecmp(path, "/certsrv/mscep/mscep.dll/") == 0 ||
	    strcasecmp(path, "/certsrv/mscep/mscep.dll/pkiclient.exe") == 0)
		return route_to(ndes_profile, name, size);
	if (strncmp(path, "/scep/", 6) != 0)
		return -SGW_ENOTFOUND;
	p = path + 6;
	end = strchr(p, '/');
	n = end != NULL ? (size_t)(end - p) : strlen(p);
	if (n == 0 || n >= size)
		return -SGW_ENOTFOUND;
	if (end != NULL && strcmp(end, "/") != 0 && strcmp(end, "/pkiclient.exe") != 0)
		return -SGW_ENOTFOUND;
	memcpy(name, p, n);
	name[n] = '\0';
	return 0;
}

static void
reply_static(struct req_ctx *r, const void *data, size_t len, const char *type)
{
	r->reply = malloc(len ? len : 1);
	if (r->reply == NULL) {
		req_end(r, SCEP_OUT_HTTP_INTERNAL, "out of memory");
		return;
	}
	memcpy(r->reply, data, len);
	r->reply_len = len;
	r->reply_type = type;
	req_end(r, SCEP_OUT_SUCCESS, NULL);
}

/* The PKIOperation message into r->body: 0, or -1 after ending r. */
static int
take_body(struct req_ctx *r, const struct scep_query *q)
{
	struct evbuffer *in;
	size_t len;

	if (evhttp_request_get_command(r->http) == EVHTTP_REQ_POST) {
		in = evhttp_request_get_input_buffer(r->http);
		len = evbuffer_get_length(in);
		if (len == 0) {
			req_end(r, SCEP_OUT_HTTP_MALFORMED, "empty POST body");
			return -1;
		}
		r->body = malloc(len);
		if (r->body == NULL || evbuffer_remove(in, r->body, len) != (int)len) {
			req_end(r, SCEP_OUT_HTTP_INTERNAL, "out of memory");
			return -1;
		}
		r->body_len = len;
		return 0;
	}
	if (q->message == NULL) {
		req_end(r, SCEP_OUT_HTTP_MALFORMED, "GET PKIOperation without message");
		return -1;
	}
	if (scep_base64_decode(q->message, q->message_len, &r->body, &r->body_len) < 0) {
		req_end(r, SCEP_OUT_HTTP_MALFORMED, "message is not base64");
		return -1;
	}
	return 0;
}

static void
dispatch(struct req_ctx *r, const struct scep_query *q)
{
	struct profile *p = r->prof;
	int post = evhttp_request_get_command(r->http) == EVHTTP_REQ_POST;

	if (strcasecmp(q->operation, "PKIOperation") == 0) {
		r->op = "PKIOperation";
		if (take_body(r, q) == 0)
			txn_pkioperation(r);
		return;
	}
	if (post) {
		req_end(r, SCEP_OUT_HTTP_METHOD, "POST is only for PKIOperation");
		return;
	}
	/* a message= parameter is tolerated (MobileIron, Windows "default") */
	if (strcasecmp(q->operation, "GetCACaps") == 0) {
		r->op = "GetCACaps";
		reply_static(r, p->caps_text, strlen(p->caps_text), "text/plain");
	} else if (strcasecmp(q->operation, "GetCACert") == 0) {
		r->op = "GetCACert";
		reply_static(r, p->getcacert, p->getcacert_len, p->getcacert_type);
	} else if (strcasecmp(q->operation, "GetNextCACert") == 0) {
		r->op = "GetNextCACert";
		if (p->getnextcacert != NULL) {
			reply_static(r, p->getnextcacert, p->getnextcacert_len,
				     "application/x-x509-next-ca-cert");
			return;
		}
		req_end(r, SCEP_OUT_HTTP_BAD_OP,
			"GetNextCACert: no CA rollover is configured for this profile");
	} else {
		req_end(r, SCEP_OUT_HTTP_BAD_OP, "%s operation '%.31s'",
			q->operation[0] ? "unknown" : "missing", q->operation);
	}
}

/* ---- /crl/<backend>.crl: the CRL over plain HTTP (CRL distribution points)
 *
 * Relying parties and caches fetch it often: Last-Modified is the CRL's
 * thisUpdate, the ETag a digest of its DER, Cache-Control's max-age runs to
 * its nextUpdate; If-None-Match (first) and If-Modified-Since answer 304
 * (RFC 9110 13.2.2).  HEAD gets the headers and the length. */

#define CRL_ETAG_BYTES 16

static time_t
asn1_time_t(const ASN1_TIME *a)
{
	struct tm tm;

	return a != NULL && ASN1_TIME_to_tm(a, &tm) == 1 ? timegm(&tm) : (time_t)-1;
}

/* 1 when the client's copy is current (a 304), else 0. */
static int
crl_not_modified(struct evhttp_request *req, const char *etag, time_t last)
{
	const struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *inm = evhttp_find_header(in, "If-None-Match");
	const char *ims = evhttp_find_header(in, "If-Modified-Since");
	time_t since;
	int m;

	if (inm != NULL && (m = http_etag_match((const uint8_t *)inm, strlen(inm), etag)) >= 0)
		return m; /* when present and well formed, If-Modified-Since is ignored */
	return ims != NULL && last != (time_t)-1 &&
	       http_date_parse((const uint8_t *)ims, strlen(ims), &since) == 0 && last <= since;
}

static void
crl_headers(struct evkeyvalq *h, const X509_CRL *crl, const char *etag, time_t last)
{
	time_t next = asn1_time_t(X509_CRL_get0_nextUpdate(crl)), now = time(NULL);
	char date[HTTP_DATE_LEN], cc[64];

	if (last != (time_t)-1 && http_date_format(last, date, sizeof(date)) == 0)
		evhttp_add_header(h, "Last-Modified", date);
	evhttp_add_header(h, "ETag", etag);
	if (next != (time_t)-1 && http_date_format(next, date, sizeof(date)) == 0) {
		evhttp_add_header(h, "Expires", date);
		snprintf(cc, sizeof(cc), "public, max-age=%lld, no-transform",
			 (long long)(next > now ? next - now : 0));
	} else {
		snprintf(cc, sizeof(cc), "no-cache");
	}
	evhttp_add_header(h, "Cache-Control", cc);
}

static void
crl_done(void *arg, X509_CRL *crl, const char *reason)
{
	struct req_ctx *r = arg;
	unsigned char *der = NULL, md[32];
	int n = crl != NULL ? i2d_X509_CRL(crl, &der) : -1;
	char etag[2 * CRL_ETAG_BYTES + 3], len[24];
	time_t last;

	if (crl != NULL && r->crl_backend != NULL) {
		struct tm tm;

		if (X509_CRL_get0_nextUpdate(crl) != NULL &&
		    ASN1_TIME_to_tm(X509_CRL_get0_nextUpdate(crl), &tm) == 1)
			metrics_crl(r->gw->metrics, r->crl_backend, (int64_t)timegm(&tm));
	}
	if (n <= 0 || SHA256(der, (size_t)n, md) == NULL) {
		req_end(r, SCEP_OUT_HTTP_UNAVAILABLE, "no CRL: %s",
			reason != NULL ? reason : "cannot encode it");
		OPENSSL_free(der);
		return;
	}
	etag[0] = '"';
	for (int i = 0; i < CRL_ETAG_BYTES; i++)
		snprintf(etag + 1 + 2 * i, 3, "%02x", md[i]);
	snprintf(etag + 1 + 2 * CRL_ETAG_BYTES, 2, "\"");
	last = asn1_time_t(X509_CRL_get0_lastUpdate(crl));
	crl_headers(evhttp_request_get_output_headers(r->http), crl, etag, last);
	if (crl_not_modified(r->http, etag, last)) {
		r->reply_status = 304;
		reply_static(r, "", 0, "application/pkix-crl");
	} else if (evhttp_request_get_command(r->http) == EVHTTP_REQ_HEAD) {
		/* libevent writes no Content-Length for HEAD: the GET's length */
		snprintf(len, sizeof(len), "%d", n);
		evhttp_add_header(evhttp_request_get_output_headers(r->http), "Content-Length",
				  len);
		reply_static(r, "", 0, "application/pkix-crl");
	} else {
		reply_static(r, der, (size_t)n, "application/pkix-crl");
	}
	OPENSSL_free(der);
}

/* 1 when the path is under /crl/ (and the request is answered), else 0. */
static int
serve_crl(struct req_ctx *r, const char *path)
{
	struct profile_set *ps = r->ps;
	const char *name = path + 5;
	size_t n = strlen(name);
	struct backend *b = NULL;

	if (strncmp(path, "/crl/", 5) != 0)
		return 0;
	r->op = "CRL";
	for (size_t i = 0; n > 4 && strcmp(name + n - 4, ".crl") == 0 && i < ps->n_backends; i++)
		if (strlen(backend_name(ps->backends[i])) == n - 4 &&
		    strncmp(backend_name(ps->backends[i]), name, n - 4) == 0)
			b = ps->backends[i];
	if (b == NULL)
		req_end(r, SCEP_OUT_HTTP_NO_PROFILE, "no CA at '%.100s'", path);
	else if (evhttp_request_get_command(r->http) != EVHTTP_REQ_GET &&
		 evhttp_request_get_command(r->http) != EVHTTP_REQ_HEAD)
		req_end(r, SCEP_OUT_HTTP_METHOD, "a CRL is fetched with GET or HEAD");
	else if ((r->crl_backend = backend_name(b)) == NULL || backend_get_crl(b, crl_done, r) < 0)
		req_end(r, SCEP_OUT_HTTP_NO_PROFILE, "backend %s publishes no CRL",
			backend_name(b));
	/* else crl_done() ends r */
	return 1;
}

void
scep_http_handle(struct evhttp_request *req, const struct http_origin *origin, void *arg)
{
	struct gw *gw = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	struct scep_query q = {0};
	struct req_ctx *r;
	char name[64];

	if (path != NULL && strcmp(path, "/healthz") == 0 &&
	    evhttp_request_get_command(req) & (EVHTTP_REQ_GET | EVHTTP_REQ_HEAD)) {
		health_reply(gw, req); /* a probe: no request line, no counters */
		return;
	}
	r = req_new(gw, req, origin, "-");
	if (r == NULL) {
		log_warn("a request refused: out of memory: HTTP 503");
		http_retry_after(req);
		evhttp_send_reply(req, 503, "Service Unavailable", NULL);
		return;
	}
	if (gw->draining || gw->inflight > gw->max_inflight) {
		req_end(r, SCEP_OUT_HTTP_UNAVAILABLE, "%s",
			gw->draining ? "shutting down" : "too many requests in progress");
		return;
	}
	if (path != NULL && serve_crl(r, path))
		return;
	if (path == NULL ||
	    scep_http_route(path, r->ps->cfg->default_profile, r->ps->cfg->ndes_profile, name,
			    sizeof(name)) < 0 ||
	    (r->prof = profiles_find(r->ps, name)) == NULL) {
		req_end(r, SCEP_OUT_HTTP_NO_PROFILE, "no SCEP profile at path '%.100s'",
			path != NULL ? path : "");
		return;
	}
	if (query == NULL || scep_query_parse(query, strlen(query), &q) < 0) {
		req_end(r, SCEP_OUT_HTTP_BAD_OP, "%s", query ? "bad query string" : "no query");
		return;
	}
	dispatch(r, &q);
	scep_query_clear(&q);
}
