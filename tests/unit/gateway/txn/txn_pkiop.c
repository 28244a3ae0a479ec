/* tests for the transaction engine, gateway/txn/: txn_pkiop.c (the entry)
 * and what it drives below it (txn_enroll.c, txn_poll.c, txn_getcert.c,
 * txn_result.c, txn.c, scep_req.c), through engine_fixture.h: real
 * pkiMessages over HTTP, a fake backend, a fake validator, a fake clock.
 * Each test asserts the state in the store and the reply's pkiStatus and
 * failInfo.  The state machine:
 *
 *  (no row) --PKCSReq/RenewalReq refused: validator denies, CSR policy fails (a renewal whose
 *             signer or rules fail, or where renewal is off, falls to the validator)--> (no row),
 *             FAILURE badRequest
 *  (no row) --authorized, approval auto (or auto_if met)----> SUBMITTED (submitted at once)
 *  (no row) --authorized, approval manual (or auto_if unmet)--> AWAITING_APPROVAL
 *  AWAITING_APPROVAL --admin approve--> SUBMITTED (backend submit runs in background)
 *  AWAITING_APPROVAL --admin reject----> REJECTED (the admin's reason goes to the device)
 *  AWAITING_APPROVAL --created + pending_ttl <= now: timer sweep, or a late approve or
 *                      reject (refused; it runs the sweep)--> EXPIRED
 *  SUBMITTED --backend answer: ISSUED----------> ISSUED
 *                              PENDING---------> BACKEND_PENDING
 *                              REJECTED--------> REJECTED
 *                              FAIL_TEMP/PERM--> FAILED
 *  SUBMITTED --backend refuses the submission--> unchanged (the request: FAILURE badRequest)
 *  BACKEND_PENDING --CertPoll asks backend: ISSUED->ISSUED, REJECTED->REJECTED,
 *                    FAIL_PERM->FAILED, PENDING or FAIL_TEMP->unchanged
 *                    (a re-sent PKCSReq does not ask it)
 *  SUBMITTED updated > 120 s ago + PKCSReq/RenewalReq re-sent --> processed again from the
 *                    start (validator, policy, approval, submit) on the same row
 *  SUBMITTED after an approval, updated >= 120 s ago --timer--> submitted again
 *                    (at start-up: at once, whatever its age)
 *  ISSUED + PKCSReq/RenewalReq signed by that same cert --> row reused (a new request, as
 *                    from (no row); refused, the row stays ISSUED); signed by an older
 *                    certificate of the row: a re-send
 *  Timer: at start-up, then every min(60 s, shortest pending_ttl / 4), at least 1 s.
 *  Answers (CertPoll / re-sent PKCSReq): AWAITING_APPROVAL, SUBMITTED, BACKEND_PENDING -> PENDING;
 *    ISSUED -> SUCCESS; REJECTED, FAILED -> FAILURE badRequest;
 *    EXPIRED -> badCertId (CertPoll) or badRequest (PKCSReq); no row -> badCertId (CertPoll).
 *    The same bytes again (replayed senderNonce): FAILURE badRequest, unless the transaction
 *    is held (AWAITING_APPROVAL, or decided by an admin or the sweep): then its answer above.
 *
 * Each line and its tests (pkiop: this file, enroll: txn_enroll.c, admin: txn_admin.c):
 *  (no row) refused: validator          pkiop test_validator
 *                    CSR policy         enroll test_policy_denied
 *                    renewal rules      enroll test_renewal_reuses_row (then the validator)
 *                    superseded signer  enroll test_renewal_reuses_row (then the validator)
 *                    renewal off        enroll test_reissue_without_renewal (on an ISSUED row)
 *  (no row) -> SUBMITTED                pkiop test_auto_issue; enroll test_renewal_reuses_row
 *  (no row) -> AWAITING_APPROVAL        admin test_manual_approve
 *  AWAITING_APPROVAL -> SUBMITTED       admin test_manual_approve, test_expiry_clock
 *  AWAITING_APPROVAL -> REJECTED        admin test_manual_reject
 *  AWAITING_APPROVAL -> EXPIRED         admin test_expiry (pending_ttl 0), test_expiry_clock
 *                                       (sweep, late approve, late reject), test_timer (timer)
 *  SUBMITTED -> ISSUED                  pkiop test_auto_issue; admin test_manual_approve
 *  SUBMITTED -> BACKEND_PENDING         pkiop test_backend_pending
 *  SUBMITTED -> REJECTED, FAILED        pkiop test_backend_refuses
 *  SUBMITTED, submission refused        enroll test_stale_submitted; admin test_restart_resubmits
 *  BACKEND_PENDING -> ISSUED, unchanged pkiop test_backend_pending
 *  BACKEND_PENDING -> REJECTED, FAILED  pkiop test_backend_refuses
 *  SUBMITTED > 120 s, re-sent           enroll test_stale_submitted
 *  SUBMITTED approved, timer / start-up admin test_timer / test_restart_resubmits
 *  ISSUED, signed by its cert: reused   enroll test_renewal_reuses_row,
 *                                       test_reissue_without_renewal
 *  answers: PENDING                     pkiop test_auto_issue, test_backend_pending;
 *                                       admin test_manual_approve; enroll test_stale_submitted
 *           SUCCESS                     pkiop test_auto_issue; enroll test_renewal_reuses_row
 *           REJECTED, FAILED            pkiop test_backend_refuses; admin test_manual_reject
 *           EXPIRED                     admin test_expiry, test_expiry_clock
 *           no row                      pkiop test_certpoll_unknown
 *           store unreachable (503)     pkiop test_store_unavailable
 *           replayed senderNonce        pkiop test_auto_issue (refused); admin
 *                                       test_manual_approve, test_manual_reject,
 *                                       test_expiry (held: answered) */
