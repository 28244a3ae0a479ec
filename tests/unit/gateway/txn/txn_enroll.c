/* tests for gateway/txn/txn_enroll.c's own rules, through engine_fixture.h
 * (real pkiMessages over HTTP, a fake backend, validator and clock): a
 * refused CSR leaves no row, a SUBMITTED transaction nobody finished is
 * processed again once it is more than 120 s old, and a request signed by
 * the certificate a transaction issued is a new request on that row (or,
 * refused as a renewal, one for the validator to decide).  The
 * state machine and the test of each of its lines are listed in
 * tests/unit/gateway/txn/txn_pkiop.c. */
#include <time.h>

#include "engine_fixture.h"

/* Seconds since the epoch of x's notAfter. */
static int64_t
not_after(X509 *x)
{
	struct tm tm;

	assert_int_equal(ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm), 1);
	return (int64_t)timegm(&tm);
}

/* req (signed_req()) sent to profile: its pkiStatus and failInfo, its certificate (or NULL). */
static X509 *
send_expect(const char *profile, struct sr_txn *req, int status, int failinfo, const char *text)
{
	struct sr_reply rep;
	X509 *got;

	send_req(profile, req, &rep);
	assert_reply(&rep, status, failinfo);
	if (text != NULL)
		assert_non_null(strstr(rep.failtext, text));
	got = rep.cert;
	rep.cert = NULL;
	sr_reply_clear(&rep);
	sr_txn_clear(req);
	return got;
}

static void
serial_of(X509 *x, char *buf)
{
	assert_int_equal(txn_cert_serial(x, buf, 80), 0);
}

/* (none) --CSR policy fails--> (none): FAILURE badRequest, no row; the same
 * transaction is enrolled once the policy allows it. */
static void
test_policy_denied(void **state)
{
	struct cfg_scep_profile *pc = (struct cfg_scep_profile *)profiles_find(fx->ps, "auto")->cfg;
	unsigned kt = pc->csr_policy.key_types;
	struct sr_txn t;

	(void)state;
	pc->csr_policy.key_types = CSR_KEY_EC; /* the device's key is RSA */
	pkcsreq(&t, "dev-p", "txn-policy");
	assert_null(
	    send_expect("auto", &t, SR_FAILURE, FI_BADREQUEST, "CSR key type RSA is not allowed"));
	pc->csr_policy.key_types = kt;
	assert_int_equal(row("auto", "txn-policy", NULL), -1);
	assert_int_equal(fx->fv.checks, 1); /* the validator allowed it */
	assert_int_equal(fx->fb.submits, 0);
	pkcsreq(&t, "dev-p", "txn-policy");
	X509_free(send_expect("auto", &t, SR_SUCCESS, -1, NULL));
	assert_int_equal(row("auto", "txn-policy", NULL), TXN_ISSUED);
}

/* SUBMITTED left behind (the submission never reached the CA, as after a
 * crash): a re-sent PKCSReq is answered PENDING while the row is at most
 * 120 s old, and processed again (validator, submission) once it is older;
 * a CertPoll never processes it again. */
static void
test_stale_submitted(void **state)
{
	int64_t t0 = fx->clock;
	struct sr_txn t;
	struct store_txn before, after;
	X509 *x;

	(void)state;
	fx->fb.submit_rc = -SGW_EIO;
	pkcsreq(&t, "dev-s", "txn-stale");
	assert_null(
	    send_expect("auto", &t, SR_FAILURE, FI_BADREQUEST, "backend refused the submission"));
	fx->fb.submit_rc = 0;
	assert_int_equal(row("auto", "txn-stale", &before), TXN_SUBMITTED);
	assert_int_equal(before.updated, t0);
	fx->clock = t0 + 120;
	pkcsreq(&t, "dev-s", "txn-stale");
	assert_null(send_expect("auto", &t, SR_PENDING, -1, NULL));
	assert_int_equal(fx->fv.checks, 1);
	assert_int_equal(fx->fb.submits, 1);
	fx->clock = t0 + 121;
	pkcsreq(&t, "dev-s", "txn-stale");
	assert_false(poll_expect("auto", &t, SR_PENDING, -1));
	assert_int_equal(row("auto", "txn-stale", NULL), TXN_SUBMITTED);
	x = send_expect("auto", &t, SR_SUCCESS, -1, NULL);
	assert_non_null(x);
	X509_free(x);
	assert_int_equal(fx->fv.checks, 2);
	assert_int_equal(fx->fb.submits, 2);
	assert_int_equal(row("auto", "txn-stale", &after), TXN_ISSUED);
	assert_true(after.id == before.id && after.created == before.created);
	assert_int_equal(after.updated, t0 + 121); /* the backend's answer, on the engine's clock */
}

/* A request signed by signer that the signer does not authorize (text is
 * in the reason) nor the validator (asked as for any enrollment): refused,
 * and the transaction's row (or its absence) stays as it was. */
