/* acme_op.c: one ACME operation (a submit, a poll or a revoke) from its
 * creation to its one outcome, and the paths under state_dir.  The bottom of
 * the backend: acme_http.c, acme_account.c, acme_order.c and acme_revoke.c
 * end their operations here, and nothing here calls back up. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme_op.h"
#include "log.h"

int
acme_state_path(const struct acme *a, const char *sub, const char *name, char *buf, size_t size)
{
	int n = sub != NULL ? snprintf(buf, size, "%s/%s/%s", a->conf.state_dir, sub, name)
			    : snprintf(buf, size, "%s/%s", a->conf.state_dir, name);

	return n > 0 && (size_t)n < size ? 0 : -SGW_EINVAL;
}

struct acme_op *
acme_op_new(struct acme *a, enum acme_op_kind kind, const char *txn)
{
	struct acme_op *op = calloc(1, sizeof(*op));

	if (op == NULL)
		return NULL;
	op->a = a;
	op->kind = kind;
	snprintf(op->txn_buf, sizeof(op->txn_buf), "%s", txn != NULL ? txn : "-");
	op->txn = op->txn_buf;
	op->deadline = time(NULL) + a->conf.wait;
	LIST_INSERT_HEAD(&a->ops, op, link);
	return op;
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct acme_op *op = arg;
	acme_step step = op->timer_step;

	(void)fd;
	(void)what;
	op->timer_step = NULL;
	step(op, NULL);
}

int
acme_op_later(struct acme_op *op, int seconds, acme_step step)
{
	struct timeval tv = {seconds > 0 ? seconds : 0, 0};

	if (op->timer == NULL && (op->timer = evtimer_new(op->a->base, on_timer, op)) == NULL)
		return -SGW_ENOMEM;
	op->timer_step = step;
	return evtimer_add(op->timer, &tv) == 0 ? 0 : -SGW_ENOMEM;
}

static void
txt_forget(struct acme_op *op)
{
	free(op->txt_name);
	free(op->txt_value);
	op->txt_name = op->txt_value = NULL;
}

static void
txt_removed(void *arg, int status)
{
	struct acme_op *op = arg;

	op->hook = NULL;
	if (status != 0)
		log_warn("acme %s: txn=%s: dns-01 hook 'del' for %s failed (status %d): the "
			 "record may stay",
			 op->a->name, op->txn, op->txt_name, status);
	txt_forget(op);
	op->txt_then(op, NULL);
}

void
acme_op_txt_del(struct acme_op *op, acme_step then)
{
	const struct acme *a = op->a;

	if (op->txt_name == NULL) {
		then(op, NULL);
		return;
	}
	op->txt_then = then;
	op->hook = acme_hook_run(a->base, a->conf.dns01_hook, "del", op->txt_name, op->txt_value,
				 a->conf.timeout, txt_removed, op);
	if (op->hook == NULL) {
		log_warn(
		    "acme %s: txn=%s: dns-01 hook 'del' for %s did not start: the record stays",
		    a->name, op->txn, op->txt_name);
		txt_forget(op);
		then(op, NULL);
	}
}

/* At stop the loop no longer runs: the record goes synchronously, each hook
 * bounded by `timeout` (at most 5 s). */
static void
txt_del_now(struct acme_op *op)
{
	const struct acme *a = op->a;
	int t = a->conf.timeout < 5 ? a->conf.timeout : 5;

	if (acme_hook_run_sync(a->conf.dns01_hook, "del", op->txt_name, op->txt_value, t) != 0)
		log_warn("acme %s: txn=%s: dns-01 hook 'del' for %s failed at stop: the record "
			 "may stay",
			 a->name, op->txn, op->txt_name);
	txt_forget(op);
}

void
acme_op_free(struct acme_op *op)
{
	LIST_REMOVE(op, link);
	http_call_cancel(op->call);
	acme_hook_cancel(op->hook); /* an "add" may have published it: "del" anyway */
	if (op->txt_name != NULL)
		txt_del_now(op);
	backend_result_clear(&op->held);
	if (op->timer != NULL)
		event_free(op->timer);
	free(op->req_url);
	free(op->req_payload);
	free(op->order_url);
	acme_order_clear(&op->order);
	acme_authz_clear(&op->authz);
	free(op->csr);
	free(op->txt_name);
	free(op->txt_value);
	free(op->cert_der);
	free(op);
}

