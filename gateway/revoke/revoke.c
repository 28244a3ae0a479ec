/* revoke.c: the one place that revokes a certificate: it finds it in the
 * store, asks the backend that issued it (the local CA appends to its
 * revocation file, which a running daemon notices at the next CRL request;
 * EJBCA and ACME are asked over HTTP), then marks the store row (renewal and
 * GetCert see it at once).  Also the CRLReason names and the serial's
 * stored form.  Callers: the admin API, the Intune revocation feed,
 * `scepgw revoke` (revoke_cli.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "revoke.h"

static const char *const reasons[] = {
    "unspecified", "keyCompromise",	   "cACompromise",    "affiliationChanged",
    "superseded",  "cessationOfOperation", "certificateHold", NULL,
    NULL,	   "privilegeWithdrawn",   "aACompromise",
};
#define N_REASONS ((int)(sizeof(reasons) / sizeof(reasons[0])))

int
revoke_reason_parse(const char *name)
{
	char *end;
	long v;

	if (name == NULL || name[0] == '\0')
		return -1;
	for (int i = 0; i < N_REASONS; i++)
		if (reasons[i] != NULL && strcasecmp(name, reasons[i]) == 0)
			return i;
	v = strtol(name, &end, 10);
	if (*end != '\0' || v < 0 || v >= N_REASONS || reasons[v] == NULL)
		return -1;
	return (int)v;
}

const char *
revoke_reason_name(int code)
{
	if (code < 0 || code >= N_REASONS || reasons[code] == NULL)
		return "unknown";
	return reasons[code];
}

int
revoke_serial_normalize(const char *in, char *out, size_t size)
{
	size_t n = 0;

	if (strncasecmp(in, "0x", 2) == 0)
		in += 2;
	for (; *in != '\0'; in++) {
		char ch = *in;

		if (ch == ':')
			continue;
		if (ch >= 'A' && ch <= 'F')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return -1;
		if (n == 0 && ch == '0')
			continue; /* leading zeros */
		if (n + 1 >= size)
			return -1;
		out[n++] = ch;
	}
	if (n == 0) {
		if (size < 2)
			return -1;
		out[n++] = '0';
	} else if (n % 2 == 1) { /* whole octets, as the store (BN_bn2hex) */
		if (n + 1 >= size)
			return -1;
		memmove(out + 1, out, n);
		out[0] = '0';
		n++;
	}
	out[n] = '\0';
	return 0;
}

/* ---- revoke_start: two store steps around the backend's revocation ------------- */

static void
mark_work(void *arg)
{
	struct revoke_op *op = arg;

	op->store_rc =
	    store_cert_revoke(op->store, op->issuer, op->serial, op->reason, (int64_t)time(NULL));
}

/* Shutdown: a step of op was dropped; its owner frees its job. */
static void
op_dropped(void *arg)
{
	struct revoke_op *op = arg;

	op->drop(op->arg, op);
}

/* A store step of op, with its owner's drop when it has one. */
static int
op_step(struct revoke_op *op, store_step_fn work, store_step_fn done)
{
	return store_exec_owned(op->store, work, done, op->drop != NULL ? op_dropped : NULL, op);
}

static void
mark_done(void *arg)
{
	struct revoke_op *op = arg;

	op->cb(op->arg, op);
}

/* The backend answered: mark the store row (a store step), then the callback. */
static void
backend_done(void *arg, int rc, const char *reason)
{
	struct revoke_op *op = arg;
	int r;

	op->backend_rc = rc;
	snprintf(op->backend_why, sizeof(op->backend_why), "%s",
		 rc < 0 && reason != NULL ? reason : "");
	op->store_rc = 0;
	if (rc != 0 && rc != -SGW_EEXIST) {
		op->cb(op->arg, op);
		return;
	}
	if ((r = op_step(op, mark_work, mark_done)) < 0) {
		op->store_rc = r; /* the store threads stopped */
		op->cb(op->arg, op);
	}
}

/* Store step: the certificate's issuer into op->issuer. */
static void
find_work(void *arg)
{
	struct revoke_op *op = arg;
	struct store_cert c = {0};

	op->der = NULL;
	op->der_len = 0;
	op->rc =
	    op->store != NULL ? store_cert_find_serial(op->store, op->serial, &c) : -SGW_ENOTFOUND;
	if (op->rc < 0)
		return;
	snprintf(op->issuer, sizeof(op->issuer), "%s", c.issuer);
	op->was_revoked = c.revoked;
	op->der = c.der; /* taken: find_done() hands it to the backend, then frees it */
	op->der_len = c.der_len;
	c.der = NULL;
	c.der_len = 0;
	store_cert_clear(&c);
}

/* What find_work() found, then the backend to ask. */
static int
choose(struct revoke_op *op, struct sgw_err *err)
{
	if (op->rc == -SGW_ENOTFOUND)
		return sgw_err_set(err, SGW_ENOTFOUND, "no certificate with serial %s", op->serial);
	if (op->rc == -SGW_EUNAVAIL) /* the caller answers "try again later" */
		return sgw_err_set(err, SGW_EUNAVAIL, "store: %s", sgw_strerror(op->rc));
	if (op->rc < 0)
		return sgw_err_set(err, SGW_EIO, "store: %s", sgw_strerror(op->rc));
	if (op->refuse_revoked && op->was_revoked)
		return sgw_err_set(err, SGW_EEXIST, "%s was already revoked", op->serial);
	if (op->backend == NULL && op->backend_of != NULL)
		op->backend = op->backend_of(op->backend_of_ctx, op->issuer);
	if (op->backend == NULL)
		return sgw_err_set(err, SGW_EINVAL, "no backend issues under %s", op->issuer);
	if (op->start != NULL && backend_start(op->backend, op->start, err) < 0)
		return -SGW_EBACKEND; /* err says why */
	return 0;
}

static void
find_done(void *arg)
{
	struct revoke_op *op = arg;
	struct sgw_err err = {{0}};
	uint8_t *der = op->der; /* the backend copies what it keeps; op may go with its callback */
	size_t der_len = op->der_len;
	int r = choose(op, &err);

	op->der = NULL;
	op->der_len = 0;
	if (r == 0 &&
	    backend_revoke(op->backend, op->serial, op->reason, der, der_len, backend_done, op) < 0)
		r = sgw_err_set(&err, SGW_EBACKEND,
				"backend %s cannot revoke (local: set state_dir)",
				backend_name(op->backend));
	free(der);
	if (r < 0) { /* refused: the callback says why */
		op->rc = op->backend_rc = r;
		snprintf(op->backend_why, sizeof(op->backend_why), "%.255s", err.msg);
		op->store_rc = 0;
		op->cb(op->arg, op);
	}
}

int
revoke_start(struct revoke_op *op, struct sgw_err *err)
{
	int r;

	op->rc = 0;
	if (op->store == NULL) {
		find_work(op);
		find_done(op);
		return 0;
	}
	if ((r = op_step(op, find_work, find_done)) < 0)
		return sgw_err_set(err, -r, "the store threads stopped");
	return 0;
}
