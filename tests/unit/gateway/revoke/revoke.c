/* tests for gateway/revoke/revoke.c: CRLReason names, serial normalization and
 * revoke_start() against the store and a fake backend (engine_fixture.h:
 * the certificates are issued through the engine).  The subcommand
 * (revoke_cli.c) runs in tests/integration/t_getcert.sh, the admin API's
 * revocation in t_approval.sh, the Intune feed's in t_intune.sh. */
#include "revoke.h"
#include "gateway/txn/engine_fixture.h"

static void
test_reasons(void **state)
{
	(void)state;
	assert_int_equal(revoke_reason_parse("keyCompromise"), 1);
	assert_int_equal(revoke_reason_parse("KEYCOMPROMISE"), 1);
	assert_int_equal(revoke_reason_parse("superseded"), 4);
	assert_int_equal(revoke_reason_parse("aACompromise"), 10);
	assert_int_equal(revoke_reason_parse("0"), 0);
	assert_int_equal(revoke_reason_parse("6"), 6);
	assert_int_equal(revoke_reason_parse("7"), -1); /* unused */
	assert_int_equal(revoke_reason_parse("8"), -1); /* removeFromCRL: delta CRLs only */
	assert_int_equal(revoke_reason_parse("11"), -1);
	assert_int_equal(revoke_reason_parse("-1"), -1);
	assert_int_equal(revoke_reason_parse("4x"), -1);
	assert_int_equal(revoke_reason_parse(""), -1);
	assert_int_equal(revoke_reason_parse(NULL), -1);
	assert_int_equal(revoke_reason_parse("sleepy"), -1);
	assert_string_equal(revoke_reason_name(1), "keyCompromise");
	assert_string_equal(revoke_reason_name(8), "unknown");
	assert_string_equal(revoke_reason_name(99), "unknown");
}

static void
test_serial(void **state)
{
	char out[41];

	(void)state;
	assert_int_equal(revoke_serial_normalize("0x00AB:cd:EF", out, sizeof(out)), 0);
	assert_string_equal(out, "abcdef");
	assert_int_equal(revoke_serial_normalize("0730FF", out, sizeof(out)), 0);
	assert_string_equal(out, "0730ff"); /* a leading zero nibble stays: whole octets */
	assert_int_equal(revoke_serial_normalize("730ff", out, sizeof(out)), 0);
	assert_string_equal(out, "0730ff");
	assert_int_equal(revoke_serial_normalize("000", out, sizeof(out)), 0);
	assert_string_equal(out, "0");
	assert_int_equal(
	    revoke_serial_normalize("7056437657D1DD1EB3025A31CC5961B7", out, sizeof(out)), 0);
	assert_string_equal(out, "7056437657d1dd1eb3025a31cc5961b7");
	assert_int_equal(revoke_serial_normalize("12g4", out, sizeof(out)), -1);
	assert_int_equal(
	    revoke_serial_normalize("1102030405060708090a0b0c0d0e0f10111213141", out, sizeof(out)),
	    -1); /* 41 digits */
	assert_int_equal(revoke_serial_normalize("ab", out, 2), -1);
	assert_int_equal(revoke_serial_normalize("abc", out, 4), -1); /* "0abc" does not fit */
}

struct rv {
	struct revoke_op op;
	int done;
};

static void
rv_done(void *arg, struct revoke_op *op)
{
	struct rv *v = arg;

	assert_ptr_equal(op, &v->op);
	v->done = 1;
}

/* revoke_start() for v->op as set; its return, and when 0 the loop runs
 * until the callback: then its refusal (op.rc), or 0. */
static int
rv_run(struct rv *v, const char *serial, int reason)
{
	struct sgw_err err = {{0}};
	int r;

	v->done = 0;
	v->op.reason = reason;
	v->op.cb = rv_done;
	v->op.arg = v;
	snprintf(v->op.serial, sizeof(v->op.serial), "%s", serial);
	r = revoke_start(&v->op, &err);
	while (r == 0 && !v->done)
		assert_true(event_base_loop(fx->base, EVLOOP_ONCE) >= 0);
	if (r < 0) {
		assert_true(err.msg[0] != '\0');
		return r;
	}
	if (v->op.rc < 0) /* refused: the callback says why */
		assert_true(v->op.backend_why[0] != '\0');
	return v->op.rc;
}

/* As the admin API asks: the store, the profiles, refusing what is revoked. */
static struct rv
admin_style(void)
{
	struct rv v = {{0}};

	v.op.store = fx->store;
	v.op.backend_of = profiles_backend_of;
	v.op.backend_of_ctx = fx->ps;
	v.op.refuse_revoked = 1;
	return v;
}

