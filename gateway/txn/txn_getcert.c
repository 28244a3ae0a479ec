/* txn_getcert.c: GetCert (21) and GetCRL (22) (RFC 8894 3.3.4).  The
 * messageData is an IssuerAndSerialNumber; the signer must be in the
 * profile's renewal scope (renewal.h; superseded or not; for GetCRL, any
 * unrevoked leaf of the issuing CA).  GetCert answers
 * from the store with a certificate issued on this profile for a request
 * signed by the signer's key (its own, or its renewal), else badCertId as for
 * an unknown serial; GetCRL asks the backend for its current CRL. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "renewal.h"
#include "scep_ias.h"
#include "txn.h"
#include "txn_getcert.h"

static void
getcrl_done(void *arg, X509_CRL *crl, const char *reason)
{
	struct req_ctx *r = arg;

	if (crl == NULL)
		req_end(r, SCEP_OUT_BACKEND_FAILED, "no CRL from the CA backend: %s",
			reason != NULL ? reason : "unknown");
	else if ((r->crl = X509_CRL_dup(crl)) == NULL)
		req_end(r, SCEP_OUT_HTTP_INTERNAL, "out of memory");
	else
		req_end(r, SCEP_OUT_SUCCESS, NULL);
}

/* GetCert: end r with the certificate of this CA with this serial. */
static void
getcert_lookup(struct req_ctx *r, const char *serial)
{
	struct store_cert c = {0};
	const unsigned char *p;
	X509 *x = NULL;
	struct sgw_err err = {{0}};
	int ret = store_cert_get(r->gw->store, r->prof->issuer, serial, &c);

	if (ret == -SGW_ENOTFOUND) {
		req_end(r, SCEP_OUT_BAD_CERT_ID, "no certificate with serial %s", serial);
		return;
	}
	if (ret == 0)
		ret = renewal_may_fetch(r->prof, r->gw->store, &c, r->msg->signer_key_sha256, &err);
	if (ret == -SGW_EUNAVAIL) {
		store_cert_clear(&c);
		req_end_store(r, ret, "GetCert");
		return;
	}
	if (ret < 0) {
		store_cert_clear(&c);
		/* the same answer as for an unknown serial: nothing to learn */
		req_end(r, ret == -SGW_EDENIED ? SCEP_OUT_BAD_CERT_ID : SCEP_OUT_HTTP_INTERNAL,
			"GetCert: %s", err.msg[0] != '\0' ? err.msg : sgw_strerror(ret));
		return;
	}
	p = c.der;
	x = d2i_X509(NULL, &p, (long)c.der_len);
	store_cert_clear(&c);
	if (x == NULL || (r->issued = sk_X509_new_null()) == NULL || !sk_X509_push(r->issued, x)) {
		X509_free(x);
		req_end(r, SCEP_OUT_HTTP_INTERNAL, "stored certificate unreadable");
		return;
	}
	snprintf(r->serial, sizeof(r->serial), "%s", serial);
	req_end(r, SCEP_OUT_SUCCESS, NULL);
}

/* Loop thread, with the decrypted content. */
static void
getcert_content(struct req_ctx *r)
{
	X509 *ca = sk_X509_value(r->prof->id->ca_chain, 0);
	struct scep_ias ias;

	if (scep_ias_parse(r->content, r->content_len, &ias) < 0) {
		req_end(r, SCEP_OUT_BAD_REQUEST, "messageData is not an IssuerAndSerialNumber");
		return;
	}
	if (X509_NAME_cmp(ias.issuer, X509_get_subject_name(ca)) != 0)
		req_end(r, SCEP_OUT_BAD_CERT_ID, "issuer is not this profile's CA");
	else if (r->msg->msg_type == SCEP_MSG_GETCERT)
		getcert_lookup(r, ias.serial);
	else if (backend_get_crl(r->prof->backend, getcrl_done, r) < 0)
		req_end(r, SCEP_OUT_DENIED, "the CA backend publishes no CRL");
	/* else getcrl_done() ends r */
	scep_ias_clear(&ias);
}

void
txn_op_getcert(struct req_ctx *r)
{
	int crl = r->msg->msg_type == SCEP_MSG_GETCRL;
	struct sgw_err err = {{0}};
	int ret;

	if (!(crl ? r->prof->cfg->getcrl : r->prof->cfg->getcert)) {
		req_end(r, SCEP_OUT_DENIED, "%s is not enabled on this profile",
			crl ? "GetCRL" : "GetCert");
		return;
	}
	if (r->msg->envelope != NULL)
		r->cipher_nid = r->pre.cipher_nid;
	ret = renewal_verify_signer(
	    r->prof, r->gw->store, r->msg->signer, r->msg->signer_key_sha256,
	    crl ? RENEWAL_USE_CRL : RENEWAL_USE_FETCH, (time_t)txn_now(r->gw), &err);
	if (ret < 0) {
		req_end(r,
			ret == -SGW_EAUTH     ? SCEP_OUT_BAD_MESSAGE
			: ret == -SGW_EDENIED ? SCEP_OUT_DENIED
					      : SCEP_OUT_HTTP_INTERNAL,
			"%s: %s", crl ? "GetCRL" : "GetCert", err.msg);
		return;
	}
	if (txn_take_content(r) == 0)
		getcert_content(r);
}
