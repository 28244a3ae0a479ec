/* tests for gateway/scep/scep_certrep.c: CertReps answering requests built
 * as a client would (scep_fixture.c), checked the same way: the RA signature,
 * the attributes, the enveloped certs-only content; and the degenerate
 * certs-only message.  Keys are made once per binary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "scep_certrep.h"
#include "scep_envelope.h"
#include "scep_fixture.h"
#include "scep_msg.h"

/* ---- scep_certrep: checked as a client would ------------------------------ */

static const ASN1_STRING *
attr(CMS_ContentInfo *cms, const char *oid, int type)
{
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
	ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
	const ASN1_STRING *s = CMS_signed_get0_data_by_OBJ(si, o, -3, type);

	ASN1_OBJECT_free(o);
	return s;
}

static void
assert_attr(CMS_ContentInfo *cms, const char *oid, int type, const char *want)
{
	const ASN1_STRING *s = attr(cms, oid, type);

	if (want == NULL) {
		assert_null(attr(cms, oid, -1));
		return;
	}
	assert_non_null(s);
	assert_int_equal(ASN1_STRING_length(s), strlen(want));
	assert_memory_equal(ASN1_STRING_get0_data(s), want, strlen(want));
}

/* Verify the RA signature and the common attributes; returns the CMS and
 * the eContent in *ret_content (NULL when absent). */
static CMS_ContentInfo *
client_verify(struct fx *f, const uint8_t *der, size_t len, const struct req *q, const char *status,
	      const char *fail_info, BIO **ret_content)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	BIO *dcont = NULL, *out = BIO_new(BIO_s_mem());
	STACK_OF(X509) * signers;
	X509_ALGOR *dig;
	const ASN1_OBJECT *obj;
	const ASN1_STRING *s;

	assert_non_null(cms);
	assert_int_equal(OBJ_obj2nid(CMS_get0_type(cms)), NID_pkcs7_signed);
	assert_int_equal(OBJ_obj2nid(CMS_get0_eContentType(cms)), NID_pkcs7_data);
	if (*CMS_get0_content(cms) == NULL)
		dcont = BIO_new_mem_buf("", 0); /* eContent absent: signed over nothing */
	assert_int_equal(
	    CMS_verify(cms, NULL, NULL, dcont, out, CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY), 1);
	signers = CMS_get0_signers(cms);
	assert_int_equal(sk_X509_num(signers), 1);
	assert_int_equal(X509_cmp(sk_X509_value(signers, 0), f->ra), 0);
	sk_X509_free(signers);
	CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0), NULL, NULL,
				 &dig, NULL);
	X509_ALGOR_get0(&obj, NULL, NULL, dig);
	assert_int_equal(OBJ_obj2nid(obj), EVP_MD_get_type(q->md));
	assert_attr(cms, "2.16.840.1.113733.1.9.2", V_ASN1_PRINTABLESTRING, "3");
	assert_attr(cms, "2.16.840.1.113733.1.9.3", V_ASN1_PRINTABLESTRING, status);
	assert_attr(cms, "2.16.840.1.113733.1.9.4", V_ASN1_PRINTABLESTRING, fail_info);
	assert_attr(cms, "2.16.840.1.113733.1.9.7", V_ASN1_PRINTABLESTRING, q->txid);
	s = attr(cms, "2.16.840.1.113733.1.9.6", V_ASN1_OCTET_STRING);
	assert_int_equal(ASN1_STRING_length(s), SCEP_NONCE_LEN);
	assert_memory_equal(ASN1_STRING_get0_data(s), q->nonce, SCEP_NONCE_LEN);
	s = attr(cms, "2.16.840.1.113733.1.9.5", V_ASN1_OCTET_STRING);
	assert_int_equal(ASN1_STRING_length(s), SCEP_NONCE_LEN);
	assert_memory_not_equal(ASN1_STRING_get0_data(s), q->nonce, SCEP_NONCE_LEN);
	BIO_free(dcont);
	if (*CMS_get0_content(cms) == NULL) {
		BIO_free(out);
		out = NULL;
	}
	*ret_content = out;
	return cms;
}

/* A request from the client, decoded, and CertRep parameters answering it. */
static struct scep_msg *
answer(struct fx *f, struct req *q, struct scep_certrep_params *p)
{
	size_t len;
	uint8_t *der = build_req(f, q, &len);
	struct scep_msg *m = decode_ok(der, len, 0, SCEP_OUT_SUCCESS);

	free(der);
	*p = (struct scep_certrep_params){
	    .transaction_id = m->transaction_id,
	    .recipient_nonce = m->sender_nonce,
	    .digest_nid = m->digest_nid,
	    .cipher_nid = EVP_CIPHER_get_nid(q->cipher),
	    .recipient = m->signer,
	    .ra_cert = f->ra,
	    .ra_key = f->ra_key,
	    .fail_info = SCEP_FAIL_NONE,
	};
	return m;
}

