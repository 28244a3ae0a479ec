/* tests for gateway/scep/scep_envelope.c: the EnvelopedData of a pkiMessage,
 * decrypted with the RA key through keyop (wrong recipient, disallowed
 * cipher, truncation), encrypted to a recipient, and single DES behind the
 * legacy provider.  Keys are made once per binary (scep_fixture.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "scep_envelope.h"
#include "scep_fixture.h"
#include "scep_msg.h"

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_envelope_errors), cmocka_unit_test(test_envelope_encrypt),
	    cmocka_unit_test(test_msg_des_legacy), /* last: loads the legacy provider */
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
