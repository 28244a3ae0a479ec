/*
 * scepreq message codec: builds PKCSReq pkiMessages and verifies CertReps with the
 * OpenSSL 3 CMS API.  Deliberately independent of the gateway's codec.
 */
#include "scepc.h"
#include "scepreq.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

int sr_verbose;

static const struct scepc_nids *scep; /* scepc_nids(), set by sr_init_oids */

void
sr_log(const char *tag, const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "scepreq: %s%s\n", tag ? tag : "", buf);
}

void
sr_ossl_err(const char *tag, const char *fmt, ...)
{
	va_list ap;
	char buf[1024];
	unsigned long e;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "scepreq: %s%s\n", tag ? tag : "", buf);
	while ((e = ERR_get_error()) != 0) {
		char eb[256];

		ERR_error_string_n(e, eb, sizeof(eb));
		fprintf(stderr, "scepreq: %s  openssl: %s\n", tag ? tag : "", eb);
	}
}

int
sr_init_oids(void)
{
	scep = scepc_nids();
	if (!scep) {
		sr_ossl_err(NULL, "cannot register SCEP OIDs");
		return -1;
	}
	return 0;
}

const char *
sr_failinfo_name(int f)
{
	static const char *const names[] = {"badAlg", "badMessageCheck", "badRequest", "badTime",
					    "badCertId"};

	if (f >= 0 && f < 5)
		return names[f];
	return "unknown";
}

const char *
sr_nid_name(int nid)
{
	const char *s = OBJ_nid2sn(nid);

	return s ? s : "unknown";
}

void
sr_describe_cert(const char *tag, const char *what, X509 *x)
{
	char subj[256];
	uint32_t ku = X509_get_key_usage(x);

	X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
	sr_log(tag, "%s: %s ca=%d keyUsage=%s%s%s%s", what, subj, X509_check_ca(x) != 0,
	       ku == UINT32_MAX ? "(none)" : "",
	       ku != UINT32_MAX && (ku & KU_DIGITAL_SIGNATURE) ? "digitalSignature," : "",
	       ku != UINT32_MAX && (ku & KU_KEY_ENCIPHERMENT) ? "keyEncipherment," : "",
	       ku != UINT32_MAX && (ku & KU_KEY_CERT_SIGN) ? "keyCertSign," : "");
}

/* ---- GetCACert ---- */

STACK_OF(X509) *
    sr_parse_cacert(const char *ctype, const unsigned char *p, size_t n, const char *tag)
{
	STACK_OF(X509) *certs = NULL;

	if (scepc_ctype_is(ctype, "application/x-x509-ca-cert")) {
		const unsigned char *q = p;
		X509 *x = d2i_X509(NULL, &q, (long)n);

		if (!x || q != p + n) {
			sr_ossl_err(tag, "GetCACert: body is not exactly one DER certificate");
			X509_free(x);
			return NULL;
		}
		certs = sk_X509_new_null();
		if (!certs || !sk_X509_push(certs, x)) {
			X509_free(x);
			sk_X509_free(certs);
			return NULL;
		}
		return certs;
	}
	if (scepc_ctype_is(ctype, "application/x-x509-ca-ra-cert")) {
		BIO *b = BIO_new_mem_buf(p, (int)n);
		CMS_ContentInfo *cms = b ? d2i_CMS_bio(b, NULL) : NULL;

		BIO_free(b);
		if (!cms || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
			sr_ossl_err(tag, "GetCACert: body is not a PKCS#7 SignedData");
			CMS_ContentInfo_free(cms);
			return NULL;
		}
		if (sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms)) != 0)
			sr_log(tag,
			       "note: GetCACert SignedData has signerInfos (expected degenerate)");
		if (!CMS_is_detached(cms))
			sr_log(tag,
			       "note: GetCACert SignedData carries an eContent (expected absent)");
		certs = CMS_get1_certs(cms);
		CMS_ContentInfo_free(cms);
		if (!certs || sk_X509_num(certs) == 0) {
			sr_log(tag, "GetCACert: SignedData holds no certificates");
			sk_X509_pop_free(certs, X509_free);
			return NULL;
		}
		return certs;
	}
	sr_log(tag, "GetCACert: unexpected content type '%s'", ctype ? ctype : "(none)");
	return NULL;
}

