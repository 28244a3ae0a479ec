/* tests for backends/ejbca/ejbca_json.c: the request bodies EJBCA expects
 * (snake_case, PEM CSR with escaped newlines) and every reply shape of
 * docs/protocol-notes.md 1.2-1.4, including the early versions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>

#include "ejbca/ejbca_json.h"

#define U(s) (const uint8_t *)(s), strlen(s)

static void
test_enroll_body(void **state)
{
	struct ejbca_enroll e = {"-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE "
				 "REQUEST-----\n",
				 "ENDUSER",
				 "SCEP_EEP",
				 "IssuingCA",
				 "scep-dev1",
				 "0123abcd",
				 NULL,
				 1};
	json_error_t jerr;
	json_t *j;
	char *s = NULL;

	(void)state;
	assert_int_equal(ejbca_json_enroll(&e, &s), 0);
	/* newlines escaped, slashes not */
	assert_non_null(strstr(s, "\"-----BEGIN CERTIFICATE REQUEST-----\\nMIIB\\n"));
	j = json_loads(s, 0, &jerr);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "certificate_profile_name")),
			    "ENDUSER");
	assert_string_equal(json_string_value(json_object_get(j, "end_entity_profile_name")),
			    "SCEP_EEP");
	assert_string_equal(json_string_value(json_object_get(j, "certificate_authority_name")),
			    "IssuingCA");
	assert_string_equal(json_string_value(json_object_get(j, "username")), "scep-dev1");
	assert_string_equal(json_string_value(json_object_get(j, "password")), "0123abcd");
	assert_string_equal(json_string_value(json_object_get(j, "response_format")), "DER");
	assert_true(json_is_true(json_object_get(j, "include_chain")));
	assert_null(json_object_get(j, "email")); /* optional keys only when set */
	assert_int_equal(json_object_size(j), 8);
	json_decref(j);
	free(s);
	e.username = "bad\xff";
	assert_int_equal(ejbca_json_enroll(&e, &s), -SGW_EINVAL);
	assert_int_equal(ejbca_json_finalize("c0de", &s), 0);
	assert_string_equal(s, "{\"response_format\":\"DER\",\"password\":\"c0de\"}");
	free(s);
}

