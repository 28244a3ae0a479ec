/* txn_poll.c: CertPoll (GetCertInitial): find the transaction by
 * transactionID + signer key, then check the IssuerAndSubject body as a
 * sanity check (RFC 8894 3.3.3 calls it redundant): its subject must be the
 * transaction's, compared as names (X509_NAME_cmp: the stored CSR's subject,
 * whatever the string types and escaping), else FAILURE badCertId (no
 * certificate matches what was asked).  Then answer from the state; a
 * backend that is still working is asked again first. */
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
#include "txn_poll.h"
#include "txn_result.h"

static void
poll_done(void *arg, struct backend_result *res)
{
	struct req_ctx *r = arg;
	int ret;

	metrics_backend(r->gw->metrics, backend_name(r->prof->backend), (int)res->status,
			&r->backend_t0);
	if (res->status == BACKEND_FAIL_TEMP) {
		/* the CA is unreachable for now: the device keeps polling */
		log_warn("txn=%s: backend poll failed for now: %s", r->msg->transaction_id,
			 res->reason);
		txn_reply_from_state(r);
		return;
	}
	ret = txn_apply_result(r->gw->store, r->prof->issuer, &r->txn, res, txn_now(r->gw));
	if (ret < 0) {
		log_err("txn=%s: cannot store the backend result: %s", r->msg->transaction_id,
			sgw_strerror(ret));
		req_end_store(r, ret, "backend result");
		return;
	}
	txn_reply_from_state(r);
}

static void
poll_answer(struct req_ctx *r)
{
	clock_gettime(CLOCK_MONOTONIC, &r->backend_t0);
	if (r->txn.state == TXN_BACKEND_PENDING &&
	    backend_poll(r->prof->backend, r->txn.backend_handle, poll_done, r) == 0)
		return;
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

void
txn_op_certpoll(struct req_ctx *r)
{
	int ret;

	if (r->msg->envelope != NULL)
		r->cipher_nid = r->pre.cipher_nid;
	ret = txn_find_existing(r);
	if (ret < 0) {
		req_end_store(r, ret, "transaction lookup");
		return;
	}
	if (ret == 0) {
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