/* A CA certificate in the set that issued no other CA certificate of the set
 * (the issuing CA: the RA certificate it issued does not count). */
X509 *
sr_issuing_ca(STACK_OF(X509) * certs)
{
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *c = sk_X509_value(certs, i);
		int issues = 0;

		if (!X509_check_ca(c))
			continue;
		for (int j = 0; j < sk_X509_num(certs); j++) {
			X509 *o = sk_X509_value(certs, j);

			if (o != c && X509_check_ca(o) && X509_check_issued(c, o) == X509_V_OK)
				issues = 1;
		}
		if (!issues)
			return c;
	}
	return sk_X509_num(certs) > 0 ? sk_X509_value(certs, 0) : NULL;
}

int
sr_pick_ra(STACK_OF(X509) * certs, X509 **enc, X509 **sig)
{
	*enc = *sig = NULL;
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);
		uint32_t ku;

		X509_check_purpose(x, -1, 0); /* cache extensions before any threads */
		if (X509_check_ca(x))
			continue;
		ku = X509_get_key_usage(x);
		if (!*enc && (ku & KU_KEY_ENCIPHERMENT) &&
		    EVP_PKEY_is_a(X509_get0_pubkey(x), "RSA"))
			*enc = x;
		if (!*sig && (ku & KU_DIGITAL_SIGNATURE))
			*sig = x;
	}
	if (!*enc)
		*enc = sr_issuing_ca(certs);
	if (!*sig)
		*sig = *enc;
	return *enc ? 0 : -1;
}

/* ---- PKCSReq ---- */

static int
make_csr(const struct sr_req_params *p, EVP_PKEY *key, unsigned char **der, int *derlen)
{
	struct scepc_csr c = {.cn = p->cn,
			      .challenge = p->challenge,
			      .challenge_utf8 = p->challenge_utf8,
			      .sans = p->sans,
			      .nsans = p->nsans,
			      .md = p->md};

	return scepc_make_csr(&c, key, der, derlen);
}

/* A skewed client clock shifts the signer validity along with signingTime. */
static X509 *
make_signer(const struct sr_req_params *p, EVP_PKEY *key)
{
	return scepc_make_signer(p->cn, key, p->md,
				 p->set_signing_time ? p->signing_time_offset : 0);
}

static int
pubkey_txid(EVP_PKEY *key, char *out, size_t outlen)
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int n = i2d_PUBKEY(key, &der);

	if (n <= 0 || !EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) ||
	    outlen < 2 * mdlen + 1) {
		OPENSSL_free(der);
		return -1;
	}
	OPENSSL_free(der);
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02X", md[i]);
	return 0;
}

/*
 * pkiMessage = SignedData(id-data, DER EnvelopedData(messageData)) signed by t->signer with the
 * SCEP attributes; t->txid and t->nonce must be set.  Stores the DER in t->der.
 */
static int
wrap_pkimessage(const unsigned char *data, int datalen, const struct sr_req_params *p, X509 *ra_enc,
		struct sr_txn *t, const char *tag)
{
	struct scepc_wrap w = {.msg_type = p->msg_type,
			       .txid = t->txid,
			       .nonce = t->nonce,
			       .signer = t->signer,
			       .key = t->sign_key ? t->sign_key : t->key,
			       .ra_enc = ra_enc,
			       .md = p->md,
			       .cipher = p->cipher,
			       .set_signing_time = p->set_signing_time,
			       .signing_time_offset = p->signing_time_offset,
			       .corrupt_sig = p->corrupt_sig,
			       .oaep = p->oaep};
	const char *why = NULL;

	t->cipher_nid = EVP_CIPHER_get_nid(p->cipher);
	t->md_nid = EVP_MD_get_type(p->md);
	if (scepc_wrap(&w, data, datalen, &t->der, &t->derlen, &why) < 0) {
		sr_ossl_err(tag, "building the pkiMessage failed: %s (%s, %s)", why,
			    EVP_CIPHER_get0_name(p->cipher), EVP_MD_get0_name(p->md));
		return -1;
	}
	return 0;
}

