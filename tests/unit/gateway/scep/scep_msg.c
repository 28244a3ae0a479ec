/* Unit tests for the SCEP codec: gateway/scep_{msg,envelope,certrep,caps,fail}.c.
 * Requests are built here with the OpenSSL API as a client would, and the
 * CertReps are checked the same way.  Keys are made once per binary.
 * With SGW_WRITE_SEEDS=DIR set, the messages built are also written to
 * DIR/scep_msg and DIR/envelope (fuzz seeds). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "cfg.h"
#include "keyop.h"
#include "scep_caps.h"
#include "scep_certrep.h"
#include "scep_envelope.h"
#include "scep_fail.h"
#include "scep_msg.h"

struct fx {
	EVP_PKEY *ra_pkey, *cl_pkey, *other_pkey;
	X509 *ra, *cl, *other, *issued;
	struct keyop *kop;
	const struct keyop_key *ra_key;
};

static const uint8_t payload[] = "messageData: a PKCS#10 would be here";

/* ---- helpers: certificates, keys, seeds --------------------------------- */

static X509 *
make_cert(EVP_PKEY *key, EVP_PKEY *signkey, const char *cn, long serial)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_get_subject_name(x);

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, signkey, EVP_sha256()) > 0);
	return x;
}

static void
save_seed(const char *sub, const char *name, const uint8_t *der, size_t len)
{
	const char *dir = getenv("SGW_WRITE_SEEDS");
	char path[1024];
	FILE *f;

	if (dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(der, 1, len, f), len);
	fclose(f);
}

static uint8_t *
take_bio(BIO *b, size_t *len)
{
	char *mem;
	long n = BIO_get_mem_data(b, &mem);
	uint8_t *p = malloc((size_t)n + 1);

	assert_non_null(p);
	memcpy(p, mem, (size_t)n);
	*len = (size_t)n;
	return p;
}

static int
group_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char path[] = "/tmp/scep_codec_keyXXXXXX";
	int fd = mkstemp(path);
	FILE *fp = fdopen(fd, "w");

	assert_int_equal(scep_oids_init(), 0);
	assert_int_equal(scep_oids_init(), 0); /* idempotent */
	f->ra_pkey = EVP_RSA_gen(2048);
	f->cl_pkey = EVP_RSA_gen(2048);
	f->other_pkey = EVP_RSA_gen(2048);
	f->ra = make_cert(f->ra_pkey, f->ra_pkey, "Test RA", 1);
	f->cl = make_cert(f->cl_pkey, f->cl_pkey, "SCEP SIGNER", 2);
	f->other = make_cert(f->other_pkey, f->other_pkey, "Test CA", 3);
	f->issued = make_cert(f->cl_pkey, f->other_pkey, "issued", 4);
	assert_true(PEM_write_PrivateKey(fp, f->ra_pkey, NULL, NULL, 0, NULL, NULL));
	fclose(fp);
	f->kop = keyop_new();
	assert_int_equal(keyop_load(f->kop, "ra", path, NULL), 0);
	unlink(path);
	f->ra_key = keyop_find(f->kop, "ra");
	assert_non_null(f->ra_key);
	*state = f;
	return 0;
}

static int
group_teardown(void **state)
{
	struct fx *f = *state;

	scep_envelope_disable_legacy();
	scep_envelope_disable_legacy();
	keyop_free(f->kop);
	X509_free(f->ra);
	X509_free(f->cl);
	X509_free(f->other);
	X509_free(f->issued);
	EVP_PKEY_free(f->ra_pkey);
	EVP_PKEY_free(f->cl_pkey);
	EVP_PKEY_free(f->other_pkey);
	free(f);
	return 0;
}

/* ---- building requests as a client ---------------------------------------- */

static uint8_t *
envelope(X509 *r1, X509 *r2, const EVP_CIPHER *cipher, size_t *len)
{
	STACK_OF(X509) *rc = sk_X509_new_null();
	BIO *in = BIO_new_mem_buf(payload, sizeof(payload));
	BIO *out = BIO_new(BIO_s_mem());
	CMS_ContentInfo *cms;
	uint8_t *der;

	sk_X509_push(rc, r1);
	if (r2 != NULL)
		sk_X509_push(rc, r2);
	cms = CMS_encrypt(rc, in, cipher, CMS_BINARY);
	assert_non_null(cms);
	assert_true(i2d_CMS_bio(out, cms));
	der = take_bio(out, len);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	BIO_free(out);
	sk_X509_free(rc);
	return der;
}

