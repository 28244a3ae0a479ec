/* scepc.c: the client side of SCEP shared by scepreq and sgwload (scepc.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509v3.h>

#include "scepc.h"

static struct scepc_nids nids;
static int nids_ok;

static int
oid(const char *num, const char *sn, const char *ln)
{
	int nid = OBJ_txt2nid(num);

	if (nid == NID_undef)
		nid = OBJ_create(num, sn, ln);
	return nid;
}

static void
nids_init(void)
{
	nids.msgtype = oid("2.16.840.1.113733.1.9.2", "scepMessageType", "SCEP messageType");
	nids.status = oid("2.16.840.1.113733.1.9.3", "scepPkiStatus", "SCEP pkiStatus");
	nids.failinfo = oid("2.16.840.1.113733.1.9.4", "scepFailInfo", "SCEP failInfo");
	nids.snonce = oid("2.16.840.1.113733.1.9.5", "scepSenderNonce", "SCEP senderNonce");
	nids.rnonce = oid("2.16.840.1.113733.1.9.6", "scepRecipientNonce", "SCEP recipientNonce");
	nids.txid = oid("2.16.840.1.113733.1.9.7", "scepTransactionID", "SCEP transactionID");
	nids.failtext = oid("1.3.6.1.5.5.7.24.1", "scepFailInfoText", "SCEP failInfoText");
	nids_ok = nids.msgtype && nids.status && nids.failinfo && nids.snonce && nids.rnonce &&
		  nids.txid && nids.failtext;
}

const struct scepc_nids *
scepc_nids(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, nids_init);
	return nids_ok ? &nids : NULL;
}

int
scepc_ctype_is(const char *ctype, const char *want)
{
	size_t n = strlen(want);

	if (!ctype || strncasecmp(ctype, want, n) != 0)
		return 0;
	return ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ';
}

/* s fits a PrintableString (X.680 41.4) */
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

/* "/K=V/K=V..." (openssl req -subj style, no escapes): each attribute in
 * order, as UTF-8 (OpenSSL picks the string type). */
static X509_NAME *
subj_name(const char *subj)
{
	X509_NAME *nm = X509_NAME_new();
	char *copy = strdup(subj), *tok, *save = NULL, *eq;
	int ok = nm != NULL && copy != NULL;

	for (tok = ok ? strtok_r(copy, "/", &save) : NULL; tok && ok;
	     tok = strtok_r(NULL, "/", &save)) {
		eq = strchr(tok, '=');
		ok = eq != NULL;
		if (ok) {
			*eq = '\0';
			ok = X509_NAME_add_entry_by_txt(nm, tok, MBSTRING_UTF8,
							(const unsigned char *)eq + 1,
							(int)strlen(eq + 1), -1, 0);
		}
	}
	free(copy);
	if (!ok) {
		X509_NAME_free(nm);
		return NULL;
	}
	return nm;
}

X509_NAME *
scepc_cn_name(const char *cn)
{
	X509_NAME *nm;

	if (cn[0] == '/')
		return subj_name(cn);
	nm = X509_NAME_new();
	/* a UTF8String as given (what MBSTRING_UTF8 makes too), without
	 * OpenSSL's ub-common-name check: tests send oversized names */
	if (nm && !X509_NAME_add_entry_by_txt(nm, "CN", V_ASN1_UTF8STRING,
					      (const unsigned char *)cn, (int)strlen(cn), -1, 0)) {
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

int
scepc_make_csr(const struct scepc_csr *c, EVP_PKEY *key, unsigned char **der, int *len)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *nm = scepc_cn_name(c->cn);
	int ok = 0;

	*der = NULL;
	if (!req || !nm || !X509_REQ_set_version(req, 0) || !X509_REQ_set_subject_name(req, nm) ||
	    !X509_REQ_set_pubkey(req, key))
		goto out;
	if (c->challenge) {
		int utf8 = c->challenge_utf8 >= 0 ? c->challenge_utf8 : !printable_ok(c->challenge);

		if (!X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword,
					       utf8 ? V_ASN1_UTF8STRING : V_ASN1_PRINTABLESTRING,
					       (const unsigned char *)c->challenge,
					       (int)strlen(c->challenge)))
			goto out;
	}
	if (c->nsans > 0 && add_san(req, c->sans, c->nsans) < 0)
		goto out;
	if (!X509_REQ_sign(req, key, c->md))
		goto out;
	*len = i2d_X509_REQ(req, der);
	ok = *len > 0;
out:
	X509_NAME_free(nm);
	X509_REQ_free(req);
	return ok ? 0 : -1;
}

