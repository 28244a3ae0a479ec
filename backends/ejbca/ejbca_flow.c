/* ejbca_flow.c: the EJBCA REST calls (docs/protocol-notes.md 1.2-1.5).
 *
 * One `struct ejbca_op` per backend operation.  An operation may need up to
 * three requests: the CA list (to learn the CA's DN as EJBCA spells it), the
 * CA chain download (versions whose pkcs10enroll reply has no
 * certificate_chain), and the call itself.  ejbca_op_advance() picks the next one;
 * every reply comes back on the loop through http_client.
 *
 *   pkcs10enroll 201 -> ISSUED, 202 -> PENDING "<request_id>:<code>",
 *   400/409/413/422 -> REJECTED, 502/503/504 and transport errors (after the
 *   client's retries) -> FAIL_TEMP, anything else -> FAIL_PERM.
 *   finalize: the same table (202 = still waiting).
 *
 * The enrolment code and the request bodies that carry it never reach a log;
 * they are wiped when the operation is freed.  The operation is freed before
 * the caller's callback runs, since that callback may free the backend. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "ejbca_cert.h"
#include "ejbca_int.h"
#include "log.h"

static const char *const kind_names[OP_KIND_MAX] = {"init", "pkcs10enroll", "finalize", "revoke",
						    "getLatestCrl"};

void
ejbca_op_free(struct ejbca_op *op)
{
	LIST_REMOVE(op, link);
	http_call_cancel(op->call);
	if (op->defer != NULL)
		event_free(op->defer);
	if (op->body != NULL) {
		OPENSSL_cleanse(op->body, strlen(op->body));
		free(op->body);
	}
	OPENSSL_cleanse(op->handle, sizeof(op->handle));
	OPENSSL_cleanse(op->code, sizeof(op->code));
	X509_free(op->cert);
	sk_X509_pop_free(op->chain, X509_free);
	free(op);
}

struct ejbca_op *
ejbca_op_new(struct ejbca *e, enum op_kind kind, const char *txid)
{
	struct ejbca_op *op = calloc(1, sizeof(*op));

	if (op == NULL)
		return NULL;
	op->e = e;
	op->kind = kind;
	snprintf(op->txid, sizeof(op->txid), "%s", txid != NULL ? txid : "-");
	LIST_INSERT_HEAD(&e->ops, op, link);
	return op;
}

/* ---- delivering ---------------------------------------------------------- */

static void
deliver(struct ejbca_op *op, enum backend_status st)
{
	struct backend_result res;
	backend_cb cb = op->cb;
	void *arg = op->arg;

	memset(&res, 0, sizeof(res));
	res.status = st;
	if (st == BACKEND_ISSUED) {
		res.cert = op->cert;
		op->cert = NULL;
		res.chain = op->chain != NULL ? op->chain : X509_chain_up_ref(op->e->chain);
		op->chain = NULL;
	} else if (st == BACKEND_PENDING) {
		memcpy(res.handle, op->handle, sizeof(res.handle));
	}
	snprintf(res.reason, sizeof(res.reason), "%s", op->why);
	ejbca_op_free(op);
	cb(arg, &res); /* may free the backend */
	OPENSSL_cleanse(res.handle, sizeof(res.handle));
	backend_result_clear(&res);
}

