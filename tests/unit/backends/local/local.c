/* tests for backends/local/ (local.c, template.c) and backends/backend.c:
 * a CA made in a temporary directory, a real event_base, worker pool and
 * keyop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/event.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "backend.h"
#include "cfg.h"
#include "fixture/cfg_fixture.h"
#include "fixture/pki_fixture.h"

struct fx {
	char dir[64];
	char path[8][128]; /* see names[] in setup() */
	EVP_PKEY *ca_key;
	X509 *ca;
	X509 *root;
	EVP_PKEY *dev_ec;
	EVP_PKEY *dev_rsa;
	struct event_base *base;
	struct worker_pool *pool;
	struct keyop *keys;
	struct backend *b;
};

enum { P_CA, P_KEY, P_ROOT, P_OPENKEY, P_NOTCA, P_OTHERKEY, P_FULL, P_N };

struct box {
	int calls;
	struct backend_result res;
};

/* ---- fixtures: keys and certificates ----------------------------------- */

/* self-signed, serial 1, ten years; a CA's extensions when ca */
static X509 *
make_cert(EVP_PKEY *key, const char *cn, int ca)
{
	return pki_fixture_cert(&(struct pki_fixture_cert){
	    .key = key,
	    .cn = cn,
	    .serial = 1,
	    .not_before = -3600,
	    .not_after = 86400L * 3650,
	    .ext = {{"basicConstraints", ca ? "critical,CA:TRUE" : "CA:FALSE"},
		    {"keyUsage", ca ? "critical,keyCertSign,cRLSign" : "digitalSignature"},
		    {"subjectKeyIdentifier", "hash"}}});
}

/* issuing CA and root in one file, as many deployments ship them */
static void
write_full_chain(const char *path, X509 *ca, X509 *root)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(PEM_write_X509(f, ca));
	assert_true(PEM_write_X509(f, root));
	fclose(f);
}