X509 *
scepc_make_signer(const char *cn, EVP_PKEY *key, const EVP_MD *md, long skew)
{
	X509 *x = X509_new();
	X509_NAME *nm = scepc_cn_name(cn);
	BIGNUM *bn = BN_new();
	ASN1_INTEGER *serial = NULL;
	int ok = 0;

	if (!x || !nm || !bn || !BN_rand(bn, 63, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY))
		goto out;
	serial = BN_to_ASN1_INTEGER(bn, NULL);
	ok = serial && X509_set_version(x, 2) && X509_set_serialNumber(x, serial) &&
	     X509_set_subject_name(x, nm) && X509_set_issuer_name(x, nm) &&
	     X509_gmtime_adj(X509_getm_notBefore(x), skew - 300) &&
	     X509_gmtime_adj(X509_getm_notAfter(x), skew + 7 * 86400) && X509_set_pubkey(x, key) &&
	     X509_sign(x, key, md);
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

int
scepc_envelope_cipher_nid(const unsigned char *p, long n)
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

static int
add_attrs(const struct scepc_wrap *w, CMS_SignerInfo *si)
{
	const struct scepc_nids *n = scepc_nids();
	char mt[16];

	snprintf(mt, sizeof(mt), "%d", w->msg_type);
	/* real lengths everywhere: len -1 would mean "data is an ASN1 object" */
	return n &&
	       CMS_signed_add1_attr_by_NID(si, n->msgtype, V_ASN1_PRINTABLESTRING, mt,
					   (int)strlen(mt)) &&
	       CMS_signed_add1_attr_by_NID(si, n->txid, V_ASN1_PRINTABLESTRING, w->txid,
					   (int)strlen(w->txid)) &&
	       CMS_signed_add1_attr_by_NID(si, n->snonce, V_ASN1_OCTET_STRING, w->nonce,
					   SCEPC_NONCE_LEN);
}

static int
add_signing_time(const struct scepc_wrap *w, CMS_SignerInfo *si)
{
	ASN1_TIME *st = X509_time_adj_ex(NULL, 0, w->signing_time_offset, NULL);
	/* here len -1 is right: st is an ASN1_TIME object of type st->type */
	int ok = st && CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, ASN1_STRING_type(st),
						   st, -1);

	ASN1_TIME_free(st);
	return ok;
}

static int
corrupt(CMS_SignerInfo *si)
{
	ASN1_OCTET_STRING *sig = CMS_SignerInfo_get0_signature(si);
	int len = ASN1_STRING_length(sig);
	unsigned char *copy = OPENSSL_memdup(ASN1_STRING_get0_data(sig), (size_t)len);
	int ok = copy != NULL && len >= 2;

	if (ok) {
		copy[len / 2] ^= 0x5a;
		ok = ASN1_OCTET_STRING_set(sig, copy, len);
	}
	OPENSSL_free(copy);
	return ok;
}

int
scepc_wrap(const struct scepc_wrap *w, const unsigned char *data, int len, unsigned char **der,
	   size_t *derlen, const char **why)
{
	unsigned char *env_der = NULL;
	size_t envlen = 0;
	STACK_OF(X509) *recips = sk_X509_new_null();
	BIO *in = BIO_new_mem_buf(data, len);
	CMS_ContentInfo *env = NULL, *cms = NULL;
	CMS_SignerInfo *si;
	int rc = -1;

	*der = NULL;
	*why = "out of memory";
	if (!recips || !in || !sk_X509_push(recips, w->ra_enc))
		goto out;
	*why = "CMS_encrypt failed";
	if (w->oaep) {
		CMS_RecipientInfo *ri;

		env = CMS_encrypt(NULL, NULL, w->cipher, CMS_BINARY | CMS_PARTIAL);
		ri = env ? CMS_add1_recipient_cert(env, w->ra_enc, CMS_KEY_PARAM) : NULL;
		if (!ri ||
		    EVP_PKEY_CTX_set_rsa_padding(CMS_RecipientInfo_get0_pkey_ctx(ri),
						 RSA_PKCS1_OAEP_PADDING) <= 0 ||
		    CMS_final(env, in, NULL, CMS_BINARY) != 1)
			goto out;
	} else
		env = CMS_encrypt(recips, in, w->cipher, CMS_BINARY);
	if (!env || der_of_cms(env, &env_der, &envlen) < 0)
		goto out;
	BIO_free(in);
	in = BIO_new_mem_buf(env_der, (int)envlen);
	cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_BINARY);
	si = cms ? CMS_add1_signer(cms, w->signer, w->key, w->md, CMS_BINARY | CMS_NOSMIMECAP)
		 : NULL;
	*why = "cannot add the signer";
	if (!si)
		goto out;
	*why = "cannot add the SCEP signed attributes";
	if (!add_attrs(w, si))
		goto out;
	*why = "cannot add signingTime";
	if (w->set_signing_time && !add_signing_time(w, si))
		goto out;
	*why = "CMS_final failed";
	if (!in || !CMS_final(cms, in, NULL, CMS_BINARY))
		goto out;
	*why = "cannot corrupt the signature";
	if (w->corrupt_sig && !corrupt(si))
		goto out;
	*why = "cannot encode the pkiMessage";
	if (der_of_cms(cms, der, derlen) < 0)
		goto out;
	*why = NULL;
	rc = 0;
out:
	CMS_ContentInfo_free(cms);
	CMS_ContentInfo_free(env);
	OPENSSL_free(env_der);
	BIO_free(in);
	sk_X509_free(recips);
	return rc;
}
