/* tests for backends/acme/acme_json.c and acme_ident.c: the objects pebble
 * sends (captured shapes), malformed variants, Retry-After, the PEM chain,
 * and order identifiers from CSRs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "acme/acme_ident.h"
#include "acme/acme_json.h"
#include "err.h"
#include "fixture/pki_fixture.h"

#define S(x) (const uint8_t *)(x), strlen(x)

static const char pebble_dir[] =
    "{\"keyChange\":\"https://127.0.0.1:14000/rollover-account-key\",\"meta\":"
    "{\"externalAccountRequired\":true,\"termsOfService\":\"data:text/plain,Do%20what\"},"
    "\"newAccount\":\"https://127.0.0.1:14000/sign-me-up\",\"newNonce\":"
    "\"https://127.0.0.1:14000/nonce-plz\",\"newOrder\":\"https://127.0.0.1:14000/order-plz\","
    "\"revokeCert\":\"https://127.0.0.1:14000/revoke-cert\"}";

static void
test_directory(void **state)
{
	struct acme_dir d;

	(void)state;
	assert_int_equal(acme_dir_parse(S(pebble_dir), &d), 0);
	assert_string_equal(d.new_nonce, "https://127.0.0.1:14000/nonce-plz");
	assert_string_equal(d.new_account, "https://127.0.0.1:14000/sign-me-up");
	assert_string_equal(d.new_order, "https://127.0.0.1:14000/order-plz");
	assert_string_equal(d.revoke_cert, "https://127.0.0.1:14000/revoke-cert");
	assert_int_equal(d.eab_required, 1);
	acme_dir_clear(&d);
	assert_int_equal(acme_dir_parse(S("{\"newAccount\":\"a\",\"newOrder\":\"o\"}"), &d),
			 -SGW_EPARSE); /* no newNonce */
	assert_int_equal(
	    acme_dir_parse(S("{\"newNonce\":1,\"newAccount\":\"a\",\"newOrder\":\"o\"}"), &d),
	    -SGW_EPARSE);
	assert_int_equal(acme_dir_parse(S("[1]"), &d), -SGW_EPARSE);
	assert_int_equal(acme_dir_parse(S("{\"a\":1,\"a\":2}"), &d), -SGW_EPARSE);
	assert_int_equal(
	    acme_dir_parse(S("{\"newNonce\":\"n\",\"newAccount\":\"a\",\"newOrder\":\"o\"}"), &d),
	    0);
	assert_int_equal(d.eab_required, 0);
	assert_null(d.revoke_cert);
	acme_dir_clear(&d);
}

static void
test_order(void **state)
{
	struct acme_order o;
	const char *pending = "{\"status\":\"pending\",\"expires\":\"2026-11-24T06:00:00Z\","
			      "\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.test\"}],"
			      "\"finalize\":\"https://ca/finalize-order/X\","
			      "\"authorizations\":[\"https://ca/authZ/1\",\"https://ca/authZ/2\"]}";
	const char *valid =
	    "{\"status\":\"valid\",\"finalize\":\"https://ca/f\",\"authorizations\":[],"
	    "\"certificate\":\"https://ca/certZ/9\"}";
	const char *invalid =
	    "{\"status\":\"invalid\",\"finalize\":\"f\",\"authorizations\":[],\"error\":"
	    "{\"type\":\"urn:ietf:params:acme:error:unauthorized\",\"detail\":\"no\\nway\"}}";

	(void)state;
	assert_int_equal(acme_order_parse(S(pending), &o), 0);
	assert_int_equal(o.status, ACME_ST_PENDING);
	assert_int_equal(o.n_authz, 2);
	assert_string_equal(o.authz[1], "https://ca/authZ/2");
	assert_string_equal(o.finalize, "https://ca/finalize-order/X");
	assert_null(o.certificate);
	acme_order_clear(&o);
	assert_int_equal(acme_order_parse(S(valid), &o), 0);
	assert_string_equal(o.certificate, "https://ca/certZ/9");
	acme_order_clear(&o);
	assert_int_equal(acme_order_parse(S(invalid), &o), 0);
	assert_int_equal(o.has_error, 1);
	assert_string_equal(acme_problem_short(&o.error), "unauthorized");
	assert_string_equal(o.error.detail, "no way"); /* control characters never reach logs */
	acme_order_clear(&o);
	/* valid without a certificate URL, an unknown status, a bad authz list */
	assert_int_equal(acme_order_parse(S("{\"status\":\"valid\",\"finalize\":\"f\","
					    "\"authorizations\":[]}"),
					  &o),
			 -SGW_EPARSE);
	assert_int_equal(acme_order_parse(S("{\"status\":\"weird\",\"finalize\":\"f\","
					    "\"authorizations\":[]}"),
					  &o),
			 -SGW_EPARSE);
	assert_int_equal(acme_order_parse(S("{\"status\":\"ready\",\"finalize\":\"f\","
					    "\"authorizations\":[\"a\",2]}"),
					  &o),
			 -SGW_EPARSE);
}