/* Decrypt a SUCCESS payload with the client key: the inner certs-only CMS. */
static CMS_ContentInfo *
client_open(struct fx *f, BIO *content, int want_cipher)
{
	size_t len, ilen;
	uint8_t *env = take_bio(content, &len), *inner;
	const unsigned char *p = env;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len), *in;
	BIO *out = BIO_new(BIO_s_mem());
	int nid;

	assert_int_equal(scep_envelope_cipher(env, len, &nid), 0);
	assert_int_equal(nid, want_cipher);
	assert_int_equal(CMS_decrypt(cms, f->cl_pkey, f->cl, NULL, out, CMS_BINARY), 1);
	inner = take_bio(out, &ilen);
	p = inner;
	in = d2i_CMS_ContentInfo(NULL, &p, (long)ilen);
	assert_non_null(in);
	assert_int_equal(OBJ_obj2nid(CMS_get0_type(in)), NID_pkcs7_signed);
	assert_null(*CMS_get0_content(in));
	save_seed("envelope", "certrep-success-env.der", env, len);
	free(env);
	free(inner);
	BIO_free(out);
	CMS_ContentInfo_free(cms);
	return in;
}

static void
test_certrep_success(void **state)
{
	struct fx *f = *state;
	struct req q = req_default();
	struct scep_certrep_params p;
	STACK_OF(X509) *certs = sk_X509_new_null(), *got;
	struct scep_msg *m, *m2;
	CMS_ContentInfo *cms, *inner;
	BIO *content;
	uint8_t *der;
	size_t len;

	q.md = EVP_sha512();
	q.cipher = EVP_aes_256_cbc();
	m = answer(f, &q, &p);
	sk_X509_push(certs, f->issued);
	sk_X509_push(certs, f->other);
	p.pki_status = SCEP_STATUS_SUCCESS;
	p.certs = certs;
	assert_int_equal(scep_certrep_build(&p, &der, &len, NULL), 0);
	cms = client_verify(f, der, len, &q, "0", NULL, &content);
	assert_non_null(content);
	inner = client_open(f, content, NID_aes_256_cbc);
	got = CMS_get1_certs(inner);
	assert_int_equal(sk_X509_num(got), 2);
	assert_int_equal(X509_cmp(sk_X509_value(got, 0), f->issued), 0); /* order kept */
	assert_int_equal(X509_cmp(sk_X509_value(got, 1), f->other), 0);
	m2 = decode_ok(der, len, 0, SCEP_OUT_BAD_REQUEST); /* a CertRep is no request */
	assert_int_equal(m2->msg_type, SCEP_MSG_CERTREP);
	save_seed("scep_msg", "certrep-success.der", der, len);
	scep_msg_free(m2);
	sk_X509_pop_free(got, X509_free);
	CMS_ContentInfo_free(inner);
	CMS_ContentInfo_free(cms);
	BIO_free(content);
	sk_X509_free(certs);
	scep_msg_free(m);
	free(der);
}

static void
test_certrep_crl(void **state)
{
	struct fx *f = *state;
	struct req q = req_default();
	struct scep_certrep_params p;
	X509_CRL *crl = X509_CRL_new();
	STACK_OF(X509_CRL) * crls;
	struct scep_msg *m = answer(f, &q, &p);
	CMS_ContentInfo *cms, *inner;
	BIO *content;
	uint8_t *der;
	size_t len;

	X509_CRL_set_issuer_name(crl, X509_get_subject_name(f->other));
	ASN1_TIME *now = X509_gmtime_adj(NULL, 0);

	X509_CRL_set1_lastUpdate(crl, now);
	ASN1_TIME_free(now);
	assert_true(X509_CRL_sign(crl, f->other_pkey, EVP_sha256()) > 0);
	p.pki_status = SCEP_STATUS_SUCCESS;
	p.crl = crl;
	assert_int_equal(scep_certrep_build(&p, &der, &len, NULL), 0);
	cms = client_verify(f, der, len, &q, "0", NULL, &content);
	inner = client_open(f, content, NID_aes_128_cbc);
	crls = CMS_get1_crls(inner);
	assert_int_equal(sk_X509_CRL_num(crls), 1);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	CMS_ContentInfo_free(inner);
	CMS_ContentInfo_free(cms);
	BIO_free(content);
	X509_CRL_free(crl);
	scep_msg_free(m);
	free(der);
}