int
sr_build_pkcsreq(const struct sr_req_params *p, X509 *ra_enc, struct sr_txn *t, const char *tag)
{
	unsigned char *csr = NULL;
	int csrlen = 0, rc = -1;

	if (p->csr_der != NULL) {
		csr = OPENSSL_memdup(p->csr_der, p->csr_len);
		csrlen = (int)p->csr_len;
	} else if (make_csr(p, t->key, &csr, &csrlen) < 0) {
		csr = NULL;
	}
	if (csr == NULL) {
		sr_ossl_err(tag, "cannot build the CSR");
		goto out;
	}
	if (!t->signer)
		t->signer = make_signer(p, t->key);
	if (!t->signer) {
		sr_ossl_err(tag, "cannot build the self-signed signer certificate");
		goto out;
	}
	if (p->txid)
		snprintf(t->txid, sizeof(t->txid), "%s", p->txid);
	else if (pubkey_txid(t->key, t->txid, sizeof(t->txid)) < 0)
		goto out;
	if (RAND_bytes(t->nonce, SCEPC_NONCE_LEN) != 1)
		goto out;
	rc = wrap_pkimessage(csr, csrlen, p, ra_enc, t, tag);
out:
	OPENSSL_free(csr);
	return rc;
}

int
sr_build_certpoll(const struct sr_txn *orig, X509 *ca, const struct sr_req_params *p, X509 *ra_enc,
		  struct sr_txn *t, const char *tag)
{
	const X509_NAME *issuer = X509_get_subject_name(ca);
	X509_NAME *own = p->poll_cn ? scepc_cn_name(p->poll_cn) : NULL;
	const X509_NAME *subject = own ? own : X509_get_subject_name(orig->signer);
	int l1 = i2d_X509_NAME(issuer, NULL), l2 = i2d_X509_NAME(subject, NULL), tot, rc;
	unsigned char *buf, *q;

