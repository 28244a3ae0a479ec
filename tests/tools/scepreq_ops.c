/*
 * scepreq_ops.c: the requests signed by an existing certificate and the
 * rollover operation:
 *   scepreq getcert|getcrl -u URL --signer-cert C --signer-key K [--serial HEX]
 *   scepreq getnextcacert  -u URL [-o next.pem]
 * GetCert/GetCRL (RFC 8894 3.3.4) carry an IssuerAndSerialNumber; the reply is
 * verified (signed by GetCACert's RA) and decrypted with the signer's key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509v3.h>

#include "scepreq.h"
#include "scepreq_cli.h"

static const char *
reason_name(int r)
{
	static const char *const names[] = {
	    "unspecified",   "keyCompromise",	     "cACompromise",	"affiliationChanged",
	    "superseded",    "cessationOfOperation", "certificateHold", "7",
	    "removeFromCRL", "privilegeWithdrawn",   "aACompromise"};

	return r >= 0 && r <= 10 ? names[r] : "?";
}

static void
print_crl(X509_CRL *crl)
{
	STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
	ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	BIGNUM *bn = num ? ASN1_INTEGER_to_BN(num, NULL) : NULL;
	char *h = bn ? BN_bn2dec(bn) : NULL;

	printf("crl_number=%s entries=%d\n", h ? h : "none", rev ? sk_X509_REVOKED_num(rev) : 0);
	OPENSSL_free(h);
	BN_free(bn);
	ASN1_INTEGER_free(num);
	for (int i = 0; i < sk_X509_REVOKED_num(rev); i++) {
		X509_REVOKED *rv = sk_X509_REVOKED_value(rev, i);
		ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(rv, NID_crl_reason, NULL, NULL);
		BIGNUM *s = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(rv), NULL);
		char *sh = s ? BN_bn2hex(s) : NULL;

		printf("revoked=%s reason=%s\n", sh ? sh : "?",
		       e ? reason_name((int)ASN1_ENUMERATED_get(e)) : "unspecified");
		OPENSSL_free(sh);
		BN_free(s);
		ASN1_ENUMERATED_free(e);
	}
}

/* Verify the CRL's signature with the issuing CA from GetCACert. */
static int
check_crl(X509_CRL *crl, X509 *ca)
{
	if (!ca || X509_CRL_verify(crl, X509_get0_pubkey(ca)) != 1) {
		sr_ossl_err(NULL, "the CRL does not verify against the issuing CA");
		return -1;
	}
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)) != 0) {
		sr_log(NULL, "the CRL issuer is not the issuing CA");
		return -1;
	}
	return 0;
}

/* -o: the CRL as PEM. */
static int
write_crl_pem(const char *path, X509_CRL *crl)
{
	BIO *b = BIO_new_file(path, "w");
	int ok = b != NULL && PEM_write_bio_X509_CRL(b, crl);

	if (!ok)
		sr_ossl_err(NULL, "cannot write %s", path);
	BIO_free(b);
	return ok ? 0 : -1;
}

static int
report(const struct opts *o, int crl, const struct sr_reply *r, X509 *ca, const char **outcome)
{
	char serial[128], subj[512];
	STACK_OF(X509) * one;
	int w = 0;

	if (r->status == SR_FAILURE) {
		printf("status=FAILURE failInfo=%s(%d) failInfoText=%s\n",
		       sr_failinfo_name(r->failinfo), r->failinfo, r->failtext);
		*outcome = "failure";
		return o->expect_failinfo &&
			       strcasecmp(sr_failinfo_name(r->failinfo), o->expect_failinfo) != 0
			   ? -1
			   : 0;
	}
	if (r->status == SR_PENDING) {
		printf("status=PENDING\n");
		*outcome = "pending";
		return 0;
	}
	*outcome = "success";
	if (crl) {
		printf("status=SUCCESS crls=%d\n", sk_X509_CRL_num(r->crls));
		if (check_crl(sk_X509_CRL_value(r->crls, 0), ca) < 0)
			return -1;
		print_crl(sk_X509_CRL_value(r->crls, 0));
		return o->out ? write_crl_pem(o->out, sk_X509_CRL_value(r->crls, 0)) : 0;
	}
	serial_hex(r->cert, serial, sizeof(serial));
	X509_NAME_oneline(X509_get_subject_name(r->cert), subj, sizeof(subj));
	printf("status=SUCCESS serial=%s subject=%s\n", serial, subj);
	if (o->out && (one = sk_X509_new_null()) != NULL) {
		w = sk_X509_push(one, r->cert) ? write_certs_pem(o->out, one) : -1;
		sk_X509_free(one);
	}
	return w;
}

