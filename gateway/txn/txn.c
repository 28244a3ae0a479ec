/* txn.c: what the PKIOperation operations share, one level below them (see
 * txn.h): the clock, the lookup of a request's stored transaction, the
 * answer from its state, the decrypted content.  Loop thread. */
#include <stdio.h>

#include "log.h"
#include "txn.h"
#include "txn_result.h"

int64_t
txn_now(const struct gw *gw)
{
	return gw->now();
}

void
txn_step(struct req_ctx *r, store_step_fn work, store_step_fn done)
{
	int ret;

	r->st.now = txn_now(r->gw);
	if ((ret = store_exec(r->gw->store, work, done, r)) < 0)
		req_end(r, SCEP_OUT_HTTP_UNAVAILABLE, "store threads stopped: %s",
			sgw_strerror(ret));
}

static void
result_work(void *arg)
{
	struct req_ctx *r = arg;

	r->st.rc = txn_apply_result(r->gw->store, r->prof->issuer, &r->txn, &r->st.res, r->st.now);
}

void
txn_step_result(struct req_ctx *r, struct backend_result *res, store_step_fn done)
{
	backend_result_clear(&r->st.res);
	r->st.res = *res;
	res->cert = NULL;
	res->chain = NULL;
	txn_step(r, result_work, done);
}

void
txn_store_failed(struct req_ctx *r, int ret, const char *what)
{
	if (ret == -SGW_EUNAVAIL)
		req_end(r, SCEP_OUT_HTTP_UNAVAILABLE, "store unavailable: %s: %s", what,
			sgw_strerror(ret));
	else
		req_end(r, SCEP_OUT_HTTP_INTERNAL, "store failure: %s: %s", what,
			sgw_strerror(ret));
}

/* ---- issued certificate lookup ------------------------------------------ */

/* r->issued: the certificate x (taken), then the chain the profile sends
 * with it. */
static int
cert_chain(struct req_ctx *r, X509 *x)
{
	if ((r->issued = sk_X509_new_null()) == NULL || !sk_X509_push(r->issued, x)) {
		X509_free(x);
		return -SGW_ENOMEM;
	}
	for (int i = 0; r->prof->certrep_chain && i < sk_X509_num(r->prof->certrep_chain); i++) {
		X509 *ca = sk_X509_value(r->prof->certrep_chain, i);

		if (!X509_up_ref(ca) || !sk_X509_push(r->issued, ca))
			return -SGW_ENOMEM;
	}
	snprintf(r->serial, sizeof(r->serial), "%s", r->txn.cert_serial);
	return 0;
}

static void
reply_issued(struct req_ctx *r, X509 *x)
{
	if (x == NULL || cert_chain(r, x) < 0)
		req_end(r, SCEP_OUT_HTTP_INTERNAL, "stored certificate unreadable");
	else
		req_end(r, SCEP_OUT_SUCCESS, NULL);
}

/* Store step: the certificate of an ISSUED transaction (a re-sent request,
 * CertPoll). */
static void
stored_cert_work(void *arg)
{
	struct req_ctx *r = arg;

	r->st.rc = store_cert_get(r->gw->store, r->prof->issuer, r->txn.cert_serial, &r->st.cert);
}

static void
stored_cert_done(void *arg)
{
	struct req_ctx *r = arg;
	const unsigned char *p = r->st.cert.der;

	if (r->st.rc < 0) {
		log_err("txn=%s: issued certificate %s missing from the store: %s",
			r->msg->transaction_id, r->txn.cert_serial, sgw_strerror(r->st.rc));
		if (r->st.rc == -SGW_EUNAVAIL)
			txn_store_failed(r, r->st.rc, "issued certificate");
		else
			req_end(r, SCEP_OUT_HTTP_INTERNAL, "stored certificate unreadable");
		return;
	}
	reply_issued(r, d2i_X509(NULL, &p, (long)r->st.cert.der_len));
}

/* Answer from a transaction's stored state (re-sent PKCSReq, CertPoll). */
void
txn_reply_from_state(struct req_ctx *r)
{
	X509 *x;

	switch (r->txn.state) {
	case TXN_ISSUED:
		/* the certificate this request has just had issued (kept from
		 * the backend result, not decoded again), else the store's */
		if (r->new_cert == NULL) {
			txn_step(r, stored_cert_work, stored_cert_done);
			break;
		}
		x = r->new_cert;
		r->new_cert = NULL;
		reply_issued(r, x);
		break;
	case TXN_REJECTED:
		req_end(r, SCEP_OUT_DENIED, "%s", r->txn.reason);
		break;
	case TXN_FAILED:
		req_end(r, SCEP_OUT_BACKEND_FAILED, "%s", r->txn.reason);
		break;
	case TXN_EXPIRED: /* the approval never came (txn_admin.c) */
		req_end(r,
			r->msg->msg_type == SCEP_MSG_CERTPOLL ? SCEP_OUT_BAD_CERT_ID
							      : SCEP_OUT_DENIED,
			"%s", r->txn.reason);
		break;
	default:
		req_end(r, SCEP_OUT_PENDING, NULL);
		break;
	}
}

struct backend_request
txn_backend_request(const struct csr *csr, const struct profile *prof, const char *transaction_id)
{
	return (struct backend_request){
	    .csr_der = csr->der,
	    .csr_len = csr->der_len,
	    .csr_req = csr->req,
	    .template = prof->ra->template,
	    .profile = prof->cfg->name,
	    .transaction_id = transaction_id,
	    .san_der = csr->san_der,
	    .san_len = csr->san_len,
	    .names_approved = 1,
	};
}

/* Known transaction key: answer from its state; an in-progress one that was
 * abandoned (crash before the backend answered) is processed again. */
int
txn_find_existing(struct req_ctx *r)
{
	int ret = r->prefound != 0
		      ? r->prefound - 1
		      : store_txn_find(r->gw->store, r->prof->cfg->name, r->msg->transaction_id,
				       r->msg->signer_key_sha256, &r->txn);

	if (ret == -SGW_ENOTFOUND)
		return 0;
	if (ret < 0)
		return ret;
	r->have_txn = 1;
	return 1;
}

int
txn_take_content(struct req_ctx *r)
{
	struct req_decoded *d = &r->pre;

	if (r->msg->envelope == NULL) {
		req_end(r, SCEP_OUT_BAD_REQUEST, "no pkcsPKIEnvelope");
		return -1;
	}
	if (d->decrypt_rc < 0) {
		enum scep_outcome out = d->decrypt_rc == -SGW_EALG    ? SCEP_OUT_BAD_ALG
					: d->decrypt_rc == -SGW_EAUTH ? SCEP_OUT_BAD_MESSAGE
								      : SCEP_OUT_BAD_REQUEST;
		req_end(r, out, "pkcsPKIEnvelope: %s", d->decrypt_err.msg);
		return -1;
	}
	r->content = d->content;
	r->content_len = d->content_len;
	r->cipher_nid = d->content_cipher_nid;
	d->content = NULL;
	d->content_len = 0;
	return 0;
}