#include "engine_fixture.h"

/* (none) -> SUBMITTED -> ISSUED; then every answer an ISSUED one gets. */
static void
test_auto_issue(void **state)
{
	struct sr_txn t, again;
	struct sr_reply rep, rep2;
	struct store_txn row_t;
	struct store_cert c = {0};
	struct call call;
	char serial[80];

	(void)state;
	fx->fb.hold = 1;
	pkcsreq(&t, "dev-1", "txn-issue");
	call_start(&call, "auto", &t);
	until_backend_holds(1);
	assert_int_equal(row("auto", "txn-issue", NULL), TXN_SUBMITTED);
	assert_int_equal(fx->fv.checks, 1);
	/* while the backend works: a CertPoll, and the PKCSReq again, get PENDING */
	assert_false(poll_expect("auto", &t, SR_PENDING, -1));
	pkcsreq(&again, "dev-1", "txn-issue");
	send_req("auto", &again, &rep2);
	assert_reply(&rep2, SR_PENDING, -1);
	sr_reply_clear(&rep2);
	sr_txn_clear(&again);
	assert_int_equal(fx->fb.submits, 1);
	fake_answer(BACKEND_ISSUED);
	fx->fb.hold = 0;
	call_wait(&call, &t, &rep);
	assert_reply(&rep, SR_SUCCESS, -1);
	assert_non_null(rep.cert);
	assert_int_equal(txn_cert_serial(rep.cert, serial, sizeof(serial)), 0);
	assert_int_equal(row("auto", "txn-issue", &row_t), TXN_ISSUED);
	assert_string_equal(row_t.cert_serial, serial);
	assert_int_equal(store_cert_get(fx->store, fx->ps->v[0].issuer, serial, &c), 0);
	assert_int_equal(c.txn_id, row_t.id);
	store_cert_clear(&c);
	assert_int_equal(fx->fv.notifies, 1); /* the validator hears of the certificate */
	assert_true(fx->fv.notified_cert);
	/* CertPoll: the certificate */
	assert_true(poll_expect("auto", &t, SR_SUCCESS, -1));
	/* the same PKCSReq again (same key and transactionID, new nonce): the
	 * same certificate, from the store, the backend not asked again */
	pkcsreq(&again, "dev-1", "txn-issue");
	send_req("auto", &again, &rep2);
	assert_reply(&rep2, SR_SUCCESS, -1);
	assert_int_equal(X509_cmp(rep.cert, rep2.cert), 0);
	assert_int_equal(fx->fb.submits, 1);
	assert_int_equal(fx->fv.checks, 1);
	sr_reply_clear(&rep2);
	/* the very same bytes again: a replayed senderNonce */
	send_req("auto", &again, &rep2);
	assert_reply(&rep2, SR_FAILURE, FI_BADREQUEST);
	assert_string_equal(rep2.failtext, "replayed senderNonce");
	sr_reply_clear(&rep2);
	/* GetCert, signed by the issued certificate: its own, by serial */
	getcert(rep.cert, 21, serial, &rep2);
	assert_reply(&rep2, SR_SUCCESS, -1);
	assert_int_equal(X509_cmp(rep.cert, rep2.cert), 0);
	sr_reply_clear(&rep2);
	getcert(rep.cert, 21, "0badbeef", &rep2);
	assert_reply(&rep2, SR_FAILURE, FI_BADCERTID);
	sr_reply_clear(&rep2);
	getcert(rep.cert, 22, serial, &rep2); /* GetCRL: the backend's CRL */
	assert_reply(&rep2, SR_SUCCESS, -1);
	assert_int_equal(sk_X509_CRL_num(rep2.crls), 1);
	sr_reply_clear(&rep2);
	assert_int_equal(row("auto", "txn-issue", NULL), TXN_ISSUED);
	sr_reply_clear(&rep);
	sr_txn_clear(&again);
	sr_txn_clear(&t);
}

