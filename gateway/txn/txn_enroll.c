/* txn_enroll.c: PKCSReq and RenewalReq: after decryption, the CSR, the
 * challenge, the policy, the transaction record, then the backend. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "approval.h"
#include "log.h"
#include "metrics.h"
#include "renewal.h"
#include "txn.h"
#include "txn_csr.h"
#include "txn_enroll.h"
#include "txn_owed.h"
#include "txn_result.h"
#include "txn_supersede.h"
#include "validator_otp.h"

#define TXN_MAX_ATTEMPTS 3    /* backend submissions per request (serial collisions) */
#define TXN_STALE_SECONDS 120 /* an in-progress transaction older than this is retried */

static void enroll_submit(struct req_ctx *r);

/* Issued and committed: tell a remote validator (intune: the notification
 * is owed in the store first, txn_owed.c), then the reply. */
static void
issued_notify(struct req_ctx *r)
{
	struct backend_result res = {.status = BACKEND_ISSUED, .cert = r->new_cert};

	txn_owed_notify(r, &res, txn_reply_from_state);
}

static void
result_done(void *arg)
{
	struct req_ctx *r = arg;
	struct backend_result *res = &r->st.res;

	if (r->st.rc == -SGW_EEXIST && r->attempts < TXN_MAX_ATTEMPTS) {
		log_warn("txn=%s: serial already issued by this CA; issuing again",
			 r->msg->transaction_id);
		backend_result_clear(res);
		enroll_submit(r);
		return;
	}
	if (r->st.rc < 0) {
		log_err("txn=%s: cannot store the backend result: %s", r->msg->transaction_id,
			sgw_strerror(r->st.rc));
		txn_store_failed(r, r->st.rc, "backend result");
		return;
	}
	if (res->status == BACKEND_ISSUED) {
		/* the reply sends this very certificate: no read-back from the store */
		X509_free(r->new_cert);
		r->new_cert = res->cert;
		res->cert = NULL;
		/* committed: a renewal supersedes its signer's certificate */
		txn_supersede(r, issued_notify);
		return;
	}
	/* committed: tell a remote validator (intune), then the reply */
	txn_owed_notify(r, res, txn_reply_from_state);
}

/* The backend's answer, stored before anything is replied. */
static void
backend_done(void *arg, struct backend_result *res)
{
	struct req_ctx *r = arg;

	metrics_backend(r->gw->metrics, backend_name(r->prof->backend), (int)res->status,
			&r->backend_t0);
	txn_log_backend(r->msg->transaction_id, r->prof->cfg->name, backend_name(r->prof->backend),
			res, &r->backend_t0);
	txn_step_result(r, res, result_done);
}

static void
enroll_submit(struct req_ctx *r)
{
	/* r->csr lives until backend_done(): it is never freed earlier */
	struct backend_request br = txn_backend_request(r->csr, r->prof, r->msg->transaction_id);

	r->attempts++;
	clock_gettime(CLOCK_MONOTONIC, &r->backend_t0);
	if (backend_submit(r->prof->backend, &br, backend_done, r) < 0) {
		req_end(r, SCEP_OUT_BACKEND_FAILED, "backend refused the submission");
	}
}

/* ---- PKCSReq / RenewalReq ------------------------------------------------ */

static void enroll_record(struct req_ctx *r, int ret, struct sgw_err *err);

/* A renewal the signer does not authorize is an ordinary request: the
 * profile's validator decides (a valid challenge enrolls it). */
static void
renewal_fall_back(struct req_ctx *r, const char *why)
{
	log_warn("txn=%s profile=%s peer=%s: renewal: %s; the challenge decides",
		 r->msg->transaction_id, r->prof->cfg->name, r->peer, why);
	snprintf(r->renewal_refused, sizeof(r->renewal_refused), "renewal: %.150s; then ", why);
	r->renewal = 0;
}

/* The challenge authorizes the request (a renewal may go without). */
static int
needs_challenge(const struct req_ctx *r)
{
	return !r->renewal || r->prof->cfg->renewal.require_challenge;
}

