/* txn_pkiop.c: the PKIOperation entry, on top of the transaction engine.
 * One worker job decodes the message (signature, envelope, CSR); back on the
 * loop thread the signingTime and the senderNonce are checked and the
 * message goes to its operation: txn_enroll.c (PKCSReq, RenewalReq),
 * txn_poll.c (CertPoll), txn_getcert.c (GetCert, GetCRL), or is answered from
 * its held transaction (txn_admin.c).  Those call only downwards: txn.c
 * (lookup, answer from state), txn_result.c (backend results), scep_req.c
 * (the request in flight and its one terminal, req_end). */
#include "txn_pkiop.h"
#include "scep_envelope.h"
#include "txn.h"
#include "txn_admin.h"
#include "txn_csr.h"
#include "txn_enroll.h"
#include "txn_getcert.h"
#include "txn_poll.h"

/* ---- decoding (worker) -------------------------------------------------- */

/* Worker thread, one job per PKIOperation: the pkiMessage (its signature
 * verified), then, when it verified and has an envelope, the envelope's
 * decryption (RA key through keyop), then for PKCSReq / RenewalReq the CSR
 * (proof of possession verified) and its sealed form for the store
 * (txn_csr.c).  It reads only r's body, the profile's
 * configuration and RA identity, and writes only r->msg and r->pre; the loop
 * takes the results in decode_done() and later, in the order of the flow.
 * A message that is then answered from stored state or refused before its
 * content is needed (replay, re-sent request, signer refused) has been
 * decrypted for nothing: the price of doing all of this off the loop in one
 * job. */
static void
decode_work(void *arg)
{
	struct req_ctx *r = arg;
	struct req_decoded *d = &r->pre;
	const struct ra_identity *id = r->prof->id;
	const struct scep_msg *m;

	d->decrypt_rc = sgw_err_set(&d->decrypt_err, SGW_EINVAL, "not decrypted");
	d->csr_rc = sgw_err_set(&d->csr_err, SGW_EINVAL, "no CSR");
	d->msg_rc = scep_msg_decode(r->body, r->body_len, r->prof->cfg->caps,
				    r->prof->cfg->allow_md5, &r->msg, &d->msg_err);
	m = r->msg;
	if (d->msg_rc < 0 || m->outcome != SCEP_OUT_SUCCESS || m->envelope == NULL)
		return;
	d->decrypt_rc = scep_envelope_decrypt(
	    m->envelope, m->envelope_len, id->enc_key, id->enc_cert, r->prof->cfg->allow_single_des,
	    &d->content, &d->content_len, &d->content_cipher_nid, &d->decrypt_err);
	/* the envelope is parsed a second time only when it could not be opened */
	d->cipher_nid = d->content_cipher_nid;
	if (d->decrypt_rc < 0 &&
	    scep_envelope_cipher(m->envelope, m->envelope_len, &d->cipher_nid) < 0)
		d->cipher_nid = 0;
	if (d->decrypt_rc < 0 ||
	    (m->msg_type != SCEP_MSG_PKCSREQ && m->msg_type != SCEP_MSG_RENEWALREQ))
		return;
	d->csr_rc = csr_parse(d->content, d->content_len, &d->csr, &d->csr_err);
	/* the form the store keeps it in (sealed to the RA: it holds the challenge) */
	d->seal_rc = d->csr_rc < 0 ? d->csr_rc : txn_csr_seal(id, d->csr, &d->sealed, &d->seal_err);
}

/* ---- entry --------------------------------------------------------------- */

/* 0, or -1 after ending r with badTime. */
static int
check_signing_time(struct req_ctx *r)
{
	int skew = r->prof->cfg->signing_time_skew;
	int64_t d;

	if (skew <= 0 || r->msg->signing_time == 0)
		return 0;
	d = (int64_t)r->msg->signing_time - txn_now(r->gw);
	if (d > skew || d < -skew) {
		req_end(r, SCEP_OUT_BAD_TIME, "signingTime is %lld s off (allowed %d)",
			(long long)d, skew);
		return -1;
	}
	return 0;
}

static void
dispatch(struct req_ctx *r)
{
	switch (r->msg->msg_type) {
	case SCEP_MSG_PKCSREQ:
	case SCEP_MSG_RENEWALREQ:
		txn_op_enroll(r);
		break;
	case SCEP_MSG_CERTPOLL:
		txn_op_certpoll(r);
		break;
	case SCEP_MSG_GETCERT:
	case SCEP_MSG_GETCRL:
		txn_op_getcert(r);
		break;
	default:
		req_end(r, SCEP_OUT_BAD_REQUEST, "%s is not offered by this gateway",
			scep_msg_type_name(r->msg->msg_type));
		break;
	}
}

/* Loop thread, after decode_work. */
static void
decode_done(void *arg)
{
	struct req_ctx *r = arg;
	int ret;

	if (r->pre.msg_rc < 0) {
		req_end(r, SCEP_OUT_HTTP_MALFORMED, "not a pkiMessage: %s", r->pre.msg_err.msg);
		return;
	}
	r->op = scep_msg_type_name(r->msg->msg_type);
	if (r->msg->outcome != SCEP_OUT_SUCCESS) {
		req_end(r, r->msg->outcome, "%s", r->msg->reason);
		return;
	}
	if (check_signing_time(r) < 0)
		return;
	ret = store_nonce_check(r->gw->store, r->msg->sender_nonce, SCEP_NONCE_LEN, txn_now(r->gw),
				r->gw->cfg->store.nonce_ttl);
	if (ret == -SGW_EEXIST && txn_resend_of_held(r)) {
		txn_reply_from_state(r); /* a held request re-sent as is: no side effect */
		return;
	}
	if (ret == -SGW_EEXIST) {
		req_end(r, SCEP_OUT_DENIED, "replayed senderNonce");
		return;
	}
	if (ret < 0) {
		req_end_store(r, ret, "senderNonce check");
		return;
	}
	dispatch(r);
}

void
txn_pkioperation(struct req_ctx *r)
{
	if (worker_pool_submit(r->gw->workers, decode_work, decode_done, r) < 0) {
		req_end(r, SCEP_OUT_HTTP_UNAVAILABLE, "worker pool stopped");
	}
}