/* SUBMITTED -> BACKEND_PENDING; each CertPoll asks the backend:
 * FAIL_TEMP and PENDING keep it, ISSUED ends it. */
static void
test_backend_pending(void **state)
{
	struct sr_txn t, again;
	struct sr_reply rep;
	struct store_txn row_t;

	(void)state;
	fx->fb.submit_st = BACKEND_PENDING;
	pkcsreq(&t, "dev-6", "txn-pending");
	send_req("auto", &t, &rep);
	assert_reply(&rep, SR_PENDING, -1);
	sr_reply_clear(&rep);
	assert_int_equal(row("auto", "txn-pending", &row_t), TXN_BACKEND_PENDING);
	assert_string_equal(row_t.backend_handle, "h0");
	assert_int_equal(fx->fv.notifies, 0); /* nothing to tell yet */
	fx->fb.poll_st = BACKEND_FAIL_TEMP;
	assert_false(poll_expect("auto", &t, SR_PENDING, -1));
	assert_int_equal(row("auto", "txn-pending", NULL), TXN_BACKEND_PENDING);
	fx->fb.poll_st = BACKEND_PENDING;
	assert_false(poll_expect("auto", &t, SR_PENDING, -1));
	assert_int_equal(row("auto", "txn-pending", NULL), TXN_BACKEND_PENDING);
	/* the PKCSReq again: PENDING from the store, the backend not asked */
	pkcsreq(&again, "dev-6", "txn-pending");
	send_req("auto", &again, &rep);
	assert_reply(&rep, SR_PENDING, -1);
	sr_reply_clear(&rep);
	sr_txn_clear(&again);
	assert_int_equal(fx->fb.polls, 2);
	fx->fb.poll_st = BACKEND_ISSUED;
	assert_true(poll_expect("auto", &t, SR_SUCCESS, -1));
	assert_int_equal(row("auto", "txn-pending", &row_t), TXN_ISSUED);
	assert_true(row_t.cert_serial[0] != '\0');
	assert_int_equal(fx->fb.polls, 3);
	/* each poll was given the request's CSR, opened from the store (ACME
	 * finalizes with it on whichever instance the device polls) */
	assert_int_equal(fx->fb.polls_with_csr, 3);
	assert_int_equal(fx->fb.submits, 1);
	assert_true(poll_expect("auto", &t, SR_SUCCESS, -1)); /* from the store now */
	assert_int_equal(fx->fb.polls, 3);
	sr_txn_clear(&t);
}

