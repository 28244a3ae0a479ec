/* txn.c: PKIOperation, the transaction state machine (design.md 3).  The
 * only writer of transaction state.  Runs on the loop thread; private-key
 * work (envelope decryption, CertRep signing) goes to the worker pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/objects.h>

#include "backend.h"
#include "log.h"
#include "scep_certrep.h"
#include "scep_envelope.h"
#include "scep_req.h"

#define TXN_MAX_ATTEMPTS 3    /* backend submissions per request (serial collisions) */
#define TXN_STALE_SECONDS 120 /* an in-progress transaction older than this is retried */

static void enroll_submit(struct req_ctx *r);

static int64_t
now_s(void)
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

static int
reply_with_stored_cert(struct req_ctx *r)
{
	struct store_cert c = {0};
	const unsigned char *p;
	X509 *x;
	int ret;

	ret = store_cert_get(r->gw->store, r->prof->issuer, r->txn.cert_serial, &c);
	if (ret < 0) {
		log_err("txn=%s: issued certificate %s missing from the store: %s",
			r->msg->transaction_id, r->txn.cert_serial, sgw_strerror(ret));
		return ret;
	}
	p = c.der;
	x = d2i_X509(NULL, &p, (long)c.der_len);
	store_cert_clear(&c);
	if (x == NULL || (r->issued = sk_X509_new_null()) == NULL || !sk_X509_push(r->issued, x)) {
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
static void
reply_from_state(struct req_ctx *r)
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
	default:
		req_set_outcome(r, SCEP_OUT_PENDING, NULL);
		break;
	}
	txn_reply(r);
}

/* ---- backend result ------------------------------------------------------ */

static int
cert_record(struct req_ctx *r, X509 *x, struct store_cert *c)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
	BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	unsigned char *der = NULL;
	struct tm tm;
	int len;

	BN_free(bn);
	if (hex == NULL)
		return -SGW_ENOMEM;
	for (char *h = hex; *h; h++)
		*h = (char)(*h >= 'A' && *h <= 'F' ? *h - 'A' + 'a' : *h);
	snprintf(c->serial, sizeof(c->serial), "%s", hex);
	OPENSSL_free(hex);
	snprintf(c->issuer, sizeof(c->issuer), "%s", r->prof->issuer);
	if (x509_name_string(X509_get_subject_name(x), c->subject, sizeof(c->subject)) < 0)
		c->subject[0] = '\0';
	if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm))
		c->not_before = (int64_t)timegm(&tm);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
		c->not_after = (int64_t)timegm(&tm);
	len = i2d_X509(x, &der);
	if (len <= 0)
		return -SGW_ENOMEM;
	c->der = der;
	c->der_len = (size_t)len;
	c->txn_id = r->txn.id;
	return 0;
}

static void
issued(struct req_ctx *r, struct backend_result *res)
{
	struct store_cert c = {0};
	int ret;

	if ((ret = cert_record(r, res->cert, &c)) < 0) {
		req_set_outcome(r, SCEP_OUT_HTTP_INTERNAL, "cannot encode the issued certificate");
		txn_reply(r);
		return;
	}
	r->txn.state = TXN_ISSUED;
	r->txn.updated = now_s();
	snprintf(r->txn.cert_serial, sizeof(r->txn.cert_serial), "%s", c.serial);
	ret = store_txn_issue(r->gw->store, &r->txn, &c);
	OPENSSL_free(c.der);
	if (ret == -SGW_EEXIST && r->attempts < TXN_MAX_ATTEMPTS) {
		log_warn("txn=%s: serial %s already issued by this CA; issuing again",
			 r->msg->transaction_id, c.serial);
		r->txn.state = TXN_SUBMITTED;
		enroll_submit(r);
		return;
	}
	if (ret < 0) {
		log_err("txn=%s: cannot store the issued certificate: %s", r->msg->transaction_id,
			sgw_strerror(ret));
		req_set_outcome(r, SCEP_OUT_HTTP_INTERNAL, "store failure");
		txn_reply(r);
		return;
	}
	/* committed: now the reply */
	if (reply_with_stored_cert(r) < 0)
		req_set_outcome(r, SCEP_OUT_HTTP_INTERNAL, "stored certificate unreadable");
	txn_reply(r);
}

static void
backend_done(void *arg, struct backend_result *res)
{
	struct req_ctx *r = arg;
	int ret;

	switch (res->status) {
	case BACKEND_ISSUED:
		issued(r, res);
		return;
	case BACKEND_PENDING:
		r->txn.state = TXN_BACKEND_PENDING;
		snprintf(r->txn.backend_handle, sizeof(r->txn.backend_handle), "%s", res->handle);
		req_set_outcome(r, SCEP_OUT_PENDING, NULL);
		break;
	case BACKEND_REJECTED:
		r->txn.state = TXN_REJECTED;
		snprintf(r->txn.reason, sizeof(r->txn.reason), "%s", res->reason);
		req_set_outcome(r, SCEP_OUT_DENIED, "CA rejected the request: %s", res->reason);
		break;
	default:
		r->txn.state = TXN_FAILED;
		snprintf(r->txn.reason, sizeof(r->txn.reason), "%s", res->reason);
		req_set_outcome(r, SCEP_OUT_BACKEND_FAILED, "CA backend failed: %s", res->reason);
		break;
	}
	r->txn.updated = now_s();
	if ((ret = store_txn_update(r->gw->store, &r->txn)) < 0) {
		log_err("txn=%s: cannot store state %s: %s", r->msg->transaction_id,
			txn_state_name(r->txn.state), sgw_strerror(ret));
		req_set_outcome(r, SCEP_OUT_HTTP_INTERNAL, "store failure");
	}
	txn_reply(r);
}