/* A remote validator's verdict, later on the loop thread. */
static void
enroll_validated(void *arg, int verdict, const char *reason)
{
	struct req_ctx *r = arg;
	struct sgw_err err = {{0}};

	if (verdict == -SGW_EUNAVAIL) { /* validator_otp.c: its store step */
		txn_store_failed(r, verdict, reason != NULL ? reason : "validator");
		return;
	}
	if (verdict < 0)
		sgw_err_set(&err, SGW_EDENIED, "%s", reason != NULL ? reason : "denied");
	enroll_record(r, verdict < 0 ? -SGW_EDENIED : 0, &err);
}

/* Loop thread, with the decrypted content: the CSR (parsed by the decode
 * job, txn_pkiop.c), challenge, policy, then the backend. */
static void
enroll_authorize(struct req_ctx *r)
{
	struct validator_req vr;
	struct sgw_err err = {{0}};
	int ret = 0;

	if (r->pre.csr_rc < 0) {
		req_end(r, SCEP_OUT_BAD_REQUEST, "%s", r->pre.csr_err.msg);
		return;
	}
	r->csr = r->pre.csr;
	r->pre.csr = NULL;
	vr = (struct validator_req){r->csr, r->prof->cfg->name, r->msg->transaction_id, r->peer,
				    r->gw->base};
	if (r->renewal && renewal_check_rules(&r->prof->cfg->renewal, r->msg->signer, r->csr,
					      (time_t)txn_now(r->gw), &err) < 0) {
		renewal_fall_back(r, err.msg);
		err = (struct sgw_err){{0}};
	}
	/* a renewal is authorized by the old certificate, the challenge optional */
	if (needs_challenge(r)) {
		ret = validator_check(r->prof->validator, &vr, enroll_validated, r, &err);
		if (ret == -SGW_EAGAIN)
			return; /* enroll_validated() continues */
		if (ret == -SGW_EUNAVAIL) {
			txn_store_failed(r, ret, err.msg);
			return;
		}
	}
	enroll_record(r, ret, &err);
}

static int
in_progress(const struct store_txn *t)
{
	return t->state == TXN_RECEIVED || t->state == TXN_AUTHORIZED || t->state == TXN_SUBMITTED;
}

/* r->txn is in progress and was last updated long ago (r->st.now). */
static int
stale(const struct req_ctx *r)
{
	return in_progress(&r->txn) && r->txn.updated < r->st.now - TXN_STALE_SECONDS;
}

/* With the decrypted content: the challenge, the policy, the record. */
static void
enroll_content(struct req_ctx *r)
{
	if (txn_take_content(r) == 0)
		enroll_authorize(r);
}

/* The request as the store keeps it: r->txn (a known row's id and updated
 * kept), its CSR in the sealed form the decode job made. */
static void
record_fill(struct req_ctx *r, int manual)
{
	int64_t id = r->have_txn ? r->txn.id : 0;
	/* processed again (txn_op_enroll: abandoned in progress) it keeps its
	 * age; a new request, also on a known row, is as old as now (pending_ttl) */
	int64_t created =
	    r->have_txn && in_progress(&r->txn) && txn_csr_same(&r->txn, &r->pre.sealed)
		? r->txn.created
		: txn_now(r->gw);

	store_txn_clear(&r->txn);
	memset(&r->txn, 0, sizeof(r->txn));
	r->txn.id = id;
	snprintf(r->txn.profile, sizeof(r->txn.profile), "%s", r->prof->cfg->name);
	snprintf(r->txn.transaction_id, sizeof(r->txn.transaction_id), "%s",
		 r->msg->transaction_id);
	memcpy(r->txn.signer_key_sha256, r->msg->signer_key_sha256, 32);
	snprintf(r->txn.subject, sizeof(r->txn.subject), "%s", r->csr->subject);
	snprintf(r->txn.peer, sizeof(r->txn.peer), "%s", r->peer);
	r->txn.msg_type = r->msg->msg_type;
	r->txn.state = manual ? TXN_AWAITING_APPROVAL : TXN_SUBMITTED;
	r->txn.created = created;
	r->txn.updated = txn_now(r->gw);
	r->txn.csr = r->pre.sealed; /* taken: r->txn owns it now */
	memset(&r->pre.sealed, 0, sizeof(r->pre.sealed));
}

/* Store step: record the authorized request; a one-time challenge is used
 * in the same commit (never before: a request refused on the way keeps it
 * usable). */