	/* IssuerAndSubject ::= SEQUENCE { issuer Name, subject Name } */
	tot = ASN1_object_size(1, l1 + l2, V_ASN1_SEQUENCE);
	buf = l1 > 0 && l2 > 0 && orig->key ? OPENSSL_malloc((size_t)tot) : NULL;
	if (!buf) {
		X509_NAME_free(own);
		return -1;
	}
	q = buf;
	ASN1_put_object(&q, 1, l1 + l2, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
	i2d_X509_NAME(issuer, &q);
	i2d_X509_NAME(subject, &q);
	memset(t, 0, sizeof(*t));
	t->key = orig->key;
	t->signer = orig->signer;
	EVP_PKEY_up_ref(t->key);
	X509_up_ref(t->signer);
	memcpy(t->txid, orig->txid, sizeof(t->txid));
	rc = RAND_bytes(t->nonce, SCEPC_NONCE_LEN) == 1
		 ? wrap_pkimessage(buf, (int)(q - buf), p, ra_enc, t, tag)
		 : -1;
	OPENSSL_free(buf);
	X509_NAME_free(own);
	return rc;
}

int
sr_build_ias_request(const struct sr_req_params *p, X509 *ra_enc, const X509_NAME *issuer,
		     const char *serial_hex, struct sr_txn *t, const char *tag)
{
	PKCS7_ISSUER_AND_SERIAL *ias = PKCS7_ISSUER_AND_SERIAL_new();
	BIGNUM *bn = NULL;
	unsigned char *der = NULL, rnd[16];
	int len = -1, rc = -1;

	if (!ias || !t->key || !t->signer || !BN_hex2bn(&bn, serial_hex) ||
	    !X509_NAME_set(&ias->issuer, (X509_NAME *)issuer) ||
	    !BN_to_ASN1_INTEGER(bn, ias->serial) ||
	    (len = i2d_PKCS7_ISSUER_AND_SERIAL(ias, &der)) <= 0) {
		sr_ossl_err(tag, "cannot build the IssuerAndSerialNumber");
		goto out;
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1 || RAND_bytes(t->nonce, SCEPC_NONCE_LEN) != 1)
		goto out;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(t->txid + 2 * i, 3, "%02X", rnd[i]);
	rc = wrap_pkimessage(der, len, p, ra_enc, t, tag);
out:
	OPENSSL_free(der);
	BN_free(bn);
	PKCS7_ISSUER_AND_SERIAL_free(ias);
	return rc;
}

void
sr_txn_clear(struct sr_txn *t)
{
	EVP_PKEY_free(t->sign_key);
	EVP_PKEY_free(t->key);
	X509_free(t->signer);
	OPENSSL_free(t->der);
	memset(t, 0, sizeof(*t));
}

/* ---- signed attributes ---- */

/*
 * The single value of signed attribute nid, of ASN.1 type `type`.  Returns NULL and sets
 * *present to 0 when absent; NULL with *present 1 when malformed (message printed).
 */
static const ASN1_STRING *
get_attr(CMS_SignerInfo *si, int nid, int type, const char *name, int *present, const char *tag)
{
	int idx = CMS_signed_get_attr_by_NID(si, nid, -1);
	X509_ATTRIBUTE *a;
	ASN1_TYPE *v;

	*present = idx >= 0;
	if (idx < 0)
		return NULL;
	if (CMS_signed_get_attr_by_NID(si, nid, idx) >= 0) {
		sr_log(tag, "reply: attribute %s occurs twice", name);
		return NULL;
	}
	a = CMS_signed_get_attr(si, idx);
	if (X509_ATTRIBUTE_count(a) != 1) {
		sr_log(tag, "reply: attribute %s has %d values", name, X509_ATTRIBUTE_count(a));
		return NULL;
	}
	v = X509_ATTRIBUTE_get0_type(a, 0);
	if (!v || ASN1_TYPE_get(v) != type) {
		sr_log(tag, "reply: attribute %s has ASN.1 type %d, expected %s", name,
		       v ? ASN1_TYPE_get(v) : -1, ASN1_tag2str(type));
		return NULL;
	}
	return v->value.asn1_string;
}

static int
str_eq(const ASN1_STRING *s, const char *want)
{
	size_t n = strlen(want);

	return (size_t)ASN1_STRING_length(s) == n && memcmp(ASN1_STRING_get0_data(s), want, n) == 0;
}

static void
str_copy(const ASN1_STRING *s, char *out, size_t outlen)
{
	int n = ASN1_STRING_length(s);

	if ((size_t)n >= outlen)
		n = (int)outlen - 1;
	memcpy(out, ASN1_STRING_get0_data(s), (size_t)n);
	out[n] = '\0';
}

/* Required attribute; prints a message when absent or malformed. */
static const ASN1_STRING *
need_attr(CMS_SignerInfo *si, int nid, int type, const char *name, const char *tag)
{
	int present;
	const ASN1_STRING *s = get_attr(si, nid, type, name, &present, tag);

	if (!present)
		sr_log(tag, "attribute %s missing", name);
	return s;
}

int
sr_load_request(const unsigned char *der, size_t len, struct sr_txn *t, const char *tag)
{
	BIO *b = BIO_new_mem_buf(der, (int)len);
	CMS_ContentInfo *cms = b ? d2i_CMS_bio(b, NULL) : NULL;
	STACK_OF(CMS_SignerInfo) * sis;
	STACK_OF(X509) *certs = NULL;
	CMS_SignerInfo *si;
	const ASN1_STRING *s;
	ASN1_OCTET_STRING **pos;
	X509_ALGOR *dig = NULL;
	const ASN1_OBJECT *dobj = NULL;
	int rc = -1;

	BIO_free(b);
	if (!cms || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		sr_ossl_err(tag, "--send-request: not a CMS SignedData");
		goto out;
	}
	sis = CMS_get0_SignerInfos(cms);
	if (sk_CMS_SignerInfo_num(sis) != 1) {
		sr_log(tag, "--send-request: expected one signerInfo");
		goto out;
	}
	si = sk_CMS_SignerInfo_value(sis, 0);
	s = need_attr(si, scep->txid, V_ASN1_PRINTABLESTRING, "transactionID", tag);
	if (!s)
		goto out;
	str_copy(s, t->txid, sizeof(t->txid));
	s = need_attr(si, scep->snonce, V_ASN1_OCTET_STRING, "senderNonce", tag);
	if (!s || ASN1_STRING_length(s) != SCEPC_NONCE_LEN)
		goto out;
	memcpy(t->nonce, ASN1_STRING_get0_data(s), SCEPC_NONCE_LEN);
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, NULL);
	X509_ALGOR_get0(&dobj, NULL, NULL, dig);
	t->md_nid = OBJ_obj2nid(dobj);
	certs = CMS_get1_certs(cms);
	for (int i = 0; i < sk_X509_num(certs); i++) {
		if (CMS_SignerInfo_cert_cmp(si, sk_X509_value(certs, i)) == 0) {
			t->signer = sk_X509_value(certs, i);
			X509_up_ref(t->signer);
		}
	}
	if (!t->signer) {
		sr_log(tag, "--send-request: signer certificate not included");
		goto out;
	}
	pos = CMS_get0_content(cms);
	if (pos && *pos)
		t->cipher_nid = scepc_envelope_cipher_nid(ASN1_STRING_get0_data(*pos),
							  ASN1_STRING_length(*pos));
	t->der = OPENSSL_memdup(der, len);
	t->derlen = len;
	rc = t->der ? 0 : -1;
out:
	sk_X509_pop_free(certs, X509_free);
	CMS_ContentInfo_free(cms);
	return rc;
}