struct req {
	const char *type; /* messageType text, NULL to omit */
	const char *txid; /* NULL to omit */
	int nonce_len;	  /* 0 to omit */
	const EVP_MD *md;
	const EVP_CIPHER *cipher;
	X509 *extra_recip; /* a second RecipientInfo (first in order) */
	int tamper;	   /* flip a signature bit */
	int nocerts;	   /* leave the signer certificate out */
	uint8_t nonce[SCEP_NONCE_LEN];
};

static void
add_attr(CMS_SignerInfo *si, const char *oid, int type, const void *data, int len)
{
	assert_int_equal(CMS_signed_add1_attr_by_NID(si, OBJ_txt2nid(oid), type, data, len), 1);
}

static uint8_t *
build_req(struct fx *f, struct req *q, size_t *len)
{
	unsigned flags = CMS_BINARY | CMS_NOSMIMECAP | (q->nocerts ? CMS_NOCERTS : 0);
	uint8_t nonce[32], *env, *der;
	size_t envlen;
	CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_BINARY);
	CMS_SignerInfo *si = CMS_add1_signer(cms, f->cl, f->cl_pkey, q->md, flags);
	BIO *in, *out = BIO_new(BIO_s_mem());

	assert_non_null(si);
	RAND_bytes(nonce, sizeof(nonce));
	memcpy(q->nonce, nonce, SCEP_NONCE_LEN);
	if (q->type != NULL)
		add_attr(si, "2.16.840.1.113733.1.9.2", V_ASN1_PRINTABLESTRING, q->type,
			 (int)strlen(q->type));
	if (q->txid != NULL)
		add_attr(si, "2.16.840.1.113733.1.9.7", V_ASN1_PRINTABLESTRING, q->txid,
			 (int)strlen(q->txid));
	if (q->nonce_len > 0)
		add_attr(si, "2.16.840.1.113733.1.9.5", V_ASN1_OCTET_STRING, nonce, q->nonce_len);
	env = envelope(q->extra_recip ? q->extra_recip : f->ra, q->extra_recip ? f->ra : NULL,
		       q->cipher, &envlen);
	in = BIO_new_mem_buf(env, (int)envlen);
	assert_int_equal(CMS_final(cms, in, NULL, CMS_BINARY), 1);
	if (q->tamper)
		((unsigned char *)ASN1_STRING_get0_data(CMS_SignerInfo_get0_signature(si)))[7] ^= 1;
	assert_true(i2d_CMS_bio(out, cms));
	der = take_bio(out, len);
	free(env);
	BIO_free(in);
	BIO_free(out);
	CMS_ContentInfo_free(cms);
	return der;
}

static struct req
req_default(void)
{
	return (struct req){.type = "19",
			    .txid = "dGVzdA+/=",
			    .nonce_len = SCEP_NONCE_LEN,
			    .md = EVP_sha256(),
			    .cipher = EVP_aes_128_cbc()};
}

/* Decode, expect 0 and an outcome. */
static struct scep_msg *
decode_ok(const uint8_t *der, size_t len, int allow_md5, enum scep_outcome want)
{
	struct scep_msg *m = NULL;
	struct sgw_err err = {{0}};

	assert_int_equal(scep_msg_decode(der, len, allow_md5, &m, &err), 0);
	assert_non_null(m);
	assert_int_equal(m->outcome, want);
	return m;
}

static void
decode_fails(const uint8_t *der, size_t len)
{
	struct scep_msg *m = NULL;
	struct sgw_err err = {{0}};

	assert_true(scep_msg_decode(der, len, 0, &m, &err) < 0);
	assert_null(m);
	assert_true(err.msg[0] != '\0');
}

/* ---- scep_msg ----------------------------------------------------------------- */