static int
setup(void **state)
{
	static const char *names[P_N] = {"ca.pem",    "ca.key",	   "root.pem", "open.key",
					 "notca.pem", "other.key", "full.pem"};
	struct fx *f = calloc(1, sizeof(*f));
	EVP_PKEY *root_key = EVP_EC_gen("P-256"), *other = EVP_EC_gen("P-256");
	X509 *notca;

	snprintf(f->dir, sizeof(f->dir), "/tmp/scepgw-local-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	for (size_t i = 0; i < P_N; i++)
		snprintf(f->path[i], sizeof(f->path[i]), "%s/%s", f->dir, names[i]);
	f->ca_key = EVP_EC_gen("P-256");
	f->dev_ec = EVP_EC_gen("P-256");
	f->dev_rsa = EVP_RSA_gen(2048);
	f->ca = make_cert(f->ca_key, "Test Issuing CA", 1);
	f->root = make_cert(root_key, "Test Root CA", 1);
	notca = make_cert(f->ca_key, "Not a CA", 0);
	pki_fixture_pem(f->path[P_CA], f->ca, NULL, 0644);
	pki_fixture_pem(f->path[P_KEY], NULL, f->ca_key, 0600);
	pki_fixture_pem(f->path[P_ROOT], f->root, NULL, 0644);
	pki_fixture_pem(f->path[P_OPENKEY], NULL, f->ca_key, 0644);
	pki_fixture_pem(f->path[P_NOTCA], notca, NULL, 0644);
	pki_fixture_pem(f->path[P_OTHERKEY], NULL, other, 0600);
	write_full_chain(f->path[P_FULL], f->ca, f->root);
	X509_free(notca);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(other);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	for (size_t i = 0; i < P_N; i++)
		unlink(f->path[i]);
	rmdir(f->dir);
	X509_free(f->ca);
	X509_free(f->root);
	EVP_PKEY_free(f->ca_key);
	EVP_PKEY_free(f->dev_ec);
	EVP_PKEY_free(f->dev_rsa);
	free(f);
	return 0;
}

static int
per_test_setup(void **state)
{
	struct fx *f = *state;

	f->base = event_base_new();
	f->pool = worker_pool_new(f->base, 2);
	f->keys = keyop_new();
	return f->base != NULL && f->pool != NULL && f->keys != NULL ? 0 : -1;
}

static int
per_test_teardown(void **state)
{
	struct fx *f = *state;

	backend_free(f->b);
	f->b = NULL;
	worker_pool_free(f->pool);
	keyop_free(f->keys);
	event_base_free(f->base);
	return 0;
}

/* ---- config and lifecycle helpers -------------------------------------- */

#define CFG_HEAD                                                                                   \
	CFG_FIXTURE_HEAD                                                                           \
	"scep_profiles:\n"                                                                         \
	"  p1: {ra_identity: ra, ra_profile: rp, challenge: {type: none}}\n"                       \
	"ra_profiles:\n"                                                                           \
	"  rp: {backend: ca}\n"                                                                    \
	"backends:\n"                                                                              \
	"  ca:\n"                                                                                  \
	"    type: local\n"
#define CFG_HEAD_LINES 12

#define TEMPLATES                                                                                  \
	"    templates:\n"                                                                         \
	"      device:\n"                                                                          \
	"        validity_days: 30\n"                                                              \
	"        backdate: 5m\n"                                                                   \
	"        key_usage: [digitalSignature, keyEncipherment]\n"                                 \
	"        extended_key_usage: [clientAuth, serverAuth]\n"                                   \
	"      minimal: {copy_sans: false, copy_subject: false, key_usage: [], "                   \
	"extended_key_usage: []}\n"

/* backend_new from "ca_cert/ca_key" paths plus `extra` YAML lines. */
static int
configure(struct fx *f, const char *cert, const char *key, const char *extra, struct sgw_err *err)
{
	char yaml[4096];
	struct cfg *c = NULL;
	const struct cfg_backend *cb;
	int r;

	snprintf(yaml, sizeof(yaml), CFG_HEAD "    ca_cert: %s\n    ca_key: %s\n%s", cert, key,
		 extra);
	r = cfg_parse("t.yaml", (const uint8_t *)yaml, strlen(yaml), &c, err);
	if (r == 0 && (cb = cfg_backend_find(c, "ca")) != NULL)
		r = backend_new(cb->name, cb->type, cb->node, cb->path, &f->b, err);
	cfg_free(c); /* the backend keeps nothing from the tree */
	return r;
}

static int
start(struct fx *f, struct sgw_err *err)
{
	struct backend_env env = {f->base, f->pool, f->keys};

	return backend_start(f->b, &env, err);
}

static void
start_ok(struct fx *f, const char *extra)
{
	struct sgw_err err = {{0}};
	char chain[2048];

	snprintf(chain, sizeof(chain), "    ca_chain: %s\n%s", f->path[P_ROOT], extra);
	if (configure(f, f->path[P_CA], f->path[P_KEY], chain, &err) != 0 || start(f, &err) != 0)
		fail_msg("%s", err.msg);
}

static uint8_t *
make_csr(EVP_PKEY *key, const char *cn, const char *sans, size_t *ret_len)
{
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	unsigned char *der = NULL;
	int len;

	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "O", MBSTRING_ASC,
				   (const unsigned char *)"Example", -1, -1, 0);
	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	assert_true(X509_REQ_set_pubkey(req, key));
	if (sans != NULL) {
		sk_X509_EXTENSION_push(exts,
				       X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, sans));
		assert_true(X509_REQ_add_extensions(req, exts));
	}
	assert_true(X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword,
					      V_ASN1_PRINTABLESTRING, (const unsigned char *)"pw",
					      2));
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	len = i2d_X509_REQ(req, &der);
	assert_true(len > 0);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	*ret_len = (size_t)len;
	return der;
}

static void
on_result(void *arg, struct backend_result *res)
{
	struct box *b = arg;

	b->calls++;
	b->res.status = res->status;
	b->res.cert = res->cert; /* steal */
	b->res.chain = res->chain;
	res->cert = NULL;
	res->chain = NULL;
	memcpy(b->res.reason, res->reason, sizeof(b->res.reason));
}

static void
run_until(struct fx *f, const int *counter, int want)
{
	while (*counter < want)
		assert_int_equal(event_base_loop(f->base, EVLOOP_ONCE), 0);
}

/* Submit one CSR and wait for its outcome. */
static void
issue(struct fx *f, EVP_PKEY *key, const char *tmpl, const char *sans, struct box *box)
{
	size_t len;
	uint8_t *der = make_csr(key, "dev1.example.com", sans, &len);
	struct backend_request req = {der, len, tmpl, "p1", "txn-1"};

	memset(box, 0, sizeof(*box));
	assert_int_equal(backend_submit(f->b, &req, on_result, box), 0);
	OPENSSL_free(der);		 /* borrowed only during submit */
	assert_int_equal(box->calls, 0); /* never synchronous */
	run_until(f, &box->calls, 1);
}

/* The certificate as a device gets it: the backend's X509 carries the CSR's
 * SubjectPublicKeyInfo bytes without a decoded key. */
