/* acme_revoke.c: revokeCert (RFC 8555 7.6) signed with the account key.
 * ACME identifies the certificate by its DER, not its serial: the caller
 * gives the one the store keeps (so any instance of a cluster revokes what
 * another one had issued); without it, the copy this backend kept in
 * state_dir/issued/<serial>.pem. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "acme_account.h"
#include "acme_int.h"
#include "acme_jws.h"
#include "acme_op.h"
#include "b64.h"
#include "log.h"

static void
revoke_done(struct acme_op *op, struct acme_resp *r)
{
	backend_op_cb cb = op->op_cb;
	void *arg = op->arg;

	if (r->err != 0 || r->status != 200) {
		acme_op_fail_resp(op, "revokeCert", r);
		return;
	}
	log_info("acme %s: revoked the certificate with serial %s", op->a->name, op->txn);
	acme_op_free(op);
	cb(arg, 0, NULL);
}

static void
revoke_send(struct acme_op *op, struct acme_resp *r)
{
	char *cert64 = NULL, *payload = NULL;
	json_t *p;

	(void)r;
	if (op->a->dir.revoke_cert == NULL) {
		acme_op_result(op, BACKEND_FAIL_PERM, "the ACME directory has no revokeCert");
		return;
	}
	if (acme_b64u_encode(op->cert_der, op->cert_len, &cert64) == 0 &&
	    (p = json_pack("{s:s, s:i}", "certificate", cert64, "reason", op->reason)) != NULL) {
		payload = json_dumps(p, JSON_COMPACT);
		json_decref(p);
	}
	free(cert64);
	if (payload == NULL || acme_post(op, op->a->dir.revoke_cert, payload, 0, revoke_done) < 0)
		acme_op_result(op, BACKEND_FAIL_TEMP, "ACME revokeCert: cannot build the request");
	free(payload);
}

/* The certificate this backend issued under `serial_hex`, as DER. */
static int
load_issued(struct acme *a, const char *serial_hex, uint8_t **der, size_t *len)
{
	char name[160], p[1200];
	size_t n = 0;
	X509 *x = NULL;
	FILE *f;
	int l;

	while (*serial_hex == '0' && serial_hex[1] != '\0')
		serial_hex++;
	for (; *serial_hex && n < 128; serial_hex++) {
		int v = b64_hex_nibble(*serial_hex);
		if (v < 0)
			return -SGW_EINVAL;
		name[n++] = "0123456789abcdef"[v]; /* the name acme_order.c saved */
	}
	name[n] = '\0';
	if (n == 0 || *serial_hex != '\0')
		return -SGW_EINVAL;
	snprintf(name + n, sizeof(name) - n, ".pem");
	if (acme_state_path(a, "issued", name, p, sizeof(p)) < 0 || (f = fopen(p, "re")) == NULL)
		return -SGW_ENOTFOUND;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	*der = NULL;
	l = x != NULL ? i2d_X509(x, der) : -1;
	X509_free(x);
	if (l <= 0)
		return -SGW_EPARSE;
	*len = (size_t)l;
	return 0;
}

int
acme_revoke(void *priv, const char *serial_hex, int reason, const uint8_t *cert_der,
	    size_t cert_len, backend_op_cb cb, void *arg)
{
	struct acme *a = priv;
	struct acme_op *op;
	uint8_t *der = NULL;
	size_t len = cert_len;
	int r;

	if (!a->running || cb == NULL || reason < 0 || reason > 10)
		return -SGW_EINVAL;
	if ((cert_der == NULL || cert_len == 0) && (r = load_issued(a, serial_hex, &der, &len)) < 0)
		return r;
	if ((op = acme_op_new(a, ACME_OP_REVOKE, serial_hex)) == NULL) {
		OPENSSL_free(der);
		return -SGW_ENOMEM;
	}
	op->op_cb = cb;
	op->arg = arg;
	op->reason = reason;
	op->cert_der = malloc(len);
	if (op->cert_der != NULL)
		memcpy(op->cert_der, der != NULL ? der : cert_der, len);
	op->cert_len = len;
	OPENSSL_free(der);
	op->after_ready = revoke_send;
	if (op->cert_der == NULL || acme_op_later(op, 0, acme_account_ready_step) < 0) {
		acme_op_free(op);
		return -SGW_ENOMEM;
	}
	return 0;
}