static void
test_b64(void **state)
{
	uint8_t *out = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(ejbca_b64_decode("TWFu", 4, &out, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "Man", 3);
	free(out);
	assert_int_equal(ejbca_b64_decode("TWE=", 4, &out, &n), 0);
	assert_int_equal(n, 2);
	free(out);
	assert_int_equal(ejbca_b64_decode("TQ==", 4, &out, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 'M');
	free(out);
	assert_int_equal(ejbca_b64_decode("+/+/", 4, &out, &n), 0);
	free(out);
	/* base64url, missing padding, inner padding, whitespace: refused */
	assert_int_equal(ejbca_b64_decode("-_-_", 4, &out, &n), -SGW_EPARSE);
	assert_int_equal(ejbca_b64_decode("TQ", 2, &out, &n), -SGW_EPARSE);
	assert_int_equal(ejbca_b64_decode("TQ==TWFu", 8, &out, &n), -SGW_EPARSE);
	assert_int_equal(ejbca_b64_decode("T===", 4, &out, &n), -SGW_EPARSE);
	assert_int_equal(ejbca_b64_decode("TW\nFu", 6, &out, &n), -SGW_EPARSE);
	assert_int_equal(ejbca_b64_decode("", 0, &out, &n), -SGW_EPARSE);
}

static void
test_issued(void **state)
{
	struct ejbca_reply r;

	(void)state;
	assert_int_equal(ejbca_json_parse_reply(201,
						U("{\"certificate\":\"TWFu\",\"serial_number\":"
						  "\"5C8F0A\",\"response_format\":\"DER\","
						  "\"certificate_chain\":[\"TQ==\",\"TWE=\"],"
						  "\"unknown_key\":{\"x\":1}}"),
						&r),
			 0);
	assert_int_equal(r.kind, EJBCA_CERT);
	assert_int_equal(r.cert.len, 3);
	assert_int_equal(r.n_chain, 2);
	assert_int_equal(r.chain[1].len, 2);
	assert_string_equal(r.serial, "5C8F0A");
	ejbca_reply_clear(&r);
	/* early versions: no chain at all */
	assert_int_equal(ejbca_json_parse_reply(201, U("{\"certificate\":\"TWFu\"}"), &r), 0);
	assert_int_equal(r.n_chain, 0);
	ejbca_reply_clear(&r);
	/* malformed 201s */
	assert_int_equal(ejbca_json_parse_reply(201, U("{\"certificate\":\"TW-u\"}"), &r),
			 -SGW_EPARSE);
	assert_int_equal(ejbca_json_parse_reply(201, U("{}"), &r), -SGW_EPARSE);
	assert_int_equal(ejbca_json_parse_reply(
			     201, U("{\"certificate\":\"TWFu\",\"response_format\":\"PEM\"}"), &r),
			 -SGW_EPARSE);
	assert_int_equal(ejbca_json_parse_reply(
			     201, U("{\"certificate\":\"TWFu\",\"certificate_chain\":[1]}"), &r),
			 -SGW_EPARSE);
	assert_int_equal(ejbca_json_parse_reply(
			     201, U("{\"certificate\":\"TWFu\",\"certificate\":\"TWFu\"}"), &r),
			 -SGW_EPARSE);
	assert_int_equal(ejbca_json_parse_reply(201, U("[\"TWFu\"]"), &r), -SGW_EPARSE);
	assert_int_equal(ejbca_json_parse_reply(201, U("not json"), &r), -SGW_EPARSE);
}

static void
test_pending(void **state)
{
	struct ejbca_reply r;
	char id[32];

	(void)state;
	assert_int_equal(
	    ejbca_json_parse_reply(202,
				   U("{\"status_code\":202,\"info_message\":\"Waiting "
				     "for approval\",\"link\":\"https://h/ejbca/"
				     "ejbca-rest-api/99/finalize\",\"request_id\":1234}"),
				   &r),
	    0);
	assert_int_equal(r.kind, EJBCA_PENDING);
	assert_string_equal(r.request_id, "1234"); /* request_id wins over link */
	assert_string_equal(r.message, "Waiting for approval");
	ejbca_reply_clear(&r);
	assert_int_equal(
	    ejbca_json_parse_reply(
		202, U("{\"link\":\"https://h:8443/ejbca/ejbca-rest-api/5678/finalize\"}"), &r),
	    0);
	assert_string_equal(r.request_id, "5678");
	assert_int_equal(ejbca_json_parse_reply(202, U("{\"request_id\":\"77\"}"), &r), 0);
	assert_string_equal(r.request_id, "77");
	assert_int_equal(ejbca_json_parse_reply(202, U("{\"request_id\":\"7/7\"}"), &r),
			 -SGW_EPARSE);
	assert_int_equal(ejbca_json_parse_reply(202, U("{\"request_id\":-1}"), &r), -SGW_EPARSE);
	/* finalize's "still waiting" names no id */
	assert_int_equal(ejbca_json_parse_reply(202, U("{\"info_message\":\"x\"}"), &r), 0);
	assert_string_equal(r.request_id, "");
	assert_int_equal(ejbca_json_parse_reply(202, U("{\"link\":\"/x/finalize\"}"), &r),
			 -SGW_EPARSE);
	assert_int_equal(ejbca_link_request_id("/12/finalize", id, sizeof(id)), 0);
	assert_string_equal(id, "12");
	assert_int_equal(ejbca_link_request_id("/a12/finalize", id, sizeof(id)), -SGW_EPARSE);
	assert_int_equal(ejbca_link_request_id("/finalize", id, sizeof(id)), -SGW_EPARSE);
	assert_int_equal(ejbca_link_request_id("/123456/finalize", id, 4), -SGW_EPARSE);
}

static void
test_errors(void **state)
{
	struct ejbca_reply r;
	char msg[16];

	(void)state;
	assert_int_equal(ejbca_json_parse_reply(422,
						U("{\"error_code\":422,\"error_message\":\"Subject "
						  "DN field 'OU' is required\\n\\u00e9\"}"),
						&r),
			 0);
	assert_int_equal(r.kind, EJBCA_ERROR);
	assert_int_equal(r.status, 422);
	/* printable ASCII only: it reaches the log and failInfoText */
	assert_string_equal(r.message, "Subject DN field 'OU' is required???");
	assert_int_equal(ejbca_json_parse_reply(503, U("<html>down</html>"), &r), 0);
	assert_int_equal(r.kind, EJBCA_ERROR);
	assert_string_equal(r.message, "");
	assert_int_equal(ejbca_json_parse_reply(500, NULL, 0, &r), 0);
	ejbca_json_message(U("{\"error_message\":\"a long message here\"}"), msg, sizeof(msg));
	assert_string_equal(msg, "a long message ");
	ejbca_json_message(U("]["), msg, sizeof(msg));
	assert_string_equal(msg, "");
}

static void
test_ca_and_crl(void **state)
{
	const char *cas =
	    "{\"certificate_authorities\":[{\"name\":\"Other\",\"subject_dn\":\"CN=O\"},"
	    "{\"id\":3,\"name\":\"IssuingCA\",\"subject_dn\":\"CN=Issuing CA,O=EJBCA "
	    "Sample,C=SE\"}]}";
	struct ejbca_der d = {0};
	char dn[64];

	(void)state;
	assert_int_equal(ejbca_json_ca_dn(U(cas), "IssuingCA", dn, sizeof(dn)), 0);
	assert_string_equal(dn, "CN=Issuing CA,O=EJBCA Sample,C=SE");
	assert_int_equal(ejbca_json_ca_dn(U(cas), "Nope", dn, sizeof(dn)), -SGW_ENOTFOUND);
	assert_int_equal(ejbca_json_ca_dn(U(cas), "IssuingCA", dn, 10), -SGW_EPARSE);
	assert_int_equal(ejbca_json_ca_dn(U("{\"certificate_authorities\":{}}"), "x", dn, 64),
			 -SGW_EPARSE);
	assert_int_equal(ejbca_json_crl(U("{\"crl\":\"TWFu\",\"response_format\":\"DER\"}"), &d),
			 0);
	assert_int_equal(d.len, 3);
	free(d.der);
	assert_int_equal(ejbca_json_crl(U("{\"crl\":\"TWFu\",\"response_format\":\"PEM\"}"), &d),
			 -SGW_EPARSE);
	assert_int_equal(ejbca_json_crl(U("{\"crl\":null}"), &d), -SGW_EPARSE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_enroll_body), cmocka_unit_test(test_b64),
	    cmocka_unit_test(test_issued),	cmocka_unit_test(test_pending),
	    cmocka_unit_test(test_errors),	cmocka_unit_test(test_ca_and_crl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