static X509 *
on_the_wire(X509 *cert)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	int len = i2d_X509(cert, &der);
	X509 *x;

	assert_true(len > 0);
	p = der;
	x = d2i_X509(NULL, &p, len);
	assert_non_null(x);
	OPENSSL_free(der);
	return x;
}

/* The certificate's SubjectPublicKeyInfo is the key's, byte for byte. */
static void
check_spki(X509 *cert, EVP_PKEY *key)
{
	unsigned char *want = NULL, *got = NULL;
	int want_len = i2d_PUBKEY(key, &want);
	int got_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &got);

	assert_true(want_len > 0);
	assert_int_equal(got_len, want_len);
	assert_memory_equal(got, want, (size_t)want_len);
	OPENSSL_free(want);
	OPENSSL_free(got);
}

/* ---- checks on an issued certificate ----------------------------------- */

static void
check_chain_verifies(struct fx *f, X509 *cert)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();

	assert_true(X509_STORE_add_cert(st, f->ca));
	assert_true(X509_STORE_CTX_init(ctx, st, cert, NULL));
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_X509_STRICT);
	if (X509_verify_cert(ctx) != 1)
		fail_msg("verify: %s",
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
}

static void
check_serial(X509 *cert)
{
	const ASN1_INTEGER *s = X509_get0_serialNumber(cert);
	unsigned char *der = NULL;
	int n = i2d_ASN1_INTEGER((ASN1_INTEGER *)s, &der);

	assert_int_equal(ASN1_STRING_type(s), V_ASN1_INTEGER); /* not negative */
	assert_int_equal(ASN1_STRING_length(s), 16);
	assert_int_equal(n, 18); /* 02 10 + exactly 16 content octets */
	assert_true(ASN1_STRING_get0_data(s)[0] != 0);
	assert_true((ASN1_STRING_get0_data(s)[0] & 0x80) == 0);
	OPENSSL_free(der);
}

static void
check_validity(X509 *cert, int days, int backdate)
{
	int d = 0, secs = 0;

	assert_true(ASN1_TIME_diff(&d, &secs, NULL, X509_get0_notBefore(cert)));
	secs += d * 86400;
	assert_true(secs <= -backdate + 2 && secs >= -backdate - 5);
	assert_true(ASN1_TIME_diff(&d, &secs, X509_get0_notBefore(cert), X509_get0_notAfter(cert)));
	assert_int_equal((long)d * 86400 + secs, (long)days * 86400 + backdate);
}

/* SKI: SHA-1 of the key's subjectPublicKey bits, computed here from the
 * device key itself (not from the certificate). */
static void
check_key_ids(X509 *cert, X509 *ca, EVP_PKEY *key)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(cert);
	const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(cert);
	X509_PUBKEY *pk = NULL;
	const unsigned char *bits;
	int bits_len;

	assert_true(X509_PUBKEY_set(&pk, key));
	assert_true(X509_PUBKEY_get0_param(NULL, &bits, &bits_len, NULL, pk));
	assert_true(EVP_Digest(bits, (size_t)bits_len, md, &len, EVP_sha1(), NULL));
	X509_PUBKEY_free(pk);
	assert_non_null(ski);
	assert_int_equal(ASN1_STRING_length(ski), (int)len);
	assert_memory_equal(ASN1_STRING_get0_data(ski), md, len);
	assert_non_null(aki);
	assert_int_equal(ASN1_OCTET_STRING_cmp(aki, X509_get0_subject_key_id(ca)), 0);
}

static void
check_sans(X509 *cert)
{
	GENERAL_NAMES *g = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	const GENERAL_NAME *n;

	assert_non_null(g);
	assert_int_equal(sk_GENERAL_NAME_num(g), 2);
	n = sk_GENERAL_NAME_value(g, 0);
	assert_int_equal(n->type, GEN_DNS);
	assert_memory_equal(ASN1_STRING_get0_data(n->d.dNSName), "dev1.example.com", 16);
	n = sk_GENERAL_NAME_value(g, 1);
	assert_int_equal(n->type, GEN_IPADD);
	assert_memory_equal(ASN1_STRING_get0_data(n->d.iPAddress), "\xc0\x00\x02\x07", 4);
	GENERAL_NAMES_free(g);
}

/* ---- tests ------------------------------------------------------------- */

