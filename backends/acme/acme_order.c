/* acme_order.c: the order machine (RFC 8555 7.4, 7.5).
 *
 *   newOrder -> order: pending  -> each authorization: valid? next
 *                                   pending: dns-01 hook "add" (dns-01 mode),
 *                                   POST {} to the challenge ONCE, then
 *                                   re-fetch the authorization (7.5.1) until
 *                                   valid or invalid, or validation_timeout
 *                                   after the POST (FAIL_TEMP); dns-01: "del"
 *                                   on every exit (acme_op.c)
 *                      ready    -> POST finalize {"csr"} (the device's CSR)
 *                      processing -> re-fetch
 *                      valid    -> POST-as-GET certificate -> ISSUED
 *                      invalid  -> REJECTED with the order's problem detail
 *
 * Each re-fetch waits Retry-After when the CA sends one, else 1 s doubling
 * up to 10 s, all on the loop's timers.  Re-fetching an order: whenever the
 * next fetch would start at or after op->deadline (`wait` seconds after
 * submit or poll), the op ends with PENDING and the order URL as the
 * handle.  An authorization whose challenge was POSTed is followed to its
 * decision (or validation_timeout) even past `wait`, so a challenge is never
 * POSTed twice and a dns-01 record never outlives its authorization.  poll() starts again from that
 * URL (acme_order_resume), on any instance of a cluster sharing the account key, after a
 * restart too: the CSR that finalize needs comes with the poll, from the
 * transaction the store keeps. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/pem.h>

#include "acme_int.h"
#include "acme_jws.h"
#include "acme_op.h"
#include "log.h"

#define ACME_MAX_FETCHES 60
#define ACME_BACKOFF_MAX 10 /* seconds */

static void order_process(struct acme_op *op);
static void authz_next(struct acme_op *op);
static void authz_fetch(struct acme_op *op, struct acme_resp *unused);

/* issued/<serial>.pem: what revokeCert needs later. */
static void
keep_issued(struct acme_op *op, X509 *cert)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL, *h, name[300], p[1400];
	FILE *f;
	int fd;

	BN_free(bn);
	if (hex == NULL)
		return;
	for (h = hex; *h == '0' && h[1] != '\0'; h++)
		;
	snprintf(name, sizeof(name), "%s.pem", h);
	for (h = name; *h; h++)
		*h = (char)(*h >= 'A' && *h <= 'F' ? *h + 32 : *h);
	OPENSSL_free(hex);
	if (acme_state_path(op->a, "issued", name, p, sizeof(p)) < 0)
		return;
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		log_warn("acme %s: cannot keep %s: %s", op->a->name, p, strerror(errno));
		return;
	}
	if (PEM_write_X509(f, cert) != 1 || fclose(f) != 0)
		log_warn("acme %s: cannot write %s", op->a->name, p);
}

/* ---- waiting -------------------------------------------------------------- */

/* Seconds before the next re-fetch: Retry-After, else 1 s doubling to 10 s. */
static int
next_delay(struct acme_op *op, int retry_after)
{
	int secs = op->backoff > 0 ? op->backoff : 1;

	if (retry_after > 0)
		return retry_after;
	op->backoff = secs * 2 < ACME_BACKOFF_MAX ? secs * 2 : ACME_BACKOFF_MAX;
	return secs;
}

/* Re-run `step` after next_delay(), or end with PENDING when that would pass
 * the deadline. */
static void
wait_or_pending(struct acme_op *op, int retry_after, acme_step step)
{
	int secs = next_delay(op, retry_after);

	if (++op->fetches > ACME_MAX_FETCHES || time(NULL) + secs >= op->deadline) {
		acme_op_pending(op);
		return;
	}
	if (acme_op_later(op, secs, step) < 0)
		acme_op_result(op, BACKEND_FAIL_TEMP, "out of memory");
}

/* ---- order ---------------------------------------------------------------- */

static int
order_take(struct acme_op *op, struct acme_resp *r)
{
	acme_order_clear(&op->order);
	if (acme_order_parse(r->body, r->len, &op->order) < 0) {
		acme_op_result(op, BACKEND_FAIL_TEMP, "ACME order %s: does not parse",
			       op->order_url);
		return -1;
	}
	return 0;
}

static void
order_fetched(struct acme_op *op, struct acme_resp *r)
{
	if (r->err != 0 || r->status != 200) {
		acme_op_fail_resp(op, "order", r);
		return;
	}
	if (order_take(op, r) == 0)
		order_process(op);
}

void
acme_order_resume(struct acme_op *op, struct acme_resp *unused)
{
	(void)unused;
	if (acme_post(op, op->order_url, NULL, 0, order_fetched) < 0)
		acme_op_result(op, BACKEND_FAIL_TEMP, "out of memory");
}

static void
new_order_done(struct acme_op *op, struct acme_resp *r)
{
	if (r->err != 0 || r->status != 201 || r->location == NULL) {
		acme_op_fail_resp(op, "newOrder", r);
		return;
	}
	op->order_url = r->location;
	r->location = NULL;
	log_info("acme %s: txn=%s: order %s for %s%s", op->a->name, op->txn, op->order_url,
		 op->ids[0].value, op->n_ids > 1 ? " (+more)" : "");
	if (order_take(op, r) == 0)
		order_process(op);
}