/* ---- CertRep ---- */

static int
decrypt_success(const unsigned char *p, size_t n, const struct sr_txn *t, struct sr_reply *r,
		const char *tag)
{
	BIO *b = BIO_new_mem_buf(p, (int)n), *out = BIO_new(BIO_s_mem());
	CMS_ContentInfo *env = b ? d2i_CMS_bio(b, NULL) : NULL, *inner = NULL;
	STACK_OF(CMS_RecipientInfo) * ris;
	BUF_MEM *bm;
	int found = 0, rc = -1;

	if (!env || OBJ_obj2nid(CMS_get0_type(env)) != NID_pkcs7_enveloped) {
		sr_ossl_err(tag, "SUCCESS: content is not an EnvelopedData");
		goto out;
	}
	r->cipher_nid = scepc_envelope_cipher_nid(p, (long)n);
	ris = CMS_get0_RecipientInfos(env);
	for (int i = 0; i < sk_CMS_RecipientInfo_num(ris); i++) {
		CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, i);
		ASN1_OCTET_STRING *keyid = NULL;

		if (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_AGREE) {
			/* an EC signer: ECDH key agreement (RFC 5753) */
			STACK_OF(CMS_RecipientEncryptedKey) *reks =
			    CMS_RecipientInfo_kari_get0_reks(ri);

			for (int k = 0; k < sk_CMS_RecipientEncryptedKey_num(reks); k++)
				if (CMS_RecipientEncryptedKey_cert_cmp(
					sk_CMS_RecipientEncryptedKey_value(reks, k), t->signer) ==
				    0) {
					found = 1;
					r->recipient = "kari";
				}
			continue;
		}
		if (CMS_RecipientInfo_type(ri) != CMS_RECIPINFO_TRANS)
			continue;
		if (!CMS_RecipientInfo_ktri_get0_signer_id(ri, &keyid, NULL, NULL))
			continue;
		if (keyid)
			sr_log(tag, "note: reply recipient identified by subjectKeyIdentifier");
		else if (CMS_RecipientInfo_ktri_cert_cmp(ri, t->signer) == 0) {
			found = 1;
			r->recipient = "ktri";
		}
	}
	if (!found) {
		sr_log(tag,
		       "SUCCESS: no recipientInfo with the issuerAndSerialNumber of our signer "
		       "certificate");
		goto out;
	}
	if (!t->key) {
		sr_log(tag, "SUCCESS but no private key to decrypt it (replay needs --key)");
		goto out;
	}
	if (!out || !CMS_decrypt(env, t->sign_key ? t->sign_key : t->key, t->signer, NULL, out,
				 CMS_BINARY)) {
		sr_ossl_err(tag, "SUCCESS: cannot decrypt the reply (%s)",
			    sr_nid_name(r->cipher_nid));
		goto out;
	}
	BIO_free(b);
	b = NULL;
	inner = d2i_CMS_bio(out, NULL);
	if (!inner || OBJ_obj2nid(CMS_get0_type(inner)) != NID_pkcs7_signed) {
		sr_ossl_err(tag, "SUCCESS: decrypted content is not a SignedData");
		goto out;
	}
	BIO_get_mem_ptr(out, &bm);
	if (bm && bm->length)
		sr_log(tag, "note: %zu trailing bytes after the degenerate SignedData", bm->length);
	if (sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(inner)) != 0)
		sr_log(tag, "note: the certs-only SignedData has signerInfos");
	r->certs = CMS_get1_certs(inner);
	r->crls = CMS_get1_crls(inner);
	if (t->want == SR_WANT_CRL) {
		rc = sk_X509_CRL_num(r->crls) > 0 ? 0 : -1;
		if (rc < 0)
			sr_log(tag, "SUCCESS without a CRL");
		goto out;
	}
	if (t->want == SR_WANT_ANY_CERT && sk_X509_num(r->certs) > 0 &&
	    X509_up_ref(sk_X509_value(r->certs, 0)))
		r->cert = sk_X509_value(r->certs, 0);
	for (int i = 0; t->want == SR_WANT_OWN_CERT && i < sk_X509_num(r->certs); i++) {
		X509 *x = sk_X509_value(r->certs, i);

		if (EVP_PKEY_eq(X509_get0_pubkey(x), t->key) == 1) {
			if (r->cert)
				sr_log(tag, "note: several certificates carry our public key");
			else if (X509_up_ref(x))
				r->cert = x;
		}
	}
	if (!r->cert) {
		sr_log(tag, "SUCCESS: no certificate with our public key among %d",
		       sk_X509_num(r->certs));
		goto out;
	}
	rc = 0;
