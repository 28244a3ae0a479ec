/* tests for gateway/txn/txn_admin.c: an operator's approval and rejection
 * of what waits for one, the expiry of what nobody decided on, the re-sends
 * of a held request; through engine_fixture.h (real pkiMessages over HTTP, a
 * fake backend and validator).  The state machine is drawn in
 * tests/unit/gateway/txn/txn_pkiop.c. */
#include "engine_fixture.h"

/* txn_approve / txn_reject's step, inline on the fixture's SQLite store:
 * done has run when they return. */
struct decided {
	int called, rc;
	struct store_txn *t;
	struct sgw_err *err;
};

static void
decided(void *arg, int rc, const struct store_txn *t, const struct sgw_err *err)
{
	struct decided *d = arg;

	d->called = 1;
	d->rc = rc;
	*d->t = *t;
	d->t->csr.sealed = NULL; /* borrowed */
	d->t->csr.sealed_len = 0;
	*d->err = *err;
}

static int
approve(int64_t id, const char *admin, struct store_txn *t, struct sgw_err *err)
{
	struct decided d = {.t = t, .err = err};

	assert_int_equal(txn_approve(fx->ta, id, admin, decided, &d), 0);
	assert_true(d.called);
	return d.rc;
}

static int
reject(int64_t id, const char *admin, const char *reason, struct store_txn *t, struct sgw_err *err)
{
	struct decided d = {.t = t, .err = err};

	assert_int_equal(txn_reject(fx->ta, id, admin, reason, decided, &d), 0);
	assert_true(d.called);
	return d.rc;
}

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
	assert_int_equal(approve(row_t.id, "tester", &got, &err), 0);
	assert_int_equal(got.state, TXN_SUBMITTED);
	until_backend_holds(1);
	assert_int_equal(row("manual", "txn-approve", NULL), TXN_SUBMITTED);
	assert_false(poll_expect("manual", &t, SR_PENDING, -1));
	fake_answer(BACKEND_ISSUED);
	fx->fb.hold = 0;
	assert_int_equal(row("manual", "txn-approve", NULL), TXN_ISSUED);
	assert_true(poll_expect("manual", &t, SR_SUCCESS, -1));
	/* decided already */
	assert_int_equal(approve(row_t.id, "tester", &got, &err), -SGW_EEXIST);
	assert_int_equal(reject(row_t.id, "tester", "late", &got, &err), -SGW_EEXIST);
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
	assert_int_equal(reject(row_t.id, "tester", "not this one", &got, &err), 0);
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
	/* the very same bytes again: decided by an operator, so held: its answer */
	send_req("manual", &again, &rep);
	assert_reply(&rep, SR_FAILURE, FI_BADREQUEST);
	assert_string_equal(rep.failtext, "not this one");
	sr_reply_clear(&rep);
	assert_int_equal(fx->fb.submits, 0);
	assert_int_equal(approve(row_t.id, "tester", &got, &err), -SGW_EEXIST);
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
	assert_int_equal(approve(row_t.id, "tester", &got, &err), -SGW_EDENIED);
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
	/* the very same bytes again: held, so its answer, not a replay refused */
	send_req("manual", &again, &rep);
	assert_reply(&rep, SR_FAILURE, FI_BADREQUEST);
	assert_string_equal(rep.failtext, "not approved within 0 s");
	sr_reply_clear(&rep);
	assert_int_equal(fx->fb.submits, 0);
	sr_txn_clear(&again);
	sr_txn_clear(&late);
	sr_txn_clear(&t);
}

/* A manual PKCSReq sent at the clock's time: AWAITING_APPROVAL; its row id. */
static int64_t
held(const char *cn, const char *txid, struct sr_txn *t)
{
	struct sr_reply rep;
	struct store_txn row_t;

	pkcsreq(t, cn, txid);
	send_req("manual", t, &rep);
	assert_reply(&rep, SR_PENDING, -1);
	sr_reply_clear(&rep);
	assert_int_equal(row("manual", txid, &row_t), TXN_AWAITING_APPROVAL);
	assert_int_equal(row_t.created, fx->clock);
	return row_t.id;
}