static void
check_roundtrip(struct fx *f, struct req q, int want_cipher, const char *seed)
{
	size_t len, plen;
	uint8_t *der = build_req(f, &q, &len), *plain = NULL, spki[32], *p = NULL;
	struct scep_msg *m = decode_ok(der, len, 0, SCEP_OUT_SUCCESS);
	int nid = 0, n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(f->cl), &p);

	assert_int_equal(m->msg_type, SCEP_MSG_PKCSREQ);
	assert_string_equal(m->transaction_id, q.txid);
	assert_memory_equal(m->sender_nonce, q.nonce, SCEP_NONCE_LEN);
	assert_int_equal(m->digest_nid, EVP_MD_get_type(q.md));
	assert_int_equal(X509_cmp(m->signer, f->cl), 0);
	SHA256(p, (size_t)n, spki);
	assert_memory_equal(m->signer_key_sha256, spki, 32);
	assert_true(labs((long)(m->signing_time - time(NULL))) < 300);
	assert_int_equal(scep_envelope_cipher(m->envelope, m->envelope_len, &nid), 0);
	assert_int_equal(nid, want_cipher);
	assert_int_equal(scep_envelope_decrypt(m->envelope, m->envelope_len, f->ra_key, f->ra, 1,
					       &plain, &plen, &nid, NULL),
			 0);
	assert_int_equal(nid, want_cipher);
	assert_int_equal(plen, sizeof(payload));
	assert_memory_equal(plain, payload, plen);
	save_seed("scep_msg", seed, der, len);
	save_seed("envelope", seed, m->envelope, m->envelope_len);
	free(plain);
	OPENSSL_free(p);
	scep_msg_free(m);
	free(der);
}

static void
test_msg_aes128_sha256(void **state)
{
	check_roundtrip(*state, req_default(), NID_aes_128_cbc, "pkcsreq-aes128-sha256.der");
}

static void
test_msg_3des_sha1(void **state)
{
	struct req q = req_default();

	q.md = EVP_sha1();
	q.cipher = EVP_des_ede3_cbc();
	check_roundtrip(*state, q, NID_des_ede3_cbc, "pkcsreq-3des-sha1.der");
}

static void
test_msg_aes256_sha512(void **state)
{
	struct req q = req_default();

	q.md = EVP_sha512();
	q.cipher = EVP_aes_256_cbc();
	check_roundtrip(*state, q, NID_aes_256_cbc, "pkcsreq-aes256-sha512.der");
}

static void
test_msg_two_recipients(void **state)
{
	struct fx *f = *state;
	struct req q = req_default();

	q.extra_recip = f->other;
	q.txid = "1234567890";
	check_roundtrip(f, q, NID_aes_128_cbc, "pkcsreq-two-recipients.der");
}

static void
test_msg_des_legacy(void **state)
{
	struct fx *f = *state;
	EVP_CIPHER *des = EVP_CIPHER_fetch(NULL, "DES-CBC", NULL);
	struct req q = req_default();
	struct scep_msg *m;
	uint8_t *der, *plain = NULL;
	size_t len, plen;
	int nid;

	EVP_CIPHER_free(des); /* NULL unless the system config loads legacy */
	assert_int_equal(scep_envelope_enable_legacy(), 0);
	assert_int_equal(scep_envelope_enable_legacy(), 0);
	des = EVP_CIPHER_fetch(NULL, "DES-CBC", NULL);
	assert_non_null(des);
	q.md = EVP_sha1();
	q.cipher = des;
	der = build_req(f, &q, &len);
	m = decode_ok(der, len, 0, SCEP_OUT_SUCCESS);
	assert_int_equal(scep_envelope_decrypt(m->envelope, m->envelope_len, f->ra_key, f->ra, 0,
					       &plain, &plen, &nid, NULL),
			 -SGW_EALG);
	assert_null(plain);
	assert_int_equal(scep_envelope_decrypt(m->envelope, m->envelope_len, f->ra_key, f->ra, 1,
					       &plain, &plen, &nid, NULL),
			 0);
	assert_int_equal(nid, NID_des_cbc);
	assert_memory_equal(plain, payload, plen);
	save_seed("scep_msg", "pkcsreq-des-sha1.der", der, len);
	save_seed("envelope", "pkcsreq-des-sha1.der", m->envelope, m->envelope_len);
	free(plain);
	scep_msg_free(m);
	free(der);
	EVP_CIPHER_free(des);
}