out:
	CMS_ContentInfo_free(inner);
	CMS_ContentInfo_free(env);
	BIO_free(out);
	BIO_free(b);
	return rc;
}

/* The certificates field (unsigned) should carry the signer cert, identical to GetCACert's. */
static int
check_embedded_signer(CMS_ContentInfo *cms, CMS_SignerInfo *si, X509 *ra_sig, const char *tag)
{
	STACK_OF(X509) *certs = CMS_get1_certs(cms);
	int found = 0, rc = 0;

	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		if (CMS_SignerInfo_cert_cmp(si, x) != 0)
			continue;
		found = 1;
		if (X509_cmp(x, ra_sig) != 0) {
			sr_log(tag,
			       "reply embeds a signer certificate that differs from GetCACert's");
			rc = -1;
		}
	}
	if (!found)
		sr_log(tag, "note: reply does not embed its signer certificate");
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

int
sr_parse_certrep(const unsigned char *p, size_t n, X509 *ra_sig, const struct sr_txn *t,
		 struct sr_reply *r, const char *tag)
{
	BIO *b = BIO_new_mem_buf(p, (int)n), *dcont = NULL, *out = BIO_new(BIO_s_mem());
	CMS_ContentInfo *cms = b ? d2i_CMS_bio(b, NULL) : NULL;
	STACK_OF(CMS_SignerInfo) * sis;
	STACK_OF(X509) *pin = sk_X509_new_null(), *signers = NULL;
	CMS_SignerInfo *si;
	const ASN1_STRING *s;
	X509_ALGOR *dig = NULL;
	const ASN1_OBJECT *dobj = NULL;
	BUF_MEM *bm = NULL;
	int present, rc = -1;

