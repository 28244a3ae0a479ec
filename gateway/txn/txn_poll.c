/* txn_poll.c: CertPoll (GetCertInitial): find the transaction by
 * transactionID + signer key, then check the IssuerAndSubject body as a
 * sanity check (RFC 8894 3.3.3 calls it redundant): its subject must be the
 * transaction's, compared as names (X509_NAME_cmp: the stored CSR's subject,
 * whatever the string types and escaping), else FAILURE badCertId (no
 * certificate matches what was asked).  Then answer from the state; a
 * backend that is still working is asked again first, with the stored CSR
 * when it needs one (BACKEND_CAP_POLL_CSR: an ACME order whose finalize is
 * due), opened on a worker: any instance finishes any instance's request. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>

#include "cfg_dn.h"
#include "log.h"
#include "metrics.h"
#include "profile.h"
#include "scep_ias.h"
#include "txn.h"
#include "txn_admin.h"
#include "txn_csr.h"
#include "txn_poll.h"
#include "txn_result.h"

static void
poll_store_done(void *arg)
{
	struct req_ctx *r = arg;

	if (r->st.rc < 0) {
		log_err("txn=%s: cannot store the backend result: %s", r->msg->transaction_id,
			sgw_strerror(r->st.rc));
		txn_store_failed(r, r->st.rc, "backend result");
		return;
	}
	txn_reply_from_state(r);
}

static void
poll_done(void *arg, struct backend_result *res)
{
	struct req_ctx *r = arg;

	metrics_backend(r->gw->metrics, backend_name(r->prof->backend), (int)res->status,
			&r->backend_t0);
	txn_log_backend(r->msg->transaction_id, r->prof->cfg->name, backend_name(r->prof->backend),
			res, &r->backend_t0);
	if (res->status == BACKEND_FAIL_TEMP) {
		/* the CA is unreachable for now: the device keeps polling */
		log_warn("txn=%s: backend poll failed for now: %s", r->msg->transaction_id,
			 res->reason);
		txn_reply_from_state(r);
		return;
	}
	txn_step_result(r, res, poll_store_done);
}

/* Ask the backend about the pending request (req: the stored one, or NULL). */
static void
poll_backend(struct req_ctx *r, const struct backend_request *req)
{
	clock_gettime(CLOCK_MONOTONIC, &r->backend_t0);
	if (backend_poll(r->prof->backend, r->txn.backend_handle, req, poll_done, r) == 0)
		return;
	txn_reply_from_state(r);
}

/* Loop: the stored CSR opened (rc < 0: logged by txn_csr.c; the backend is
 * asked without it, enough for an order past finalize). */
static void
poll_csr_opened(void *arg, int rc, struct csr *csr)
{
	struct req_ctx *r = arg;
	struct backend_request br = {.template = r->prof->ra->template,
				     .profile = r->prof->cfg->name,
				     .transaction_id = r->msg->transaction_id};

	if (rc < 0 || csr == NULL) {
		poll_backend(r, NULL);
		return;
	}
	csr_free(r->csr);
	r->csr = csr; /* freed with r: csr_req lives until poll_done() */
	br.csr_der = csr->der;
	br.csr_len = csr->der_len;
	br.csr_req = csr->req;
	poll_backend(r, &br);
}

static void
poll_answer(struct req_ctx *r)
{
	struct txn_csr_job *job;

	if (r->txn.state == TXN_BACKEND_PENDING) {
		if ((backend_caps(r->prof->backend) & BACKEND_CAP_POLL_CSR) &&
		    r->txn.csr.sealed != NULL &&
		    txn_csr_open(r->gw, r->prof, &r->txn, poll_csr_opened, r, &job) == 0)
			return;
		poll_backend(r, NULL);
		return;
	}
	if (r->txn.state == TXN_SUBMITTED) /* left by a crash? then resume it now */
		(void)txn_resume_stranded(r->gw->txn_admin, r->txn.id);
	txn_reply_from_state(r);
}

/* 1 when `name` is the subject of the transaction's request.  The store
 * keeps that subject as csr.c printed it (RFC 2253, UTF-8 kept): parsed back
 * into a name and compared as one (X509_NAME_cmp: canonical encodings, so
 * string types, case and escaping do not matter); a subject the parser
 * refuses (a multi-valued RDN) is compared as the same printout of `name`. */
static int
poll_subject_matches(const struct store_txn *t, const X509_NAME *name)
{
	X509_NAME *stored = NULL;
	char subject[sizeof(t->subject)] = "";
	BIO *b;
	int ok = 0;

	if (cfg_dn_parse(t->subject, strlen(t->subject), &stored) == 0) {
		ok = X509_NAME_cmp(stored, name) == 0;
		X509_NAME_free(stored);
		return ok;
	}
	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return 0;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    BIO_gets(b, subject, sizeof(subject)) >= 0)
		ok = strcmp(subject, t->subject) == 0;
	BIO_free(b);
	return ok;
}

/* Loop thread, with the decrypted content. */
static void
poll_check_subject(struct req_ctx *r)
{
	struct scep_ias_subject ias;
	int ok;

	if (scep_ias_subject_parse(r->content, r->content_len, &ias) < 0) {
		req_end(r, SCEP_OUT_BAD_REQUEST, "messageData is not an IssuerAndSubject");
		return;
	}
	ok = poll_subject_matches(&r->txn, ias.subject);
	scep_ias_subject_clear(&ias);
	if (!ok) {
		req_end(r, SCEP_OUT_BAD_CERT_ID,
			"IssuerAndSubject names another subject than transaction %s",
			r->msg->transaction_id);
		return;
	}
	poll_answer(r);
}

/* Store step: the transaction of (profile, transactionID, signer key). */
static void
poll_find_work(void *arg)
{
	struct req_ctx *r = arg;

	r->st.rc = txn_find_existing(r);
}

static void
poll_find_done(void *arg)
{
	struct req_ctx *r = arg;

	if (r->st.rc < 0) {
		txn_store_failed(r, r->st.rc, "transaction lookup");
		return;
	}
	if (r->st.rc == 0) {
		req_end(r, SCEP_OUT_BAD_CERT_ID, "no transaction %s for this signer key",
			r->msg->transaction_id);
		return;
	}
	if (r->msg->envelope == NULL) { /* tolerated: the transaction key suffices */
		poll_answer(r);
		return;
	}
	if (txn_take_content(r) == 0)
		poll_check_subject(r);
}

void
txn_op_certpoll(struct req_ctx *r)
{
	if (r->msg->envelope != NULL)
		r->cipher_nid = r->pre.cipher_nid;
	txn_step(r, poll_find_work, poll_find_done);
}