int
cmd_getcert(const struct opts *o, int crl)
{
	struct sr_req_params p = {0};
	struct sr_txn t = {0};
	struct sr_reply r = {0};
	struct http_resp h = {0};
	STACK_OF(X509) *cacerts = NULL;
	X509 *enc = NULL, *sig = NULL, *ca;
	const char *outcome = "";
	char serial[128];
	int rc = 1;

	if (!o->signer_cert || !o->signer_key) {
		sr_log(NULL, "%s needs --signer-cert and --signer-key", crl ? "getcrl" : "getcert");
		return 2;
	}
	cacerts = o->ra_chain ? read_certs_pem(o->ra_chain) : fetch_cacert(o, NULL, 0);
	if (!cacerts || sr_pick_ra(cacerts, &enc, &sig) < 0 || !(ca = sr_issuing_ca(cacerts)))
		goto out;
	if (!(t.signer = read_cert1(o->signer_cert)) || !(t.key = load_key(o->signer_key)))
		goto out;
	t.want = crl ? SR_WANT_CRL : SR_WANT_ANY_CERT;
	serial_hex(t.signer, serial, sizeof(serial));
	p.cipher = o->cipher;
	p.md = o->md;
	p.msg_type = o->msg_type != 19 ? o->msg_type : crl ? 22 : 21;
	p.corrupt_sig = o->corrupt_sig;
	if (sr_build_ias_request(&p, enc, X509_get_subject_name(ca), o->serial ? o->serial : serial,
				 &t, NULL) < 0 ||
	    (o->save_req && write_file(o->save_req, t.der, t.derlen) < 0) ||
	    send_pkiop(o, t.der, t.derlen, &h, NULL) < 0)
		goto out;
	if (h.code != 200) {
		printf("status=http-%ld%s%s\n", h.code, h.retry_after[0] ? " retry_after=" : "",
		       h.retry_after);
		/* every 503 says when to come back (as enroll's --expect) */
		rc = strncasecmp(o->expect, "http-", 5) == 0 &&
			     strtol(o->expect + 5, NULL, 10) == h.code &&
			     (h.code != 503 || h.retry_after[0])
			 ? 0
			 : 1;
		goto out;
	}
	if (!ctype_base_is(h.ctype, "application/x-pki-message") ||
	    sr_parse_certrep(h.body, h.len, sig, &t, &r, NULL) < 0)
		goto out;
	if (report(o, crl, &r, ca, &outcome) == 0 && strcasecmp(outcome, o->expect) == 0)
		rc = 0;
	else
		sr_log(NULL, "FAIL: outcome %s, expected %s %s", outcome, o->expect,
		       o->expect_failinfo ? o->expect_failinfo : "");
out:
	sr_reply_clear(&r);
	http_resp_clear(&h);
	sr_txn_clear(&t);
	sk_X509_pop_free(cacerts, X509_free);
	return rc;
}

/* The next certificates: the eContent's certs-only SignedData. */
static STACK_OF(X509) * nextca_content(BIO *content)
{
	PKCS7 *inner = d2i_PKCS7_bio(content, NULL);
	STACK_OF(X509) *next = NULL;

	if (inner && PKCS7_type_is_signed(inner) && inner->d.sign && inner->d.sign->cert)
		next = X509_chain_up_ref(inner->d.sign->cert);
	PKCS7_free(inner);
	return next;
}

/* GetNextCACert, verified as a C client on OpenSSL's PKCS#7 API does it: the
 * signer comes from the reply itself (PKCS7_verify with no extra
 * certificates), then it must be the current RA signing certificate of
 * GetCACert; the next certificates are the eContent. */
int
cmd_getnextcacert(const struct opts *o)
{
	STACK_OF(X509) *cacerts = fetch_cacert(o, NULL, 0), *signers = NULL, *next = NULL;
	X509 *enc = NULL, *sig = NULL;
	struct http_resp h = {0};
	PKCS7 *p7 = NULL;
	BIO *b = NULL, *out = BIO_new(BIO_s_mem());
	int rc = 1;

	if (!cacerts || !out || sr_pick_ra(cacerts, &enc, &sig) < 0 ||
	    http_get_op(o, "GetNextCACert", &h, NULL) < 0)
		goto out;
	printf("http=%ld content-type=%s\n", h.code, h.ctype);
	if (h.code != 200 || !ctype_base_is(h.ctype, "application/x-x509-next-ca-cert"))
		goto out;
	b = BIO_new_mem_buf(h.body, (int)h.len);
	p7 = b ? d2i_PKCS7_bio(b, NULL) : NULL;
	if (!p7 || !PKCS7_verify(p7, NULL, NULL, NULL, out, PKCS7_BINARY | PKCS7_NOVERIFY)) {
		sr_ossl_err(NULL, "GetNextCACert: no valid signature by an embedded signer");
		goto out;
	}
	signers = PKCS7_get0_signers(p7, NULL, 0);
	if (sk_X509_num(signers) != 1 || X509_cmp(sk_X509_value(signers, 0), sig) != 0) {
		sr_log(NULL, "GetNextCACert is not signed by the current RA");
		goto out;
	}
	if ((next = nextca_content(out)) == NULL)
		goto out;
	for (int i = 0; i < sk_X509_num(next); i++) {
		char subj[512];

		sr_describe_cert(NULL, "next", sk_X509_value(next, i));
		X509_NAME_oneline(X509_get_subject_name(sk_X509_value(next, i)), subj,
				  sizeof(subj));
		printf("next=%s\n", subj);
	}
	if (sk_X509_num(next) > 0 && (!o->out || write_certs_pem(o->out, next) == 0))
		rc = 0;
out:
	sk_X509_pop_free(next, X509_free);
	sk_X509_free(signers);
	PKCS7_free(p7);
	BIO_free(b);
	BIO_free(out);
	http_resp_clear(&h);
	sk_X509_pop_free(cacerts, X509_free);
	return rc;
}
