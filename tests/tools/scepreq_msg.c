/*
 * scepreq message codec: builds PKCSReq pkiMessages and verifies CertReps with the
 * OpenSSL 3 CMS API.  Deliberately independent of the gateway's codec.
 */
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

static int nid_msgtype, nid_status, nid_failinfo, nid_snonce, nid_rnonce, nid_txid, nid_failtext;

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

static int
oid(const char *num, const char *sn, const char *ln)
{
	int nid = OBJ_txt2nid(num);

	if (nid == NID_undef)
		nid = OBJ_create(num, sn, ln);
	return nid;
}

int
sr_init_oids(void)
{
	nid_msgtype = oid("2.16.840.1.113733.1.9.2", "scepMessageType", "SCEP messageType");
	nid_status = oid("2.16.840.1.113733.1.9.3", "scepPkiStatus", "SCEP pkiStatus");
	nid_failinfo = oid("2.16.840.1.113733.1.9.4", "scepFailInfo", "SCEP failInfo");
	nid_snonce = oid("2.16.840.1.113733.1.9.5", "scepSenderNonce", "SCEP senderNonce");
	nid_rnonce = oid("2.16.840.1.113733.1.9.6", "scepRecipientNonce", "SCEP recipientNonce");
	nid_txid = oid("2.16.840.1.113733.1.9.7", "scepTransactionID", "SCEP transactionID");
	nid_failtext = oid("1.3.6.1.5.5.7.24.1", "scepFailInfoText", "SCEP failInfoText");
	if (!nid_msgtype || !nid_status || !nid_failinfo || !nid_snonce || !nid_rnonce ||
	    !nid_txid || !nid_failtext) {
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

static int
ctype_is(const char *ctype, const char *want)
{
	size_t n = strlen(want);

	if (!ctype || strncasecmp(ctype, want, n) != 0)
		return 0;
	return ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ';
}

STACK_OF(X509) *
    sr_parse_cacert(const char *ctype, const unsigned char *p, size_t n, const char *tag)
{
	STACK_OF(X509) *certs = NULL;

	if (ctype_is(ctype, "application/x-x509-ca-cert")) {
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
	if (ctype_is(ctype, "application/x-x509-ca-ra-cert")) {
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
					      (int)strlen(cn), -1, 0)) {
		X509_NAME_free(nm);
		return NULL;
	}
	return nm;
}

static int
add_san(X509_REQ *req, const char *const *sans, int nsans)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *ext = NULL;
	int ok = 0;

	if (!gens || !exts)
		goto out;
	for (int i = 0; i < nsans; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();

		if (!g || !s || !ASN1_STRING_set(s, sans[i], (int)strlen(sans[i]))) {
			GENERAL_NAME_free(g);
			ASN1_IA5STRING_free(s);
			goto out;
		}
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
		if (!sk_GENERAL_NAME_push(gens, g)) {
			GENERAL_NAME_free(g);
			goto out;
		}
	}
	ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
	if (!ext || !sk_X509_EXTENSION_push(exts, ext))
		goto out;
	ext = NULL;
	ok = X509_REQ_add_extensions(req, exts);
out:
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(gens);
	return ok ? 0 : -1;
}

static int
make_csr(const struct sr_req_params *p, EVP_PKEY *key, unsigned char **der, int *derlen)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *nm = cn_name(p->cn);
	int ok = 0;

	*der = NULL;
	if (!req || !nm || !X509_REQ_set_version(req, 0) || !X509_REQ_set_subject_name(req, nm) ||
	    !X509_REQ_set_pubkey(req, key))
		goto out;
	if (p->challenge) {
		int utf8 = p->challenge_utf8 >= 0 ? p->challenge_utf8 : !printable_ok(p->challenge);

		if (!X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword,
					       utf8 ? V_ASN1_UTF8STRING : V_ASN1_PRINTABLESTRING,
					       (const unsigned char *)p->challenge,
					       (int)strlen(p->challenge)))
			goto out;
	}
	if (p->nsans > 0 && add_san(req, p->sans, p->nsans) < 0)
		goto out;
	if (!X509_REQ_sign(req, key, p->md))
		goto out;
	*derlen = i2d_X509_REQ(req, der);
	ok = *derlen > 0;
out:
	X509_NAME_free(nm);
	X509_REQ_free(req);
	return ok ? 0 : -1;
}