static void
enroll_submit(struct req_ctx *r)
{
	struct backend_request br = {
	    .csr_der = r->csr->der,
	    .csr_len = r->csr->der_len,
	    .template = r->prof->ra->template,
	    .profile = r->prof->cfg->name,
	    .transaction_id = r->msg->transaction_id,
	};

	r->attempts++;
	if (backend_submit(r->prof->backend, &br, backend_done, r) < 0) {
		req_set_outcome(r, SCEP_OUT_BACKEND_FAILED, "backend refused the submission");
		txn_reply(r);
	}
}

/* ---- PKCSReq / RenewalReq ------------------------------------------------ */

/* Loop thread, after decryption: CSR, challenge, policy, then the backend. */
static void
enroll_authorize(struct req_ctx *r)
{
	struct validator_req vr;
	struct sgw_err err = {{0}};
	int ret;

	if ((ret = csr_parse(r->content, r->content_len, &r->csr, &err)) < 0) {
		req_set_outcome(r, SCEP_OUT_BAD_REQUEST, "%s", err.msg);
		txn_reply(r);
		return;
	}
	vr = (struct validator_req){r->csr, r->prof->cfg->name, r->msg->transaction_id, r->peer};
	ret = validator_check(r->prof->validator, &vr, NULL, NULL, &err);
	if (ret == 0)
		ret = csr_policy_check(&r->prof->cfg->csr_policy, r->csr, &err);
	if (ret < 0) {
		/* not stored: the device may retry with the right challenge and
		 * the same key and transactionID (scepclient does) */
		req_set_outcome(r, SCEP_OUT_DENIED, "%s", err.msg);
		txn_reply(r);
		return;
	}
	snprintf(r->txn.profile, sizeof(r->txn.profile), "%s", r->prof->cfg->name);
	snprintf(r->txn.transaction_id, sizeof(r->txn.transaction_id), "%s",
		 r->msg->transaction_id);
	memcpy(r->txn.signer_key_sha256, r->msg->signer_key_sha256, 32);
	snprintf(r->txn.subject, sizeof(r->txn.subject), "%s", r->csr->subject);
	snprintf(r->txn.peer, sizeof(r->txn.peer), "%s", r->peer);
	r->txn.msg_type = r->msg->msg_type;
	r->txn.state = TXN_SUBMITTED;
	r->txn.updated = now_s();
	r->txn.created = r->have_txn ? r->txn.created : r->txn.updated;
	/* the record borrows the CSR bytes for the write only */
	store_txn_clear(&r->txn);
	r->txn.csr_der = r->csr->der;
	r->txn.csr_len = r->csr->der_len;
	ret = r->have_txn ? store_txn_update(r->gw->store, &r->txn)
			  : store_txn_insert(r->gw->store, &r->txn);
	r->txn.csr_der = NULL;
	r->txn.csr_len = 0;
	if (ret == -SGW_EEXIST) {
		/* the same request is being processed right now */
		req_set_outcome(r, SCEP_OUT_PENDING, "duplicate of a request in progress");
		txn_reply(r);
		return;
	}
	if (ret < 0) {
		req_set_outcome(r, SCEP_OUT_HTTP_INTERNAL, "store failure: %s", sgw_strerror(ret));
		txn_reply(r);
		return;
	}
	r->have_txn = 1;
	enroll_submit(r);
}

static void
decrypt_work(void *arg)
{
	struct req_ctx *r = arg;
	struct ra_identity *id = r->prof->id;

	r->rc = scep_envelope_decrypt(r->msg->envelope, r->msg->envelope_len, id->enc_key,
				      id->enc_cert, r->prof->cfg->allow_single_des, &r->content,
				      &r->content_len, &r->cipher_nid, &r->werr);
}

static void
decrypt_done(void *arg)
{
	struct req_ctx *r = arg;

	if (r->rc < 0) {
		enum scep_outcome out = r->rc == -SGW_EALG    ? SCEP_OUT_BAD_ALG
					: r->rc == -SGW_EAUTH ? SCEP_OUT_BAD_MESSAGE
							      : SCEP_OUT_BAD_REQUEST;
		req_set_outcome(r, out, "pkcsPKIEnvelope: %s", r->werr.msg);
		txn_reply(r);
		return;
	}
	if (r->msg->msg_type == SCEP_MSG_PKCSREQ || r->msg->msg_type == SCEP_MSG_RENEWALREQ) {
		enroll_authorize(r);
		return;
	}
	req_set_outcome(r, SCEP_OUT_BAD_REQUEST, "unexpected messageType");
	txn_reply(r);
}

