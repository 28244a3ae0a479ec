/* txn.c: what the PKIOperation operations share, one level below them (see
 * txn.h): the clock, the lookup of a request's stored transaction, the
 * answer from its state, the decrypted content.  Loop thread. */
#include <stdio.h>

#include "log.h"
#include "txn.h"

int64_t
txn_now(const struct gw *gw)
{
	return gw->now();
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

/* r->issued: the certificate, then the chain the profile sends with it. */
static int
stored_cert_chain(struct req_ctx *r)
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
	return 0;
}

/* Answer from a transaction's stored state (re-sent PKCSReq, CertPoll). */
void
txn_reply_from_state(struct req_ctx *r)
{
	switch (r->txn.state) {
	case TXN_ISSUED: {
		int ret = stored_cert_chain(r);

		if (ret == -SGW_EUNAVAIL)
			req_end_store(r, ret, "issued certificate");
		else if (ret < 0)
			req_end(r, SCEP_OUT_HTTP_INTERNAL, "stored certificate unreadable");
		else
			req_end(r, SCEP_OUT_SUCCESS, NULL);
		break;
	}
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