static void op_deliver(struct acme_op *op, struct backend_result *res);

static void
deliver_held(struct acme_op *op, struct acme_resp *unused)
{
	struct backend_result res = op->held;

	(void)unused;
	memset(&op->held, 0, sizeof(op->held));
	op_deliver(op, &res);
}

static void
op_deliver(struct acme_op *op, struct backend_result *res)
{
	backend_cb cb = op->cb;
	void *arg = op->arg;

	if (op->txt_name != NULL) { /* every outcome removes the record first */
		op->held = *res;    /* takes the certificate and chain */
		acme_op_txt_del(op, deliver_held);
		return;
	}
	acme_op_free(op);
	cb(arg, res); /* may free the backend */
	backend_result_clear(res);
}

void
acme_op_result(struct acme_op *op, enum backend_status st, const char *fmt, ...)
{
	struct backend_result res = {.status = st};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res.reason, sizeof(res.reason), fmt, ap);
	va_end(ap);
	if (op->kind == ACME_OP_REVOKE) {
		backend_op_cb cb = op->op_cb;
		void *arg = op->arg;
		log_warn("acme %s: revoke failed: %s", op->a->name, res.reason);
		acme_op_free(op);
		cb(arg, st == BACKEND_ISSUED ? 0 : -SGW_EBACKEND, res.reason);
		return;
	}
	log_info("acme %s: txn=%s: %s: %s", op->a->name, op->txn,
		 st == BACKEND_REJECTED ? "rejected" : "failed", res.reason);
	op_deliver(op, &res);
}

void
acme_op_pending(struct acme_op *op)
{
	struct backend_result res = {.status = BACKEND_PENDING};

	snprintf(res.handle, sizeof(res.handle), "%s", op->order_url);
	log_info("acme %s: txn=%s: order %s is %s: PENDING", op->a->name, op->txn, op->order_url,
		 acme_status_name(op->order.status));
	op_deliver(op, &res);
}

void
acme_op_issued(struct acme_op *op, X509 *cert, STACK_OF(X509) * chain)
{
	struct backend_result res = {.status = BACKEND_ISSUED, .cert = cert, .chain = chain};

	log_info("acme %s: txn=%s: order %s is valid: certificate issued", op->a->name, op->txn,
		 op->order_url);
	op_deliver(op, &res);
}

/* Problem types that mean the CA refused this request (REJECTED), that
 * will pass (FAIL_TEMP), or that our account or config is wrong (FAIL_PERM). */
static enum backend_status
problem_status(const struct acme_problem *p, long http)
{
	static const char *const temp[] = {
	    "rateLimited", "serverInternal", "badNonce", "connection", "dns", "incorrectResponse"};
	static const char *const perm[] = {"externalAccountRequired", "accountDoesNotExist",
					   "badSignatureAlgorithm",   "invalidContact",
					   "unsupportedContact",      "userActionRequired"};
	const char *t = acme_problem_short(p);

	for (size_t i = 0; i < sizeof(temp) / sizeof(temp[0]); i++)
		if (strcmp(t, temp[i]) == 0)
			return BACKEND_FAIL_TEMP;
	for (size_t i = 0; i < sizeof(perm) / sizeof(perm[0]); i++)
		if (strcmp(t, perm[i]) == 0)
			return BACKEND_FAIL_PERM;
	if (t[0] == '\0' && http >= 500)
		return BACKEND_FAIL_TEMP;
	return BACKEND_REJECTED;
}

void
acme_op_fail_resp(struct acme_op *op, const char *what, const struct acme_resp *r)
{
	if (r == NULL || r->err != 0)
		acme_op_result(op, BACKEND_FAIL_TEMP, "ACME %s: %s", what,
			       r != NULL && r->error[0] ? r->error : "no response");
	else if (r->has_problem)
		acme_op_result(op, problem_status(&r->prob, r->status), "ACME %s: %s: %s", what,
			       acme_problem_short(&r->prob), r->prob.detail);
	else
		acme_op_result(op, r->status >= 500 ? BACKEND_FAIL_TEMP : BACKEND_FAIL_PERM,
			       "ACME %s: HTTP %ld", what, r->status);
}
