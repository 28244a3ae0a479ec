/* scep_req.c: the request in flight: its context, and its one terminal,
 * req_end(): the outcome, the CertRep (signed on a worker) when the request
 * carries a pkiMessage, the reply, the one log line, the metrics, the free. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/objects.h>

#include "http_conn.h"
#include "http_server.h"
#include "log.h"
#include "metrics.h"
#include "scep_certrep.h"
#include "scep_req.h"

static const char *
method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	default:
		return "OTHER";
	}
}

/* Behind a proxy in trusted_proxies, the client is what X-Forwarded-For
 * says (cidr.h); a malformed list keeps the proxy as the peer, logged. */
static void
forwarded_peer(struct req_ctx *r, const struct cfg *cfg)
{
	const char *xff;
	char client[sizeof(r->peer)];

	if (cfg->n_trusted_proxies == 0 ||
	    !cidr_match(cfg->trusted_proxies, cfg->n_trusted_proxies, r->peer))
		return;
	xff = evhttp_find_header(evhttp_request_get_input_headers(r->http), "X-Forwarded-For");
	if (xff == NULL)
		return;
	if (cidr_forwarded_client(cfg->trusted_proxies, cfg->n_trusted_proxies, r->peer, xff,
				  client, sizeof(client)) < 0) {
		log_warn("peer=%s: X-Forwarded-For from a trusted proxy is not a list of "
			 "addresses: the proxy stays the peer",
			 r->peer);
		return;
	}
	if (strcmp(client, r->peer) == 0)
		return;
	memcpy(r->via, r->peer, sizeof(r->via));
	memcpy(r->peer, client, sizeof(r->peer));
}

struct req_ctx *
req_new(struct gw *gw, struct evhttp_request *http, const struct http_origin *origin,
	const char *op)
{
	struct req_ctx *r = calloc(1, sizeof(*r));
	struct evhttp_connection *con;
	char *addr = NULL;
	const char *ua;
	ev_uint16_t port = 0;

	if (r == NULL)
		return NULL;
	r->gw = gw;
	r->ps = profiles_ref(gw->profiles);
	r->http = http;
	r->op = op;
	r->outcome = SCEP_OUT_HTTP_INTERNAL;
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	con = evhttp_request_get_connection(http);
	if (origin != NULL) {
		snprintf(r->peer, sizeof(r->peer), "%s", origin->peer);
		snprintf(r->via, sizeof(r->via), "%s", origin->via);
	} else {
		if (con != NULL)
			evhttp_connection_get_peer(con, &addr, &port);
		snprintf(r->peer, sizeof(r->peer), "%s", addr != NULL ? addr : "-");
		forwarded_peer(r, r->ps->cfg);
	}
	r->method = method_name(evhttp_request_get_command(http));
	ua = evhttp_find_header(evhttp_request_get_input_headers(http), "User-Agent");
	if (ua != NULL) {
		snprintf(r->user_agent, sizeof(r->user_agent), "%s", ua);
		log_safe(r->user_agent);
	}
	gw->inflight++;
	LIST_INSERT_HEAD(&gw->reqs, r, link);
	return r;
}

static void
set_outcome_v(struct req_ctx *r, enum scep_outcome out, const char *fmt, va_list ap)
{
	r->outcome = out;
	if (fmt == NULL) {
		r->reason[0] = '\0';
		return;
	}
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	log_safe(r->reason); /* reasons may quote client data */
}

static void
req_free(struct req_ctx *r)
{
	r->gw->inflight--;
	LIST_REMOVE(r, link);
	free(r->body);
	scep_msg_free(r->msg);
	if (r->content != NULL)
		OPENSSL_cleanse(r->content, r->content_len);
	free(r->content);
	if (r->pre.content != NULL) /* decrypted, then answered before it was needed */
		OPENSSL_cleanse(r->pre.content, r->pre.content_len);
	free(r->pre.content);
	csr_free(r->csr);
	csr_free(r->pre.csr);
	free(r->pre.sealed.sealed);
	store_txn_clear(&r->txn);
	store_cert_clear(&r->st.cert);
	backend_result_clear(&r->st.res);
	sk_X509_pop_free(r->issued, X509_free);
	X509_CRL_free(r->crl);
	X509_free(r->new_cert);
	free(r->reply);
	profiles_unref(r->ps); /* after everything that may borrow from it */
	free(r);
}

/* 503: the store, the disk or the workers, for now.  evhttp_send_error()
 * would drop the Retry-After with the other headers. */