	memset(r, 0, sizeof(*r));
	r->failinfo = -1;
	r->cipher_nid = NID_undef;
	if (!cms || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		sr_ossl_err(tag, "reply is not a CMS SignedData");
		goto out;
	}
	if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data) {
		sr_log(tag, "reply eContentType is %s, expected id-data",
		       sr_nid_name(OBJ_obj2nid(CMS_get0_eContentType(cms))));
		goto out;
	}
	sis = CMS_get0_SignerInfos(cms);
	if (sk_CMS_SignerInfo_num(sis) != 1) {
		sr_log(tag, "reply has %d signerInfos, expected 1", sk_CMS_SignerInfo_num(sis));
		goto out;
	}
	si = sk_CMS_SignerInfo_value(sis, 0);
	if (CMS_SignerInfo_cert_cmp(si, ra_sig) != 0) {
		sr_log(tag, "reply signerInfo does not name the RA signing certificate");
		goto out;
	}
	/* Pin the signer: only ra_sig is considered (CMS_NOINTERN), the chain was vetted by
	 * GetCACert (the micromdm CA lacks digitalSignature, so no purpose check). */
	if (!pin || !out || !sk_X509_push(pin, ra_sig))
		goto out;
	r->content_present = !CMS_is_detached(cms);
	if (!r->content_present)
		dcont = BIO_new_mem_buf("", 0);
	if (!CMS_verify(cms, pin, NULL, dcont, out,
			CMS_BINARY | CMS_NOINTERN | CMS_NO_SIGNER_CERT_VERIFY)) {
		sr_ossl_err(tag, "reply signature does not verify against the RA signing cert");
		goto out;
	}
	signers = CMS_get0_signers(cms);
	if (sk_X509_num(signers) != 1 || X509_cmp(sk_X509_value(signers, 0), ra_sig) != 0) {
		sr_log(tag, "reply signer is not the RA signing certificate");
		goto out;
	}
	if (check_embedded_signer(cms, si, ra_sig, tag) < 0)
		goto out;
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, NULL);
	X509_ALGOR_get0(&dobj, NULL, NULL, dig);
	r->md_nid = OBJ_obj2nid(dobj);

	s = need_attr(si, scep->msgtype, V_ASN1_PRINTABLESTRING, "messageType", tag);
	if (!s)
		goto out;
	if (!str_eq(s, "3")) {
		char mt[32];

		str_copy(s, mt, sizeof(mt));
		sr_log(tag, "reply messageType is '%s', expected 3 (CertRep)", mt);
		goto out;
	}
	s = need_attr(si, scep->txid, V_ASN1_PRINTABLESTRING, "transactionID", tag);
	if (!s)
		goto out;
	if (!str_eq(s, t->txid)) {
		char got[256];

		str_copy(s, got, sizeof(got));
		sr_log(tag, "reply transactionID '%s' != ours '%s'", got, t->txid);
		goto out;
	}
	s = need_attr(si, scep->rnonce, V_ASN1_OCTET_STRING, "recipientNonce", tag);
	if (!s)
		goto out;
	if (ASN1_STRING_length(s) != SCEPC_NONCE_LEN ||
	    memcmp(ASN1_STRING_get0_data(s), t->nonce, SCEPC_NONCE_LEN) != 0) {
		sr_log(tag, "reply recipientNonce does not equal our senderNonce");
		goto out;
	}
	s = need_attr(si, scep->snonce, V_ASN1_OCTET_STRING, "senderNonce", tag);
	if (!s)
		goto out;
	if (ASN1_STRING_length(s) != SCEPC_NONCE_LEN) {
		sr_log(tag, "reply senderNonce is %d bytes, expected 16", ASN1_STRING_length(s));
		goto out;
	}
	if (memcmp(ASN1_STRING_get0_data(s), t->nonce, SCEPC_NONCE_LEN) == 0)
		sr_log(tag, "note: reply senderNonce merely echoes ours");
	s = need_attr(si, scep->status, V_ASN1_PRINTABLESTRING, "pkiStatus", tag);
	if (!s)
		goto out;
	if (str_eq(s, "0")) {
		r->status = SR_SUCCESS;
	} else if (str_eq(s, "2")) {
		r->status = SR_FAILURE;
	} else if (str_eq(s, "3")) {
		r->status = SR_PENDING;
	} else {
		char st[32];

		str_copy(s, st, sizeof(st));
		sr_log(tag, "reply pkiStatus '%s' is not 0, 2 or 3", st);
		goto out;
	}

	s = get_attr(si, scep->failinfo, V_ASN1_PRINTABLESTRING, "failInfo", &present, tag);
	if (present && !s)
		goto out;
	if (s) {
		char fi[16];

		str_copy(s, fi, sizeof(fi));
		if (strlen(fi) != 1 || fi[0] < '0' || fi[0] > '4') {
			sr_log(tag, "reply failInfo '%s' is not 0..4", fi);
			goto out;
		}
		r->failinfo = fi[0] - '0';
		if (r->status != SR_FAILURE)
			sr_log(tag, "note: failInfo present with pkiStatus %d", r->status);
	} else if (r->status == SR_FAILURE) {
		sr_log(tag, "FAILURE reply without failInfo");
		goto out;
	}
	s = get_attr(si, scep->failtext, V_ASN1_UTF8STRING, "failInfoText", &present, tag);
	if (present && !s)
		goto out;
	if (s)
		str_copy(s, r->failtext, sizeof(r->failtext));

	if (r->status != SR_SUCCESS) {
		if (r->content_present)
			sr_log(tag, "note: %s reply carries an eContent (expected absent)",
			       r->status == SR_FAILURE ? "FAILURE" : "PENDING");
		rc = 0;
		goto out;
	}
	BIO_get_mem_ptr(out, &bm);
	if (!r->content_present || !bm || bm->length == 0) {
		sr_log(tag, "SUCCESS reply without content");
		goto out;
	}
	rc = decrypt_success((const unsigned char *)bm->data, bm->length, t, r, tag);