static X509 *
make_signer(const struct sr_req_params *p, EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *nm = cn_name(p->cn);
	BIGNUM *bn = BN_new();
	ASN1_INTEGER *serial = NULL;
	/* A skewed client clock shifts the signer validity along with signingTime. */
	long skew = p->set_signing_time ? p->signing_time_offset : 0;
	int ok = 0;

	if (!x || !nm || !bn || !BN_rand(bn, 63, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY))
		goto out;
	serial = BN_to_ASN1_INTEGER(bn, NULL);
	if (!serial || !X509_set_version(x, 2) || !X509_set_serialNumber(x, serial) ||
	    !X509_set_subject_name(x, nm) || !X509_set_issuer_name(x, nm) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), skew - 300) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), skew + 7 * 86400) || !X509_set_pubkey(x, key) ||
	    !X509_sign(x, key, p->md))
		goto out;
	ok = 1;
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

/* The content-encryption algorithm of a DER EnvelopedData (no CMS getter in OpenSSL 3.0). */
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
der_of_cms(CMS_ContentInfo *cms, unsigned char **der, size_t *len)
{
	int n;

	*der = NULL;
	n = i2d_CMS_ContentInfo(cms, der);
	if (n <= 0)
		return -1;
	*len = (size_t)n;
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
	unsigned char *env_der = NULL;
	size_t envlen = 0;
	STACK_OF(X509) *recips = sk_X509_new_null();
	BIO *in = BIO_new_mem_buf(data, datalen);
	CMS_ContentInfo *env = NULL, *cms = NULL;
	CMS_SignerInfo *si;
	char mt[16];
	int rc = -1;

	t->cipher_nid = EVP_CIPHER_get_nid(p->cipher);
	t->md_nid = EVP_MD_get_type(p->md);
	if (!recips || !in || !sk_X509_push(recips, ra_enc))
		goto out;
	env = CMS_encrypt(recips, in, p->cipher, CMS_BINARY);
	if (!env || der_of_cms(env, &env_der, &envlen) < 0) {
		sr_ossl_err(tag, "CMS_encrypt with %s failed", EVP_CIPHER_get0_name(p->cipher));
		goto out;
	}
	BIO_free(in);
	in = BIO_new_mem_buf(env_der, (int)envlen);

	cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_BINARY);
	si = cms ? CMS_add1_signer(cms, t->signer, t->sign_key ? t->sign_key : t->key, p->md,
				   CMS_BINARY | CMS_NOSMIMECAP)
		 : NULL;
	if (!si) {
		sr_ossl_err(tag, "cannot add the signer (%s)", EVP_MD_get0_name(p->md));
		goto out;
	}
	snprintf(mt, sizeof(mt), "%d", p->msg_type);
	/* Real lengths everywhere: len -1 would mean "data is an ASN1 object". */
	if (!CMS_signed_add1_attr_by_NID(si, nid_msgtype, V_ASN1_PRINTABLESTRING, mt,
					 (int)strlen(mt)) ||
	    !CMS_signed_add1_attr_by_NID(si, nid_txid, V_ASN1_PRINTABLESTRING, t->txid,
					 (int)strlen(t->txid)) ||
	    !CMS_signed_add1_attr_by_NID(si, nid_snonce, V_ASN1_OCTET_STRING, t->nonce,
					 SR_NONCE_LEN)) {
		sr_ossl_err(tag, "cannot add the SCEP signed attributes");
		goto out;
	}
	if (p->set_signing_time) {
		ASN1_TIME *st = X509_time_adj_ex(NULL, 0, p->signing_time_offset, NULL);
		/* Here len -1 is right: st is an ASN1_TIME object of type st->type. */
		int ok = st && CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime,
							   ASN1_STRING_type(st), st, -1);

		ASN1_TIME_free(st);
		if (!ok) {
			sr_ossl_err(tag, "cannot add signingTime");
			goto out;
		}
	}
	if (!in || !CMS_final(cms, in, NULL, CMS_BINARY)) {
		sr_ossl_err(tag, "CMS_final failed");
		goto out;
	}
	if (p->corrupt_sig) {
		ASN1_OCTET_STRING *sig = CMS_SignerInfo_get0_signature(si);
		int len = ASN1_STRING_length(sig);
		unsigned char *copy = OPENSSL_memdup(ASN1_STRING_get0_data(sig), (size_t)len);

		if (!copy || len < 2) {
			OPENSSL_free(copy);
			goto out;
		}
		copy[len / 2] ^= 0x5a;
		ASN1_OCTET_STRING_set(sig, copy, len);
		OPENSSL_free(copy);
	}
	if (der_of_cms(cms, &t->der, &t->derlen) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		sr_ossl_err(tag, "building the pkiMessage failed");
	CMS_ContentInfo_free(cms);
	CMS_ContentInfo_free(env);
	OPENSSL_free(env_der);
	BIO_free(in);
	sk_X509_free(recips);
	return rc;
}