static void
test_issue(void **state)
{
	struct fx *f = *state;
	struct box box;
	X509 *cert, *wire;
	char subj[256];
	int crit = -1;
	BASIC_CONSTRAINTS *bc;

	start_ok(f, TEMPLATES);
	issue(f, f->dev_ec, "device", "DNS:dev1.example.com,IP:192.0.2.7", &box);
	assert_int_equal(box.res.status, BACKEND_ISSUED);
	cert = box.res.cert;
	assert_non_null(cert);
	assert_int_equal(X509_verify(cert, f->ca_key), 1);
	wire = on_the_wire(cert);
	check_chain_verifies(f, wire);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(wire), f->dev_ec), 1);
	X509_free(wire);
	check_spki(cert, f->dev_ec);
	assert_int_equal(X509_get_version(cert), X509_VERSION_3);
	X509_NAME_oneline(X509_get_subject_name(cert), subj, sizeof(subj));
	assert_string_equal(subj, "/O=Example/CN=dev1.example.com");
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(f->ca)),
			 0);
	bc = X509_get_ext_d2i(cert, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_int_equal(crit, 1);
	assert_false(bc->ca);
	BASIC_CONSTRAINTS_free(bc);
	assert_int_equal(X509_check_ca(cert), 0);
	/* EC key: keyEncipherment is dropped (RFC 5480) */
	assert_int_equal(X509_get_key_usage(cert), KU_DIGITAL_SIGNATURE);
	assert_int_equal(X509_get_ext_by_critical(cert, 1, -1) >= 0, 1);
	assert_int_equal(X509_get_extended_key_usage(cert), XKU_SSL_CLIENT | XKU_SSL_SERVER);
	check_key_ids(cert, f->ca, f->dev_ec);
	check_sans(cert);
	check_serial(cert);
	check_validity(cert, 30, 300);
	assert_int_equal(sk_X509_num(box.res.chain), 2);
	assert_int_equal(X509_cmp(sk_X509_value(box.res.chain, 0), f->ca), 0);
	assert_int_equal(X509_cmp(sk_X509_value(box.res.chain, 1), f->root), 0);
	assert_int_equal(sk_X509_num(backend_ca_chain(f->b)), 2);
	assert_string_equal(backend_name(f->b), "ca");
	backend_result_clear(&box.res);
}

static void
test_rsa_and_key_usage(void **state)
{
	struct fx *f = *state;
	struct box box;

	start_ok(f, TEMPLATES);
	issue(f, f->dev_rsa, "device", NULL, &box);
	assert_int_equal(box.res.status, BACKEND_ISSUED);
	check_spki(box.res.cert, f->dev_rsa);
	check_key_ids(box.res.cert, f->ca, f->dev_rsa);
	assert_int_equal(X509_get_key_usage(box.res.cert),
			 KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	assert_int_equal(X509_get_ext_by_NID(box.res.cert, NID_subject_alt_name, -1), -1);
	backend_result_clear(&box.res);
}

/* The caller's decoded CSR (csr_req) is used as is: the same certificate
 * content, and the X509_REQ is only borrowed. */
static void
test_issue_from_decoded_csr(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *der = make_csr(f->dev_rsa, "dev1.example.com", "DNS:dev1.example.com", &len);
	const unsigned char *p = der;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len);
	struct backend_request br = {der, len, "device", "p1", "txn-1", req};
	struct box box = {0};
	X509 *wire;

	assert_non_null(req);
	start_ok(f, TEMPLATES);
	assert_int_equal(backend_submit(f->b, &br, on_result, &box), 0);
	OPENSSL_free(der); /* csr_der: borrowed only during submit */
	run_until(f, &box.calls, 1);
	assert_int_equal(box.res.status, BACKEND_ISSUED);
	check_spki(box.res.cert, f->dev_rsa);
	check_key_ids(box.res.cert, f->ca, f->dev_rsa);
	wire = on_the_wire(box.res.cert);
	check_chain_verifies(f, wire);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(wire), f->dev_rsa), 1);
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(wire), X509_REQ_get_subject_name(req)),
			 0);
	X509_free(wire);
	X509_REQ_free(req); /* still the caller's after the callback */
	backend_result_clear(&box.res);
}

/* Only approved names reach the certificate: the caller's list when it gives
 * one (never the CSR's extension), else the CSR's approvable kinds. */
static void
submit_names(struct fx *f, const char *sans, const char *approved, int names_approved,
	     struct box *box)
{
	size_t len;
	uint8_t *der = make_csr(f->dev_ec, "dev1.example.com", sans, &len), *gder = NULL;
	X509_EXTENSION *ext =
	    approved ? X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, approved) : NULL;
	GENERAL_NAMES *g = ext ? X509V3_EXT_d2i(ext) : NULL;
	int glen = g ? i2d_GENERAL_NAMES(g, &gder) : 0;
	struct backend_request req = {.csr_der = der,
				      .csr_len = len,
				      .template = "device",
				      .san_der = gder,
				      .san_len = (size_t)glen,
				      .names_approved = names_approved};

	memset(box, 0, sizeof(*box));
	assert_int_equal(backend_submit(f->b, &req, on_result, box), 0);
	OPENSSL_free(der);
	OPENSSL_free(gder); /* borrowed only during submit */
	GENERAL_NAMES_free(g);
	X509_EXTENSION_free(ext);
	run_until(f, &box->calls, 1);
	assert_int_equal(box->res.status, BACKEND_ISSUED);
}

