/* tests for backends/acme/acme_op.c: an operation ends in exactly one
 * callback, a failed response maps to the right status (problem types,
 * transport errors, bare HTTP statuses), a timer step runs from the loop,
 * state_dir paths are bounded, and a dns-01 record is removed through the
 * hook before the outcome (and at stop); acme_hook.c's bounded sync run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "acme/acme_op.h"

struct seen {
	int calls;
	enum backend_status st;
	int rc;
	char text[256];
};

static void
on_result(void *arg, struct backend_result *res)
{
	struct seen *s = arg;

	s->calls++;
	s->st = res->status;
	snprintf(s->text, sizeof(s->text), "%s",
		 res->status == BACKEND_PENDING ? res->handle : res->reason);
}

static void
on_op(void *arg, int rc, const char *reason)
{
	struct seen *s = arg;

	s->calls++;
	s->rc = rc;
	snprintf(s->text, sizeof(s->text), "%s", reason != NULL ? reason : "");
}

static void
acme_init(struct acme *a)
{
	memset(a, 0, sizeof(*a));
	LIST_INIT(&a->ops);
	a->name = "t";
	a->conf.state_dir = "/var/lib/acme";
}

static struct acme_op *
order_op(struct acme *a, struct seen *s)
{
	struct acme_op *op = acme_op_new(a, ACME_OP_ORDER, "tx1");

	assert_non_null(op);
	op->cb = on_result;
	op->arg = s;
	memset(s, 0, sizeof(*s));
	return op;
}

/* acme_op_fail_resp on a fresh op: the status it delivers */
static enum backend_status
fail_status(struct acme *a, const struct acme_resp *r, char *text, size_t size)
{
	struct seen s;

	acme_op_fail_resp(order_op(a, &s), "order", r);
	assert_int_equal(s.calls, 1);
	assert_true(LIST_EMPTY(&a->ops)); /* freed before the callback */
	snprintf(text, size, "%s", s.text);
	return s.st;
}

static enum backend_status
problem_status(struct acme *a, const char *type, long http)
{
	struct acme_resp r = {.status = http, .has_problem = 1};
	char text[256];

	snprintf(r.prob.type, sizeof(r.prob.type), "%s%s", ACME_PROBLEM_PREFIX, type);
	snprintf(r.prob.detail, sizeof(r.prob.detail), "detail");
	return fail_status(a, &r, text, sizeof(text));
}

static void
test_fail_resp(void **state)
{
	struct acme a;
	struct acme_resp r = {.err = -SGW_EIO};
	char text[256];

	(void)state;
	acme_init(&a);
	assert_int_equal(fail_status(&a, NULL, text, sizeof(text)), BACKEND_FAIL_TEMP);
	assert_string_equal(text, "ACME order: no response");
	snprintf(r.error, sizeof(r.error), "connect refused");
	assert_int_equal(fail_status(&a, &r, text, sizeof(text)), BACKEND_FAIL_TEMP);
	assert_string_equal(text, "ACME order: connect refused");
	assert_int_equal(problem_status(&a, "rateLimited", 429), BACKEND_FAIL_TEMP);
	assert_int_equal(problem_status(&a, "serverInternal", 500), BACKEND_FAIL_TEMP);
	assert_int_equal(problem_status(&a, "externalAccountRequired", 403), BACKEND_FAIL_PERM);
	assert_int_equal(problem_status(&a, "badSignatureAlgorithm", 400), BACKEND_FAIL_PERM);
	assert_int_equal(problem_status(&a, "rejectedIdentifier", 400), BACKEND_REJECTED);
	r = (struct acme_resp){.status = 503, .has_problem = 1};
	assert_int_equal(fail_status(&a, &r, text, sizeof(text)), BACKEND_FAIL_TEMP);
	r.status = 400;
	assert_int_equal(fail_status(&a, &r, text, sizeof(text)), BACKEND_REJECTED);
	r = (struct acme_resp){.status = 502};
	assert_int_equal(fail_status(&a, &r, text, sizeof(text)), BACKEND_FAIL_TEMP);
	assert_string_equal(text, "ACME order: HTTP 502");
	r.status = 404;
	assert_int_equal(fail_status(&a, &r, text, sizeof(text)), BACKEND_FAIL_PERM);
}

static void
test_outcomes(void **state)
{
	struct acme a;
	struct seen s;
	struct acme_op *op;

	(void)state;
	acme_init(&a);
	op = order_op(&a, &s);
	op->order_url = strdup("https://ca/order/1");
	acme_op_pending(op);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.st, BACKEND_PENDING);
	assert_string_equal(s.text, "https://ca/order/1");
	acme_op_result(order_op(&a, &s), BACKEND_REJECTED, "no %s", "way");
	assert_int_equal(s.st, BACKEND_REJECTED);
	assert_string_equal(s.text, "no way");
	/* a revoke reports through its own callback: 0 only for success */
	op = acme_op_new(&a, ACME_OP_REVOKE, "0a");
	op->op_cb = on_op;
	op->arg = &s;
	memset(&s, 0, sizeof(s));
	acme_op_result(op, BACKEND_FAIL_PERM, "gone");
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.rc, -SGW_EBACKEND);
	assert_string_equal(s.text, "gone");
	/* freed without a callback (stop) */
	op = order_op(&a, &s);
	acme_op_free(op);
	assert_int_equal(s.calls, 0);
	assert_true(LIST_EMPTY(&a.ops));
}