/* SUBMITTED -> REJECTED and -> FAILED (FAIL_PERM, and FAIL_TEMP at submission);
 * BACKEND_PENDING -> REJECTED and -> FAILED through a poll. */
static void
test_backend_refuses(void **state)
{
	static const struct {
		const char *txid;
		enum backend_status submit, poll;
		int state;
		const char *text;
	} cases[] = {
	    {"txn-rej", BACKEND_REJECTED, 0, TXN_REJECTED,
	     "CA rejected the request: fake status 2"},
	    {"txn-perm", BACKEND_FAIL_PERM, 0, TXN_FAILED, "CA backend failed: fake status 4"},
	    {"txn-temp", BACKEND_FAIL_TEMP, 0, TXN_FAILED, "CA backend failed: fake status 3"},
	    {"txn-prej", BACKEND_PENDING, BACKEND_REJECTED, TXN_REJECTED,
	     "CA rejected the request: fake status 2"},
	    {"txn-pperm", BACKEND_PENDING, BACKEND_FAIL_PERM, TXN_FAILED,
	     "CA backend failed: fake status 4"},
	};
	struct sr_txn t, poll_t;
	struct sr_reply rep;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fx->fb.submit_st = cases[i].submit;
		pkcsreq(&t, "dev-7", cases[i].txid);
		send_req("auto", &t, &rep);
		if (cases[i].submit == BACKEND_PENDING) {
			assert_int_equal(row("auto", cases[i].txid, NULL), TXN_BACKEND_PENDING);
			assert_reply(&rep, SR_PENDING, -1);
			sr_reply_clear(&rep);
			fx->fb.poll_st = cases[i].poll;
			certpoll(&t, &poll_t);
			send_req("auto", &poll_t, &rep);
			sr_txn_clear(&poll_t);
		}
		assert_int_equal(row("auto", cases[i].txid, NULL), cases[i].state);
		assert_reply(&rep, SR_FAILURE, FI_BADREQUEST);
		assert_string_equal(rep.failtext, cases[i].text);
		sr_reply_clear(&rep);
		/* its answer from now on, to a CertPoll and to the PKCSReq again */
		assert_false(poll_expect("auto", &t, SR_FAILURE, FI_BADREQUEST));
		sr_txn_clear(&t);
		pkcsreq(&t, "dev-7", cases[i].txid);
		send_req("auto", &t, &rep);
		assert_reply(&rep, SR_FAILURE, FI_BADREQUEST);
		assert_string_equal(rep.failtext, cases[i].text);
		sr_reply_clear(&rep);
		sr_txn_clear(&t);
		assert_int_equal(fx->fb.submits, (int)i + 1);
	}
	/* a failure at submission is told to the validator (Intune's failureNotification) */
	assert_int_equal(fx->fv.notifies, 3);
	assert_false(fx->fv.notified_cert);
	assert_string_equal(fx->fv.notified_reason, "fake status 3");
}

/* The validator's verdict: a denial stores nothing, an asynchronous one
 * continues where a synchronous one would. */