static void
test_approved_names(void **state)
{
	struct fx *f = *state;
	const char *hostile = "DNS:dev1.example.com,URI:spiffe://corp/admin,RID:1.2.3.4,"
			      "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:administrator@corp,"
			      "otherName:1.2.3.4;UTF8:x,IP:192.0.2.7";
	struct box box;

	start_ok(f, TEMPLATES);
	submit_names(f, hostile, "DNS:dev1.example.com,IP:192.0.2.7", 1, &box);
	check_sans(box.res.cert); /* exactly the approved two */
	backend_result_clear(&box.res);
	submit_names(f, hostile, NULL, 1, &box); /* approved: none */
	assert_int_equal(X509_get_ext_by_NID(box.res.cert, NID_subject_alt_name, -1), -1);
	backend_result_clear(&box.res);
	/* a caller without a list: the CSR's names, never RID or a non-UPN otherName */
	submit_names(f, "DNS:dev1.example.com,RID:1.2.3.4,otherName:1.2.3.4;UTF8:x,IP:192.0.2.7",
		     NULL, 0, &box);
	check_sans(box.res.cert);
	backend_result_clear(&box.res);
}

static void
test_default_and_minimal_templates(void **state)
{
	struct fx *f = *state;
	struct box box;
	char subj[256];

	start_ok(f, "");
	issue(f, f->dev_ec, NULL, "DNS:dev1.example.com,IP:192.0.2.7", &box);
	assert_int_equal(box.res.status, BACKEND_ISSUED);
	check_validity(box.res.cert, 365, 300);
	assert_int_equal(X509_get_extended_key_usage(box.res.cert), XKU_SSL_CLIENT);
	check_sans(box.res.cert);
	backend_result_clear(&box.res);
	backend_free(f->b);
	f->b = NULL;
	keyop_free(f->keys); /* the key id is loaded once per keyop */
	f->keys = keyop_new();

	start_ok(f, TEMPLATES);
	issue(f, f->dev_ec, "minimal", "DNS:dev1.example.com", &box);
	assert_int_equal(box.res.status, BACKEND_ISSUED);
	X509_NAME_oneline(X509_get_subject_name(box.res.cert), subj, sizeof(subj));
	assert_string_equal(subj, "/CN=dev1.example.com");
	assert_int_equal(X509_get_ext_by_NID(box.res.cert, NID_subject_alt_name, -1), -1);
	assert_int_equal(X509_get_ext_by_NID(box.res.cert, NID_key_usage, -1), -1);
	assert_int_equal(X509_get_ext_by_NID(box.res.cert, NID_ext_key_usage, -1), -1);
	backend_result_clear(&box.res);
}

/* A template's extensions for relying parties (template_ext.c): one CRL
 * distribution point naming every URL, AIA with OCSP then caIssuers, the
 * policies each with the CPS pointer; none is critical. */