static void
step_pending(struct acme_op *op, struct acme_resp *r)
{
	assert_null(r);
	op->order_url = strdup("later");
	acme_op_pending(op);
}

static void
test_later(void **state)
{
	struct acme a;
	struct seen s;
	struct acme_op *op;

	(void)state;
	acme_init(&a);
	a.base = event_base_new();
	op = order_op(&a, &s);
	assert_int_equal(acme_op_later(op, 0, step_pending), 0);
	assert_int_equal(s.calls, 0); /* never from inside the caller */
	event_base_loop(a.base, EVLOOP_ONCE);
	assert_int_equal(s.calls, 1);
	assert_string_equal(s.text, "later");
	event_base_free(a.base);
}

static void
test_state_path(void **state)
{
	struct acme a;
	char buf[64];

	(void)state;
	acme_init(&a);
	assert_int_equal(acme_state_path(&a, NULL, "account.key", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/var/lib/acme/account.key");
	assert_int_equal(acme_state_path(&a, "issued", "0a.pem", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/var/lib/acme/issued/0a.pem");
	assert_int_equal(acme_state_path(&a, "issued", "0a.pem", buf, 20), -SGW_EINVAL);
}

/* A hook that appends "verb name value" to dir/calls (sleeps on "slow"). */
static void
hook_make(char *dir, char *hook, size_t size)
{
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(hook, size, "%s/hook.sh", dir);
	f = fopen(hook, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n[ \"$1\" = slow ] && exec sleep 10\necho \"$1 $2 $3\" >>%s/calls\n",
		dir);
	fclose(f);
	assert_int_equal(chmod(hook, 0700), 0);
}

static void
hook_calls(const char *dir, char *buf, size_t size)
{
	char p[300];
	FILE *f;
	size_t n = 0;

	snprintf(p, sizeof(p), "%s/calls", dir);
	buf[0] = '\0';
	if ((f = fopen(p, "r")) != NULL) {
		n = fread(buf, 1, size - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	unlink(p);
}

static void
hook_cleanup(const char *dir, const char *hook)
{
	unlink(hook);
	rmdir(dir);
}

static struct acme_op *
txt_op(struct acme *a, struct seen *s)
{
	struct acme_op *op = order_op(a, s);

	op->txt_name = strdup("_acme-challenge.a.test");
	op->txt_value = strdup("VALUE1");
	return op;
}

static void
test_txt_removed(void **state)
{
	char dir[] = "/tmp/acme-hook.XXXXXX", hook[300], calls[512];
	struct acme a;
	struct seen s;

	(void)state;
	hook_make(dir, hook, sizeof(hook));
	acme_init(&a);
	a.base = event_base_new();
	a.conf.dns01_hook = hook;
	a.conf.timeout = 10;
	/* an outcome waits for "del", then arrives once */
	acme_op_result(txt_op(&a, &s), BACKEND_FAIL_TEMP, "timed out");
	assert_int_equal(s.calls, 0);
	while (s.calls == 0)
		event_base_loop(a.base, EVLOOP_ONCE);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.st, BACKEND_FAIL_TEMP);
	assert_true(LIST_EMPTY(&a.ops));
	hook_calls(dir, calls, sizeof(calls));
	assert_string_equal(calls, "del _acme-challenge.a.test VALUE1\n");
	/* PENDING too */
	acme_op_pending(txt_op(&a, &s));
	while (s.calls == 0)
		event_base_loop(a.base, EVLOOP_ONCE);
	assert_int_equal(s.st, BACKEND_PENDING);
	hook_calls(dir, calls, sizeof(calls));
	assert_string_equal(calls, "del _acme-challenge.a.test VALUE1\n");
	/* stop: no callback, the record goes at once */
	acme_op_free(txt_op(&a, &s));
	assert_int_equal(s.calls, 0);
	hook_calls(dir, calls, sizeof(calls));
	assert_string_equal(calls, "del _acme-challenge.a.test VALUE1\n");
	/* stop while "del" runs: killed, then run again synchronously */
	acme_op_result(txt_op(&a, &s), BACKEND_REJECTED, "invalid");
	acme_op_free(LIST_FIRST(&a.ops));
	assert_int_equal(s.calls, 0);
	hook_calls(dir, calls, sizeof(calls));
	assert_non_null(strstr(calls, "del _acme-challenge.a.test VALUE1\n"));
	event_base_free(a.base);
	hook_cleanup(dir, hook);
}

static void
test_hook_sync(void **state)
{
	char dir[] = "/tmp/acme-hook.XXXXXX", hook[300], calls[512];
	time_t t0;

	(void)state;
	hook_make(dir, hook, sizeof(hook));
	assert_int_equal(acme_hook_run_sync(hook, "del", "n", "v", 5), 0);
	hook_calls(dir, calls, sizeof(calls));
	assert_string_equal(calls, "del n v\n");
	t0 = time(NULL);
	assert_int_equal(acme_hook_run_sync(hook, "slow", "n", "v", 1), -1); /* killed */
	assert_true(time(NULL) - t0 <= 3);
	assert_int_equal(acme_hook_run_sync("/nonexistent/hook", "del", "n", "v", 1), -1);
	hook_cleanup(dir, hook);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fail_resp),	cmocka_unit_test(test_outcomes),
	    cmocka_unit_test(test_later),	cmocka_unit_test(test_state_path),
	    cmocka_unit_test(test_txt_removed), cmocka_unit_test(test_hook_sync),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