static void
send_unavailable(struct req_ctx *r)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->http);
	struct evbuffer *out = evbuffer_new();

	evhttp_add_header(h, "Content-Type", "text/plain");
	http_retry_after(r->http);
	if (out != NULL && evhttp_request_get_command(r->http) != EVHTTP_REQ_HEAD)
		evbuffer_add_printf(out, "503 Service Unavailable\n");
	evhttp_send_reply(r->http, 503, "Service Unavailable", out);
	evbuffer_free(out);
}

unsigned
req_drop_all(struct gw *gw)
{
	struct req_ctx *r;
	unsigned n = 0;

	while ((r = LIST_FIRST(&gw->reqs)) != NULL) {
		log_debug("txn=%s op=%s peer=%s: dropped unanswered at shutdown",
			  r->msg != NULL && r->msg->transaction_id[0] ? r->msg->transaction_id
								      : "-",
			  r->op, r->peer);
		req_free(r);
		n++;
	}
	if (n > 0)
		log_warn("shutdown: %u request(s) dropped unanswered, freed", n);
	return n;
}

static void
send_reply(struct req_ctx *r, const struct scep_fail_map *m)
{
	struct evbuffer *out;
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->http);

	if (r->reply == NULL) {
		/* HTTP-only outcome, or a CertRep that could not be built */
		int code = m->pki_status < 0 ? m->http_status : 500;

		if (code == 503) {
			send_unavailable(r);
			return;
		}
		evhttp_add_header(h, "Content-Type", "text/plain");
		evhttp_send_error(r->http, code, NULL);
		return;
	}
	out = evbuffer_new();
	if (out == NULL || evbuffer_add(out, r->reply, r->reply_len) != 0) {
		evbuffer_free(out);
		evhttp_send_error(r->http, 500, NULL);
		return;
	}
	evhttp_add_header(h, "Content-Type", r->reply_type);
	if (evhttp_request_get_command(r->http) == EVHTTP_REQ_HEAD) {
		/* the GET's headers without its body (libevent 2.1 would send it) */
		char len[24];

		snprintf(len, sizeof(len), "%zu", r->reply_len);
		if (evhttp_find_header(h, "Content-Length") == NULL)
			evhttp_add_header(h, "Content-Length", len);
		evbuffer_drain(out, evbuffer_get_length(out));
	}
	if (r->reply_status != 0) /* libevent's own reason phrase ("Not Modified") */
		evhttp_send_reply(r->http, r->reply_status, NULL, out);
	else
		evhttp_send_reply(r->http, m->http_status, "OK", out);
	evbuffer_free(out);
}

static const char *
nid_name(int nid)
{
	return nid > 0 ? OBJ_nid2sn(nid) : "-";
}

static void
req_finish_now(void *arg)
{
	struct req_ctx *r = arg;
	const struct scep_fail_map *m = scep_fail_lookup(r->outcome);
	struct timespec now;
	char subject[201];
	double ms;
	int level;

	send_reply(r, m);
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (double)(now.tv_sec - r->start.tv_sec) * 1e3 +
	     (double)(now.tv_nsec - r->start.tv_nsec) / 1e6;
	level = r->outcome == SCEP_OUT_SUCCESS || r->outcome == SCEP_OUT_PENDING ? LOG_LVL_INFO
										 : LOG_LVL_WARN;
	if (r->csr != NULL) { /* as csr.c printed it (RFC 2253), cut, made safe */
		snprintf(subject, sizeof(subject), "%s", r->csr->subject);
		log_safe(subject);
	}
	log_msg(level,
		"txn=%s profile=%s peer=%s%s%s op=%s method=%s digest=%s cipher=%s outcome=%s%s%s "
		"status=%d%s%s ms=%.1f%s%s%s%s%s%s%s%s%s%s%s",
		r->msg != NULL && r->msg->transaction_id[0] ? r->msg->transaction_id : "-",
		r->prof != NULL ? r->prof->cfg->name : "-", r->peer, r->via[0] ? " via=" : "",
		r->via, r->op, r->method, nid_name(r->msg != NULL ? r->msg->digest_nid : 0),
		nid_name(r->cipher_nid), m->name, m->fail_info >= 0 ? " failinfo=" : "",
		m->fail_info >= 0 ? scep_fail_info_name(m->fail_info) : "",
		r->reply != NULL ? (r->reply_status ? r->reply_status : m->http_status)
				 : (m->pki_status < 0 ? m->http_status : 500),
		r->serial[0] ? " serial=" : "", r->serial, ms, r->csr != NULL ? " subject=\"" : "",
		r->csr != NULL ? subject : "", r->csr != NULL ? "\"" : "",
		r->auth != NULL ? " auth=" : "", r->auth != NULL ? r->auth : "",
		r->user_agent[0] ? " ua=\"" : "", r->user_agent, r->user_agent[0] ? "\"" : "",
		r->reason[0] ? " reason=\"" : "", r->reason, r->reason[0] ? "\"" : "");
	metrics_request(r->gw->metrics, r->op, r->prof != NULL ? r->prof->cfg->name : "-", m->name,
			ms);
	req_free(r);
}