static void
test_relying_party_extensions(void **state)
{
	struct fx *f = *state;
	CRL_DIST_POINTS *cdp;
	AUTHORITY_INFO_ACCESS *aia;
	CERTIFICATEPOLICIES *cp;
	POLICYQUALINFO *q;
	struct box box;
	char oid[64];
	int crit = -1;

	start_ok(f, "    templates:\n      rp:\n"
		    "        crl_distribution_points: [\"http://pki.example/ca.crl\", "
		    "\"ldap://ldap.example/cn=crl\"]\n"
		    "        ca_issuers: [\"http://pki.example/ca.crt\"]\n"
		    "        ocsp: [\"http://ocsp.example/\"]\n"
		    "        policies: [\"1.3.6.1.4.1.55555.1\", \"2.23.140.1.2.1\"]\n"
		    "        cps_uri: \"https://pki.example/cps\"\n");
	issue(f, f->dev_ec, "rp", "DNS:dev1.example.com", &box);
	assert_int_equal(box.res.status, BACKEND_ISSUED);
	cdp = X509_get_ext_d2i(box.res.cert, NID_crl_distribution_points, &crit, NULL);
	assert_non_null(cdp);
	assert_int_equal(crit, 0);
	assert_int_equal(sk_DIST_POINT_num(cdp), 1);
	assert_int_equal(sk_DIST_POINT_value(cdp, 0)->distpoint->type, 0);
	assert_int_equal(sk_GENERAL_NAME_num(sk_DIST_POINT_value(cdp, 0)->distpoint->name.fullname),
			 2);
	assert_string_equal(
	    ASN1_STRING_get0_data(
		sk_GENERAL_NAME_value(sk_DIST_POINT_value(cdp, 0)->distpoint->name.fullname, 0)
		    ->d.uniformResourceIdentifier),
	    "http://pki.example/ca.crl");
	CRL_DIST_POINTS_free(cdp);
	aia = X509_get_ext_d2i(box.res.cert, NID_info_access, &crit, NULL);
	assert_non_null(aia);
	assert_int_equal(crit, 0);
	assert_int_equal(sk_ACCESS_DESCRIPTION_num(aia), 2);
	assert_int_equal(OBJ_obj2nid(sk_ACCESS_DESCRIPTION_value(aia, 0)->method), NID_ad_OCSP);
	assert_int_equal(OBJ_obj2nid(sk_ACCESS_DESCRIPTION_value(aia, 1)->method),
			 NID_ad_ca_issuers);
	AUTHORITY_INFO_ACCESS_free(aia);
	cp = X509_get_ext_d2i(box.res.cert, NID_certificate_policies, &crit, NULL);
	assert_non_null(cp);
	assert_int_equal(crit, 0);
	assert_int_equal(sk_POLICYINFO_num(cp), 2);
	OBJ_obj2txt(oid, sizeof(oid), sk_POLICYINFO_value(cp, 1)->policyid, 1);
	assert_string_equal(oid, "2.23.140.1.2.1");
	q = sk_POLICYQUALINFO_value(sk_POLICYINFO_value(cp, 1)->qualifiers, 0);
	assert_int_equal(OBJ_obj2nid(q->pqualid), NID_id_qt_cps);
	assert_string_equal(ASN1_STRING_get0_data(q->d.cpsuri), "https://pki.example/cps");
	CERTIFICATEPOLICIES_free(cp);
	/* the template's usual extensions are still there */
	assert_int_equal(X509_get_extended_key_usage(box.res.cert), XKU_SSL_CLIENT);
	assert_true(X509_get_ext_by_NID(box.res.cert, NID_subject_alt_name, -1) >= 0);
	backend_result_clear(&box.res);
}

static int
cmp_serial(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

static void
test_serials_unique(void **state)
{
	enum { N = 200 };
	struct fx *f = *state;
	static struct box boxes[N];
	static uint8_t serials[N][16];
	size_t len;
	uint8_t *der = make_csr(f->dev_ec, "many", NULL, &len);
	struct backend_request req = {der, len, "device", "p1", "txn"};
	int done = 0;

	start_ok(f, TEMPLATES);
	memset(boxes, 0, sizeof(boxes));
	for (int i = 0; i < N; i++)
		assert_int_equal(backend_submit(f->b, &req, on_result, &boxes[i]), 0);
	OPENSSL_free(der);
	while (done < N) {
		assert_int_equal(event_base_loop(f->base, EVLOOP_ONCE), 0);
		done = 0;
		for (int i = 0; i < N; i++)
			done += boxes[i].calls;
	}
	for (int i = 0; i < N; i++) {
		assert_int_equal(boxes[i].calls, 1);
		assert_int_equal(boxes[i].res.status, BACKEND_ISSUED);
		check_serial(boxes[i].res.cert);
		memcpy(serials[i], ASN1_STRING_get0_data(X509_get0_serialNumber(boxes[i].res.cert)),
		       16);
		backend_result_clear(&boxes[i].res);
	}
	qsort(serials, N, 16, cmp_serial);
	for (int i = 1; i < N; i++)
		assert_true(memcmp(serials[i - 1], serials[i], 16) != 0);
}

static void
test_unknown_template_and_bad_csr(void **state)
{
	struct fx *f = *state;
	static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x00};
	struct backend_request req = {junk, sizeof(junk), "device", "p1", "t"};
	struct box box;

	start_ok(f, TEMPLATES);
	issue(f, f->dev_ec, "nope", NULL, &box);
	assert_int_equal(box.res.status, BACKEND_FAIL_PERM);
	assert_null(box.res.cert);
	assert_non_null(strstr(box.res.reason, "unknown certificate template 'nope'"));

	memset(&box, 0, sizeof(box));
	assert_int_equal(backend_submit(f->b, &req, on_result, &box), 0);
	assert_int_equal(box.calls, 0);
	run_until(f, &box.calls, 1);
	assert_int_equal(box.res.status, BACKEND_FAIL_PERM);
	assert_non_null(strstr(box.res.reason, "CSR does not parse"));
	assert_int_equal(backend_poll(f->b, "h", NULL, on_result, &box), -SGW_EINVAL);
}

