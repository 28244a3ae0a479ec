/*
 * sgwload message code: PKCSReq pkiMessages (built before timing) and CertRep
 * verification (after timing) with the OpenSSL 3 CMS API.  Thread-safe once
 * sl_init_oids has run: the driver builds and verifies on several threads.
 */
#include "sgwload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

static int nid_msgtype, nid_status, nid_failinfo, nid_snonce, nid_rnonce, nid_txid;

const char *
sl_kind_name(int kind)
{
	static const char *const names[SL_NKINDS] = {
	    "ok",	 "timeout",	  "connection", "transport",   "http_status",
	    "bad_reply", "bad_signature", "bad_echo",	"pki_failure", "pending",
	    "decrypt",	 "key_mismatch",  "subject",	"chain",       "caps_body",
	};

	return kind >= 0 && kind < SL_NKINDS ? names[kind] : "unknown";
}

static int
oid(const char *num, const char *sn, const char *ln)
{
	int nid = OBJ_txt2nid(num);

	if (nid == NID_undef)
		nid = OBJ_create(num, sn, ln);
	return nid;
}

int
sl_init_oids(void)
{
	nid_msgtype = oid("2.16.840.1.113733.1.9.2", "scepMessageType", "SCEP messageType");
	nid_status = oid("2.16.840.1.113733.1.9.3", "scepPkiStatus", "SCEP pkiStatus");
	nid_failinfo = oid("2.16.840.1.113733.1.9.4", "scepFailInfo", "SCEP failInfo");
	nid_snonce = oid("2.16.840.1.113733.1.9.5", "scepSenderNonce", "SCEP senderNonce");
	nid_rnonce = oid("2.16.840.1.113733.1.9.6", "scepRecipientNonce", "SCEP recipientNonce");
	nid_txid = oid("2.16.840.1.113733.1.9.7", "scepTransactionID", "SCEP transactionID");
	return nid_msgtype && nid_status && nid_failinfo && nid_snonce && nid_rnonce && nid_txid
		   ? 0
		   : -1;
}

/* ---- GetCACert ---------------------------------------------------------- */

static int
ctype_is(const char *ctype, const char *want)
{
	size_t n = strlen(want);

	if (!ctype || strncasecmp(ctype, want, n) != 0)
		return 0;
	return ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ';
}

STACK_OF(X509) * sl_parse_cacert(const char *ctype, const unsigned char *p, size_t n)
{
	STACK_OF(X509) *certs = NULL;

	if (ctype_is(ctype, "application/x-x509-ca-cert")) {
		const unsigned char *q = p;
		X509 *x = d2i_X509(NULL, &q, (long)n);

		certs = sk_X509_new_null();
		if (!x || q != p + n || !certs || !sk_X509_push(certs, x)) {
			X509_free(x);
			sk_X509_free(certs);
			return NULL;
		}
		return certs;
	}
	if (ctype_is(ctype, "application/x-x509-ca-ra-cert")) {
		const unsigned char *q = p;
		CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &q, (long)n);

		if (cms && OBJ_obj2nid(CMS_get0_type(cms)) == NID_pkcs7_signed)
			certs = CMS_get1_certs(cms);
		CMS_ContentInfo_free(cms);
		if (certs && sk_X509_num(certs) == 0) {
			sk_X509_free(certs);
			certs = NULL;
		}
		return certs;
	}
	return NULL;
}

int
sl_pick_ra(STACK_OF(X509) * certs, X509 **enc, X509 **sig)
{
	*enc = *sig = NULL;
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);
		uint32_t ku;

		X509_check_purpose(x, -1, 0); /* cache the extensions before threads */
		if (X509_check_ca(x))
			continue;
		ku = X509_get_key_usage(x);
		if (!*enc && (ku & KU_KEY_ENCIPHERMENT))
			*enc = x;
		if (!*sig && (ku & KU_DIGITAL_SIGNATURE))
			*sig = x;
	}
	if (!*enc) {
		/* no RA: the CA that issued no other certificate of the set */
		for (int i = 0; i < sk_X509_num(certs) && !*enc; i++) {
			X509 *c = sk_X509_value(certs, i);
			int issues = 0;

			for (int j = 0; j < sk_X509_num(certs); j++)
				if (j != i &&
				    X509_check_issued(c, sk_X509_value(certs, j)) == X509_V_OK)
					issues = 1;
			if (!issues)
				*enc = c;
		}
	}
	if (!*sig)
		*sig = *enc;
	return *enc ? 0 : -1;
}