/* AWAITING_APPROVAL -> EXPIRED once created + pending_ttl (1 h) <= now, on
 * the clock: a late rejection, a late approval, the sweep; an approval at
 * 1 h - 1 s still counts. */
static void
test_expiry_clock(void **state)
{
	int64_t t0 = fx->clock, rej, appr, in_time;
	struct sr_txn t[4];
	struct store_txn got;
	struct sgw_err err = {{0}};

	(void)state;
	rej = held("dev-e1", "txn-ttl-reject", &t[0]);
	fx->clock = t0 + 10;
	appr = held("dev-e2", "txn-ttl-approve", &t[1]);
	fx->clock = t0 + 20;
	(void)held("dev-e3", "txn-ttl-sweep", &t[2]);
	in_time = held("dev-e4", "txn-ttl-in-time", &t[3]);
	fx->clock = t0 + 3600;
	assert_int_equal(reject(rej, "tester", "late", &got, &err), -SGW_EDENIED);
	assert_int_equal(row("manual", "txn-ttl-reject", NULL), TXN_EXPIRED);
	assert_int_equal(row("manual", "txn-ttl-approve", NULL), TXN_AWAITING_APPROVAL);
	fx->clock = t0 + 3610;
	assert_int_equal(approve(appr, "tester", &got, &err), -SGW_EDENIED);
	assert_non_null(strstr(err.msg, "expired"));
	assert_int_equal(row("manual", "txn-ttl-approve", NULL), TXN_EXPIRED);
	fx->clock = t0 + 3619;
	(void)txn_expire_pending(fx->ta);
	assert_int_equal(row("manual", "txn-ttl-sweep", NULL), TXN_AWAITING_APPROVAL);
	fx->fb.hold = 1;
	assert_int_equal(approve(in_time, "tester", &got, &err), 0);
	until_backend_holds(1);
	fake_answer(BACKEND_ISSUED);
	fx->fb.hold = 0;
	assert_int_equal(row("manual", "txn-ttl-in-time", NULL), TXN_ISSUED);
	fx->clock = t0 + 3620;
	assert_true(txn_expire_pending(fx->ta) >= 1);
	assert_int_equal(row("manual", "txn-ttl-sweep", &got), TXN_EXPIRED);
	assert_string_equal(got.reason, "not approved within 3600 s");
	assert_false(poll_expect("manual", &t[2], SR_FAILURE, FI_BADCERTID));
	assert_int_equal(fx->fb.submits, 1);
	for (size_t i = 0; i < 4; i++)
		sr_txn_clear(&t[i]);
}

/* What a restart does: a new txn_admin, with its start-up sweep and
 * resubmission, and its timer. */
static void
restart(void)
{
	txn_admin_free(fx->ta);
	assert_non_null(fx->gw.txn_admin = fx->ta = txn_admin_new(&fx->gw));
}

/* The loop runs until the backend has had n submissions: an approved
 * request goes to it once its sealed CSR is opened on a worker. */
static void
until_submits(int n)
{
	while (fx->fb.submits < n)
		assert_true(event_base_loop(fx->base, EVLOOP_ONCE) >= 0);
}

/* The loop runs until the backend has answered every call. */
static void
until_backend_idle(void)
{
	while (fx->fb.nq > 0)
		assert_true(event_base_loop(fx->base, EVLOOP_ONCE) >= 0);
}

/* An approved transaction whose submission the backend refused: it stays
 * SUBMITTED; at start-up it is submitted again at once, whatever its age. */