void
acme_order_start(struct acme_op *op, struct acme_resp *unused)
{
	char *payload = NULL;

	(void)unused;
	if (acme_idents_payload(op->ids, op->n_ids, &payload) < 0 ||
	    acme_post(op, op->a->dir.new_order, payload, 0, new_order_done) < 0)
		acme_op_result(op, BACKEND_FAIL_TEMP, "out of memory");
	free(payload);
}

static void
cert_done(struct acme_op *op, struct acme_resp *r)
{
	STACK_OF(X509) *chain = NULL;
	X509 *cert = NULL;

	if (r->err != 0 || r->status != 200) {
		acme_op_fail_resp(op, "certificate", r);
		return;
	}
	if (acme_chain_parse(r->body, r->len, &cert, &chain) < 0) {
		acme_op_result(op, BACKEND_FAIL_TEMP, "ACME certificate: not a PEM chain");
		return;
	}
	keep_issued(op, cert);
	acme_op_issued(op, cert, chain);
}

static void
finalize_done(struct acme_op *op, struct acme_resp *r)
{
	if (r->err != 0 || r->status != 200) {
		acme_op_fail_resp(op, "finalize", r);
		return;
	}
	if (order_take(op, r) < 0)
		return;
	if (op->order.status == ACME_ST_PROCESSING) { /* pebble: Retry-After on finalize */
		wait_or_pending(op, r->retry_after, acme_order_resume);
		return;
	}
	order_process(op);
}

static void
finalize(struct acme_op *op)
{
	char *csr64 = NULL, *payload = NULL;
	json_t *p;

	if (op->csr == NULL) {
		acme_op_result(op, BACKEND_FAIL_PERM,
			       "order %s is ready but the poll came without the request's CSR",
			       op->order_url);
		return;
	}
	if (acme_b64u_encode(op->csr, op->csr_len, &csr64) == 0 &&
	    (p = json_pack("{s:s}", "csr", csr64)) != NULL) {
		payload = json_dumps(p, JSON_COMPACT);
		json_decref(p);
	}
	free(csr64);
	if (payload == NULL || acme_post(op, op->order.finalize, payload, 0, finalize_done) < 0)
		acme_op_result(op, BACKEND_FAIL_TEMP, "out of memory");
	free(payload);
}

static void
order_process(struct acme_op *op)
{
	const struct acme_order *o = &op->order;

	switch (o->status) {
	case ACME_ST_PENDING:
		op->authz_i = 0;
		authz_next(op);
		return;
	case ACME_ST_READY:
		op->backoff = 0;
		finalize(op);
		return;
	case ACME_ST_PROCESSING:
		wait_or_pending(op, -1, acme_order_resume);
		return;
	case ACME_ST_VALID:
		if (acme_post(op, o->certificate, NULL, 0, cert_done) < 0)
			acme_op_result(op, BACKEND_FAIL_TEMP, "out of memory");
		return;
	default:
		if (o->has_error)
			acme_op_result(op, BACKEND_REJECTED, "ACME order %s: %s: %s",
				       acme_status_name(o->status), acme_problem_short(&o->error),
				       o->error.detail);
		else
			acme_op_result(op, BACKEND_REJECTED, "ACME order is %s",
				       acme_status_name(o->status));
	}
}

/* ---- authorizations ------------------------------------------------------- */

/* The challenge is under way: re-fetch the authorization after next_delay(),
 * never past chall_deadline. */
static void
authz_wait(struct acme_op *op, int retry_after)
{
	time_t now = time(NULL);
	int secs = next_delay(op, retry_after);

	if (now >= op->chall_deadline) {
		acme_op_result(op, BACKEND_FAIL_TEMP,
			       "ACME authorization for %s not decided within validation_timeout "
			       "(%d s)",
			       op->authz.id_value, op->a->conf.validation_timeout);
		return;
	}
	if (now + secs > op->chall_deadline)
		secs = (int)(op->chall_deadline - now);
	if (acme_op_later(op, secs, authz_fetch) < 0)
		acme_op_result(op, BACKEND_FAIL_TEMP, "out of memory");
}

static void
chall_posted(struct acme_op *op, struct acme_resp *r)
{
	if (r->err != 0 || r->status != 200) {
		acme_op_fail_resp(op, "challenge", r);
		return;
	}
	authz_wait(op, r->retry_after);
}

static void
chall_post(struct acme_op *op, struct acme_resp *unused)
{
	(void)unused;
	op->chall_deadline = time(NULL) + op->a->conf.validation_timeout;
	log_info("acme %s: txn=%s: challenge POST %s (%s for %s)", op->a->name, op->txn,
		 op->chall->url, op->chall->type, op->authz.id_value);
	if (acme_post(op, op->chall->url, "{}", 0, chall_posted) < 0)
		acme_op_result(op, BACKEND_FAIL_TEMP, "out of memory");
}