static void
test_authz(void **state)
{
	struct acme_authz a;
	const char *az =
	    "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":\"a.test\"},"
	    "\"challenges\":[{\"type\":\"http-01\",\"url\":\"https://ca/chalZ/1\",\"token\":"
	    "\"tok-1_A\",\"status\":\"pending\"},{\"type\":\"dns-01\",\"url\":"
	    "\"https://ca/chalZ/2\",\"token\":\"tok2\",\"status\":\"pending\"}],"
	    "\"expires\":\"2026-11-24T06:00:00Z\"}";
	const char *bad_token =
	    "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":"
	    "\"a.test\"},\"challenges\":[{\"type\":\"dns-01\",\"url\":\"u\","
	    "\"token\":\"a;rm -rf\",\"status\":\"pending\"}]}";
	const char *invalid =
	    "{\"status\":\"invalid\",\"identifier\":{\"type\":\"dns\",\"value\":\"bad.test\"},"
	    "\"challenges\":[{\"type\":\"dns-01\",\"url\":\"https://ca/chalZ/3\",\"token\":"
	    "\"tok3\",\"status\":\"invalid\",\"error\":{\"type\":"
	    "\"urn:ietf:params:acme:error:unauthorized\",\"detail\":\"Correct value not found "
	    "for DNS challenge\",\"status\":403}}]}";

	(void)state;
	assert_int_equal(acme_authz_parse(S(az), &a), 0);
	assert_int_equal(a.status, ACME_ST_PENDING);
	assert_string_equal(a.id_value, "a.test");
	assert_int_equal(a.n_chall, 2);
	assert_string_equal(a.chall[1].type, "dns-01");
	assert_string_equal(a.chall[1].token, "tok2");
	assert_false(a.chall[1].has_error);
	acme_authz_clear(&a);
	/* pebble's invalid dns-01 challenge: the problem comes along */
	assert_int_equal(acme_authz_parse(S(invalid), &a), 0);
	assert_int_equal(a.status, ACME_ST_INVALID);
	assert_true(a.chall[0].has_error);
	assert_string_equal(acme_problem_short(&a.chall[0].error), "unauthorized");
	assert_string_equal(a.chall[0].error.detail, "Correct value not found for DNS challenge");
	acme_authz_clear(&a);
	assert_int_equal(acme_authz_parse(S(bad_token), &a), -SGW_EPARSE);
	assert_int_equal(acme_authz_parse(S("{\"status\":\"valid\",\"challenges\":[]}"), &a),
			 -SGW_EPARSE); /* no identifier */
}

static void
test_problem_and_account(void **state)
{
	struct acme_problem p;
	struct acme_account acct;

	(void)state;
	assert_int_equal(
	    acme_problem_parse(S("{\"type\":\"urn:ietf:params:acme:error:externalAccountRequired\","
				 "\"detail\":\"no EAB\",\"status\":403}"),
			       &p),
	    0);
	assert_string_equal(acme_problem_short(&p), "externalAccountRequired");
	assert_string_equal(p.detail, "no EAB");
	assert_int_equal(p.status, 403);
	assert_int_equal(acme_problem_parse(S("{\"status\":400}"), &p), -SGW_EPARSE);
	assert_int_equal(acme_problem_parse(S("not json"), &p), -SGW_EPARSE);
	assert_int_equal(acme_account_parse(S("{\"status\":\"valid\",\"orders\":\"x\"}"), &acct),
			 0);
	assert_int_equal(acct.status, ACME_ST_VALID);
}

static void
test_retry_after(void **state)
{
	int s = -1;

	(void)state;
	assert_int_equal(acme_retry_after("120", 0, 3600, &s), 0);
	assert_int_equal(s, 120);
	assert_int_equal(acme_retry_after("99999999999999999999", 0, 3600, &s), 0);
	assert_int_equal(s, 3600);
	/* 784111777 = Sun, 06 Nov 1994 08:49:37 GMT */
	assert_int_equal(
	    acme_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 30, 3600, &s), 0);
	assert_int_equal(s, 30);
	assert_int_equal(acme_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 5, 3600, &s),
			 0);
	assert_int_equal(s, 0);
	assert_int_equal(acme_retry_after("soon", 0, 3600, &s), -SGW_EPARSE);
	assert_int_equal(acme_retry_after("12x", 0, 3600, &s), -SGW_EPARSE);
}

static void
test_chain(void **state)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *a =
	    pki_fixture_cert(&(struct pki_fixture_cert){.key = k, .cn = "leaf", .not_after = 3600});
	X509 *b = pki_fixture_cert(
	    &(struct pki_fixture_cert){.key = k, .cn = "inter", .not_after = 3600});
	X509 *cert = NULL;
	STACK_OF(X509) *chain = NULL;
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem;
	long n;

	(void)state;
	PEM_write_bio_X509(bio, a);
	PEM_write_bio_X509(bio, b);
	n = BIO_get_mem_data(bio, &pem);
	assert_int_equal(acme_chain_parse((const uint8_t *)pem, (size_t)n, &cert, &chain), 0);
	assert_int_equal(X509_cmp(cert, a), 0);
	assert_int_equal(sk_X509_num(chain), 1);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 0), b), 0);
	X509_free(cert);
	sk_X509_pop_free(chain, X509_free);
	assert_int_equal(acme_chain_parse(S("no pem here"), &cert, &chain), -SGW_EPARSE);
	BIO_free(bio);
	X509_free(a);
	X509_free(b);
	EVP_PKEY_free(k);
}

