/* scep_fixture.c: keys, certificates and pkiMessages for the SCEP codec's
 * tests (scep_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "fixture/pki_fixture.h"
#include "keyop.h"
#include "scep_envelope.h"
#include "scep_fixture.h"
#include "scep_msg.h"

/* ---- helpers: certificates, keys, seeds --------------------------------- */

static X509 *
make_cert(EVP_PKEY *key, EVP_PKEY *signkey, const char *cn, long serial)
{
	return pki_fixture_cert(&(struct pki_fixture_cert){.key = key,
							   .cn = cn,
							   .signer = signkey,
							   .serial = serial,
							   .not_before = -60,
							   .not_after = 3600});
}

void
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

uint8_t *
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

int
group_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char path[] = "/tmp/scep_fixture_keyXXXXXX";
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

int
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

uint8_t *
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

static void
add_attr(CMS_SignerInfo *si, const char *oid, int type, const void *data, int len)
{
	assert_int_equal(CMS_signed_add1_attr_by_NID(si, OBJ_txt2nid(oid), type, data, len), 1);
}

uint8_t *
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

struct req
req_default(void)
{
	return (struct req){.type = "19",
			    .txid = "dGVzdA+/=",
			    .nonce_len = SCEP_NONCE_LEN,
			    .md = EVP_sha256(),
			    .cipher = EVP_aes_128_cbc()};
}

struct scep_msg *
decode_ok(const uint8_t *der, size_t len, int allow_md5, enum scep_outcome want)
{
	struct scep_msg *m = NULL;
	struct sgw_err err = {{0}};

	assert_int_equal(scep_msg_decode(der, len, 0, allow_md5, &m, &err), 0);
	assert_non_null(m);
	assert_int_equal(m->outcome, want);
	return m;
}

void
decode_fails(const uint8_t *der, size_t len)
{
	struct scep_msg *m = NULL;
	struct sgw_err err = {{0}};

	assert_true(scep_msg_decode(der, len, 0, 0, &m, &err) < 0);
	assert_null(m);
	assert_true(err.msg[0] != '\0');
}
