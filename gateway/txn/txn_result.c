/* txn_result.c: applying a backend result to a stored transaction. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>

#include "log.h"
#include "profile.h"
#include "txn_result.h"

void
txn_log_backend(const char *txid, const char *profile, const char *backend,
		const struct backend_result *res, const struct timespec *t0)
{
	static const char *const names[BACKEND_STATUS_MAX] = {"issued", "pending", "rejected",
							      "failed for now", "failed"};
	struct timespec t1;
	double ms;

	if (log_verbosity < LOG_LVL_DEBUG)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
	log_debug("txn=%s profile=%s: backend %s answered %s in %.1f ms%s%s%s", txid, profile,
		  backend, res->status < BACKEND_STATUS_MAX ? names[res->status] : "?", ms,
		  res->reason[0] != '\0' ? " (" : "", res->reason,
		  res->reason[0] != '\0' ? ")" : "");
}

int
txn_cert_serial(X509 *x, char *buf, size_t size)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	int r = -SGW_ENOMEM;

	BN_free(bn);
	if (hex == NULL)
		return r;
	for (char *h = hex; *h; h++)
		*h = (char)(*h >= 'A' && *h <= 'F' ? *h - 'A' + 'a' : *h);
	r = (size_t)snprintf(buf, size, "%s", hex) < size ? 0 : -SGW_EINVAL;
	OPENSSL_free(hex);
	return r;
}

static int
cert_record(const char *issuer, const struct store_txn *t, X509 *x, struct store_cert *c)
{
	unsigned char *der = NULL;
	struct tm tm;
	int len, r;

	if ((r = txn_cert_serial(x, c->serial, sizeof(c->serial))) < 0)
		return r;
	snprintf(c->issuer, sizeof(c->issuer), "%s", issuer);
	if (x509_name_string(X509_get_subject_name(x), c->subject, sizeof(c->subject)) < 0)
		c->subject[0] = '\0';
	if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm))
		c->not_before = (int64_t)timegm(&tm);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
		c->not_after = (int64_t)timegm(&tm);
	len = i2d_X509(x, &der);
	if (len <= 0)
		return -SGW_ENOMEM;
	c->der = der;
	c->der_len = (size_t)len;
	c->txn_id = t->id;
	return 0;
}

int
txn_apply_result(struct store *s, const char *issuer, struct store_txn *t,
		 const struct backend_result *res, int64_t now)
{
	struct store_cert c = {0};
	struct store_txn before = *t;
	int r;

	t->updated = now;
	switch (res->status) {
	case BACKEND_ISSUED:
		if ((r = cert_record(issuer, t, res->cert, &c)) < 0)
			return r;
		snprintf(t->cert_serial, sizeof(t->cert_serial), "%s", c.serial);
		t->state = TXN_ISSUED;
		r = store_txn_issue(s, t, &c);
		OPENSSL_free(c.der);
		if (r < 0) {
			/* nothing was committed: keep the caller's view as it was */
			memcpy(t->cert_serial, before.cert_serial, sizeof(t->cert_serial));
			t->state = before.state;
		}
		return r;
	case BACKEND_PENDING:
		t->state = TXN_BACKEND_PENDING;
		snprintf(t->backend_handle, sizeof(t->backend_handle), "%s", res->handle);
		break;
	case BACKEND_REJECTED:
		t->state = TXN_REJECTED;
		snprintf(t->reason, sizeof(t->reason), "CA rejected the request: %.200s",
			 res->reason);
		break;
	default:
		t->state = TXN_FAILED;
		snprintf(t->reason, sizeof(t->reason), "CA backend failed: %.200s", res->reason);
		break;
	}
	return store_txn_update(s, t);
}