static void
on_marker(void *arg)
{
	(*(int *)arg)++;
}

static void
noop(void *arg)
{
	(void)arg;
}

/* No callback after stop: jobs in flight finish on the workers and are
 * dropped by their done (one worker, so the marker job completes last). */
static void
test_stop_with_jobs_in_flight(void **state)
{
	struct fx *f = *state;
	struct box box = {0};
	size_t len;
	uint8_t *der = make_csr(f->dev_ec, "x", NULL, &len);
	struct backend_request req = {der, len, "device", "p1", "t"};
	int marker = 0;

	worker_pool_free(f->pool);
	f->pool = worker_pool_new(f->base, 1);
	start_ok(f, TEMPLATES);
	for (int i = 0; i < 10; i++)
		assert_int_equal(backend_submit(f->b, &req, on_result, &box), 0);
	OPENSSL_free(der);
	backend_free(f->b);
	f->b = NULL;
	assert_int_equal(worker_pool_submit(f->pool, noop, on_marker, &marker), 0);
	run_until(f, &marker, 1);
	assert_int_equal(box.calls, 0);
}

/* Shutdown under load: the worker pool stopped while signing jobs are still
 * queued drops them; each is freed (ASan's leak check), before or after the
 * backend stops, and no callback runs. */
static void
test_pool_stopped_with_jobs_queued(void **state)
{
	struct fx *f = *state;
	struct box box = {0};
	size_t len;
	uint8_t *der = make_csr(f->dev_ec, "x", NULL, &len);
	struct backend_request req = {der, len, "device", "p1", "t"};

	worker_pool_free(f->pool);
	f->pool = worker_pool_new(f->base, 1);
	start_ok(f, TEMPLATES);
	for (int i = 0; i < 20; i++)
		assert_int_equal(backend_submit(f->b, &req, on_result, &box), 0);
	OPENSSL_free(der);
	worker_pool_stop(f->pool); /* the queued ones dropped while the backend runs */
	backend_free(f->b);
	f->b = NULL;
	worker_pool_free(f->pool);
	f->pool = NULL;
	assert_int_equal(box.calls, 0);
}

/* A chain file that repeats the issuing CA does not duplicate it. */
static void
test_full_chain_file(void **state)
{
	struct fx *f = *state;
	struct sgw_err err = {{0}};
	char extra[256];
	STACK_OF(X509) * chain;

	snprintf(extra, sizeof(extra), "    ca_chain: %s\n", f->path[P_FULL]);
	assert_int_equal(configure(f, f->path[P_CA], f->path[P_KEY], extra, &err), 0);
	assert_null(backend_ca_chain(f->b)); /* not started */
	assert_int_equal(start(f, &err), 0);
	assert_int_equal(start(f, &err), -SGW_EINVAL); /* twice */
	chain = backend_ca_chain(f->b);
	assert_int_equal(sk_X509_num(chain), 2);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 0), f->ca), 0);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 1), f->root), 0);
}

static void
test_lifecycle_errors(void **state)
{
	struct fx *f = *state;
	struct sgw_err err = {{0}};
	struct cfg *c = NULL;
	struct cfg_backend cb;
	struct backend_request req = {(const uint8_t *)"x", 1, "device", "p1", "t"};
	struct box box = {0};
	char yaml[1024];

	snprintf(yaml, sizeof(yaml), CFG_HEAD "    ca_cert: a\n    ca_key: b\n");
	assert_int_equal(cfg_parse("t.yaml", (const uint8_t *)yaml, strlen(yaml), &c, &err), 0);
	cb = *cfg_backend_find(c, "ca");
	cb.type = "nope";
	assert_int_equal(backend_new(cb.name, cb.type, cb.node, cb.path, &f->b, &err), -SGW_EINVAL);
	assert_string_equal(
	    err.msg,
	    "t.yaml:11: backends.ca: unknown backend type 'nope' (one of: local, acme, ejbca)");
	cb = *cfg_backend_find(c, "ca");
	assert_int_equal(backend_new(cb.name, cb.type, cb.node, cb.path, &f->b, &err), 0);
	cfg_free(c);
	/* not started: no submit, and no callback */
	assert_int_equal(backend_submit(f->b, &req, on_result, &box), -SGW_EINVAL);
	assert_int_equal(box.calls, 0);
	backend_free(NULL);
	backend_result_clear(NULL);
}