static void
decrypt_start(struct req_ctx *r)
{
	if (worker_pool_submit(r->gw->workers, decrypt_work, decrypt_done, r) < 0) {
		req_set_outcome(r, SCEP_OUT_HTTP_UNAVAILABLE, "worker pool stopped");
		req_finish(r);
	}
}

/* Known transaction key: answer from its state; an in-progress one that was
 * abandoned (crash before the backend answered) is processed again. */
static int
find_existing(struct req_ctx *r)
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

static int
in_progress(const struct store_txn *t)
{
	return t->state == TXN_RECEIVED || t->state == TXN_AUTHORIZED || t->state == TXN_SUBMITTED;
}

static void
op_enroll(struct req_ctx *r)
{
	int ret;

	if (r->msg->envelope == NULL) {
		req_set_outcome(r, SCEP_OUT_BAD_REQUEST, "no pkcsPKIEnvelope");
		txn_reply(r);
		return;
	}
	if (scep_envelope_cipher(r->msg->envelope, r->msg->envelope_len, &r->cipher_nid) < 0)
		r->cipher_nid = 0;
	ret = find_existing(r);
	if (ret < 0) {
		req_set_outcome(r, SCEP_OUT_HTTP_INTERNAL, "store failure: %s", sgw_strerror(ret));
		req_finish(r);
		return;
	}
	if (ret == 1 && !(in_progress(&r->txn) && r->txn.updated < now_s() - TXN_STALE_SECONDS)) {
		reply_from_state(r);
		return;
	}
	decrypt_start(r);
}

static void
op_certpoll(struct req_ctx *r)
{
	int ret;

	if (r->msg->envelope != NULL &&
	    scep_envelope_cipher(r->msg->envelope, r->msg->envelope_len, &r->cipher_nid) < 0)
		r->cipher_nid = 0;
	ret = find_existing(r);
	if (ret < 0) {
		req_set_outcome(r, SCEP_OUT_HTTP_INTERNAL, "store failure: %s", sgw_strerror(ret));
		req_finish(r);
		return;
	}
	if (ret == 0) {
		req_set_outcome(r, SCEP_OUT_BAD_CERT_ID, "no transaction %s for this signer key",
				r->msg->transaction_id);
		txn_reply(r);
		return;
	}
	reply_from_state(r);
}

/* ---- entry --------------------------------------------------------------- */

static int
check_signing_time(struct req_ctx *r)
{
	int skew = r->prof->cfg->signing_time_skew;
	int64_t d;

	if (skew <= 0 || r->msg->signing_time == 0)
		return 0;
	d = (int64_t)r->msg->signing_time - now_s();
	if (d > skew || d < -skew) {
		req_set_outcome(r, SCEP_OUT_BAD_TIME, "signingTime is %lld s off (allowed %d)",
				(long long)d, skew);
		return -1;
	}
	return 0;
}

void
txn_pkioperation(struct req_ctx *r)
{
	struct sgw_err err = {{0}};
	int ret;

	ret = scep_msg_decode(r->body, r->body_len, r->prof->cfg->allow_md5, &r->msg, &err);
	if (ret < 0) {
		req_set_outcome(r, SCEP_OUT_HTTP_MALFORMED, "not a pkiMessage: %s", err.msg);
		req_finish(r);
		return;
	}
	r->op = scep_msg_type_name(r->msg->msg_type);
	if (r->msg->outcome != SCEP_OUT_SUCCESS) {
		req_set_outcome(r, r->msg->outcome, "%s", r->msg->reason);
		txn_reply(r);
		return;
	}
	if (check_signing_time(r) < 0) {
		txn_reply(r);
		return;
	}
	ret = store_nonce_check(r->gw->store, r->msg->sender_nonce, SCEP_NONCE_LEN, now_s(),
				r->gw->cfg->store.nonce_ttl);
	if (ret == -SGW_EEXIST) {
		req_set_outcome(r, SCEP_OUT_DENIED, "replayed senderNonce");
		txn_reply(r);
		return;
	}
	if (ret < 0) {
		req_set_outcome(r, SCEP_OUT_HTTP_INTERNAL, "store failure: %s", sgw_strerror(ret));
		req_finish(r);
		return;
	}
	switch (r->msg->msg_type) {
	case SCEP_MSG_PKCSREQ:
	case SCEP_MSG_RENEWALREQ:
		op_enroll(r);
		break;
	case SCEP_MSG_CERTPOLL:
		op_certpoll(r);
		break;
	default:
		req_set_outcome(r, SCEP_OUT_BAD_REQUEST, "%s is not offered by this gateway",
				scep_msg_type_name(r->msg->msg_type));
		txn_reply(r);
		break;
	}
}
