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

/* Store step: the certificate of this CA with serial r->st.serial, and
 * whether the signer's key may fetch it (renewal.h). */
static void
getcert_work(void *arg)
{
	struct req_ctx *r = arg;

	r->st.rc = store_cert_get(r->gw->store, r->prof->issuer, r->st.serial, &r->st.cert);
	if (r->st.rc == 0)
		r->st.rc = renewal_may_fetch(r->prof, r->gw->store, &r->st.cert,
					     r->msg->signer_key_sha256, &r->st.err);
}

/* GetCert: end r with that certificate. */
static void
getcert_done(void *arg)
{
	struct req_ctx *r = arg;
	const unsigned char *p = r->st.cert.der;
	const char *why = r->st.err.msg[0] != '\0' ? r->st.err.msg : sgw_strerror(r->st.rc);
	X509 *x = NULL;

	if (r->st.rc == -SGW_ENOTFOUND) {
		req_end(r, SCEP_OUT_BAD_CERT_ID, "no certificate with serial %s", r->st.serial);
		return;
	}
	if (r->st.rc == -SGW_EUNAVAIL) {
		txn_store_failed(r, r->st.rc, "GetCert");
		return;
	}
	if (r->st.rc < 0) {
		/* the same answer as for an unknown serial: nothing to learn */
		req_end(r, r->st.rc == -SGW_EDENIED ? SCEP_OUT_BAD_CERT_ID : SCEP_OUT_HTTP_INTERNAL,
			"GetCert: %s", why);
		return;
	}
	x = d2i_X509(NULL, &p, (long)r->st.cert.der_len);
	if (x == NULL || (r->issued = sk_X509_new_null()) == NULL || !sk_X509_push(r->issued, x)) {
		X509_free(x);
		req_end(r, SCEP_OUT_HTTP_INTERNAL, "stored certificate unreadable");
		return;
	}
	snprintf(r->serial, sizeof(r->serial), "%s", r->st.serial);
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
	else if (r->msg->msg_type == SCEP_MSG_GETCERT) {
		snprintf(r->st.serial, sizeof(r->st.serial), "%s", ias.serial);
		txn_step(r, getcert_work, getcert_done);
	} else if (backend_get_crl(r->prof->backend, getcrl_done, r) < 0)
		req_end(r, SCEP_OUT_DENIED, "the CA backend publishes no CRL");
	/* else getcrl_done() ends r */
	scep_ias_clear(&ias);
}

/* Store step: is the signer in the profile's renewal scope (renewal.h)? */
static void
signer_work(void *arg)
{
	struct req_ctx *r = arg;
	int crl = r->msg->msg_type == SCEP_MSG_GETCRL;

	r->st.rc = renewal_verify_signer(
	    r->prof, r->gw->store, r->msg->signer, r->msg->signer_key_sha256,
	    crl ? RENEWAL_USE_CRL : RENEWAL_USE_FETCH, (time_t)r->st.now, &r->st.err);
}

static void
signer_done(void *arg)
{
	struct req_ctx *r = arg;
	const char *op = r->msg->msg_type == SCEP_MSG_GETCRL ? "GetCRL" : "GetCert";
	int ret = r->st.rc;

	if (ret == -SGW_EUNAVAIL) {
		txn_store_failed(r, ret, op);
		return;
	}
	if (ret < 0) {
		req_end(r,
			ret == -SGW_EAUTH     ? SCEP_OUT_BAD_MESSAGE
			: ret == -SGW_EDENIED ? SCEP_OUT_DENIED
					      : SCEP_OUT_HTTP_INTERNAL,
			"%s: %s", op, r->st.err.msg);
		return;
	}
	r->st.err = (struct sgw_err){{0}};
	if (txn_take_content(r) == 0)
		getcert_content(r);
}

void
txn_op_getcert(struct req_ctx *r)
{
	int crl = r->msg->msg_type == SCEP_MSG_GETCRL;

	if (!(crl ? r->prof->cfg->getcrl : r->prof->cfg->getcert)) {
		req_end(r, SCEP_OUT_DENIED, "%s is not enabled on this profile",
			crl ? "GetCRL" : "GetCert");
		return;
	}
	if (r->msg->envelope != NULL)
		r->cipher_nid = r->pre.cipher_nid;
	txn_step(r, signer_work, signer_done);
}