static void
record_work(void *arg)
{
	struct req_ctx *r = arg;
	struct store_accept a = {.seen_updated = r->st.seen, .now = r->st.wall};
	uint8_t h[32];

	if (r->renewal) { /* claimed in the commit: one renewal per signer */
		a.renews_issuer = r->prof->issuer;
		a.renews_serial = r->st.serial;
	}

	if (needs_challenge(r) && r->csr->challenge != NULL &&
	    validator_as_otp(r->prof->validator) != NULL) {
		otp_challenge_sha256(r->csr->challenge, h);
		a.otp_profile = r->prof->cfg->name;
		a.otp_sha256 = h;
	}
	r->st.rc = store_txn_accept(r->gw->store, &r->txn, &a);
	OPENSSL_cleanse(h, sizeof(h));
}

/* Loop thread, after the commit returned: only now the reply or the
 * backend. */
static void
record_done(void *arg)
{
	struct req_ctx *r = arg;
	int ret = r->st.rc;

	if (ret == -SGW_EDENIED) {
		req_end(r, SCEP_OUT_DENIED, "one-time challenge unknown, used or expired");
		return;
	}
	if (ret == -SGW_EBUSY) {
		req_end(r, SCEP_OUT_DENIED,
			"renewal: signer certificate %s is being renewed by another request in "
			"progress, or superseded",
			r->st.serial);
		return;
	}
	if (ret == -SGW_EEXIST) {
		/* the same request is being processed right now */
		req_end(r, SCEP_OUT_PENDING, "duplicate of a request in progress");
		return;
	}
	if (ret < 0) {
		txn_store_failed(r, ret, "recording the request");
		return;
	}
	r->have_txn = 1;
	if (r->txn.state == TXN_AWAITING_APPROVAL) {
		log_info("txn=%s profile=%s: awaiting approval (subject %s)",
			 r->msg->transaction_id, r->prof->cfg->name, r->csr->subject);
		txn_reply_from_state(r);
		return;
	}
	enroll_submit(r);
}

/* After the validator: the policy, the transaction record, approval, submit. */
static void
enroll_record(struct req_ctx *r, int ret, struct sgw_err *err)
{
	int64_t seen = r->txn.updated; /* a known row as it was read */

	log_debug("txn=%s profile=%s peer=%s: %s: %s%s", r->msg->transaction_id, r->prof->cfg->name,
		  r->peer, needs_challenge(r) ? validator_name(r->prof->validator) : "renewal",
		  ret == 0 ? "accepted" : "denied: ", ret == 0 ? "" : err->msg);
	if (ret == 0)
		ret = csr_policy_check(&r->prof->cfg->csr_policy, r->csr, err);
	if (ret < 0) {
		/* not stored: the device may retry with the right challenge and
		 * the same key and transactionID (scepclient does) */
		req_end(r, SCEP_OUT_DENIED, "%s%s", r->renewal_refused, err->msg);
		return;
	}
	/* for the log line: what let it in */
	r->auth = !r->renewal	       ? validator_name(r->prof->validator)
		  : needs_challenge(r) ? "renewal+challenge"
				       : "renewal";
	if (r->pre.seal_rc < 0) {
		req_end(r, SCEP_OUT_HTTP_INTERNAL, "cannot seal the CSR: %s", r->pre.seal_err.msg);
		return;
	}
	if (r->renewal && txn_cert_serial(r->msg->signer, r->st.serial, sizeof(r->st.serial)) < 0) {
		req_end(r, SCEP_OUT_BAD_REQUEST, "renewal: signer certificate: bad serial");
		return;
	}
	record_fill(r, approval_decide(r->prof->ra, r->csr) == APPROVAL_MANUAL);
	r->st.seen = seen;
	r->st.wall = (int64_t)time(NULL);
	txn_step(r, record_work, record_done);
}

/* A client that renews with its existing key (micromdm scepclient) keeps its
 * transactionID (a hash of the key) and signer key, so the request lands on
 * the transaction that issued the signer.  Signed by that very certificate it
 * is a new request (the row is reused); signed by an older one it is a
 * re-send and gets the stored answer. */
static int
renews_own_result(struct req_ctx *r)
{
	char serial[80];

	return r->txn.state == TXN_ISSUED && renewal_signer_claims_ca(r->prof, r->msg->signer) &&
	       txn_cert_serial(r->msg->signer, serial, sizeof(serial)) == 0 &&
	       strcmp(serial, r->txn.cert_serial) == 0;
}