static void
test_msg_md5(void **state)
{
	struct req q = req_default();
	size_t len;
	uint8_t *der;
	struct scep_msg *m;

	q.md = EVP_md5();
	der = build_req(*state, &q, &len);
	m = decode_ok(der, len, 0, SCEP_OUT_BAD_ALG);

	assert_string_equal(m->transaction_id, q.txid); /* a FAILURE can be sent */
	assert_int_equal(m->digest_nid, NID_md5);
	assert_int_equal(m->msg_type, SCEP_MSG_PKCSREQ);
	scep_msg_free(m);
	m = decode_ok(der, len, 1, SCEP_OUT_SUCCESS);
	scep_msg_free(m);
	save_seed("scep_msg", "pkcsreq-md5.der", der, len);
	free(der);
}

static void
test_msg_bad_signature(void **state)
{
	struct req q = req_default();
	size_t len;
	uint8_t *der;
	struct scep_msg *m;

	q.tamper = 1;
	der = build_req(*state, &q, &len);
	m = decode_ok(der, len, 0, SCEP_OUT_BAD_MESSAGE);

	assert_memory_equal(m->sender_nonce, q.nonce, SCEP_NONCE_LEN);
	assert_int_equal(m->msg_type, SCEP_MSG_PKCSREQ);
	assert_true(m->reason[0] != '\0');
	save_seed("scep_msg", "bad-signature.der", der, len);
	scep_msg_free(m);
	free(der);
}

static void
test_msg_unknown_type(void **state)
{
	const char *types[] = {"99", "3", "x1", "1234", NULL};

	for (int i = 0; i < 5; i++) {
		struct req q = req_default();
		size_t len;
		uint8_t *der;
		struct scep_msg *m;

		q.type = types[i];
		der = build_req(*state, &q, &len);
		m = decode_ok(der, len, 0, SCEP_OUT_BAD_REQUEST);

		assert_string_equal(m->transaction_id, q.txid);
		if (i < 2)
			assert_int_equal(m->msg_type, i == 0 ? 99 : 3);
		else
			assert_int_equal(m->msg_type, -1);
		if (i == 0)
			save_seed("scep_msg", "unknown-type.der", der, len);
		scep_msg_free(m);
		free(der);
	}
}

static void
test_msg_renewal_and_poll(void **state)
{
	const char *types[] = {"17", "20", "21", "22"};
	const int want[] = {SCEP_MSG_RENEWALREQ, SCEP_MSG_CERTPOLL, SCEP_MSG_GETCERT,
			    SCEP_MSG_GETCRL};

	for (int i = 0; i < 4; i++) {
		struct req q = req_default();
		size_t len;
		uint8_t *der;
		struct scep_msg *m;

		q.type = types[i];
		der = build_req(*state, &q, &len);
		m = decode_ok(der, len, 0, SCEP_OUT_SUCCESS);

		assert_int_equal(m->msg_type, want[i]);
		assert_string_not_equal(scep_msg_type_name(m->msg_type), "unknown");
		scep_msg_free(m);
		free(der);
	}
	assert_string_equal(scep_msg_type_name(19), "PKCSReq");
	assert_string_equal(scep_msg_type_name(7), "unknown");
}

/* Requests no reply can be formed for: scep_msg_decode < 0. */
static struct req
unanswerable(int i, char *longid)
{
	struct req q = req_default();

	switch (i) {
	case 0:
		q.nonce_len = 0;
		break;
	case 1:
		q.nonce_len = 8;
		break;
	case 2:
		q.nonce_len = 17;
		break;
	case 3:
		q.txid = NULL;
		break;
	case 4:
		q.txid = longid;
		break;
	case 5:
		q.txid = "bad\001id";
		break;
	default:
		q.nocerts = 1;
	}
	return q;
}

static void
test_msg_unanswerable(void **state)
{
	char longid[SCEP_TXID_MAX + 2];
	struct req q;
	size_t len;
	uint8_t *der;

	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	for (int i = 0; i < 7; i++) {
		q = unanswerable(i, longid);
		der = build_req(*state, &q, &len);
		decode_fails(der, len);
		if (i == 0) { /* also truncated */
			save_seed("scep_msg", "no-nonce.der", der, len);
			decode_fails(der, len - 1);
			decode_fails(der, len / 2);
		}
		if (i == 6) { /* a good request with a trailing byte */
			q = req_default();
			free(der);
			der = build_req(*state, &q, &len);
			der = realloc(der, len + 1);
			der[len] = 0;
			decode_fails(der, len + 1);
		}
		free(der);
	}
	decode_fails((const uint8_t *)"\x30\x03\x02\x01\x01", 5);
	decode_fails((const uint8_t *)"", 0);
}