int
sr_build_pkcsreq(const struct sr_req_params *p, X509 *ra_enc, struct sr_txn *t, const char *tag)
{
	unsigned char *csr = NULL;
	int csrlen = 0, rc = -1;

	if (make_csr(p, t->key, &csr, &csrlen) < 0) {
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
	if (RAND_bytes(t->nonce, SR_NONCE_LEN) != 1)
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
	X509_NAME *own = p->poll_cn ? cn_name(p->poll_cn) : NULL;
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
	rc = RAND_bytes(t->nonce, SR_NONCE_LEN) == 1
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
	if (RAND_bytes(rnd, sizeof(rnd)) != 1 || RAND_bytes(t->nonce, SR_NONCE_LEN) != 1)
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
	s = need_attr(si, nid_txid, V_ASN1_PRINTABLESTRING, "transactionID", tag);
	if (!s)
		goto out;
	str_copy(s, t->txid, sizeof(t->txid));
	s = need_attr(si, nid_snonce, V_ASN1_OCTET_STRING, "senderNonce", tag);
	if (!s || ASN1_STRING_length(s) != SR_NONCE_LEN)
		goto out;
	memcpy(t->nonce, ASN1_STRING_get0_data(s), SR_NONCE_LEN);
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
		t->cipher_nid =
		    envelope_cipher_nid(ASN1_STRING_get0_data(*pos), ASN1_STRING_length(*pos));
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
	r->cipher_nid = envelope_cipher_nid(p, (long)n);
	ris = CMS_get0_RecipientInfos(env);
	for (int i = 0; i < sk_CMS_RecipientInfo_num(ris); i++) {
		CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, i);
		ASN1_OCTET_STRING *keyid = NULL;

		if (CMS_RecipientInfo_type(ri) != CMS_RECIPINFO_TRANS)
			continue;
		if (!CMS_RecipientInfo_ktri_get0_signer_id(ri, &keyid, NULL, NULL))
			continue;
		if (keyid)
			sr_log(tag, "note: reply recipient identified by subjectKeyIdentifier");
		else if (CMS_RecipientInfo_ktri_cert_cmp(ri, t->signer) == 0)
			found = 1;
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

	s = need_attr(si, nid_msgtype, V_ASN1_PRINTABLESTRING, "messageType", tag);
	if (!s)
		goto out;
	if (!str_eq(s, "3")) {
		char mt[32];

		str_copy(s, mt, sizeof(mt));
		sr_log(tag, "reply messageType is '%s', expected 3 (CertRep)", mt);
		goto out;
	}
	s = need_attr(si, nid_txid, V_ASN1_PRINTABLESTRING, "transactionID", tag);
	if (!s)
		goto out;
	if (!str_eq(s, t->txid)) {
		char got[256];

		str_copy(s, got, sizeof(got));
		sr_log(tag, "reply transactionID '%s' != ours '%s'", got, t->txid);
		goto out;
	}
	s = need_attr(si, nid_rnonce, V_ASN1_OCTET_STRING, "recipientNonce", tag);
	if (!s)
		goto out;
	if (ASN1_STRING_length(s) != SR_NONCE_LEN ||
	    memcmp(ASN1_STRING_get0_data(s), t->nonce, SR_NONCE_LEN) != 0) {
		sr_log(tag, "reply recipientNonce does not equal our senderNonce");
		goto out;
	}
	s = need_attr(si, nid_snonce, V_ASN1_OCTET_STRING, "senderNonce", tag);
	if (!s)
		goto out;
	if (ASN1_STRING_length(s) != SR_NONCE_LEN) {
		sr_log(tag, "reply senderNonce is %d bytes, expected 16", ASN1_STRING_length(s));
		goto out;
	}
	if (memcmp(ASN1_STRING_get0_data(s), t->nonce, SR_NONCE_LEN) == 0)
		sr_log(tag, "note: reply senderNonce merely echoes ours");
	s = need_attr(si, nid_status, V_ASN1_PRINTABLESTRING, "pkiStatus", tag);
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

	s = get_attr(si, nid_failinfo, V_ASN1_PRINTABLESTRING, "failInfo", &present, tag);
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
	s = get_attr(si, nid_failtext, V_ASN1_UTF8STRING, "failInfoText", &present, tag);
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
