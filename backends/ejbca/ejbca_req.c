/* ejbca_req.c: the backend entry points (submit, poll, revoke, get_crl) and
 * what they send: the CSR as PEM, the username, a fresh enrolment code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "b64.h"
#include "ejbca_int.h"
#include "ejbca_user.h"
#include "log.h"

/* ---- entry points -------------------------------------------------------- */

static char *
csr_pem(X509_REQ *req)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out = NULL;
	long n;

	if (b != NULL && PEM_write_bio_X509_REQ(b, req) && (n = BIO_get_mem_data(b, &p)) > 0) {
		out = malloc((size_t)n + 1);
		if (out != NULL) {
			memcpy(out, p, (size_t)n);
			out[n] = '\0';
		}
	}
	BIO_free(b);
	return out;
}

static int
new_code(char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[EJBCA_CODE_BYTES];

	if (size < 2 * sizeof(rnd) + 1 || RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -SGW_EBACKEND;
	for (size_t i = 0; i < sizeof(rnd); i++) {
		out[2 * i] = hex[rnd[i] >> 4];
		out[2 * i + 1] = hex[rnd[i] & 15];
	}
	out[2 * sizeof(rnd)] = '\0';
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return 0;
}

/* Fill the enroll body; a request that cannot work is decided here (> 0). */
static int
enroll_body(struct ejbca_op *op, const struct backend_request *req, const char **why)
{
	const struct ejbca_tmpl *t = ejbca_tmpl_find(op->e, req->template);
	const unsigned char *p = req->csr_der;
	X509_REQ *x = NULL;
	struct ejbca_enroll en = {0};
	char *pem = NULL;
	int r = 1;

	if (t == NULL) {
		*why = "no such EJBCA template in the backend configuration";
		return 1;
	}
	if (req->csr_der == NULL || req->csr_len == 0 || req->csr_len > EJBCA_MAX_CSR ||
	    (x = d2i_X509_REQ(NULL, &p, (long)req->csr_len)) == NULL) {
		ERR_clear_error();
		*why = "the CSR does not parse";
		return 1;
	}
	*why = "the CSR lacks the name the EJBCA username is made from";
	if (ejbca_username(t, x, req->transaction_id, op->user, sizeof(op->user)) < 0)
		goto out;
	r = -SGW_ENOMEM;
	if ((pem = csr_pem(x)) == NULL || (r = new_code(op->code, sizeof(op->code))) < 0)
		goto out;
	en = (struct ejbca_enroll){pem,
				   t->certificate_profile,
				   t->end_entity_profile,
				   op->e->conf.ca_name,
				   op->user,
				   op->code,
				   NULL,
				   op->e->conf.include_chain};
	r = ejbca_json_enroll(&en, &op->body);
	if (r == -SGW_EINVAL) {
		*why = "the EJBCA request cannot be encoded (not UTF-8)";
		r = 1;
	}
out:
	free(pem);
	X509_REQ_free(x);
	return r;
}

int
ejbca_submit(void *priv, const struct backend_request *req, backend_cb cb, void *arg)
{
	struct ejbca *e = priv;
	struct ejbca_op *op;
	const char *why = NULL;
	int r;

	if (!e->running || cb == NULL || req == NULL)
		return -SGW_EINVAL;
	if ((op = ejbca_op_new(e, OP_ENROLL, req->transaction_id)) == NULL)
		return -SGW_ENOMEM;
	op->cb = cb;
	op->arg = arg;
	r = enroll_body(op, req, &why);
	if (r > 0) {
		log_warn("backend %s: txn=%s: %s", e->name, op->txid, why);
		r = ejbca_op_decide(op, BACKEND_FAIL_PERM, why);
	} else if (r == 0) {
		r = ejbca_op_send_main(op);
	}
	if (r < 0)
		ejbca_op_free(op);
	return r;
}

int
ejbca_poll(void *priv, const char *handle, const struct backend_request *req, backend_cb cb,
	   void *arg)
{
	struct ejbca *e = priv;
	struct ejbca_op *op;
	size_t id = handle != NULL ? strspn(handle, "0123456789") : 0;
	int r;

	(void)req;
	if (!e->running || cb == NULL || handle == NULL)
		return -SGW_EINVAL;
	if ((op = ejbca_op_new(e, OP_FINALIZE, NULL)) == NULL)
		return -SGW_ENOMEM;
	op->cb = cb;
	op->arg = arg;
	snprintf(op->txid, sizeof(op->txid), "request-%.*s", (int)(id < 20 ? id : 20), handle);
	if (id == 0 || id > 20 || handle[id] != ':' ||
	    strlen(handle + id + 1) != 2 * EJBCA_CODE_BYTES)
		r = ejbca_op_decide(op, BACKEND_FAIL_PERM, "not a handle of this EJBCA backend");
	else if ((r = ejbca_json_finalize(handle + id + 1, &op->body)) == 0) {
		snprintf(op->handle, sizeof(op->handle), "%s", handle);
		r = ejbca_op_send_main(op);
	}
	if (r < 0)
		ejbca_op_free(op);
	return r;
}

static int
start_or_free(struct ejbca_op *op)
{
	int r = ejbca_op_start(op);

	if (r < 0)
		ejbca_op_free(op);
	return r;
}

int
ejbca_revoke(void *priv, const char *serial_hex, int reason, const uint8_t *der, size_t der_len,
	     backend_op_cb cb, void *arg)
{
	struct ejbca *e = priv;
	struct ejbca_op *op;
	size_t n = serial_hex != NULL ? strlen(serial_hex) : 0, i;

	(void)der; /* EJBCA revokes by issuer DN and serial */
	(void)der_len;
	for (i = 0; i < n && b64_hex_nibble(serial_hex[i]) >= 0; i++)
		;
	if (!e->running || cb == NULL || n == 0 || n >= 80 || i < n ||
	    ejbca_reason_name(reason) == NULL)
		return -SGW_EINVAL;
	if ((op = ejbca_op_new(e, OP_REVOKE, NULL)) == NULL)
		return -SGW_ENOMEM;
	op->op_cb = cb;
	op->arg = arg;
	op->reason = reason;
	op->serial[0] = '\0';
	while (n > 1 && *serial_hex == '0') { /* EJBCA: hex without leading zeros */
		serial_hex++;
		n--;
	}
	for (i = 0; i < n; i++) /* EJBCA: upper case */
		op->serial[i] = "0123456789ABCDEF"[b64_hex_nibble(serial_hex[i])];
	op->serial[n] = '\0';
	return start_or_free(op);
}

int
ejbca_get_crl(void *priv, backend_crl_cb cb, void *arg)
{
	struct ejbca *e = priv;
	struct ejbca_op *op;

	if (!e->running || cb == NULL)
		return -SGW_EINVAL;
	if ((op = ejbca_op_new(e, OP_CRL, NULL)) == NULL)
		return -SGW_ENOMEM;
	op->crl_cb = cb;
	op->arg = arg;
	return start_or_free(op);
}

void
ejbca_flow_init(struct ejbca *e)
{
	struct ejbca_op *op;

	if (e->dn[0] && e->chain != NULL)
		return;
	op = ejbca_op_new(e, OP_INIT, NULL);
	if (op == NULL)
		log_warn("backend %s: out of memory: the CA chain is not fetched", e->name);
	else
		ejbca_op_advance(op);
}

void
ejbca_flow_stop(struct ejbca *e)
{
	struct ejbca_op *op;

	while ((op = LIST_FIRST(&e->ops)) != NULL)
		ejbca_op_free(op);
}