static void
test_msg_not_signed_data(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *der = envelope(f->ra, NULL, EVP_aes_128_cbc(), &len), *big;

	decode_fails(der, len);
	free(der);
	big = calloc(1, 2 << 20);
	big[0] = 0x30;
	decode_fails(big, 2 << 20);
	free(big);
}

/* ---- scep_envelope -------------------------------------------------------- */

static void
test_envelope_errors(void **state)
{
	struct fx *f = *state;
	uint8_t *der, *plain = NULL;
	size_t len, plen;
	int nid = 0;

	der = envelope(f->other, NULL, EVP_aes_128_cbc(), &len);
	assert_int_equal(
	    scep_envelope_decrypt(der, len, f->ra_key, f->ra, 0, &plain, &plen, &nid, NULL),
	    -SGW_EAUTH);
	free(der);
	der = envelope(f->ra, NULL, EVP_aes_128_ofb(), &len);
	assert_int_equal(scep_envelope_cipher(der, len, &nid), 0);
	assert_int_equal(nid, NID_aes_128_ofb128);
	assert_int_equal(
	    scep_envelope_decrypt(der, len, f->ra_key, f->ra, 1, &plain, &plen, &nid, NULL),
	    -SGW_EALG);
	assert_int_equal(
	    scep_envelope_decrypt(der, len / 2, f->ra_key, f->ra, 1, &plain, &plen, &nid, NULL),
	    -SGW_EPARSE);
	assert_null(plain);
	free(der);
	assert_true(scep_envelope_cipher((const uint8_t *)"\x30\x00", 2, &nid) < 0);
	assert_int_equal(scep_envelope_cipher_allowed(NID_aes_192_cbc, 0), 1);
	assert_int_equal(scep_envelope_cipher_allowed(NID_des_cbc, 0), 0);
	assert_int_equal(scep_envelope_cipher_allowed(NID_des_cbc, 1), 1);
	assert_int_equal(scep_envelope_cipher_allowed(NID_rc2_cbc, 1), 0);
}

static void
test_envelope_encrypt(void **state)
{
	struct fx *f = *state;
	const int nids[] = {NID_aes_128_cbc, NID_aes_256_cbc, NID_des_ede3_cbc};
	uint8_t *der, *plain;
	size_t len, plen;
	int nid;

	for (int i = 0; i < 3; i++) {
		assert_int_equal(scep_envelope_encrypt(payload, sizeof(payload), f->ra, nids[i],
						       &der, &len, NULL),
				 0);
		assert_int_equal(
		    scep_envelope_decrypt(der, len, f->ra_key, f->ra, 0, &plain, &plen, &nid, NULL),
		    0);
		assert_int_equal(nid, nids[i]);
		assert_memory_equal(plain, payload, sizeof(payload));
		free(plain);
		free(der);
	}
	assert_int_equal(scep_envelope_encrypt(payload, 4, f->ra, NID_rc2_cbc, &der, &len, NULL),
			 -SGW_EALG);
}

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

/* ---- scep_caps, scep_fail ------------------------------------------------- */