/* A DER CSR with CN and the SANs given as an OpenSSL config string (or NULL). */
static int
make_csr(const char *cn, const char *sans, uint8_t **der)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	int len;

	if (cn != NULL)
		X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
					   (const unsigned char *)cn, -1, -1, 0);
	if (sans != NULL) {
		sk_X509_EXTENSION_push(exts,
				       X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, sans));
		X509_REQ_add_extensions(req, exts);
	}
	X509_REQ_set_pubkey(req, k);
	X509_REQ_sign(req, k, EVP_sha256());
	*der = NULL;
	len = i2d_X509_REQ(req, der);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
	return len;
}

static int
idents(const char *cn, const char *sans, const struct acme_ident_rule *rule, struct acme_ident *out,
       size_t *n, char *reason)
{
	uint8_t *der = NULL;
	int len = make_csr(cn, sans, &der), r;

	assert_true(len > 0);
	reason[0] = '\0';
	r = acme_idents_from_csr(der, (size_t)len, rule, out, n, reason, 256);
	OPENSSL_free(der);
	return r;
}

static void
test_idents(void **state)
{
	char *const domains[] = {"devices.test"};
	struct acme_ident_rule reject = {ACME_CN_REJECT, NULL, NULL, 0};
	struct acme_ident_rule dns = {ACME_CN_DNS, NULL, domains, 1};
	struct acme_ident_rule suffix = {ACME_CN_SUFFIX, "devices.test", NULL, 0};
	struct acme_ident id[ACME_MAX_IDENTS];
	char reason[256], *payload = NULL;
	size_t n = 0;

	(void)state;
	/* SANs win over the CN, whatever the rule */
	assert_int_equal(idents("ignored",
				"DNS:A.Example.ORG,IP:127.0.0.9,DNS:a.example.org,"
				"email:x@y.z",
				&reject, id, &n, reason),
			 0);
	assert_int_equal(n, 2);
	assert_string_equal(id[0].type, "dns");
	assert_string_equal(id[0].value, "a.example.org");
	assert_string_equal(id[1].type, "ip");
	assert_string_equal(id[1].value, "127.0.0.9");
	assert_int_equal(acme_idents_payload(id, n, &payload), 0);
	assert_string_equal(payload,
			    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example.org\"},"
			    "{\"type\":\"ip\",\"value\":\"127.0.0.9\"}]}");
	free(payload);
	/* CN-only */
	assert_int_equal(idents("dev1.devices.test", NULL, &reject, id, &n, reason), -SGW_EDENIED);
	assert_non_null(strstr(reason, "does not map a CN"));
	assert_int_equal(idents("Dev1.Devices.test", NULL, &dns, id, &n, reason), 0);
	assert_int_equal(n, 1);
	assert_string_equal(id[0].value, "dev1.devices.test");
	assert_int_equal(idents("dev1.other.test", NULL, &dns, id, &n, reason), -SGW_EDENIED);
	assert_non_null(strstr(reason, "not under a domain"));
	assert_int_equal(idents("devices.test", NULL, &dns, id, &n, reason), -SGW_EDENIED);
	assert_int_equal(idents("not a name!", NULL, &dns, id, &n, reason), -SGW_EDENIED);
	assert_non_null(strstr(reason, "does not map to a DNS name"));
	assert_int_equal(idents("SN-42", NULL, &suffix, id, &n, reason), 0);
	assert_string_equal(id[0].value, "sn-42.devices.test");
	assert_int_equal(idents(NULL, NULL, &suffix, id, &n, reason), -SGW_EDENIED);
	assert_int_equal(idents("x", "DNS:bad_name.test", &dns, id, &n, reason), -SGW_EDENIED);
	assert_int_equal(
	    acme_idents_from_csr((const uint8_t *)"junk", 4, &dns, id, &n, reason, sizeof(reason)),
	    -SGW_EPARSE);
	assert_true(acme_dns_name_ok("a-b.c9"));
	assert_false(acme_dns_name_ok("-a.b"));
	assert_false(acme_dns_name_ok("a-.b"));
	assert_false(acme_dns_name_ok("a..b"));
	assert_false(acme_dns_name_ok("single"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_directory),	cmocka_unit_test(test_order),
	    cmocka_unit_test(test_authz),	cmocka_unit_test(test_problem_and_account),
	    cmocka_unit_test(test_retry_after), cmocka_unit_test(test_chain),
	    cmocka_unit_test(test_idents),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
