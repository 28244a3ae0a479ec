/* renewal.c: authorization by an existing certificate of the profile's CA. */
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "renewal.h"
#include "txn_result.h"

int
renewal_signer_claims_ca(const struct profile *p, X509 *signer)
{
	X509 *ca = sk_X509_value(p->id->ca_chain, 0);

	if (signer == NULL || ca == NULL)
		return 0;
	if (X509_NAME_cmp(X509_get_subject_name(signer), X509_get_issuer_name(signer)) == 0)
		return 0;
	return X509_NAME_cmp(X509_get_issuer_name(signer), X509_get_subject_name(ca)) == 0;
}

static int
verify_chain(const struct profile *p, X509 *signer, time_t now, struct sgw_err *err)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok, e, r;

	if (ctx == NULL || !X509_STORE_CTX_init(ctx, p->trust, signer, NULL)) {
		X509_STORE_CTX_free(ctx);
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	}
	X509_STORE_CTX_set_time(ctx, 0, now);
	ok = X509_verify_cert(ctx);
	e = X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	if (ok == 1)
		return 0;
	r = e == X509_V_ERR_CERT_SIGNATURE_FAILURE ? SGW_EAUTH : SGW_EDENIED;
	return sgw_err_set(err, r, "signer certificate: %s", X509_verify_cert_error_string(e));
}

int
renewal_verify_signer(const struct profile *p, struct store *s, X509 *signer, time_t now,
		      struct sgw_err *err)
{
	struct store_cert c = {0};
	char serial[80];
	int r;

	if ((r = verify_chain(p, signer, now, err)) < 0)
		return r;
	if (txn_cert_serial(signer, serial, sizeof(serial)) < 0)
		return sgw_err_set(err, SGW_EDENIED, "signer certificate: bad serial");
	r = store_cert_get(s, p->issuer, serial, &c);
	if (r == -SGW_ENOTFOUND)
		return 0; /* issued by this CA, but not through this gateway */
	if (r < 0)
		return sgw_err_set(err, SGW_EIO, "store failure: %s", sgw_strerror(r));
	r = c.revoked ? sgw_err_set(err, SGW_EDENIED, "signer certificate %s is revoked", serial)
		      : 0;
	store_cert_clear(&c);
	return r;
}

static int
time_of(const ASN1_TIME *t, time_t *ret)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*ret = timegm(&tm);
	return 0;
}

int
renewal_check_rules(const struct cfg_renewal *rules, X509 *signer, const struct csr *csr,
		    time_t now, struct sgw_err *err)
{
	EVP_PKEY *csr_key = X509_REQ_get0_pubkey(csr->req);
	time_t nb, na, opens;

	if (time_of(X509_get0_notBefore(signer), &nb) < 0 ||
	    time_of(X509_get0_notAfter(signer), &na) < 0 || na <= nb)
		return sgw_err_set(err, SGW_EDENIED, "signer certificate: bad validity");
	opens = na - (time_t)(((double)(na - nb)) * rules->window_percent / 100.0);
	if (now < opens)
		return sgw_err_set(err, SGW_EDENIED,
				   "renewal window not open: only in the last %d%% of the "
				   "validity (%lld s from now)",
				   rules->window_percent, (long long)(opens - now));
	if (rules->same_subject &&
	    X509_NAME_cmp(X509_REQ_get_subject_name(csr->req), X509_get_subject_name(signer)) != 0)
		return sgw_err_set(err, SGW_EDENIED,
				   "renewal must keep the subject of the signer certificate");
	if (!rules->allow_key_reuse && csr_key != NULL &&
	    EVP_PKEY_eq(csr_key, X509_get0_pubkey(signer)) == 1)
		return sgw_err_set(err, SGW_EDENIED, "renewal must use a new key pair");
	return 0;
}
