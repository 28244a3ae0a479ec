/* txn_pkiop.c: the PKIOperation entry, on top of the transaction engine.
 * One worker job decodes the message (signature, envelope, CSR); back on the
 * loop thread the signingTime and the senderNonce are checked and the
 * message goes to its operation: txn_enroll.c (PKCSReq, RenewalReq),
 * txn_poll.c (CertPoll), txn_getcert.c (GetCert, GetCRL), or is answered from
 * its held transaction (txn_admin.c).  Those call only downwards: txn.c
 * (lookup, answer from state), txn_result.c (backend results), scep_req.c
 * (the request in flight and its one terminal, req_end). */
#include <stdio.h>

#include <openssl/objects.h>

#include "log.h"
#include "scep_envelope.h"
#include "txn.h"
#include "txn_admin.h"
#include "txn_csr.h"
#include "txn_enroll.h"
#include "txn_getcert.h"
#include "txn_pkiop.h"
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

/* -v: what the message is, before the checks (nothing secret: the
 * challenge is inside the encrypted CSR). */
static void
log_decoded(const struct req_ctx *r)
{
	const struct scep_msg *m = r->msg;
	char key[17];

	if (log_verbosity < LOG_LVL_DEBUG)
		return;
	for (int i = 0; i < 8; i++)
		snprintf(key + 2 * i, 3, "%02x", m->signer_key_sha256[i]);
	log_debug("txn=%s profile=%s peer=%s: %s (messageType %d) decoded: digest %s, signer "
		  "key sha256 %s..., signingTime %s%+llds from now, %zu-byte envelope%s",
		  m->transaction_id, r->prof->cfg->name, r->peer, scep_msg_type_name(m->msg_type),
		  m->msg_type, OBJ_nid2sn(m->digest_nid), key,
		  m->signing_time != 0 ? "" : "absent, ",
		  m->signing_time != 0 ? (long long)(m->signing_time - txn_now(r->gw)) : 0LL,
		  m->envelope_len, r->pre.content != NULL ? ", decrypted" : "");
}

/* Store step: the senderNonce replay check; a replay of a held request
 * (txn_admin.c) is looked up too (r->st.rc2 = 1: answer from its state).
 * A PKCSReq or RenewalReq also looks up its transaction here, in the same
 * round trip on PostgreSQL (store_nonce_find, pipeline mode): the enroll
 * step's txn_find_existing() uses that answer (r->prefound). */
static void
nonce_work(void *arg)
{
	struct req_ctx *r = arg;

	if (r->msg->msg_type == SCEP_MSG_PKCSREQ || r->msg->msg_type == SCEP_MSG_RENEWALREQ) {
		int found = -SGW_EUNAVAIL; /* the lookup did not run */

		r->st.rc = store_nonce_find(r->gw->store, r->msg->sender_nonce, SCEP_NONCE_LEN,
					    r->st.now, r->gw->cfg->store.nonce_ttl,
					    r->prof->cfg->name, r->msg->transaction_id,
					    r->msg->signer_key_sha256, &r->txn, &found);
		r->prefound = found + 1;
	} else
		r->st.rc = store_nonce_check(r->gw->store, r->msg->sender_nonce, SCEP_NONCE_LEN,
					     r->st.now, r->gw->cfg->store.nonce_ttl);
	r->st.rc2 = r->st.rc == -SGW_EEXIST && txn_resend_of_held(r);
}

static void
nonce_done(void *arg)
{
	struct req_ctx *r = arg;

	if (r->st.rc2) {
		txn_reply_from_state(r); /* a held request re-sent as is: no side effect */
		return;
	}
	if (r->st.rc == -SGW_EEXIST) {
		req_end(r, SCEP_OUT_DENIED, "replayed senderNonce");
		return;
	}
	if (r->st.rc < 0) {
		txn_store_failed(r, r->st.rc, "senderNonce");
		return;
	}
	dispatch(r);
}

/* Loop thread, after decode_work. */
static void
decode_done(void *arg)
{
	struct req_ctx *r = arg;

	if (r->pre.msg_rc < 0) {
		req_end(r, SCEP_OUT_HTTP_MALFORMED, "not a pkiMessage: %s", r->pre.msg_err.msg);
		return;
	}
	r->op = scep_msg_type_name(r->msg->msg_type);
	if (r->msg->outcome != SCEP_OUT_SUCCESS) {
		req_end(r, r->msg->outcome, "%s", r->msg->reason);
		return;
	}
	log_decoded(r);
	if (check_signing_time(r) < 0)
		return;
	txn_step(r, nonce_work, nonce_done);
}

void
txn_pkioperation(struct req_ctx *r)
{
	if (worker_pool_submit(r->gw->workers, decode_work, decode_done, r) < 0) {
		req_end(r, SCEP_OUT_HTTP_UNAVAILABLE, "worker pool stopped");
	}
}