X509_STORE *
sl_trust_store(STACK_OF(X509) * certs, STACK_OF(X509) * *chain)
{
	X509_STORE *store = X509_STORE_new();
	int roots = 0;

	*chain = sk_X509_new_null();
	if (!store || !*chain)
		goto fail;
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		if (X509_check_ca(x) && X509_self_signed(x, 0) == 1) {
			if (!X509_STORE_add_cert(store, x))
				goto fail;
			roots++;
		} else if (!sk_X509_push(*chain, x)) {
			goto fail;
		}
	}
	if (roots == 0) {
		for (int i = 0; i < sk_X509_num(certs); i++)
			if (X509_check_ca(sk_X509_value(certs, i)) &&
			    !X509_STORE_add_cert(store, sk_X509_value(certs, i)))
				goto fail;
		X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
	}
	return store;
fail:
	X509_STORE_free(store);
	sk_X509_free(*chain);
	*chain = NULL;
	return NULL;
}

/* ---- PKCSReq ------------------------------------------------------------ */

static int
printable_ok(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr(" '()+,-./:=?", c)))
			return 0;
	}
	return 1;
}

static X509_NAME *
cn_name(const char *cn)
{
	X509_NAME *nm = X509_NAME_new();

	if (nm && !X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
					      -1, -1, 0)) {
		X509_NAME_free(nm);
		return NULL;
	}
	return nm;
}

static int
make_csr(const struct sl_build_params *p, const struct sl_item *it, unsigned char **der, int *len)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *nm = cn_name(it->cn);
	int ok = 0;

	*der = NULL;
	if (!req || !nm || !X509_REQ_set_version(req, 0) || !X509_REQ_set_subject_name(req, nm) ||
	    !X509_REQ_set_pubkey(req, it->key))
		goto out;
	if (p->challenge &&
	    !X509_REQ_add1_attr_by_NID(
		req, NID_pkcs9_challengePassword,
		printable_ok(p->challenge) ? V_ASN1_PRINTABLESTRING : V_ASN1_UTF8STRING,
		(const unsigned char *)p->challenge, (int)strlen(p->challenge)))
		goto out;
	if (!X509_REQ_sign(req, it->key, p->md))
		goto out;
	*len = i2d_X509_REQ(req, der);
	ok = *len > 0;
out:
	X509_NAME_free(nm);
	X509_REQ_free(req);
	return ok ? 0 : -1;
}

static X509 *
make_signer(const struct sl_build_params *p, const struct sl_item *it)
{
	X509 *x = X509_new();
	X509_NAME *nm = cn_name(it->cn);
	BIGNUM *bn = BN_new();
	ASN1_INTEGER *serial = NULL;
	int ok = 0;

	if (!x || !nm || !bn || !BN_rand(bn, 63, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY))
		goto out;
	serial = BN_to_ASN1_INTEGER(bn, NULL);
	ok = serial && X509_set_version(x, 2) && X509_set_serialNumber(x, serial) &&
	     X509_set_subject_name(x, nm) && X509_set_issuer_name(x, nm) &&
	     X509_gmtime_adj(X509_getm_notBefore(x), -300) &&
	     X509_gmtime_adj(X509_getm_notAfter(x), 7 * 86400) && X509_set_pubkey(x, it->key) &&
	     X509_sign(x, it->key, p->md);
out:
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	X509_NAME_free(nm);
	if (!ok) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

/* pkiMessage = SignedData(id-data, DER EnvelopedData(CSR)) with the SCEP attributes. */
int
sl_build_pkcsreq(const struct sl_build_params *p, struct sl_item *it)
{
	unsigned char *csr = NULL, *env_der = NULL;
	int csrlen = 0, envlen, n, rc = -1;
	STACK_OF(X509) *recips = sk_X509_new_null();
	BIO *in = NULL;
	CMS_ContentInfo *env = NULL, *cms = NULL;
	CMS_SignerInfo *si;

	if (!recips || !sk_X509_push(recips, p->ra_enc) || make_csr(p, it, &csr, &csrlen) < 0 ||
	    RAND_bytes(it->nonce, SL_NONCE_LEN) != 1)
		goto out;
	it->signer = make_signer(p, it);
	in = BIO_new_mem_buf(csr, csrlen);
	if (!it->signer || !in)
		goto out;
	env = CMS_encrypt(recips, in, p->cipher, CMS_BINARY);
	envlen = env ? i2d_CMS_ContentInfo(env, &env_der) : -1;
	if (envlen <= 0)
		goto out;
	BIO_free(in);
	in = BIO_new_mem_buf(env_der, envlen);
	cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_BINARY);
	si = cms ? CMS_add1_signer(cms, it->signer, it->key, p->md, CMS_BINARY | CMS_NOSMIMECAP)
		 : NULL;
	if (!si || !in ||
	    !CMS_signed_add1_attr_by_NID(si, nid_msgtype, V_ASN1_PRINTABLESTRING, "19", 2) ||
	    !CMS_signed_add1_attr_by_NID(si, nid_txid, V_ASN1_PRINTABLESTRING, it->txid,
					 (int)strlen(it->txid)) ||
	    !CMS_signed_add1_attr_by_NID(si, nid_snonce, V_ASN1_OCTET_STRING, it->nonce,
					 SL_NONCE_LEN) ||
	    !CMS_final(cms, in, NULL, CMS_BINARY))
		goto out;
	n = i2d_CMS_ContentInfo(cms, &it->der);
	if (n <= 0)
		goto out;
	it->derlen = (size_t)n;
	rc = 0;
out:
	CMS_ContentInfo_free(cms);
	CMS_ContentInfo_free(env);
	OPENSSL_free(env_der);
	OPENSSL_free(csr);
	BIO_free(in);
	sk_X509_free(recips);
	return rc;
}