out:
	sk_X509_free(signers);
	sk_X509_free(pin);
	CMS_ContentInfo_free(cms);
	BIO_free(dcont);
	BIO_free(out);
	BIO_free(b);
	return rc;
}

void
sr_reply_clear(struct sr_reply *r)
{
	X509_free(r->cert);
	sk_X509_pop_free(r->certs, X509_free);
	sk_X509_CRL_pop_free(r->crls, X509_CRL_free);
	memset(r, 0, sizeof(*r));
}

int
sr_verify_issued(X509 *cert, STACK_OF(X509) * cacerts, STACK_OF(X509) * extra, const char *tag)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	int roots = 0, rc = -1;

	if (!store || !ctx || !untrusted)
		goto out;
	/* Self-signed CA certs are the trust anchors; everything else is an untrusted
	 * intermediate.  A chain without its root trusts its CAs directly (partial chain). */
	for (int i = 0; i < sk_X509_num(cacerts); i++) {
		X509 *x = sk_X509_value(cacerts, i);

		if (X509_check_ca(x) && X509_self_signed(x, 0) == 1) {
			if (!X509_STORE_add_cert(store, x))
				goto out;
			roots++;
		} else if (!sk_X509_push(untrusted, x)) {
			goto out;
		}
	}
	if (roots == 0) {
		for (int i = 0; i < sk_X509_num(cacerts); i++)
			if (X509_check_ca(sk_X509_value(cacerts, i)) &&
			    !X509_STORE_add_cert(store, sk_X509_value(cacerts, i)))
				goto out;
		X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
		sr_log(tag, "note: GetCACert has no root; verifying as a partial chain");
	}
	for (int i = 0; i < sk_X509_num(extra); i++)
		if (sk_X509_value(extra, i) != cert &&
		    !sk_X509_push(untrusted, sk_X509_value(extra, i)))
			goto out;
	if (!X509_STORE_CTX_init(ctx, store, cert, untrusted))
		goto out;
	if (X509_verify_cert(ctx) != 1) {
		sr_log(tag, "issued certificate does not chain to the GetCACert CA: %s",
		       X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	rc = 0;
out:
	if (rc < 0 && ERR_peek_error())
		sr_ossl_err(tag, "chain verification error");
	sk_X509_free(untrusted);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}