static void
test_restart_resubmits(void **state)
{
	struct sr_reply rep;
	struct sr_txn t;
	struct store_txn got;
	struct sgw_err err = {{0}};
	int64_t id;

	(void)state;
	id = held("dev-rs", "txn-restart", &t);
	fx->fb.submit_rc = -SGW_EIO;
	assert_int_equal(approve(id, "tester", &got, &err), 0);
	until_submits(1);
	assert_int_equal(row("manual", "txn-restart", NULL), TXN_SUBMITTED);
	assert_false(poll_expect("manual", &t, SR_PENDING, -1));
	/* the same request re-sent once the row is over 120 s old: PENDING, and
	 * the row stays approved (not held for approval again); the timer or a
	 * restart submits it */
	fx->clock += 121;
	sr_txn_clear(&t);
	pkcsreq(&t, "dev-rs", "txn-restart");
	send_req("manual", &t, &rep);
	assert_reply(&rep, SR_PENDING, -1);
	sr_reply_clear(&rep);
	assert_int_equal(row("manual", "txn-restart", NULL), TXN_SUBMITTED);
	assert_int_equal(fx->fv.checks, 1);
	fx->fb.submit_rc = 0;
	restart();
	until_submits(2);
	until_backend_idle();
	assert_int_equal(row("manual", "txn-restart", NULL), TXN_ISSUED);
	assert_true(poll_expect("manual", &t, SR_SUCCESS, -1));
	sr_txn_clear(&t);
}

/* A SUBMITTED transaction written before this process started that the
 * start-up resubmission could not start (the backend refused it then): the
 * device's CertPoll submits it again at once, without waiting for the timer. */
static void
test_certpoll_resumes(void **state)
{
	struct sr_txn t;
	struct store_txn got;
	struct sgw_err err = {{0}};
	int64_t id, t0 = fx->clock;

	(void)state;
	id = held("dev-cp", "txn-certpoll-resume", &t);
	fx->fb.submit_rc = -SGW_EIO;
	assert_int_equal(approve(id, "tester", &got, &err), 0);
	until_submits(1);
	fx->clock = t0 + 10;
	restart();
	until_submits(2); /* refused again */
	assert_int_equal(row("manual", "txn-certpoll-resume", NULL), TXN_SUBMITTED);
	fx->fb.submit_rc = 0;
	assert_false(poll_expect("manual", &t, SR_PENDING, -1));
	until_submits(3);
	until_backend_idle();
	assert_int_equal(row("manual", "txn-certpoll-resume", NULL), TXN_ISSUED);
	assert_true(poll_expect("manual", &t, SR_SUCCESS, -1));
	assert_int_equal(fx->fb.submits, 3);
	sr_txn_clear(&t);
}

/* An approved request is checked against the CSR policy in force when it
 * is submitted: the configuration changed since it was recorded (here: RSA
 * keys must now be larger than the device's), so it is not submitted but
 * FAILED with the policy's reason for the device. */
static void
test_policy_at_submission(void **state)
{
	struct cfg_scep_profile *pc =
	    (struct cfg_scep_profile *)profiles_find(fx->ps, "manual")->cfg;
	int bits = pc->csr_policy.min_rsa_bits;
	struct sr_txn t;
	struct store_txn got;
	struct sgw_err err = {{0}};
	int64_t id;

	(void)state;
	id = held("dev-pol", "txn-policy-now", &t);
	pc->csr_policy.min_rsa_bits = 16384;
	assert_int_equal(approve(id, "tester", &got, &err), 0);
	while (row("manual", "txn-policy-now", &got) == TXN_SUBMITTED)
		assert_true(event_base_loop(fx->base, EVLOOP_ONCE) >= 0);
	pc->csr_policy.min_rsa_bits = bits;
	assert_int_equal(got.state, TXN_FAILED);
	assert_non_null(strstr(got.reason, "enroll again"));
	assert_int_equal(fx->fb.submits, 0);
	assert_false(poll_expect("manual", &t, SR_FAILURE, FI_BADREQUEST));
	sr_txn_clear(&t);
}