static void
test_certrep_failure_pending(void **state)
{
	struct fx *f = *state;
	struct req q = req_default();
	struct scep_certrep_params p;
	struct scep_msg *m;
	CMS_ContentInfo *cms;
	BIO *content;
	uint8_t *der;
	size_t len;

	q.md = EVP_sha1();
	m = answer(f, &q, &p);
	p.pki_status = SCEP_STATUS_FAILURE;
	p.fail_info = SCEP_FAIL_BADREQUEST;
	p.fail_info_text = "challenge password wrong";
	assert_int_equal(scep_certrep_build(&p, &der, &len, NULL), 0);
	cms = client_verify(f, der, len, &q, "2", "2", &content);
	/* eContent present and empty (certmonger's PKCS7_verify needs it) */
	assert_non_null(content);
	assert_int_equal(BIO_pending(content), 0);
	BIO_free(content);
	assert_attr(cms, "1.3.6.1.5.5.7.24.1", V_ASN1_UTF8STRING, p.fail_info_text);
	save_seed("scep_msg", "certrep-failure.der", der, len);
	CMS_ContentInfo_free(cms);
	free(der);
	p.pki_status = SCEP_STATUS_PENDING;
	assert_int_equal(scep_certrep_build(&p, &der, &len, NULL), 0);
	cms = client_verify(f, der, len, &q, "3", NULL, &content);
	assert_non_null(content);
	assert_int_equal(BIO_pending(content), 0);
	BIO_free(content);
	assert_null(attr(cms, "1.3.6.1.5.5.7.24.1", -1));
	CMS_ContentInfo_free(cms);
	free(der);
	p.pki_status = SCEP_STATUS_FAILURE; /* failInfo required */
	p.fail_info = SCEP_FAIL_NONE;
	assert_int_equal(scep_certrep_build(&p, &der, &len, NULL), -SGW_EINVAL);
	p.pki_status = SCEP_STATUS_SUCCESS; /* nothing to send */
	assert_int_equal(scep_certrep_build(&p, &der, &len, NULL), -SGW_EINVAL);
	p.pki_status = 1;
	assert_int_equal(scep_certrep_build(&p, &der, &len, NULL), -SGW_EINVAL);
	scep_msg_free(m);
}

static void
test_certs_only(void **state)
{
	struct fx *f = *state;
	STACK_OF(X509) *certs = sk_X509_new_null();
	const unsigned char *p;
	uint8_t *der;
	size_t len;
	PKCS7 *p7;

	sk_X509_push(certs, f->ra);
	sk_X509_push(certs, f->other);
	sk_X509_push(certs, f->issued);
	assert_int_equal(scep_certs_only(certs, NULL, &der, &len), 0);
	p = der;
	p7 = d2i_PKCS7(NULL, &p, (long)len);
	assert_non_null(p7);
	assert_true(PKCS7_type_is_signed(p7));
	assert_int_equal(ASN1_INTEGER_get(p7->d.sign->version), 1);
	assert_true(PKCS7_get_detached(p7)); /* eContent absent */
	assert_int_equal(sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info), 0);
	assert_int_equal(sk_X509_ALGOR_num(p7->d.sign->md_algs), 0);
	assert_int_equal(sk_X509_num(p7->d.sign->cert), 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(
		    X509_cmp(sk_X509_value(p7->d.sign->cert, i), sk_X509_value(certs, i)), 0);
	save_seed("scep_msg", "certs-only.der", der, len);
	PKCS7_free(p7);
	free(der);
	sk_X509_free(certs);
	assert_int_equal(scep_certs_only(NULL, NULL, &der, &len), -SGW_EINVAL);
}

/* GetNextCACert as a C client on the PKCS#7 API verifies it: the signer from
 * the reply itself (no extra certificates), the next certificates as the
 * eContent's certs-only SignedData. */
static void
test_nextca(void **state)
{
	struct fx *f = *state;
	STACK_OF(X509) *next = sk_X509_new_null(), *signers;
	BIO *out = BIO_new(BIO_s_mem());
	struct sgw_err err = {{0}};
	const unsigned char *p;
	PKCS7 *p7, *inner;
	uint8_t *der;
	size_t len;

	sk_X509_push(next, f->other);
	sk_X509_push(next, f->issued);
	assert_int_equal(scep_nextca_build(next, f->ra, f->ra_key, &der, &len, &err), 0);
	p = der;
	p7 = d2i_PKCS7(NULL, &p, (long)len);
	assert_non_null(p7);
	assert_int_equal(PKCS7_verify(p7, NULL, NULL, NULL, out, PKCS7_BINARY | PKCS7_NOVERIFY), 1);
	signers = PKCS7_get0_signers(p7, NULL, 0);
	assert_int_equal(sk_X509_num(signers), 1);
	assert_int_equal(X509_cmp(sk_X509_value(signers, 0), f->ra), 0);
	assert_int_equal(sk_X509_num(p7->d.sign->cert), 3); /* the next ones and the signer */
	inner = d2i_PKCS7_bio(out, NULL);
	assert_non_null(inner);
	assert_int_equal(sk_X509_num(inner->d.sign->cert), 2);
	for (int i = 0; i < 2; i++)
		assert_int_equal(
		    X509_cmp(sk_X509_value(inner->d.sign->cert, i), sk_X509_value(next, i)), 0);
	PKCS7_free(inner);
	sk_X509_free(signers);
	PKCS7_free(p7);
	BIO_free(out);
	free(der);
	sk_X509_free(next);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_certrep_success),
	    cmocka_unit_test(test_certrep_crl),
	    cmocka_unit_test(test_certrep_failure_pending),
	    cmocka_unit_test(test_certs_only),
	    cmocka_unit_test(test_nextca),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