static void
refused(const char *profile, int msg_type, const char *txid, X509 *signer, const char *text)
{
	struct sr_txn t;
	struct store_txn before, after;
	int st = row(profile, txid, &before), checks = fx->fv.checks;

	signed_req(&t, msg_type, "dev-r", txid, signer);
	fx->fv.verdict = -SGW_EDENIED;
	assert_null(send_expect(profile, &t, SR_FAILURE, FI_BADREQUEST, text));
	fx->fv.verdict = 0;
	assert_int_equal(fx->fv.checks, checks + 1);
	assert_int_equal(row(profile, txid, &after), st);
	assert_string_equal(after.cert_serial, before.cert_serial);
}

/* A request signed by signer, the certificate of the ISSUED row `was`: a
 * new request on that row, which names the new certificate it returns. */
static X509 *
reissued(const char *profile, int msg_type, const struct store_txn *was, X509 *signer)
{
	struct sr_txn t;
	struct store_txn after;
	char old[80], s[80];
	X509 *x;

	serial_of(signer, old);
	assert_string_equal(was->cert_serial, old);
	signed_req(&t, msg_type, "dev-r", was->transaction_id, signer);
	assert_non_null(x = send_expect(profile, &t, SR_SUCCESS, -1, NULL));
	serial_of(x, s);
	assert_string_not_equal(old, s);
	assert_int_equal(row(profile, was->transaction_id, &after), TXN_ISSUED);
	assert_string_equal(after.cert_serial, s);
	/* a new request: its pending_ttl runs from now, not from the old one */
	assert_true(after.id == was->id && after.created == fx->clock);
	return x;
}

/* ISSUED + RenewalReq or PKCSReq signed by the row's certificate: the row
 * is reused for a new request (renewal rules checked, no challenge); signed
 * by an older certificate of the row it is a re-send, answered from the
 * store; refused (renewal window not open) it leaves the row as it was.  A
 * RenewalReq with a new transactionID starts a row of its own, or none when
 * refused: signed by the superseded c1 once c2 was issued, it is. */
static void
test_renewal_reuses_row(void **state)
{
	struct sr_txn t;
	struct store_txn r;
	X509 *c1, *c2, *c3, *x;

	(void)state;
	pkcsreq(&t, "dev-r", "txn-renew");
	assert_non_null(c1 = send_expect("renew", &t, SR_SUCCESS, -1, NULL));
	assert_int_equal(row("renew", "txn-renew", &r), TXN_ISSUED);
	assert_int_equal(fx->fv.checks, 1);
	/* today: the window (the last 10% of c1's validity) is not open yet */
	refused("renew", 17, "txn-renew", c1, "renewal window not open");
	refused("renew", 17, "txn-renew-new", c1, "renewal window not open");
	assert_int_equal(row("renew", "txn-renew-new", NULL), -1);
	assert_int_equal(fx->fb.submits, 1);
	/* a day before c1 expires: a new certificate on the same row */
	fx->clock = not_after(c1) - 86400;
	c2 = reissued("renew", 17, &r, c1);
	assert_int_equal(fx->fb.submits, 2);
	assert_int_equal(fx->fv.checks, 3); /* renewal: the old certificate authorizes */
	/* c1 is superseded by c2: a new transactionID gets no new row */
	refused("renew", 17, "txn-renew-new", c1, "is superseded");
	assert_int_equal(row("renew", "txn-renew-new", NULL), -1);
	/* signed by c1 again: a re-send now, answered with c2 */
	signed_req(&t, 17, "dev-r", "txn-renew", c1);
	assert_non_null(x = send_expect("renew", &t, SR_SUCCESS, -1, NULL));
	assert_int_equal(X509_cmp(x, c2), 0);
	X509_free(x);
	assert_int_equal(fx->fb.submits, 2);
	/* a PKCSReq signed by c2 renews c2 */
	assert_int_equal(row("renew", "txn-renew", &r), TXN_ISSUED);
	c3 = reissued("renew", 19, &r, c2);
	assert_int_equal(fx->fb.submits, 3);
	assert_int_equal(fx->fv.checks, 4);
	X509_free(c1);
	X509_free(c2);
	X509_free(c3);
}

/* The same on a profile without renewal: a RenewalReq is refused and leaves
 * the row as it was; a PKCSReq signed by the row's certificate is an
 * ordinary request (the validator asked again) on the same row. */
static void
test_reissue_without_renewal(void **state)
{
	struct sr_txn t;
	struct store_txn r;
	X509 *c1, *c2;

	(void)state;
	pkcsreq(&t, "dev-r", "txn-reissue");
	assert_non_null(c1 = send_expect("auto", &t, SR_SUCCESS, -1, NULL));
	assert_int_equal(row("auto", "txn-reissue", &r), TXN_ISSUED);
	refused("auto", 17, "txn-reissue", c1, "RenewalReq: renewal is not enabled here");
	assert_int_equal(fx->fb.submits, 1);
	c2 = reissued("auto", 19, &r, c1);
	assert_int_equal(fx->fv.checks, 3);
	assert_int_equal(fx->fb.submits, 2);
	X509_free(c1);
	X509_free(c2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_policy_denied, reset),
	    cmocka_unit_test_setup(test_stale_submitted, reset),
	    cmocka_unit_test_setup(test_renewal_reuses_row, reset),
	    cmocka_unit_test_setup(test_reissue_without_renewal, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