/* A certificate issued through the engine: its serial. */
static void
issue(const char *txid, char *serial, size_t size)
{
	struct sr_txn t;
	struct sr_reply rep;

	pkcsreq(&t, "rev-dev", txid);
	send_req("auto", &t, &rep);
	assert_reply(&rep, SR_SUCCESS, -1);
	assert_int_equal(txn_cert_serial(rep.cert, serial, size), 0);
	sr_reply_clear(&rep);
	sr_txn_clear(&t);
}

/* The store's revocation reason for serial, or -1 while not revoked. */
static int
stored_reason(const char *serial)
{
	struct store_cert c = {0};
	int r;

	assert_int_equal(store_cert_find_serial(fx->store, serial, &c), 0);
	r = c.revoked ? c.revoke_reason : -1;
	store_cert_clear(&c);
	return r;
}

static void
test_revoke_start(void **state)
{
	struct rv v = admin_style();
	char serial[80];

	(void)state;
	issue("rev-1", serial, sizeof(serial));
	assert_int_equal(rv_run(&v, serial, 1), 0);
	assert_int_equal(v.op.backend_rc, 0);
	assert_int_equal(v.op.store_rc, 0);
	assert_string_equal(v.op.issuer, fx->ps->v[0].issuer);
	assert_ptr_equal(v.op.backend, fx->fake_b); /* the profile's that issues under it */
	assert_int_equal(fx->fb.revokes, 1);
	assert_string_equal(fx->fb.revoked_serial, serial);
	assert_int_equal(fx->fb.revoked_reason, 1);
	assert_int_equal(stored_reason(serial), 1);
	/* revoked in the store: refused at once, the backend not asked */
	v = admin_style();
	assert_int_equal(rv_run(&v, serial, 1), -SGW_EEXIST);
	assert_int_equal(fx->fb.revokes, 1);
	/* asked anyway (the CLI): the CA had revoked it, the store had it marked */
	v = admin_style();
	v.op.refuse_revoked = 0;
	fx->fb.revoke_rc = -SGW_EEXIST;
	assert_int_equal(rv_run(&v, serial, 4), 0);
	assert_int_equal(v.op.backend_rc, -SGW_EEXIST);
	assert_int_equal(v.op.store_rc, -SGW_EEXIST);
	assert_int_equal(fx->fb.revokes, 2);
	assert_int_equal(stored_reason(serial), 1);
	v = admin_style();
	assert_int_equal(rv_run(&v, "0badbeef", 1), -SGW_ENOTFOUND);
}

static void
test_revoke_refused(void **state)
{
	struct rv v = admin_style();
	char serial[80];

	(void)state;
	issue("rev-2", serial, sizeof(serial));
	/* the CA refuses: the store is left as it was */
	fx->fb.revoke_rc = -SGW_EBACKEND;
	assert_int_equal(rv_run(&v, serial, 0), 0);
	assert_int_equal(v.op.backend_rc, -SGW_EBACKEND);
	assert_string_equal(v.op.backend_why, "the fake CA refuses");
	assert_int_equal(stored_reason(serial), -1);
	/* no profile's backend issues under its issuer */
	v = admin_style();
	v.op.backend_of = profiles_backend_of;
	v.op.backend_of_ctx = NULL;
	assert_int_equal(rv_run(&v, serial, 0), -SGW_EINVAL);
	/* a backend that is not running (the configured one, never started) */
	v = admin_style();
	v.op.backend = fx->orig_b[0];
	assert_int_equal(rv_run(&v, serial, 0), -SGW_EBACKEND);
	/* the Intune feed's way: its own backend, and without a store nothing is ours */
	v = (struct rv){.op = {.backend = fx->fake_b}};
	assert_int_equal(rv_run(&v, serial, 0), -SGW_ENOTFOUND);
	v.op.store = fx->store;
	fx->fb.revoke_rc = 0;
	assert_int_equal(rv_run(&v, serial, 0), 0);
	assert_int_equal(v.op.backend_rc, 0);
	assert_int_equal(v.op.store_rc, 0);
	assert_int_equal(stored_reason(serial), 0);
	assert_int_equal(fx->fb.revokes, 2);
}

int
main(void)
{
	const struct CMUnitTest pure[] = {
	    cmocka_unit_test(test_reasons),
	    cmocka_unit_test(test_serial),
	};
	const struct CMUnitTest engine[] = {
	    cmocka_unit_test_setup(test_revoke_start, reset),
	    cmocka_unit_test_setup(test_revoke_refused, reset),
	};

	return cmocka_run_group_tests(pure, NULL, NULL) |
	       cmocka_run_group_tests(engine, setup, teardown);
}
