/* tests for gateway/txn/txn_admin.c: an operator's approval and rejection
 * of what waits for one, the expiry of what nobody decided on, the re-sends
 * of a held request; through engine_fixture.h (real pkiMessages over HTTP, a
 * fake backend and validator).  The state machine is drawn in
 * tests/unit/gateway/txn/txn_pkiop.c. */
#include "engine_fixture.h"

/* (none) -> AWAITING_APPROVAL -> SUBMITTED (approved) -> ISSUED. */
static void
test_manual_approve(void **state)
{
	struct sr_txn t, again;
	struct sr_reply rep;
	struct store_txn row_t, got;
	struct sgw_err err = {{0}};

	(void)state;
	pkcsreq(&t, "dev-2", "txn-approve");
	send_req("manual", &t, &rep);
	assert_reply(&rep, SR_PENDING, -1);
	sr_reply_clear(&rep);
	assert_int_equal(row("manual", "txn-approve", &row_t), TXN_AWAITING_APPROVAL);
	assert_int_equal(fx->fb.submits, 0);
	assert_false(poll_expect("manual", &t, SR_PENDING, -1));
	/* re-sent: a new nonce, then the very same bytes (held: answered, not refused) */
	pkcsreq(&again, "dev-2", "txn-approve");
	send_req("manual", &again, &rep);
	assert_reply(&rep, SR_PENDING, -1);
	sr_reply_clear(&rep);
	send_req("manual", &again, &rep);
	assert_reply(&rep, SR_PENDING, -1);
	sr_reply_clear(&rep);
	assert_int_equal(row("manual", "txn-approve", NULL), TXN_AWAITING_APPROVAL); /* one row */
	assert_int_equal(fx->fv.checks, 1);
	/* approved: committed as SUBMITTED, then submitted in the background */
	fx->fb.hold = 1;
	assert_int_equal(txn_approve(fx->ta, row_t.id, "tester", &got, &err), 0);
	assert_int_equal(got.state, TXN_SUBMITTED);
	until_backend_holds(1);
	assert_int_equal(row("manual", "txn-approve", NULL), TXN_SUBMITTED);
	assert_false(poll_expect("manual", &t, SR_PENDING, -1));
	fake_answer(BACKEND_ISSUED);
	fx->fb.hold = 0;
	assert_int_equal(row("manual", "txn-approve", NULL), TXN_ISSUED);
	assert_true(poll_expect("manual", &t, SR_SUCCESS, -1));
	/* decided already */
	assert_int_equal(txn_approve(fx->ta, row_t.id, "tester", &got, &err), -SGW_EEXIST);
	assert_int_equal(txn_reject(fx->ta, row_t.id, "tester", "late", &got, &err), -SGW_EEXIST);
	sr_txn_clear(&again);
	sr_txn_clear(&t);
}

/* AWAITING_APPROVAL -> REJECTED, with the operator's reason for the device. */
static void
test_manual_reject(void **state)
{
	struct sr_txn t, again;
	struct sr_reply rep;
	struct store_txn row_t, got;
	struct sgw_err err = {{0}};

	(void)state;
	pkcsreq(&t, "dev-3", "txn-reject");
	send_req("manual", &t, &rep);
	assert_reply(&rep, SR_PENDING, -1);
	sr_reply_clear(&rep);
	assert_int_equal(row("manual", "txn-reject", &row_t), TXN_AWAITING_APPROVAL);
	assert_int_equal(txn_reject(fx->ta, row_t.id, "tester", "not this one", &got, &err), 0);
	assert_int_equal(row("manual", "txn-reject", NULL), TXN_REJECTED);
	certpoll(&t, &again);
	send_req("manual", &again, &rep);
	assert_reply(&rep, SR_FAILURE, FI_BADREQUEST);
	assert_string_equal(rep.failtext, "not this one");
	sr_reply_clear(&rep);
	sr_txn_clear(&again);
	pkcsreq(&again, "dev-3", "txn-reject");
	send_req("manual", &again, &rep);
	assert_reply(&rep, SR_FAILURE, FI_BADREQUEST);
	sr_reply_clear(&rep);
	assert_int_equal(fx->fb.submits, 0);
	assert_int_equal(txn_approve(fx->ta, row_t.id, "tester", &got, &err), -SGW_EEXIST);
	sr_txn_clear(&again);
	sr_txn_clear(&t);
}

/* AWAITING_APPROVAL -> EXPIRED: by the sweep, and when an approval comes late. */
static void
test_expiry(void **state)
{
	struct cfg_ra_profile *ra = (struct cfg_ra_profile *)profiles_find(fx->ps, "manual")->ra;
	int ttl = ra->pending_ttl;
	struct sr_txn t, late, again;
	struct sr_reply rep;
	struct store_txn row_t, got;
	struct sgw_err err = {{0}};

	(void)state;
	pkcsreq(&t, "dev-4", "txn-expire");
	send_req("manual", &t, &rep);
	sr_reply_clear(&rep);
	pkcsreq(&late, "dev-5", "txn-late");
	send_req("manual", &late, &rep);
	sr_reply_clear(&rep);
	assert_int_equal(row("manual", "txn-expire", NULL), TXN_AWAITING_APPROVAL);
	ra->pending_ttl = 0; /* what waited any time has waited too long */
	assert_int_equal(row("manual", "txn-late", &row_t), TXN_AWAITING_APPROVAL);
	assert_int_equal(txn_approve(fx->ta, row_t.id, "tester", &got, &err), -SGW_EDENIED);
	assert_int_equal(row("manual", "txn-late", NULL), TXN_EXPIRED);
	assert_int_equal(row("manual", "txn-expire", NULL), TXN_EXPIRED); /* swept with it */
	assert_int_equal(txn_expire_pending(fx->ta), 0);
	ra->pending_ttl = ttl;
	/* CertPoll: no such certificate; the PKCSReq again: refused */
	assert_false(poll_expect("manual", &t, SR_FAILURE, FI_BADCERTID));
	pkcsreq(&again, "dev-4", "txn-expire");
	send_req("manual", &again, &rep);
	assert_reply(&rep, SR_FAILURE, FI_BADREQUEST);
	sr_reply_clear(&rep);
	assert_int_equal(fx->fb.submits, 0);
	sr_txn_clear(&again);
	sr_txn_clear(&late);
	sr_txn_clear(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_manual_approve, reset),
	    cmocka_unit_test_setup(test_manual_reject, reset),
	    cmocka_unit_test_setup(test_expiry, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