static void op_fail(struct ejbca_op *op, enum backend_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Failure of any kind of operation, with the reason for the caller. */
static void
op_fail(struct ejbca_op *op, enum backend_status st, const char *fmt, ...)
{
	backend_op_cb op_cb = op->op_cb;
	backend_crl_cb crl_cb = op->crl_cb;
	void *arg = op->arg;
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(op->why, sizeof(op->why), fmt, ap);
	va_end(ap);
	memcpy(why, op->why, sizeof(why));
	switch (op->kind) {
	case OP_ENROLL:
	case OP_FINALIZE:
		deliver(op, st);
		return;
	case OP_REVOKE:
		ejbca_op_free(op);
		op_cb(arg, st == BACKEND_REJECTED ? -SGW_EDENIED : -SGW_EBACKEND, why);
		return;
	case OP_CRL:
		ejbca_op_free(op);
		crl_cb(arg, NULL, why);
		return;
	default:
		log_warn("backend %s: %s", op->e->name, why);
		ejbca_op_free(op);
		return;
	}
}

static void
defer_fire(evutil_socket_t fd, short what, void *arg)
{
	struct ejbca_op *op = arg;

	(void)fd;
	(void)what;
	deliver(op, op->decided);
}

/* An outcome known at submit time still arrives by callback. */
int
ejbca_op_decide(struct ejbca_op *op, enum backend_status st, const char *why)
{
	struct timeval tv = {0, 0};

	op->decided = st;
	snprintf(op->why, sizeof(op->why), "%s", why);
	op->defer = evtimer_new(op->e->evbase, defer_fire, op);
	if (op->defer == NULL || evtimer_add(op->defer, &tv) < 0)
		return -SGW_ENOMEM;
	return 0;
}

/* ---- sending ------------------------------------------------------------- */

static void op_http_done(void *arg, const struct http_response *resp);

static int
op_send(struct ejbca_op *op, enum op_step step, const char *method, const char *path)
{
	const struct ejbca_conf *c = &op->e->conf;
	char url[4096];
	struct http_request rq = {
	    .method = method,
	    .url = url,
	    .headers = {"Accept: application/json", op->body != NULL && step == ST_MAIN
							? "Content-Type: application/json"
							: NULL},
	    .client_cert = c->client_cert,
	    .client_key = c->client_key,
	    .connect_timeout_ms = c->connect_timeout * 1000L,
	    .timeout_ms = c->timeout * 1000L,
	    .max_response = c->max_response,
	    .retries = c->retries,
	    .backoff_ms = c->retry_backoff * 1000L,
	    .retry_on = HTTP_RETRY_CONNECT | HTTP_RETRY_503 | HTTP_RETRY_5XX | HTTP_RETRY_TIMEOUT,
	};

	http_trust_apply(&c->trust, &rq);
	if ((size_t)snprintf(url, sizeof(url), "%s/v1/%s", c->url, path) >= sizeof(url))
		return -SGW_EINVAL;
	if (step == ST_MAIN && op->body != NULL) {
		rq.body = (const uint8_t *)op->body;
		rq.body_len = strlen(op->body);
	}
	op->step = step;
	log_debug("backend %s: txn=%s %s %s", op->e->name, op->txid, method, url);
	return http_client_start(op->e->hc, &rq, op_http_done, op, &op->call);
}

static const char *const reason_names[] = {
    [0] = "UNSPECIFIED",	 [1] = "KEY_COMPROMISE",  [2] = "CA_COMPROMISE",
    [3] = "AFFILIATION_CHANGED", [4] = "SUPERSEDED",	  [5] = "CESSATION_OF_OPERATION",
    [6] = "CERTIFICATE_HOLD",	 [8] = "REMOVE_FROM_CRL", [9] = "PRIVILEGES_WITHDRAWN",
    [10] = "AA_COMPROMISE",
};

const char *
ejbca_reason_name(int reason)
{
	if (reason < 0 || reason >= (int)(sizeof(reason_names) / sizeof(reason_names[0])))
		return NULL;
	return reason_names[reason];
}

static int
send_ca_list(struct ejbca_op *op)
{
	op->dn_tried = 1;
	return op_send(op, ST_CA_LIST, "GET", "ca");
}

static int
send_chain(struct ejbca_op *op)
{
	char dn[3 * sizeof(op->e->dn) + 1], path[sizeof(dn) + 64];

	op->chain_tried = 1;
	if (http_escape(op->e->dn, dn, sizeof(dn)) < 0)
		return -SGW_EINVAL;
	snprintf(path, sizeof(path), "ca/%s/certificate/download", dn);
	return op_send(op, ST_CHAIN, "GET", path);
}

int
ejbca_op_send_main(struct ejbca_op *op)
{
	char dn[3 * sizeof(op->e->dn) + 1], path[sizeof(dn) + 128];

	switch (op->kind) {
	case OP_ENROLL:
		return op_send(op, ST_MAIN, "POST", "certificate/pkcs10enroll");
	case OP_FINALIZE:
		snprintf(path, sizeof(path), "certificate/%.*s/finalize",
			 (int)strcspn(op->handle, ":"), op->handle);
		return op_send(op, ST_MAIN, "POST", path);
	case OP_REVOKE:
		if (http_escape(op->e->dn, dn, sizeof(dn)) < 0)
			return -SGW_EINVAL;
		snprintf(path, sizeof(path), "certificate/%s/%s/revoke?reason=%s", dn, op->serial,
			 ejbca_reason_name(op->reason));
		return op_send(op, ST_MAIN, "PUT", path);
	case OP_CRL:
		if (http_escape(op->e->dn, dn, sizeof(dn)) < 0)
			return -SGW_EINVAL;
		snprintf(path, sizeof(path),
			 "ca/%s/getLatestCrl?deltaCrl=false&crlPartitionIndex=0", dn);
		return op_send(op, ST_MAIN, "GET", path);
	default:
		return -SGW_EINVAL;
	}
}

int
ejbca_op_start(struct ejbca_op *op)
{
	if ((op->kind == OP_REVOKE || op->kind == OP_CRL) && !op->e->dn[0])
		return send_ca_list(op);
	return ejbca_op_send_main(op);
}

/* The next request of an operation, or its end. */
void
ejbca_op_advance(struct ejbca_op *op)
{
	struct ejbca *e = op->e;
	int need_dn = !e->dn[0] && !op->dn_tried, r;

	switch (op->kind) {
	case OP_ENROLL:
	case OP_FINALIZE:
		if (op->cert != NULL && (op->chain != NULL || e->chain != NULL || op->chain_tried ||
					 (!e->dn[0] && op->dn_tried))) {
			deliver(op, BACKEND_ISSUED);
			return;
		}
		r = op->cert == NULL ? ejbca_op_send_main(op)
		    : need_dn	     ? send_ca_list(op)
				     : send_chain(op);
		break;
	case OP_REVOKE:
	case OP_CRL:
		if (!e->dn[0] && op->dn_tried) {
			op_fail(op, BACKEND_FAIL_TEMP, "the DN of CA '%s' is not known yet",
				e->conf.ca_name);
			return;
		}
		r = need_dn ? send_ca_list(op) : ejbca_op_send_main(op);
		break;
	default:
		if (!need_dn && (e->chain != NULL || op->chain_tried || !e->dn[0])) {
			ejbca_op_free(op);
			return;
		}
		r = need_dn ? send_ca_list(op) : send_chain(op);
		break;
	}
	if (r < 0)
		op_fail(op, BACKEND_FAIL_TEMP, "cannot send the %s request: %s",
			kind_names[op->kind], sgw_strerror(r));
}

/* ---- replies ------------------------------------------------------------- */

static enum backend_status
map_error(long status)
{
	if (status == 400 || status == 409 || status == 413 || status == 422)
		return BACKEND_REJECTED; /* the CA said no to this request */
	if (status == 502 || status == 503 || status == 504)
		return BACKEND_FAIL_TEMP; /* CA offline, crypto token offline */
	return BACKEND_FAIL_PERM;	  /* 401/403/404: role or profile names; 500 */
}

static void
on_ca_data(struct ejbca_op *op, const struct http_response *resp)
{
	struct ejbca *e = op->e;
	STACK_OF(X509) *sk = NULL;
	char dn[sizeof(e->dn)];
	int r = resp->err == 0 && resp->status == 200 ? 0 : -SGW_EBACKEND;

	if (r == 0 && op->step == ST_CA_LIST) {
		r = ejbca_json_ca_dn(resp->body, resp->body_len, e->conf.ca_name, dn, sizeof(dn));
		if (r == 0 && !e->dn[0]) {
			memcpy(e->dn, dn, sizeof(dn));
			log_info("backend %s: CA '%s' is '%s'", e->name, e->conf.ca_name, e->dn);
		}
	} else if (r == 0) {
		r = ejbca_chain_from_pem(resp->body, resp->body_len, &sk);
		if (r == 0 && e->chain == NULL) {
			e->chain = sk;
			sk = NULL;
			log_info("backend %s: CA chain of '%s' downloaded (%d certificate(s))",
				 e->name, e->conf.ca_name, sk_X509_num(e->chain));
		}
		sk_X509_pop_free(sk, X509_free);
	}
	if (r < 0)
		log_warn("backend %s: %s of CA '%s' failed: %s%s (HTTP %ld)", e->name,
			 op->step == ST_CA_LIST ? "looking up the DN" : "downloading the chain",
			 e->conf.ca_name, resp->err ? resp->error : "",
			 r == -SGW_ENOTFOUND ? "no such CA" : "", resp->status);
	ejbca_op_advance(op);
}

static int
take_cert(struct ejbca_op *op, const struct ejbca_reply *rep)
{
	op->cert = ejbca_x509_from_der(rep->cert.der, rep->cert.len);
	if (op->cert == NULL)
		return -SGW_EPARSE;
	if (rep->n_chain == 0)
		return 0;
	op->chain = sk_X509_new_null();
	for (size_t i = 0; op->chain != NULL && i < rep->n_chain; i++) {
		X509 *x = ejbca_x509_from_der(rep->chain[i].der, rep->chain[i].len);
		if (x == NULL || !sk_X509_push(op->chain, x)) {
			X509_free(x);
			sk_X509_pop_free(op->chain, X509_free);
			op->chain = NULL; /* fall back to the cached or downloaded chain */
		}
	}
	return 0;
}

static void
on_enroll(struct ejbca_op *op, const struct http_response *resp)
{
	const char *name = op->e->name;
	struct ejbca_reply rep;
	enum backend_status st;
	char msg[256];
	int r;

	if (resp->err) {
		log_err("backend %s: txn=%s %s: EJBCA unreachable after %d attempt(s): %s", name,
			op->txid, kind_names[op->kind], resp->attempts, resp->error);
		op_fail(op, BACKEND_FAIL_TEMP, "EJBCA unreachable: %.200s", resp->error);
		return;
	}
	r = ejbca_json_parse_reply(resp->status, resp->body, resp->body_len, &rep);
	if (r == 0 && rep.kind == EJBCA_PENDING && op->kind == OP_ENROLL && !rep.request_id[0])
		r = -SGW_EPARSE; /* nothing to finalize later */
	if (r == 0 && rep.kind == EJBCA_CERT && (r = take_cert(op, &rep)) == 0)
		log_info("backend %s: txn=%s %s: issued serial %s (user %s)", name, op->txid,
			 kind_names[op->kind], rep.serial, op->user[0] ? op->user : "-");
	memcpy(msg, rep.message, sizeof(msg));
	if (r == 0 && rep.kind == EJBCA_PENDING && op->kind == OP_ENROLL)
		snprintf(op->handle, sizeof(op->handle), "%s:%s", rep.request_id, op->code);
	ejbca_reply_clear(&rep);
	if (r < 0) {
		log_err("backend %s: txn=%s %s: HTTP %ld with an unusable body", name, op->txid,
			kind_names[op->kind], resp->status);
		op_fail(op, BACKEND_FAIL_PERM, "EJBCA HTTP %ld: unusable reply", resp->status);
		return;
	}
	if (op->cert != NULL) {
		ejbca_op_advance(op); /* the chain, then ISSUED */
		return;
	}
	if (resp->status == 202) {
		log_info("backend %s: txn=%s %s: waiting for approval in EJBCA (request %.*s)",
			 name, op->txid, kind_names[op->kind], (int)strcspn(op->handle, ":"),
			 op->handle);
		snprintf(op->why, sizeof(op->why), "waiting for approval in EJBCA");
		deliver(op, BACKEND_PENDING);
		return;
	}
	st = map_error(resp->status);
	if (st == BACKEND_FAIL_PERM)
		log_err("backend %s: txn=%s %s: EJBCA HTTP %ld: %s (check the administrator "
			"role, the CA and profile names)",
			name, op->txid, kind_names[op->kind], resp->status, msg);
	else
		log_warn("backend %s: txn=%s %s: EJBCA HTTP %ld: %s", name, op->txid,
			 kind_names[op->kind], resp->status, msg);
	op_fail(op, st, "EJBCA HTTP %ld: %s", resp->status, msg[0] ? msg : "no message");
}

static void
on_revoke(struct ejbca_op *op, const struct http_response *resp)
{
	backend_op_cb cb = op->op_cb;
	void *arg = op->arg;
	char msg[256];
	int rc;

	if (resp->err) {
		op_fail(op, BACKEND_FAIL_TEMP, "EJBCA unreachable: %.200s", resp->error);
		return;
	}
	ejbca_json_message(resp->body, resp->body_len, msg, sizeof(msg));
	switch (resp->status) {
	case 200:
		rc = 0;
		break;
	case 202:
		rc = -SGW_EAGAIN;
		snprintf(msg, sizeof(msg), "the revocation waits for approval in EJBCA");
		break;
	case 404:
		rc = -SGW_ENOTFOUND;
		break;
	case 409:
		rc = -SGW_EEXIST; /* already revoked */
		break;
	default:
		rc = resp->status >= 500 ? -SGW_EBACKEND : -SGW_EDENIED;
		break;
	}
	log_info("backend %s: revoke %s: HTTP %ld%s%s", op->e->name, op->serial, resp->status,
		 msg[0] ? ": " : "", msg);
	ejbca_op_free(op);
	cb(arg, rc, rc == 0 ? NULL : msg[0] ? msg : "EJBCA refused the revocation");
}

static void
on_crl(struct ejbca_op *op, const struct http_response *resp)
{
	backend_crl_cb cb = op->crl_cb;
	void *arg = op->arg;
	struct ejbca_der der = {0};
	const unsigned char *p;
	X509_CRL *crl = NULL;
	char msg[256];

	if (resp->err) {
		op_fail(op, BACKEND_FAIL_TEMP, "EJBCA unreachable: %.200s", resp->error);
		return;
	}
	ejbca_json_message(resp->body, resp->body_len, msg, sizeof(msg));
	if (resp->status == 200 && ejbca_json_crl(resp->body, resp->body_len, &der) == 0) {
		p = der.der;
		crl = d2i_X509_CRL(NULL, &p, (long)der.len);
		if (crl != NULL && p != der.der + der.len) {
			X509_CRL_free(crl);
			crl = NULL;
		}
		ERR_clear_error();
		free(der.der);
	}
	ejbca_op_free(op);
	if (crl == NULL)
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), " (HTTP %ld, no usable CRL)",
			 resp->status);
	cb(arg, crl, crl != NULL ? NULL : msg);
	X509_CRL_free(crl);
}

static void
op_http_done(void *arg, const struct http_response *resp)
{
	struct ejbca_op *op = arg;

	op->call = NULL;
	if (op->step != ST_MAIN) {
		on_ca_data(op, resp);
		return;
	}
	switch (op->kind) {
	case OP_REVOKE:
		on_revoke(op, resp);
		break;
	case OP_CRL:
		on_crl(op, resp);
		break;
	default:
		on_enroll(op, resp);
		break;
	}
}