static void
test_caps(void **state)
{
	const char *all = "POSTPKIOperation\nSHA-1\nSHA-256\nSHA-512\nAES\nDES3\nRenewal\n"
			  "GetNextCACert\nSCEPStandard\n";
	char buf[160];

	(void)state;
	assert_int_equal(scep_caps_text(SCEP_CAP_MAX - 1, buf, sizeof(buf)), strlen(all));
	assert_string_equal(buf, all);
	assert_int_equal(scep_caps_text(SCEP_CAP_SHA256 | SCEP_CAP_AES, buf, sizeof(buf)), 12);
	assert_string_equal(buf, "SHA-256\nAES\n");
	assert_int_equal(scep_caps_text(0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(scep_caps_text(SCEP_CAP_AES, buf, 5), 4);
	assert_int_equal(scep_caps_text(SCEP_CAP_AES, buf, 4), -SGW_EINVAL);
	assert_int_equal(scep_caps_text(SCEP_CAP_MAX - 1, buf, 20), -SGW_EINVAL);
}

static void
test_fail_table(void **state)
{
	static const struct {
		enum scep_outcome out;
		int status, fail, http;
	} want[] = {
	    {SCEP_OUT_SUCCESS, 0, SCEP_FAIL_NONE, 200},
	    {SCEP_OUT_PENDING, 3, SCEP_FAIL_NONE, 200},
	    {SCEP_OUT_BAD_ALG, 2, SCEP_FAIL_BADALG, 200},
	    {SCEP_OUT_BAD_MESSAGE, 2, SCEP_FAIL_BADMESSAGECHECK, 200},
	    {SCEP_OUT_BAD_REQUEST, 2, SCEP_FAIL_BADREQUEST, 200},
	    {SCEP_OUT_DENIED, 2, SCEP_FAIL_BADREQUEST, 200},
	    {SCEP_OUT_BAD_TIME, 2, SCEP_FAIL_BADTIME, 200},
	    {SCEP_OUT_BAD_CERT_ID, 2, SCEP_FAIL_BADCERTID, 200},
	    {SCEP_OUT_BACKEND_FAILED, 2, SCEP_FAIL_BADREQUEST, 200},
	    {SCEP_OUT_HTTP_MALFORMED, -1, SCEP_FAIL_NONE, 400},
	    {SCEP_OUT_HTTP_BAD_OP, -1, SCEP_FAIL_NONE, 400},
	    {SCEP_OUT_HTTP_NO_PROFILE, -1, SCEP_FAIL_NONE, 404},
	    {SCEP_OUT_HTTP_METHOD, -1, SCEP_FAIL_NONE, 405},
	    {SCEP_OUT_HTTP_TOO_LARGE, -1, SCEP_FAIL_NONE, 413},
	    {SCEP_OUT_HTTP_UNAVAILABLE, -1, SCEP_FAIL_NONE, 503},
	    {SCEP_OUT_HTTP_INTERNAL, -1, SCEP_FAIL_NONE, 500},
	};

	(void)state;
	assert_int_equal(sizeof(want) / sizeof(want[0]), SCEP_OUT_MAX);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct scep_fail_map *m = scep_fail_lookup(want[i].out);

		assert_non_null(m->name);
		assert_int_equal(m->pki_status, want[i].status);
		assert_int_equal(m->fail_info, want[i].fail);
		assert_int_equal(m->http_status, want[i].http);
	}
	assert_int_equal(scep_fail_lookup(SCEP_OUT_MAX)->http_status, 500);
	assert_int_equal(scep_fail_lookup((enum scep_outcome) - 1)->http_status, 500);
	assert_string_equal(scep_fail_info_name(SCEP_FAIL_BADMESSAGECHECK), "badMessageCheck");
	assert_string_equal(scep_fail_info_name(SCEP_FAIL_BADCERTID), "badCertId");
	assert_string_equal(scep_fail_info_name(42), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_fail_table),
	    cmocka_unit_test(test_msg_aes128_sha256),
	    cmocka_unit_test(test_msg_3des_sha1),
	    cmocka_unit_test(test_msg_aes256_sha512),
	    cmocka_unit_test(test_msg_two_recipients),
	    cmocka_unit_test(test_msg_md5),
	    cmocka_unit_test(test_msg_bad_signature),
	    cmocka_unit_test(test_msg_unknown_type),
	    cmocka_unit_test(test_msg_renewal_and_poll),
	    cmocka_unit_test(test_msg_unanswerable),
	    cmocka_unit_test(test_msg_not_signed_data),
	    cmocka_unit_test(test_envelope_errors),
	    cmocka_unit_test(test_envelope_encrypt),
	    cmocka_unit_test(test_certrep_success),
	    cmocka_unit_test(test_certrep_crl),
	    cmocka_unit_test(test_certrep_failure_pending),
	    cmocka_unit_test(test_certs_only),
	    cmocka_unit_test(test_msg_des_legacy), /* last: loads the legacy provider */
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