void
sl_item_clear(struct sl_item *it)
{
	X509_free(it->signer);
	OPENSSL_free(it->der);
	free(it->get_uri);
	free(it->resp);
	memset(it, 0, sizeof(*it));
}

/* ---- CertRep ------------------------------------------------------------ */

/* The single value of signed attribute nid if it has ASN.1 type `type`. */
static const ASN1_STRING *
attr(CMS_SignerInfo *si, int nid, int type)
{
	int idx = CMS_signed_get_attr_by_NID(si, nid, -1);
	X509_ATTRIBUTE *a;
	ASN1_TYPE *v;

	if (idx < 0 || CMS_signed_get_attr_by_NID(si, nid, idx) >= 0)
		return NULL;
	a = CMS_signed_get_attr(si, idx);
	if (X509_ATTRIBUTE_count(a) != 1)
		return NULL;
	v = X509_ATTRIBUTE_get0_type(a, 0);
	return v && ASN1_TYPE_get(v) == type ? v->value.asn1_string : NULL;
}

static int
str_eq(const ASN1_STRING *s, const void *want, size_t n)
{
	return s && (size_t)ASN1_STRING_length(s) == n &&
	       memcmp(ASN1_STRING_get0_data(s), want, n) == 0;
}

/* The content-encryption algorithm of a DER EnvelopedData (no CMS getter in 3.0). */
static int
envelope_cipher_nid(const unsigned char *p, long n)
{
	const unsigned char *q = p;
	PKCS7 *p7 = d2i_PKCS7(NULL, &q, n);
	int nid = NID_undef;

	if (p7 && PKCS7_type_is_enveloped(p7) && p7->d.enveloped && p7->d.enveloped->enc_data &&
	    p7->d.enveloped->enc_data->algorithm)
		nid = OBJ_obj2nid(p7->d.enveloped->enc_data->algorithm->algorithm);
	PKCS7_free(p7);
	return nid;
}

static int
check_issued(const struct sl_verify_params *p, struct sl_item *it, X509 *cert,
	     STACK_OF(X509) * extra)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_dup(p->chain);
	char cn[sizeof(it->cn)] = "";
	const ASN1_INTEGER *sn = X509_get0_serialNumber(cert);
	BIGNUM *bn = ASN1_INTEGER_to_BN(sn, NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	int rc = SL_CHAIN;

	X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
	if (strcmp(cn, it->cn) != 0) {
		rc = SL_SUBJECT;
		goto out;
	}
	for (int i = 0; untrusted && i < sk_X509_num(extra); i++)
		if (sk_X509_value(extra, i) != cert)
			sk_X509_push(untrusted, sk_X509_value(extra, i));
	if (!ctx || !untrusted || !X509_STORE_CTX_init(ctx, p->trust, cert, untrusted) ||
	    X509_verify_cert(ctx) != 1)
		goto out;
	if (!hex)
		goto out;
	snprintf(it->serial, sizeof(it->serial), "%08lx:%s",
		 X509_NAME_hash_ex(X509_get_issuer_name(cert), NULL, NULL, NULL), hex);
	rc = SL_OK;
out:
	OPENSSL_free(hex);
	BN_free(bn);
	sk_X509_free(untrusted);
	X509_STORE_CTX_free(ctx);
	return rc;
}

