/* renewal.c: authorization by an existing certificate of the profile's CA
 * (the scope is described in renewal.h). */
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

/* The chain verified by ctx goes signer -> the profile's issuing CA: another
 * certificate of the trusted chain (the root, another intermediate) did not
 * issue the signer. */
static int
issued_by_issuing_ca(const struct profile *p, X509_STORE_CTX *ctx)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
	X509 *ca = sk_X509_value(p->id->ca_chain, 0);

	return chain != NULL && sk_X509_num(chain) >= 2 && ca != NULL &&
	       X509_cmp(sk_X509_value(chain, 1), ca) == 0;
}

/* p->trust holds the profile's CA chain and nothing else (no system roots);
 * it builds the path, then the signer's own issuer must be the issuing CA. */
static int
verify_chain(const struct profile *p, X509 *signer, time_t now, struct sgw_err *err)
{
	X509_STORE_CTX *ctx;
	int ok, e, r;

	if (X509_check_ca(signer) != 0)
		return sgw_err_set(err, SGW_EDENIED, "signer certificate is a CA certificate");
	ctx = X509_STORE_CTX_new();
	if (ctx == NULL || !X509_STORE_CTX_init(ctx, p->trust, signer, NULL)) {
		X509_STORE_CTX_free(ctx);
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	}
	X509_STORE_CTX_set_time(ctx, 0, now);
	ok = X509_verify_cert(ctx);
	e = X509_STORE_CTX_get_error(ctx);
	if (ok == 1 && !issued_by_issuing_ca(p, ctx)) {
		ok = 0;
		r = sgw_err_set(err, SGW_EDENIED,
				"signer certificate was not issued by the profile's issuing CA");
	} else if (ok != 1) {
		r = sgw_err_set(err,
				e == X509_V_ERR_CERT_SIGNATURE_FAILURE ? SGW_EAUTH : SGW_EDENIED,
				"signer certificate: %s", X509_verify_cert_error_string(e));
	}
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return ok == 1 ? 0 : r;
}

/* The transaction that issued c (`what`: "signer certificate" ...) is on
 * this profile; with `key`, it was also signed by that key.  0,
 * -SGW_EDENIED (no such transaction, another profile, another key), -SGW_EIO. */
static int
issued_on_profile(const struct profile *p, struct store *s, const struct store_cert *c,
		  const uint8_t key[32], const char *what, struct sgw_err *err)
{
	struct store_txn t = {0};
	int r = c->txn_id > 0 ? store_txn_get(s, c->txn_id, &t) : -SGW_ENOTFOUND;

	if (r == -SGW_ENOTFOUND)
		return sgw_err_set(err, SGW_EDENIED, "%s %s was not issued through this gateway",
				   what, c->serial);
	if (r < 0)
		return sgw_err_set(err, r == -SGW_EUNAVAIL ? SGW_EUNAVAIL : SGW_EIO,
				   "store failure: %s", sgw_strerror(r));
	if (strcmp(t.profile, p->cfg->name) != 0)
		r = sgw_err_set(err, SGW_EDENIED, "%s %s was issued for profile %s", what,
				c->serial, t.profile);
	else if (key != NULL && memcmp(t.signer_key_sha256, key, 32) != 0)
		r = sgw_err_set(err, SGW_EDENIED,
				"%s %s was issued for a request signed by another key", what,
				c->serial);
	store_txn_clear(&t);
	return r;
}

/* The store's word on the signer: known here (or require_issued_here off),
 * for this profile (`scoped`), not revoked. */
static int
check_store(const struct profile *p, struct store *s, const char *serial, int scoped,
	    struct sgw_err *err)
{
	struct store_cert c = {0};
	int r = store_cert_get(s, p->issuer, serial, &c);

	if (r == -SGW_ENOTFOUND)
		return scoped && p->cfg->renewal.require_issued_here
			   ? sgw_err_set(err, SGW_EDENIED,
					 "signer certificate %s was not issued through this "
					 "gateway (renewal.require_issued_here)",
					 serial)
			   : 0;
	if (r < 0)
		return sgw_err_set(err, r == -SGW_EUNAVAIL ? SGW_EUNAVAIL : SGW_EIO,
				   "store failure: %s", sgw_strerror(r));
	if (c.revoked)
		r = sgw_err_set(err, SGW_EDENIED, "signer certificate %s is revoked", serial);
	else if (scoped && (c.txn_id > 0 || p->cfg->renewal.require_issued_here))
		r = issued_on_profile(p, s, &c, NULL, "signer certificate", err);
	store_cert_clear(&c);
	return r;
}

int
renewal_verify_signer(const struct profile *p, struct store *s, X509 *signer,
		      const uint8_t key_sha256[32], enum renewal_use use, time_t now,
		      struct sgw_err *err)
{
	char serial[80];
	int superseded = 0, r;

	if ((r = verify_chain(p, signer, now, err)) < 0)
		return r;
	if (txn_cert_serial(signer, serial, sizeof(serial)) < 0)
		return sgw_err_set(err, SGW_EDENIED, "signer certificate: bad serial");
	if ((r = check_store(p, s, serial, use != RENEWAL_USE_CRL, err)) < 0 ||
	    use != RENEWAL_USE_RENEW)
		return r;
	r = store_cert_superseded(s, p->issuer, serial, p->cfg->name, key_sha256, &superseded);
	if (r < 0)
		return sgw_err_set(err, r == -SGW_EUNAVAIL ? SGW_EUNAVAIL : SGW_EIO,
				   "store failure: %s", sgw_strerror(r));
	if (superseded)
		return sgw_err_set(err, SGW_EDENIED,
				   "signer certificate %s is superseded: a newer certificate was "
				   "issued for a request signed by its key",
				   serial);
	return 0;
}

int
renewal_may_fetch(const struct profile *p, struct store *s, const struct store_cert *c,
		  const uint8_t key_sha256[32], struct sgw_err *err)
{
	return issued_on_profile(p, s, c, key_sha256, "certificate", err);
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
	if (!rules->allow_new_names && renewal_names_subset(signer, csr->req, err) < 0)
		return -SGW_EDENIED;
	if (!rules->allow_key_reuse && csr_key != NULL &&
	    EVP_PKEY_eq(csr_key, X509_get0_pubkey(signer)) == 1)
		return sgw_err_set(err, SGW_EDENIED, "renewal must use a new key pair");
	return 0;
}