static void
hook_added(void *arg, int status)
{
	struct acme_op *op = arg;

	op->hook = NULL;
	if (status != 0) { /* the result runs "del" too: a killed "add" may have added it */
		acme_op_result(op, BACKEND_FAIL_TEMP, "dns-01 hook 'add' for %s failed (status %d)",
			       op->authz.id_value, status);
		return;
	}
	if (acme_op_later(op, op->a->conf.dns01_delay, chall_post) < 0)
		acme_op_result(op, BACKEND_FAIL_TEMP, "out of memory");
}

/* One record per authorization: its value comes from the challenge's token,
 * so concurrent orders for one name publish (and remove) distinct values. */
static void
dns01_start(struct acme_op *op)
{
	struct acme *a = op->a;
	char name[300];

	snprintf(name, sizeof(name), "_acme-challenge.%s", op->authz.id_value);
	/* the value first: txt_name set means "del" is due on every exit */
	if (acme_dns01_value(op->chall->token, a->thumbprint, &op->txt_value) < 0 ||
	    (op->txt_name = strdup(name)) == NULL) {
		acme_op_result(op, BACKEND_FAIL_TEMP, "out of memory");
		return;
	}
	op->hook = acme_hook_run(a->base, a->conf.dns01_hook, "add", op->txt_name, op->txt_value,
				 a->conf.timeout, hook_added, op);
	if (op->hook == NULL)
		acme_op_result(op, BACKEND_FAIL_TEMP, "dns-01 hook %s: cannot start",
			       a->conf.dns01_hook);
}

/* The authorization is pending: start its challenge once, then wait. */
static void
authz_pending(struct acme_op *op, int retry_after)
{
	struct acme_authz *az = &op->authz;

	if (op->chall_started) {
		authz_wait(op, retry_after);
		return;
	}
	op->chall = NULL;
	for (size_t i = 0; i < az->n_chall; i++)
		if (az->chall[i].status == ACME_ST_PROCESSING) { /* started before this op */
			op->chall_started = 1;
			op->chall_deadline = time(NULL) + op->a->conf.validation_timeout;
			authz_wait(op, retry_after);
			return;
		}
	for (size_t i = 0; i < az->n_chall && op->chall == NULL; i++)
		if (az->chall[i].status == ACME_ST_PENDING &&
		    (strcmp(az->chall[i].type, "dns-01") == 0 || !op->a->dns01))
			op->chall = &az->chall[i];
	if (op->chall == NULL) {
		acme_op_result(op, BACKEND_FAIL_PERM, "authorization for %s offers no %s challenge",
			       az->id_value, op->a->dns01 ? "dns-01" : "pending");
		return;
	}
	op->chall_started = 1;
	if (op->a->dns01 && op->chall->token != NULL)
		dns01_start(op);
	else
		chall_post(op, NULL);
}

static void
authz_decided(struct acme_op *op, struct acme_resp *unused)
{
	(void)unused;
	if (op->authz.status == ACME_ST_VALID) {
		op->authz_i++;
		authz_next(op);
		return;
	}
	for (size_t i = 0; i < op->authz.n_chall; i++) {
		const struct acme_chall *c = &op->authz.chall[i];
		if (c->has_error) {
			acme_op_result(op, BACKEND_REJECTED,
				       "ACME authorization for %s is %s: %s challenge: %s: %s",
				       op->authz.id_value, acme_status_name(op->authz.status),
				       c->type, acme_problem_short(&c->error), c->error.detail);
			return;
		}
	}
	acme_op_result(op, BACKEND_REJECTED, "ACME authorization for %s is %s", op->authz.id_value,
		       acme_status_name(op->authz.status));
}

static void
authz_fetched(struct acme_op *op, struct acme_resp *r)
{
	if (r->err != 0 || r->status != 200) {
		acme_op_fail_resp(op, "authorization", r);
		return;
	}
	acme_authz_clear(&op->authz);
	if (acme_authz_parse(r->body, r->len, &op->authz) < 0) {
		acme_op_result(op, BACKEND_FAIL_TEMP, "ACME authorization: does not parse");
		return;
	}
	if (op->authz.status == ACME_ST_PENDING) {
		authz_pending(op, r->retry_after);
		return;
	}
	acme_op_txt_del(op, authz_decided); /* decided: our record goes first */
}

static void
authz_fetch(struct acme_op *op, struct acme_resp *unused)
{
	(void)unused;
	if (acme_post(op, op->order.authz[op->authz_i], NULL, 0, authz_fetched) < 0)
		acme_op_result(op, BACKEND_FAIL_TEMP, "out of memory");
}

static void
authz_next(struct acme_op *op)
{
	op->chall_started = 0;
	op->backoff = 0;
	if (op->authz_i < op->order.n_authz) {
		authz_fetch(op, NULL);
		return;
	}
	/* every authorization is valid: the order should now be ready */
	if (++op->fetches > ACME_MAX_FETCHES) {
		acme_op_pending(op);
		return;
	}
	acme_order_resume(op, NULL);
}
