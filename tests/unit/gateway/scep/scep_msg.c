/* tests for gateway/scep/scep_msg.c: pkiMessages built with the OpenSSL API as
 * a client would (scep_fixture.c) decode to their fields and outcome, or fail
 * when no reply can be formed.  Keys are made once per binary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "scep_envelope.h"
#include "scep_fixture.h"
#include "scep_msg.h"

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

/* The default request with another digest and cipher. */
static void
check_algs(struct fx *f, const EVP_MD *md, const EVP_CIPHER *cipher, int want_cipher,
	   const char *seed)
{
	struct req q = req_default();

	q.md = md;
	q.cipher = cipher;
	check_roundtrip(f, q, want_cipher, seed);
}

static void
test_msg_3des_sha1(void **state)
{
	check_algs(*state, EVP_sha1(), EVP_des_ede3_cbc(), NID_des_ede3_cbc,
		   "pkcsreq-3des-sha1.der");
}

static void
test_msg_aes256_sha512(void **state)
{
	check_algs(*state, EVP_sha512(), EVP_aes_256_cbc(), NID_aes_256_cbc,
		   "pkcsreq-aes256-sha512.der");
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

/* The default request with messageType `type` (NULL: none), decoded with
 * the outcome want; its DER in *ret_der. */
static struct scep_msg *
decode_type(struct fx *f, const char *type, enum scep_outcome want, uint8_t **ret_der,
	    size_t *ret_len)
{
	struct req q = req_default();

	q.type = type;
	*ret_der = build_req(f, &q, ret_len);
	return decode_ok(*ret_der, *ret_len, 0, want);
}

static void
test_msg_unknown_type(void **state)
{
	const char *types[] = {"99", "3", "x1", "1234", NULL};

	for (int i = 0; i < 5; i++) {
		size_t len;
		uint8_t *der;
		struct scep_msg *m =
		    decode_type(*state, types[i], SCEP_OUT_BAD_REQUEST, &der, &len);

		assert_string_equal(m->transaction_id, req_default().txid);
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
		size_t len;
		uint8_t *der;
		struct scep_msg *m = decode_type(*state, types[i], SCEP_OUT_SUCCESS, &der, &len);

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_msg_aes128_sha256), cmocka_unit_test(test_msg_3des_sha1),
	    cmocka_unit_test(test_msg_aes256_sha512), cmocka_unit_test(test_msg_two_recipients),
	    cmocka_unit_test(test_msg_md5),	      cmocka_unit_test(test_msg_bad_signature),
	    cmocka_unit_test(test_msg_unknown_type),  cmocka_unit_test(test_msg_renewal_and_poll),
	    cmocka_unit_test(test_msg_unanswerable),  cmocka_unit_test(test_msg_not_signed_data),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