static void
expect_start_fails(struct fx *f, const char *cert, const char *key, const char *msg)
{
	struct sgw_err err = {{0}};

	assert_int_equal(configure(f, cert, key, "", &err), 0);
	assert_true(start(f, &err) < 0);
	if (strstr(err.msg, msg) == NULL)
		fail_msg("'%s' does not contain '%s'", err.msg, msg);
	backend_free(f->b);
	f->b = NULL;
}

static void
test_start_refusals(void **state)
{
	struct fx *f = *state;

	expect_start_fails(f, f->path[P_CA], f->path[P_OPENKEY], "chmod 600");
	expect_start_fails(f, f->path[P_NOTCA], f->path[P_KEY], "not a CA");
	expect_start_fails(f, f->path[P_CA], f->path[P_OTHERKEY], "does not match");
	expect_start_fails(f, "/nonexistent/ca.pem", f->path[P_KEY], "cannot open");
}

static void
expect_configure_fails(struct fx *f, const char *extra, const char *msg)
{
	struct sgw_err err = {{0}};

	assert_true(configure(f, f->path[P_CA], f->path[P_KEY], extra, &err) < 0);
	assert_null(f->b);
	if (strcmp(err.msg, msg) != 0)
		fail_msg("got '%s', want '%s'", err.msg, msg);
}

static void
test_configure_refusals(void **state)
{
	struct fx *f = *state;
	expect_configure_fails(f, "    bogus: 1\n", "t.yaml:15: backends.ca.bogus: unknown key");
	expect_configure_fails(f, "    digest: md5\n",
			       "t.yaml:15: backends.ca: digest: 'md5' is not one of sha256, "
			       "sha384, sha512");
	expect_configure_fails(f, "    templates: {t: {validity: 3}}\n",
			       "t.yaml:15: backends.ca.templates.t.validity: unknown key");
	expect_configure_fails(f, "    templates: {t: {key_usage: [keyCertSign]}}\n",
			       "t.yaml:15: backends.ca.templates.t: key_usage: unknown or not "
			       "allowed 'keyCertSign'");
	expect_configure_fails(
	    f, "    templates: {t: {validity_days: 0}}\n",
	    "t.yaml:15: backends.ca.templates.t: validity_days: must be 1..7300");
	expect_configure_fails(f, "    templates: {t: {extended_key_usage: [fooAuth]}}\n",
			       "t.yaml:15: backends.ca.templates.t: extended_key_usage: unknown "
			       "'fooAuth'");
	expect_configure_fails(f, "    templates: {t: {ocsp: [\"http://o.example/\\x01\"]}}\n",
			       "t.yaml:15: backends.ca.templates.t: ocsp: 'http://o.example/\x01' "
			       "holds a space, a control, a non-ASCII or a \" < > \\ character");
	expect_configure_fails(f, "    templates: {t: {policies: [\"1.2.x\"]}}\n",
			       "t.yaml:15: backends.ca.templates.t: policies: '1.2.x' is not a "
			       "dotted OID (such as 2.23.140.1.2.1)");
	expect_configure_fails(f,
			       "    templates: {t: {crl_distribution_points: [\"file:///x\"]}}\n",
			       "t.yaml:15: backends.ca.templates.t: crl_distribution_points: "
			       "'file:///x' must start with http://, https:// or ldap://");
	expect_configure_fails(f, "    state_dir: /nonexistent/scepgw\n",
			       "t.yaml:15: backends.ca: state_dir: /nonexistent/scepgw is not a "
			       "directory");
	expect_configure_fails(f, "    crl_validity: 10s\n",
			       "t.yaml:15: backends.ca: crl_validity: must be between 1m and 366d");
	assert_null(backend_lookup("nope"));
	assert_ptr_equal(backend_lookup("local"), &backend_local);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, per_test_setup, per_test_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_issue),
	    T(test_rsa_and_key_usage),
	    T(test_issue_from_decoded_csr),
	    T(test_approved_names),
	    T(test_default_and_minimal_templates),
	    T(test_relying_party_extensions),
	    T(test_serials_unique),
	    T(test_unknown_template_and_bad_csr),
	    T(test_stop_with_jobs_in_flight),
	    T(test_pool_stopped_with_jobs_queued),
	    T(test_full_chain_file),
	    T(test_lifecycle_errors),
	    T(test_start_refusals),
	    T(test_configure_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
