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

static const struct scepc_nids *scep; /* scepc_nids(), set by sl_init_oids */

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

int
sl_init_oids(void)
{
	scep = scepc_nids();
	return scep ? 0 : -1;
}

/* ---- GetCACert ---------------------------------------------------------- */

STACK_OF(X509) * sl_parse_cacert(const char *ctype, const unsigned char *p, size_t n)
{
	STACK_OF(X509) *certs = NULL;

	if (scepc_ctype_is(ctype, "application/x-x509-ca-cert")) {
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
	if (scepc_ctype_is(ctype, "application/x-x509-ca-ra-cert")) {
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

/* pkiMessage = SignedData(id-data, DER EnvelopedData(CSR)) with the SCEP attributes. */
int
sl_build_pkcsreq(const struct sl_build_params *p, struct sl_item *it)
{
	struct scepc_csr c = {
	    .cn = it->cn, .challenge = p->challenge, .challenge_utf8 = -1, .md = p->md};
	struct scepc_wrap w = {.msg_type = 19,
			       .txid = it->txid,
			       .nonce = it->nonce,
			       .key = it->key,
			       .ra_enc = p->ra_enc,
			       .md = p->md,
			       .cipher = p->cipher};
	unsigned char *csr = NULL;
	const char *why;
	int csrlen = 0, rc = -1;

	if (scepc_make_csr(&c, it->key, &csr, &csrlen) < 0 ||
	    RAND_bytes(it->nonce, SL_NONCE_LEN) != 1)
		goto out;
	w.signer = it->signer = scepc_make_signer(it->cn, it->key, p->md, 0);
	if (it->signer && scepc_wrap(&w, csr, csrlen, &it->der, &it->derlen, &why) == 0)
		rc = 0;
out:
	OPENSSL_free(csr);
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
	it->reply_cipher_nid = scepc_envelope_cipher_nid(data, (long)len);
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
	if (!str_eq(attr(si, scep->msgtype, V_ASN1_PRINTABLESTRING), "3", 1))
		goto out;
	if (!str_eq(attr(si, scep->txid, V_ASN1_PRINTABLESTRING), it->txid, strlen(it->txid)) ||
	    !str_eq(attr(si, scep->rnonce, V_ASN1_OCTET_STRING), it->nonce, SL_NONCE_LEN)) {
		rc = SL_BAD_ECHO;
		goto out;
	}
	s = attr(si, scep->status, V_ASN1_PRINTABLESTRING);
	if (str_eq(s, "2", 1)) {
		const ASN1_STRING *f = attr(si, scep->failinfo, V_ASN1_PRINTABLESTRING);

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
