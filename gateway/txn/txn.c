/* txn.c: what the PKIOperation operations share, one level below them (see
 * txn.h): the clock, the CertRep of an outcome, the lookup of a request's
 * stored transaction, the answer from its state, the decrypted content.
 * Loop thread; the CertRep is signed on the worker pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/objects.h>

#include "log.h"
#include "scep_certrep.h"
#include "txn.h"

int64_t
txn_now(void)
{
	return (int64_t)time(NULL);
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
		req_set_outcome(r, SCEP_OUT_HTTP_INTERNAL, "cannot build CertRep");
	}
	r->reply_type = "application/x-pki-message";
	req_finish(r);
}

void
txn_reply(struct req_ctx *r)
{
	if (scep_fail_lookup(r->outcome)->pki_status < 0 || r->msg == NULL) {
		req_finish(r);
		return;
	}
	if (r->outcome == SCEP_OUT_SUCCESS && r->cipher_nid <= 0) {
		/* never fall back to another cipher than the request's */
		req_set_outcome(r, SCEP_OUT_BAD_ALG, "cannot determine the request's cipher");
	}
	if (worker_pool_submit(r->gw->workers, certrep_work, certrep_done, r) < 0) {
		req_set_outcome(r, SCEP_OUT_HTTP_UNAVAILABLE, "worker pool stopped");
		req_finish(r);
	}
}

/* ---- issued certificate lookup ------------------------------------------ */

/* The certificate of an ISSUED transaction: the one this request has just had
 * issued (kept from the backend result, so not decoded again), else the
 * store's (a re-sent request, CertPoll). */
static int
issued_cert(struct req_ctx *r, X509 **ret_x)
{
	struct store_cert c = {0};
	const unsigned char *p;
	X509 *x;
	int ret;

	if (r->new_cert != NULL) {
		*ret_x = r->new_cert;
		r->new_cert = NULL;
		return 0;
	}
	ret = store_cert_get(r->gw->store, r->prof->issuer, r->txn.cert_serial, &c);
	if (ret < 0) {
		log_err("txn=%s: issued certificate %s missing from the store: %s",
			r->msg->transaction_id, r->txn.cert_serial, sgw_strerror(ret));
		return ret;
	}
	p = c.der;
	x = d2i_X509(NULL, &p, (long)c.der_len);
	store_cert_clear(&c);
	if (x == NULL)
		return -SGW_ENOMEM;
	*ret_x = x;
	return 0;
}

static int
reply_with_stored_cert(struct req_ctx *r)
{
	X509 *x = NULL;
	int ret = issued_cert(r, &x);

	if (ret < 0)
		return ret;
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
	req_set_outcome(r, SCEP_OUT_SUCCESS, NULL);
	return 0;
}

/* Answer from a transaction's stored state (re-sent PKCSReq, CertPoll). */
void
txn_reply_from_state(struct req_ctx *r)
{
	switch (r->txn.state) {
	case TXN_ISSUED:
		if (reply_with_stored_cert(r) < 0)
			req_set_outcome(r, SCEP_OUT_HTTP_INTERNAL, "stored certificate unreadable");
		break;
	case TXN_REJECTED:
		req_set_outcome(r, SCEP_OUT_DENIED, "%s", r->txn.reason);
		break;
	case TXN_FAILED:
		req_set_outcome(r, SCEP_OUT_BACKEND_FAILED, "%s", r->txn.reason);
		break;
	case TXN_EXPIRED: /* the approval never came (txn_admin.c) */
		req_set_outcome(r,
				r->msg->msg_type == SCEP_MSG_CERTPOLL ? SCEP_OUT_BAD_CERT_ID
								      : SCEP_OUT_DENIED,
				"%s", r->txn.reason);
		break;
	default:
		req_set_outcome(r, SCEP_OUT_PENDING, NULL);
		break;
	}
	txn_reply(r);
}

/* Known transaction key: answer from its state; an in-progress one that was
 * abandoned (crash before the backend answered) is processed again. */
int
txn_find_existing(struct req_ctx *r)
{
	int ret = store_txn_find(r->gw->store, r->prof->cfg->name, r->msg->transaction_id,
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
		req_set_outcome(r, SCEP_OUT_BAD_REQUEST, "no pkcsPKIEnvelope");
		txn_reply(r);
		return -1;
	}
	if (d->decrypt_rc < 0) {
		enum scep_outcome out = d->decrypt_rc == -SGW_EALG    ? SCEP_OUT_BAD_ALG
					: d->decrypt_rc == -SGW_EAUTH ? SCEP_OUT_BAD_MESSAGE
								      : SCEP_OUT_BAD_REQUEST;
		req_set_outcome(r, out, "pkcsPKIEnvelope: %s", d->decrypt_err.msg);
		txn_reply(r);
		return -1;
	}
	r->content = d->content;
	r->content_len = d->content_len;
	r->cipher_nid = d->content_cipher_nid;
	d->content = NULL;
	d->content_len = 0;
	return 0;
}