/* SUCCESS: decrypt the envelope with the client key, find our certificate, check it. */
static int
check_success(const struct sl_verify_params *p, struct sl_item *it, const unsigned char *data,
	      size_t len)
{
	const unsigned char *q = data;
	CMS_ContentInfo *env = d2i_CMS_ContentInfo(NULL, &q, (long)len), *inner = NULL;
	BIO *out = BIO_new(BIO_s_mem());
	STACK_OF(X509) *certs = NULL;
	X509 *mine = NULL;
	int rc = SL_DECRYPT;

	if (!env || OBJ_obj2nid(CMS_get0_type(env)) != NID_pkcs7_enveloped || !out) {
		rc = SL_BAD_REPLY;
		goto out;
	}
	it->reply_cipher_nid = envelope_cipher_nid(data, (long)len);
	if (!CMS_decrypt(env, it->key, it->signer, NULL, out, CMS_BINARY))
		goto out;
	inner = d2i_CMS_bio(out, NULL);
	if (!inner || OBJ_obj2nid(CMS_get0_type(inner)) != NID_pkcs7_signed) {
		rc = SL_BAD_REPLY;
		goto out;
	}
	certs = CMS_get1_certs(inner);
	for (int i = 0; i < sk_X509_num(certs) && !mine; i++)
		if (EVP_PKEY_eq(X509_get0_pubkey(sk_X509_value(certs, i)), it->key) == 1)
			mine = sk_X509_value(certs, i);
	rc = mine ? check_issued(p, it, mine, certs) : SL_KEY_MISMATCH;
out:
	sk_X509_pop_free(certs, X509_free);
	CMS_ContentInfo_free(inner);
	CMS_ContentInfo_free(env);
	BIO_free(out);
	return rc;
}

static int
verify(const struct sl_verify_params *p, struct sl_item *it)
{
	const unsigned char *q = it->resp;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &q, (long)it->resplen);
	STACK_OF(CMS_SignerInfo) * sis;
	STACK_OF(X509) *pin = sk_X509_new_null();
	BIO *out = BIO_new(BIO_s_mem()), *dcont = NULL;
	CMS_SignerInfo *si;
	const ASN1_STRING *s;
	X509_ALGOR *dig = NULL;
	const ASN1_OBJECT *dobj = NULL;
	BUF_MEM *bm = NULL;
	int rc = SL_BAD_REPLY;

	if (!cms || !pin || !out || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed)
		goto out;
	sis = CMS_get0_SignerInfos(cms);
	if (sk_CMS_SignerInfo_num(sis) != 1)
		goto out;
	si = sk_CMS_SignerInfo_value(sis, 0);
	if (CMS_SignerInfo_cert_cmp(si, p->ra_sig) != 0) {
		rc = SL_BAD_SIG;
		goto out;
	}
	if (!sk_X509_push(pin, p->ra_sig))
		goto out;
	if (CMS_is_detached(cms))
		dcont = BIO_new_mem_buf("", 0);
	if (!CMS_verify(cms, pin, NULL, dcont, out,
			CMS_BINARY | CMS_NOINTERN | CMS_NO_SIGNER_CERT_VERIFY)) {
		rc = SL_BAD_SIG;
		goto out;
	}
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, NULL);
	X509_ALGOR_get0(&dobj, NULL, NULL, dig);
	it->reply_md_nid = OBJ_obj2nid(dobj);
	if (!str_eq(attr(si, nid_msgtype, V_ASN1_PRINTABLESTRING), "3", 1))
		goto out;
	if (!str_eq(attr(si, nid_txid, V_ASN1_PRINTABLESTRING), it->txid, strlen(it->txid)) ||
	    !str_eq(attr(si, nid_rnonce, V_ASN1_OCTET_STRING), it->nonce, SL_NONCE_LEN)) {
		rc = SL_BAD_ECHO;
		goto out;
	}
	s = attr(si, nid_status, V_ASN1_PRINTABLESTRING);
	if (str_eq(s, "2", 1)) {
		const ASN1_STRING *f = attr(si, nid_failinfo, V_ASN1_PRINTABLESTRING);

		if (f && ASN1_STRING_length(f) == 1)
			it->failinfo = ASN1_STRING_get0_data(f)[0] - '0';
		rc = SL_PKI_FAILURE;
		goto out;
	}
	if (str_eq(s, "3", 1)) {
		rc = SL_PENDING;
		goto out;
	}
	if (!str_eq(s, "0", 1))
		goto out;
	BIO_get_mem_ptr(out, &bm);
	if (!bm || bm->length == 0)
		goto out;
	rc = check_success(p, it, (const unsigned char *)bm->data, bm->length);
out:
	sk_X509_free(pin);
	CMS_ContentInfo_free(cms);
	BIO_free(dcont);
	BIO_free(out);
	return rc;
}

void
sl_verify_certrep(const struct sl_verify_params *p, struct sl_item *it)
{
	it->failinfo = -1;
	it->serial[0] = '\0';
	if (it->transport_err) {
		it->kind = it->transport_err;
		return;
	}
	if (it->http_status != 200) {
		it->kind = SL_HTTP_STATUS;
		return;
	}
	it->kind = verify(p, it);
	ERR_clear_error();
}