static void
witness(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/* The loop runs past the timer's next sweep: it runs every second here, and
 * a timeout due later than it fires after it. */
static void
past_next_sweep(void)
{
	struct timeval tv = {1, 100000};
	int fired = 0;

	assert_int_equal(event_base_once(fx->base, -1, EV_TIMEOUT, witness, &fired, &tv), 0);
	while (!fired)
		assert_true(event_base_loop(fx->base, EVLOOP_ONCE) >= 0);
}

/* The timer (every pending_ttl / 4, 1 s here): it expires what waited too
 * long, and submits again an approved transaction left SUBMITTED once its
 * last update is 120 s old. */
static void
test_timer(void **state)
{
	struct cfg_ra_profile *ra = (struct cfg_ra_profile *)profiles_find(fx->ps, "manual")->ra;
	int ttl = ra->pending_ttl;
	int64_t t0 = fx->clock, id;
	struct sr_txn a, b;
	struct store_txn got;
	struct sgw_err err = {{0}};

	(void)state;
	(void)held("dev-ta", "txn-timer-expire", &a);
	id = held("dev-tb", "txn-timer-resume", &b);
	fx->fb.submit_rc = -SGW_EIO;
	assert_int_equal(approve(id, "tester", &got, &err), 0);
	until_submits(1);
	ra->pending_ttl = 4;
	restart(); /* the backend still refuses the start-up resubmission */
	until_submits(2);
	fx->fb.submit_rc = 0;
	fx->clock = t0 + 119;
	past_next_sweep();
	assert_int_equal(row("manual", "txn-timer-expire", NULL), TXN_EXPIRED);
	assert_int_equal(row("manual", "txn-timer-resume", NULL), TXN_SUBMITTED);
	assert_int_equal(fx->fb.submits, 2);
	fx->clock = t0 + 120;
	past_next_sweep();
	until_submits(3);
	until_backend_idle();
	assert_int_equal(row("manual", "txn-timer-resume", NULL), TXN_ISSUED);
	ra->pending_ttl = ttl;
	restart();
	sr_txn_clear(&a);
	sr_txn_clear(&b);
}

/* The start-up pass could not list what to resume (the store was
 * unavailable, as PostgreSQL at start-up): the timer's next tick makes the
 * start-up pass again, so a row written in the very second of the restart
 * (which the timer's own pass, rows older than the start, skips) is
 * resumed too. */
static void
test_restart_store_down(void **state)
{
	struct cfg_ra_profile *ra = (struct cfg_ra_profile *)profiles_find(fx->ps, "manual")->ra;
	int ttl = ra->pending_ttl, ticks = 0;
	struct store_txn got;
	struct sgw_err err = {{0}};
	struct sr_txn t;
	int64_t id;

	(void)state;
	id = held("dev-sd", "txn-store-down", &t);
	fx->fb.submit_rc = -SGW_EIO;
	assert_int_equal(approve(id, "tester", &got, &err), 0);
	until_submits(1);
	fx->fb.submit_rc = 0;
	ra->pending_ttl = 4; /* the timer every second */
	fx->store_fault = "txn_list";
	restart(); /* same second as the row's last write */
	fx->store_fault = NULL;
	assert_int_equal(fx->fb.submits, 1);
	while (fx->fb.submits < 2 && ticks++ < 3)
		past_next_sweep();
	until_submits(2);
	until_backend_idle();
	assert_int_equal(row("manual", "txn-store-down", NULL), TXN_ISSUED);
	ra->pending_ttl = ttl;
	restart();
	sr_txn_clear(&t);
}

/* Write row id again as instance `who` (its `updated` unchanged). */
static void
written_by(int64_t id, const char *who)
{
	struct store_txn t = {0};

	assert_int_equal(store_txn_get(fx->store, id, &t), 0);
	store_set_instance(fx->store, who);
	assert_int_equal(store_txn_update(fx->store, &t), 0);
	store_txn_clear(&t);
	assert_int_equal(store_txn_get(fx->store, id, &t), 0);
	assert_string_equal(t.instance, who);
	store_txn_clear(&t);
}

static void
lease(const char *job, const char *holder, int64_t now, int ttl, int want)
{
	int held = -1;

	assert_int_equal(store_lease_take(fx->store, job, holder, now, ttl, &held), 0);
	assert_int_equal(held, want);
}

/* Two instances on one store (issue 20), this one "gw-a": a SUBMITTED
 * transaction that live instance gw-b wrote is its work, neither the
 * start-up pass, the timer nor a CertPoll here touch it; once gw-b's lease
 * expired it is resumed, but only by the holder of the sweep's lease: while
 * gw-c holds it, gw-a waits, and takes the sweep over when gw-c's expires. */
static void
test_cluster_stranded(void **state)
{
	struct cfg_ra_profile *ra = (struct cfg_ra_profile *)profiles_find(fx->ps, "manual")->ra;
	int ttl = ra->pending_ttl, submits;
	int64_t t0 = fx->clock, id;
	struct sr_txn t;
	struct store_txn got;
	struct sgw_err err = {{0}};

	(void)state;
	id = held("dev-cl", "txn-cluster", &t);
	fx->fb.submit_rc = -SGW_EIO;
	assert_int_equal(approve(id, "tester", &got, &err), 0);
	until_submits(1);
	fx->fb.submit_rc = 0;
	submits = fx->fb.submits;
	assert_int_equal(row("manual", "txn-cluster", NULL), TXN_SUBMITTED);
	written_by(id, "gw-b");
	lease("instance:gw-b", "gw-b", t0, 30, 1); /* gw-b lives until t0 + 30 */
	lease("txn-sweep", "gw-c", t0, 1000, 1);   /* gw-c sweeps until t0 + 1000 */
	store_set_instance(fx->store, "gw-a");
	ra->pending_ttl = 4; /* the timer every second */
	restart();
	past_next_sweep();
	assert_false(poll_expect("manual", &t, SR_PENDING, -1)); /* CertPoll: not ours */
	past_next_sweep();
	assert_int_equal(fx->fb.submits, submits);
	assert_int_equal(row("manual", "txn-cluster", NULL), TXN_SUBMITTED);
	lease("instance:gw-a", "gw-b", t0, 30, 0); /* gw-a renews its own */

	fx->clock = t0 + 31; /* gw-b died; gw-c still sweeps */
	past_next_sweep();
	assert_int_equal(fx->fb.submits, submits);
	lease("txn-sweep", "gw-a", fx->clock, 30, 0);

	fx->clock = t0 + 1001; /* gw-c died too: gw-a takes the sweep over */
	past_next_sweep();
	until_submits(submits + 1);
	until_backend_idle();
	assert_int_equal(row("manual", "txn-cluster", NULL), TXN_ISSUED);
	assert_true(poll_expect("manual", &t, SR_SUCCESS, -1));
	assert_int_equal(fx->fb.submits, submits + 1);
	lease("txn-sweep", "gw-c", fx->clock, 30, 0); /* gw-a holds it now */
	ra->pending_ttl = ttl;
	store_set_instance(fx->store, "");
	restart();
	sr_txn_clear(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_manual_approve, reset),
	    cmocka_unit_test_setup(test_manual_reject, reset),
	    cmocka_unit_test_setup(test_expiry, reset),
	    cmocka_unit_test_setup(test_expiry_clock, reset),
	    cmocka_unit_test_setup(test_restart_resubmits, reset),
	    cmocka_unit_test_setup(test_certpoll_resumes, reset),
	    cmocka_unit_test_setup(test_policy_at_submission, reset),
	    cmocka_unit_test_setup(test_timer, reset),
	    cmocka_unit_test_setup(test_restart_store_down, reset),
	    cmocka_unit_test_setup(test_cluster_stranded, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