/* Store step: is the renewal's signer in the profile's scope (renewal.h)? */
static void
renewal_work(void *arg)
{
	struct req_ctx *r = arg;

	r->st.rc =
	    renewal_verify_signer(r->prof, r->gw->store, r->msg->signer, r->msg->signer_key_sha256,
				  RENEWAL_USE_RENEW, (time_t)r->st.now, &r->st.err);
}

static void
renewal_done(void *arg)
{
	struct req_ctx *r = arg;
	int ret = r->st.rc;

	if (ret == 0 || ret == -SGW_EDENIED) {
		if (ret < 0)
			renewal_fall_back(r, r->st.err.msg);
		enroll_content(r);
		return;
	}
	if (ret == -SGW_EUNAVAIL) {
		txn_store_failed(r, ret, "renewal signer");
		return;
	}
	req_end(r, ret == -SGW_EAUTH ? SCEP_OUT_BAD_MESSAGE : SCEP_OUT_HTTP_INTERNAL, "renewal: %s",
		r->st.err.msg);
}

/* RenewalReq, or a PKCSReq signed by a certificate of this CA (draft-nourse,
 * macOS): the signer must be in the profile's scope (renewal.h).  A PKCSReq
 * like that on a profile without renewal is an ordinary PKCSReq; a signer
 * refused falls back to the challenge.  Then enroll_content(). */
static void
renewal_authorize(struct req_ctx *r)
{
	const struct cfg_renewal *rules = &r->prof->cfg->renewal;

	r->renewal = r->msg->msg_type == SCEP_MSG_RENEWALREQ ||
		     (rules->enabled && renewal_signer_claims_ca(r->prof, r->msg->signer));
	if (!r->renewal) {
		enroll_content(r);
		return;
	}
	if (!rules->enabled) {
		renewal_fall_back(r, "RenewalReq: renewal is not enabled here");
		enroll_content(r);
		return;
	}
	txn_step(r, renewal_work, renewal_done);
}

/* A request on a known transaction (r->txn): 0 to process it as a new
 * request, -1 after answering it from the stored state or refusing it.
 * Only the same request (txn_csr_same) is a re-send; many clients derive
 * the transactionID from the key, so another one with the same key is a new
 * request, authorized as one.  r->st.rc2: who decided on a stale row in
 * progress (find_work). */
static int
known_request(struct req_ctx *r)
{
	if (r->pre.csr_rc < 0 || r->pre.seal_rc < 0)
		return 0; /* no CSR to compare: the flow ends it with its failInfo */
	if (renews_own_result(r))
		return 0;
	if (TXN_STATE_FINAL(r->txn.state)) {
		if (!txn_csr_same(&r->txn, &r->pre.sealed))
			return 0;
	} else if (!txn_csr_same(&r->txn, &r->pre.sealed)) {
		req_end(r, SCEP_OUT_DENIED,
			"another request with this transactionID and key is in progress");
		return -1;
	} else if (stale(r) && r->st.rc2 == -SGW_ENOTFOUND) {
		/* abandoned before the backend answered (a crash): processed
		 * again; an approved one is resubmitted by txn_admin.c's timer */
		return 0;
	}
	txn_reply_from_state(r);
	return -1;
}

/* Store step: the transaction of (profile, transactionID, signer key) and,
 * for a stale one in progress, who decided on it. */
static void
find_work(void *arg)
{
	struct req_ctx *r = arg;
	char who[64];

	r->st.rc = txn_find_existing(r);
	r->st.rc2 = r->st.rc == 1 && stale(r)
			? store_txn_decider(r->gw->store, r->txn.id, who, sizeof(who))
			: 0;
}

static void
find_done(void *arg)
{
	struct req_ctx *r = arg;

	if (r->st.rc < 0 || r->st.rc2 == -SGW_EUNAVAIL) {
		txn_store_failed(r, r->st.rc < 0 ? r->st.rc : r->st.rc2, "transaction lookup");
		return;
	}
	if (r->st.rc == 1 && known_request(r) < 0)
		return;
	renewal_authorize(r);
}

void
txn_op_enroll(struct req_ctx *r)
{
	if (r->msg->envelope == NULL) {
		req_end(r, SCEP_OUT_BAD_REQUEST, "no pkcsPKIEnvelope");
		return;
	}
	r->cipher_nid = r->pre.cipher_nid;
	txn_step(r, find_work, find_done);
}