static void
test_validator(void **state)
{
	struct sr_txn t;
	struct sr_reply rep;

	(void)state;
	fx->fv.verdict = -SGW_EDENIED;
	pkcsreq(&t, "dev-8", "txn-denied");
	send_req("auto", &t, &rep);
	assert_reply(&rep, SR_FAILURE, FI_BADREQUEST);
	assert_string_equal(rep.failtext, "the fake says no");
	sr_reply_clear(&rep);
	sr_txn_clear(&t);
	assert_int_equal(row("auto", "txn-denied", NULL), -1);
	fx->fv.async = 1;
	pkcsreq(&t, "dev-8", "txn-denied");
	send_req("auto", &t, &rep);
	assert_reply(&rep, SR_FAILURE, FI_BADREQUEST);
	sr_reply_clear(&rep);
	sr_txn_clear(&t);
	assert_int_equal(row("auto", "txn-denied", NULL), -1);
	fx->fv.verdict = 0; /* the same transaction, allowed now */
	pkcsreq(&t, "dev-8", "txn-denied");
	send_req("auto", &t, &rep);
	assert_reply(&rep, SR_SUCCESS, -1);
	sr_reply_clear(&rep);
	sr_txn_clear(&t);
	assert_int_equal(row("auto", "txn-denied", NULL), TXN_ISSUED);
	assert_int_equal(fx->fv.checks, 3);
	assert_int_equal(fx->fb.submits, 1);
}

/* CertPoll for a transaction nobody made: badCertId. */
static void
test_certpoll_unknown(void **state)
{
	struct sr_txn t;

	(void)state;
	pkcsreq(&t, "dev-9", "txn-never-sent");
	assert_false(poll_expect("auto", &t, SR_FAILURE, FI_BADCERTID));
	assert_int_equal(row("auto", "txn-never-sent", NULL), -1);
	sr_txn_clear(&t);
}

/* The store unreachable (-SGW_EUNAVAIL, PostgreSQL down) at any step of a
 * request: HTTP 503 with a Retry-After, never a CertRep, and nothing
 * answered that was not written. */
static void
send_expect_503(const char *profile, const struct sr_txn *t)
{
	struct call c;
	char retry_after[16];

	call_start(&c, profile, t);
	assert_int_equal(call_wait_http(&c, retry_after), 503);
	assert_string_equal(retry_after, "10");
}

static void
test_store_unavailable(void **state)
{
	static const char *const ops[] = {"nonce_check", "txn_find", "txn_accept", "txn_issue"};
	struct sr_txn t, poll;
	struct sr_reply rep;
	char txid[64];

	(void)state;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		snprintf(txid, sizeof(txid), "txn-unavail-%s", ops[i]);
		fx->store_fault = ops[i];
		pkcsreq(&t, "dev-u", txid);
		send_expect_503("auto", &t);
		fx->store_fault = NULL;
		/* txn_issue: recorded SUBMITTED, never claimed ISSUED */
		assert_int_equal(row("auto", txid, NULL),
				 strcmp(ops[i], "txn_issue") == 0 ? TXN_SUBMITTED : -1);
		sr_txn_clear(&t);
	}
	/* an issued request's CertPoll when its certificate cannot be read */
	pkcsreq(&t, "dev-u", "txn-unavail-poll");
	send_req("auto", &t, &rep);
	assert_reply(&rep, SR_SUCCESS, -1);
	sr_reply_clear(&rep);
	fx->store_fault = "cert_get";
	certpoll(&t, &poll);
	send_expect_503("auto", &poll);
	sr_txn_clear(&poll);
	fx->store_fault = NULL;
	assert_true(poll_expect("auto", &t, SR_SUCCESS, -1));
	sr_txn_clear(&t);
	assert_int_equal(fx->fb.submits, 2); /* txn_issue's and the CertPoll's requests */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_auto_issue, reset),
	    cmocka_unit_test_setup(test_backend_pending, reset),
	    cmocka_unit_test_setup(test_backend_refuses, reset),
	    cmocka_unit_test_setup(test_validator, reset),
	    cmocka_unit_test_setup(test_certpoll_unknown, reset),
	    cmocka_unit_test_setup(test_store_unavailable, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