static void __attribute__((format(printf, 3, 4)))
set_outcome(struct req_ctx *r, enum scep_outcome out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_outcome_v(r, out, fmt, ap);
	va_end(ap);
}

/* The flush failed: the commits may not survive power loss, so the device
 * gets no answer built on them (503: it tries again). */
static void
on_durable(void *arg, int status)
{
	struct req_ctx *r = arg;

	if (status < 0) {
		free(r->reply);
		r->reply = NULL;
		set_outcome(r, SCEP_OUT_HTTP_UNAVAILABLE, "store: flushing the commit failed");
	}
	req_finish_now(r);
}

/* A PKIOperation's reply waits until the store's commits are durable (group
 * commit): the device never holds an answer the gateway could forget. */
static void
finish(struct req_ctx *r)
{
	if (r->body != NULL && store_await_durable(r->gw->store, on_durable, r) == -SGW_EAGAIN)
		return;
	req_finish_now(r);
}

/* ---- CertRep (worker) ---------------------------------------------------- */

static void
certrep_work(void *arg)
{
	struct req_ctx *r = arg;
	const struct scep_fail_map *m = scep_fail_lookup(r->outcome);
	struct scep_certrep_params p = {0};
	int digest = r->msg->digest_nid;

	/* mirror the request's digest, unless that digest is the problem */
	if (EVP_get_digestbynid(digest) == NULL || (digest == NID_md5 && !r->prof->cfg->allow_md5))
		digest = NID_sha256;
	p.pki_status = m->pki_status;
	p.fail_info = m->fail_info;
	p.fail_info_text = r->reason[0] != '\0' ? r->reason : NULL;
	p.transaction_id = r->msg->transaction_id;
	p.recipient_nonce = r->msg->sender_nonce;
	p.digest_nid = digest;
	p.cipher_nid = r->cipher_nid;
	p.recipient = r->msg->signer;
	p.ra_cert = r->prof->id->sign_cert;
	p.ra_key = r->prof->id->sign_key;
	p.certs = r->issued;
	p.crl = r->crl;
	r->rc = scep_certrep_build(&p, &r->reply, &r->reply_len, &r->werr);
}

static void
certrep_done(void *arg)
{
	struct req_ctx *r = arg;

	if (r->rc < 0) {
		log_err("txn=%s profile=%s: cannot build CertRep: %s", r->msg->transaction_id,
			r->prof->cfg->name, r->werr.msg);
		free(r->reply);
		r->reply = NULL;
		set_outcome(
		    r, r->rc == -SGW_EUNAVAIL ? SCEP_OUT_HTTP_UNAVAILABLE : SCEP_OUT_HTTP_INTERNAL,
		    r->rc == -SGW_EUNAVAIL ? "RA key unavailable" : "cannot build CertRep");
	}
	r->reply_type = "application/x-pki-message";
	finish(r);
}

void
req_end(struct req_ctx *r, enum scep_outcome out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_outcome_v(r, out, fmt, ap);
	va_end(ap);
	if (scep_fail_lookup(r->outcome)->pki_status < 0 || r->msg == NULL) {
		finish(r); /* an HTTP-only outcome, or nothing to answer with a CertRep */
		return;
	}
	if (r->outcome == SCEP_OUT_SUCCESS && r->cipher_nid <= 0) {
		/* never fall back to another cipher than the request's */
		set_outcome(r, SCEP_OUT_BAD_ALG, "cannot determine the request's cipher");
	}
	if (worker_pool_submit(r->gw->workers, certrep_work, certrep_done, r) < 0) {
		set_outcome(r, SCEP_OUT_HTTP_UNAVAILABLE, "worker pool stopped");
		finish(r);
	}
}
