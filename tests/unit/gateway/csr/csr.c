/* tests for gateway/csr/csr.c, csr_fast.c, csr_san.c, csr_policy.c and
 * csr_policy_names.c:
 * CSRs are built here with the OpenSSL API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "csr.h"
#include "csr_fast.h"

struct keys {
	EVP_PKEY *rsa2048;
	EVP_PKEY *rsa1024;
	EVP_PKEY *ec;
};

struct csr_spec {
	const char *cn;	       /* NULL: subject O=Example only */
	const char *challenge; /* NULL: none */
	int challenge_type;    /* V_ASN1_PRINTABLESTRING, V_ASN1_UTF8STRING, ... */
	const char *sans;      /* X509V3 conf text, NULL: none */
};

static int
add_sans(X509_REQ *req, const char *sans)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, sans);
	int ok = exts != NULL && ext != NULL && sk_X509_EXTENSION_push(exts, ext) > 0;

	if (!ok)
		X509_EXTENSION_free(ext);
	ok = ok && X509_REQ_add_extensions(req, exts);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return ok;
}

/* DER of a signed CSR; the caller frees it with OPENSSL_free. */
static uint8_t *
make_csr(EVP_PKEY *key, const struct csr_spec *s, size_t *ret_len)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_REQ_get_subject_name(req);
	unsigned char *der = NULL;
	int len;

	assert_true(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
					       (const unsigned char *)"Example", -1, -1, 0));
	/* a UTF8String as given: MBSTRING_UTF8 would enforce ub-common-name
	 * here, and a device is not bound by that */
	if (s->cn != NULL)
		assert_true(X509_NAME_add_entry_by_txt(name, "CN", V_ASN1_UTF8STRING,
						       (const unsigned char *)s->cn, -1, -1, 0));
	assert_true(X509_REQ_set_pubkey(req, key));
	if (s->challenge != NULL)
		assert_true(X509_REQ_add1_attr_by_NID(
		    req, NID_pkcs9_challengePassword, s->challenge_type,
		    (const unsigned char *)s->challenge, (int)strlen(s->challenge)));
	if (s->sans != NULL)
		assert_true(add_sans(req, s->sans));
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	len = i2d_X509_REQ(req, &der);
	assert_true(len > 0);
	X509_REQ_free(req);
	*ret_len = (size_t)len;
	return der;
}

static struct csr *
parse_ok(EVP_PKEY *key, const struct csr_spec *s)
{
	struct sgw_err err = {{0}};
	struct csr *c = NULL;
	size_t len;
	uint8_t *der = make_csr(key, s, &len);

	assert_int_equal(csr_parse(der, len, &c, &err), 0);
	assert_non_null(c);
	OPENSSL_free(der);
	return c;
}

static void
test_valid_rsa(void **state)
{
	struct keys *k = *state;
	struct csr_spec s = {"dev1.example.com", "s3cret", V_ASN1_PRINTABLESTRING,
			     "DNS:dev1.example.com,DNS:alt.example.com,IP:192.0.2.7,"
			     "IP:2001:db8::1,email:ops@example.com,URI:urn:dev:1"};
	struct csr *c = parse_ok(k->rsa2048, &s);
	unsigned char *spki = NULL, md[32];
	int n = i2d_PUBKEY(k->rsa2048, &spki);

	assert_string_equal(c->subject, "CN=dev1.example.com,O=Example");
	assert_string_equal(c->cn, "dev1.example.com");
	assert_string_equal(c->challenge, "s3cret");
	assert_int_equal(c->key_type, CSR_KEY_RSA);
	assert_int_equal(c->key_bits, 2048);
	assert_true(EVP_Digest(spki, (size_t)n, md, NULL, EVP_sha256(), NULL));
	assert_memory_equal(c->key_sha256, md, 32);
	assert_int_equal(c->san_dns.n, 2);
	assert_string_equal(c->san_dns.v[0], "dev1.example.com");
	assert_string_equal(c->san_dns.v[1], "alt.example.com");
	assert_int_equal(c->san_ip.n, 2);
	assert_string_equal(c->san_ip.v[0], "192.0.2.7");
	assert_string_equal(c->san_ip.v[1], "2001:db8::1");
	assert_int_equal(c->san_email.n, 1);
	assert_string_equal(c->san_email.v[0], "ops@example.com");
	assert_int_equal(c->san_uri.n, 1);
	assert_string_equal(c->san_uri.v[0], "urn:dev:1");
	assert_non_null(c->der);
	assert_true(c->der_len > 0);
	OPENSSL_free(spki);
	csr_free(c);
}

static void
test_ec_no_challenge(void **state)
{
	struct keys *k = *state;
	struct csr_spec s = {"ec-dev", NULL, 0, NULL};
	struct csr *c = parse_ok(k->ec, &s);

	assert_int_equal(c->key_type, CSR_KEY_EC);
	assert_int_equal(c->key_bits, 256);
	assert_null(c->challenge);
	assert_int_equal(c->san_dns.n + c->san_ip.n + c->san_email.n + c->san_uri.n, 0);
	csr_free(c);
}

static void
test_utf8_challenge(void **state)
{
	struct keys *k = *state;
	struct csr_spec s = {"dév", "pässwörd-€", V_ASN1_UTF8STRING, NULL};
	struct csr *c = parse_ok(k->ec, &s);

	assert_string_equal(c->challenge, "pässwörd-€");
	assert_string_equal(c->cn, "dév");
	assert_string_equal(c->subject, "CN=dév,O=Example");
	csr_free(c);
}

static void
test_bad_challenge_type(void **state)
{
	struct keys *k = *state;
	struct csr_spec s = {"x", "\x01\x02", V_ASN1_OCTET_STRING, NULL};
	struct sgw_err err = {{0}};
	struct csr *c = NULL;
	size_t len;
	uint8_t *der = make_csr(k->ec, &s, &len);

	assert_int_equal(csr_parse(der, len, &c, &err), -SGW_EPARSE);
	assert_null(c);
	OPENSSL_free(der);
}

static void
test_tampered(void **state)
{
	struct keys *k = *state;
	struct csr_spec s = {"dev", "s3cret", V_ASN1_PRINTABLESTRING, NULL};
	struct sgw_err err = {{0}};
	struct csr *c = NULL;
	size_t len;
	uint8_t *der = make_csr(k->rsa2048, &s, &len);

	der[len - 1] ^= 0x01; /* last byte of the signature */
	assert_int_equal(csr_parse(der, len, &c, &err), -SGW_EAUTH);
	assert_null(c);
	assert_non_null(strstr(err.msg, "proof of possession"));
	assert_null(strstr(err.msg, "s3cret"));
	OPENSSL_free(der);
}

static void
test_garbage(void **state)
{
	struct keys *k = *state;
	static const uint8_t junk[] = {0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x00, 0xff};
	struct csr_spec s = {"dev", NULL, 0, NULL};
	struct sgw_err err = {{0}};
	struct csr *c = NULL;
	uint8_t *der, *big;
	size_t len;

	assert_int_equal(csr_parse(junk, sizeof(junk), &c, &err), -SGW_EPARSE);
	assert_int_equal(csr_parse(junk, 0, &c, &err), -SGW_EPARSE);
	der = make_csr(k->ec, &s, &len);
	big = calloc(1, CSR_MAX_DER + 1);
	memcpy(big, der, len);
	/* trailing bytes after the request, and oversized input */
	assert_int_equal(csr_parse(big, len + 1, &c, &err), -SGW_EPARSE);
	assert_int_equal(csr_parse(big, CSR_MAX_DER + 1, &c, &err), -SGW_EPARSE);
	assert_int_equal(csr_parse(der, len - 1, &c, &err), -SGW_EPARSE);
	assert_null(c);
	free(big);
	OPENSSL_free(der);
	csr_free(NULL);
}

/* ---- csr_fast ---------------------------------------------------------- */

/* csr_fast_d2i gives what d2i_X509_REQ gives for an RSA request */
static void
test_fast_rsa(void **state)
{
	struct keys *k = *state;
	struct csr_spec s = {"dev2.example.com", "s3cret", V_ASN1_PRINTABLESTRING,
			     "DNS:dev2.example.com,IP:192.0.2.8"};
	size_t len;
	uint8_t *der = make_csr(k->rsa2048, &s, &len);
	const unsigned char *p = der;
	X509_REQ *fast = NULL, *slow = d2i_X509_REQ(NULL, &p, (long)len);
	unsigned char *enc = NULL;
	int n;

	assert_non_null(slow);
	assert_int_equal(csr_fast_d2i(der, len, &fast), 0);
	assert_non_null(fast);
	n = i2d_X509_REQ(fast, &enc);
	assert_int_equal(n, (int)len);
	assert_memory_equal(enc, der, len);
	assert_int_equal(
	    X509_NAME_cmp(X509_REQ_get_subject_name(fast), X509_REQ_get_subject_name(slow)), 0);
	assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(fast), k->rsa2048), 1);
	assert_int_equal(X509_REQ_get_attr_count(fast), X509_REQ_get_attr_count(slow));
	assert_int_equal(X509_REQ_verify(fast, X509_REQ_get0_pubkey(fast)), 1);
	OPENSSL_free(enc);
	X509_REQ_free(fast);
	X509_REQ_free(slow);
	OPENSSL_free(der);
}

/* EC keys, trailing bytes, truncation: no fast path (csr_parse decides) */
static void
test_fast_declines(void **state)
{
	struct keys *k = *state;
	struct csr_spec s = {"dev3", NULL, 0, NULL};
	X509_REQ *req = (X509_REQ *)1;
	size_t len;
	uint8_t *der = make_csr(k->ec, &s, &len), *rsa, *big;

	assert_int_equal(csr_fast_d2i(der, len, &req), -SGW_EPARSE);
	assert_null(req);
	OPENSSL_free(der);
	rsa = make_csr(k->rsa2048, &s, &len);
	big = calloc(1, len + 1);
	assert_non_null(big);
	memcpy(big, rsa, len);
	assert_int_equal(csr_fast_d2i(big, len + 1, &req), -SGW_EPARSE);
	assert_int_equal(csr_fast_d2i(rsa, len - 1, &req), -SGW_EPARSE);
	assert_int_equal(csr_fast_d2i(rsa, 0, &req), -SGW_EPARSE);
	assert_null(req);
	free(big);
	OPENSSL_free(rsa);
}

/* A request whose attributes are not in DER (sorted) order, signed as sent:
 * the rebuilt request would encode differently, so the fast path declines,
 * and csr_parse still verifies it over the bytes the client signed. */
static void
test_fast_unsorted_attributes(void **state)
{
	struct keys *k = *state;
	struct csr_spec s = {"dev4", "s3cret", V_ASN1_PRINTABLESTRING, "DNS:dev4.example.com"};
	size_t len, sig_len = 256, l0, l1;
	uint8_t *der = make_csr(k->rsa2048, &s, &len), *a0 = NULL, *a1 = NULL, *at0, *at1;
	const unsigned char *p = der;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len), *fast = (X509_REQ *)1;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	struct sgw_err err = {{0}};
	struct csr *c = NULL;
	size_t info_len;

	assert_non_null(req);
	assert_int_equal(X509_REQ_get_attr_count(req), 2);
	l0 = (size_t)i2d_X509_ATTRIBUTE(X509_REQ_get_attr(req, 0), &a0);
	l1 = (size_t)i2d_X509_ATTRIBUTE(X509_REQ_get_attr(req, 1), &a1);
	at0 = memmem(der, len, a0, l0);
	at1 = memmem(der, len, a1, l1);
	assert_non_null(at0);
	assert_ptr_equal(at1, at0 + l0); /* adjacent, in DER order */
	memcpy(at0, a1, l1);		 /* swap them */
	memcpy(at0 + l1, a0, l0);
	/* sign the CertificationRequestInfo again: it starts after the outer
	 * 4-byte header (30 82 hi lo) with one of the same form */
	assert_int_equal(der[4], 0x30);
	assert_int_equal(der[5], 0x82);
	info_len = 4 + ((size_t)der[6] << 8 | der[7]);
	assert_true(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k->rsa2048) == 1);
	assert_true(EVP_DigestSign(md, der + len - sig_len, &sig_len, der + 4, info_len) == 1);
	assert_int_equal(sig_len, 256);

	assert_int_equal(csr_fast_d2i(der, len, &fast), -SGW_EPARSE);
	assert_null(fast);
	assert_int_equal(csr_parse(der, len, &c, &err), 0);
	assert_string_equal(c->challenge, "s3cret");
	assert_int_equal(c->san_dns.n, 1);
	csr_free(c);
	/* and a tampered one still fails on either path */
	der[len - 1] ^= 1;
	assert_int_equal(csr_parse(der, len, &c, &err), -SGW_EAUTH);
	EVP_MD_CTX_free(md);
	OPENSSL_free(a0);
	OPENSSL_free(a1);
	X509_REQ_free(req);
	OPENSSL_free(der);
}

/* ---- policy ------------------------------------------------------------ */

static char *dns_patterns[] = {"*.devices.example.com", "vpn.example.com"};

static struct cfg_csr_policy
policy(void)
{
	struct cfg_csr_policy p = {
	    .key_types = CSR_KEY_RSA | CSR_KEY_EC,
	    .min_rsa_bits = 2048,
	    .allow_san_ip = 1,
	    .allow_san_email = 1,
	    .require_cn = 1,
	};
	return p;
}

static int
check(EVP_PKEY *key, const struct cfg_csr_policy *p, const struct csr_spec *s, struct sgw_err *err)
{
	struct csr *c = parse_ok(key, s);
	int r = csr_policy_check(p, c, err);

	csr_free(c);
	return r;
}

static void
test_policy_keys(void **state)
{
	struct keys *k = *state;
	struct cfg_csr_policy p = policy();
	struct csr_spec s = {"dev", "s3cret", V_ASN1_PRINTABLESTRING, NULL};
	struct sgw_err err = {{0}};

	assert_int_equal(check(k->rsa2048, &p, &s, &err), 0);
	assert_int_equal(check(k->ec, &p, &s, &err), 0);
	assert_int_equal(check(k->rsa1024, &p, &s, &err), -SGW_EDENIED);
	assert_non_null(strstr(err.msg, "1024"));
	assert_null(strstr(err.msg, "s3cret"));
	p.min_rsa_bits = 1024;
	assert_int_equal(check(k->rsa1024, &p, &s, &err), 0);
	p.key_types = CSR_KEY_RSA;
	assert_int_equal(check(k->ec, &p, &s, &err), -SGW_EDENIED);
	assert_non_null(strstr(err.msg, "EC"));
	p.key_types = CSR_KEY_EC;
	assert_int_equal(check(k->rsa2048, &p, &s, &err), -SGW_EDENIED);
}

static void
test_policy_require_cn(void **state)
{
	struct keys *k = *state;
	struct cfg_csr_policy p = policy();
	struct csr_spec s = {NULL, NULL, 0, "DNS:a.example.com"};
	struct sgw_err err = {{0}};

	assert_int_equal(check(k->ec, &p, &s, &err), -SGW_EDENIED);
	assert_non_null(strstr(err.msg, "commonName"));
	p.require_cn = 0;
	assert_int_equal(check(k->ec, &p, &s, &err), 0);
}

static void
dns_case(EVP_PKEY *key, const char *sans, int want)
{
	struct cfg_csr_policy p = policy();
	struct csr_spec s = {"dev", NULL, 0, sans};
	struct sgw_err err = {{0}};

	p.san_dns.v = dns_patterns;
	p.san_dns.n = 2;
	assert_int_equal(check(key, &p, &s, &err), want);
}

static void
test_policy_san_dns(void **state)
{
	struct keys *k = *state;

	dns_case(k->ec, "DNS:a.devices.example.com", 0);
	dns_case(k->ec, "DNS:A-1.Devices.EXAMPLE.com,DNS:VPN.example.com", 0);
	dns_case(k->ec, "DNS:vpn.example.com", 0);
	dns_case(k->ec, "DNS:a.b.devices.example.com", -SGW_EDENIED); /* two labels */
	dns_case(k->ec, "DNS:devices.example.com", -SGW_EDENIED);     /* zero labels */
	dns_case(k->ec, "DNS:.devices.example.com", -SGW_EDENIED);    /* empty label */
	dns_case(k->ec, "DNS:*.devices.example.com", -SGW_EDENIED);   /* no wildcard certs */
	dns_case(k->ec, "DNS:a.devices.example.com.evil", -SGW_EDENIED);
	dns_case(k->ec, "DNS:x.vpn.example.com", -SGW_EDENIED);
	dns_case(k->ec, "DNS:a.devices.example.com,DNS:evil.com", -SGW_EDENIED);
	dns_case(k->ec, "IP:192.0.2.1", 0); /* no DNS names: nothing to match */
}

static void
test_policy_san_flags(void **state)
{
	struct keys *k = *state;
	struct cfg_csr_policy p = policy();
	struct csr_spec ip = {"dev", NULL, 0, "IP:192.0.2.1"};
	struct csr_spec mail = {"dev", NULL, 0, "email:a@example.com"};
	struct sgw_err err = {{0}};

	assert_int_equal(check(k->ec, &p, &ip, &err), 0);
	assert_int_equal(check(k->ec, &p, &mail, &err), 0);
	p.allow_san_ip = 0;
	p.allow_san_email = 0;
	assert_int_equal(check(k->ec, &p, &ip, &err), -SGW_EDENIED);
	assert_non_null(strstr(err.msg, "IP"));
	assert_int_equal(check(k->ec, &p, &mail, &err), -SGW_EDENIED);
	assert_non_null(strstr(err.msg, "email"));
}

/* ---- every subjectAltName kind (deny by default) ---------------------- */

/* A CSR with CN=cn whose subjectAltName is the given GeneralNames DER. */
static struct csr *
parse_raw_san(EVP_PKEY *key, const char *cn, const uint8_t *gens, size_t gens_len)
{
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext;
	struct sgw_err err = {{0}};
	struct csr *c = NULL;
	unsigned char *der = NULL;
	int len;

	assert_true(X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
					       (const unsigned char *)cn, -1, -1, 0));
	assert_true(ASN1_OCTET_STRING_set(os, gens, (int)gens_len));
	ext = X509_EXTENSION_create_by_NID(NULL, NID_subject_alt_name, 0, os);
	assert_non_null(ext);
	assert_true(sk_X509_EXTENSION_push(exts, ext) > 0);
	assert_true(X509_REQ_add_extensions(req, exts));
	assert_true(X509_REQ_set_pubkey(req, key));
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	len = i2d_X509_REQ(req, &der);
	assert_true(len > 0);
	assert_int_equal(csr_parse(der, (size_t)len, &c, &err), 0);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	ASN1_OCTET_STRING_free(os);
	X509_REQ_free(req);
	OPENSSL_free(der);
	return c;
}

/* dirName CN=admin, x400Address (empty), ediPartyName "ab" */
static const uint8_t raw_dirname[] = {0x30, 0x14, 0xa4, 0x12, 0x30, 0x10, 0x31, 0x0e,
				      0x30, 0x0c, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c,
				      0x05, 'a',  'd',	'm',  'i',  'n'};
static const uint8_t raw_x400[] = {0x30, 0x02, 0xa3, 0x00};
static const uint8_t raw_edi[] = {0x30, 0x08, 0xa5, 0x06, 0xa1, 0x04, 0x0c, 0x02, 'a', 'b'};

static void
test_names_parsed(void **state)
{
	struct keys *k = *state;
	struct csr_spec s = {"dev", NULL, 0,
			     "DNS:a.devices.example.com,"
			     "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:administrator@corp.example.com,"
			     "URI:spiffe://corp.example.com/admin,RID:1.2.3.4,"
			     "otherName:1.2.3.4.5;UTF8:x,IP:192.0.2.1"};
	static const enum csr_name_type want[] = {CSR_NAME_DNS, CSR_NAME_UPN,	CSR_NAME_URI,
						  CSR_NAME_RID, CSR_NAME_OTHER, CSR_NAME_IP};
	struct csr *c = parse_ok(k->ec, &s);
	const unsigned char *p;
	GENERAL_NAMES *gens;

	assert_int_equal(c->n_names, 6);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(c->names[i].type, want[i]);
	assert_string_equal(c->names[1].value, "administrator@corp.example.com");
	assert_string_equal(c->names[3].value, "1.2.3.4");
	assert_string_equal(c->names[4].value, "1.2.3.4.5");
	assert_string_equal(csr_name_type_name(CSR_NAME_RID), "RID");
	/* the SAN a CA is given: the inspected kinds only (no RID, no other otherName) */
	p = c->san_der;
	gens = d2i_GENERAL_NAMES(NULL, &p, (long)c->san_len);
	assert_non_null(gens);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 4);
	assert_int_equal(sk_GENERAL_NAME_value(gens, 0)->type, GEN_DNS);
	assert_int_equal(sk_GENERAL_NAME_value(gens, 1)->type, GEN_OTHERNAME);
	assert_int_equal(sk_GENERAL_NAME_value(gens, 2)->type, GEN_URI);
	assert_int_equal(sk_GENERAL_NAME_value(gens, 3)->type, GEN_IPADD);
	GENERAL_NAMES_free(gens);
	csr_free(c);
}

static void
names_case(EVP_PKEY *key, const struct cfg_csr_policy *p, const char *sans, int want,
	   const char *msg)
{
	struct csr_spec s = {"dev", NULL, 0, sans};
	struct sgw_err err = {{0}};

	assert_int_equal(check(key, p, &s, &err), want);
	if (msg != NULL)
		assert_non_null(strstr(err.msg, msg));
}

static void
raw_case(EVP_PKEY *key, const struct cfg_csr_policy *p, const uint8_t *gens, size_t len,
	 const char *msg)
{
	struct csr *c = parse_raw_san(key, "dev", gens, len);
	struct sgw_err err = {{0}};

	assert_int_equal(csr_policy_check(p, c, &err), -SGW_EDENIED);
	assert_non_null(strstr(err.msg, msg));
	assert_null(c->san_der); /* nothing a CA could be given */
	csr_free(c);
}

static void
test_policy_kinds_refused(void **state)
{
	struct keys *k = *state;
	struct cfg_csr_policy p = policy();
	char *uris[] = {"spiffe://corp.example.com/*"};

	p.allow_upn = 1; /* even so: */
	p.san_uri = (struct cfg_strlist){uris, 1};
	names_case(k->ec, &p, "otherName:1.2.3.4.5;UTF8:x", -SGW_EDENIED, "otherName (1.2.3.4.5)");
	names_case(k->ec, &p, "RID:1.2.3.4", -SGW_EDENIED, "RID");
	raw_case(k->ec, &p, raw_dirname, sizeof(raw_dirname), "dirName");
	raw_case(k->ec, &p, raw_x400, sizeof(raw_x400), "x400Address");
	raw_case(k->ec, &p, raw_edi, sizeof(raw_edi), "ediPartyName");
	/* a UPN whose value is not a UTF8String is just another otherName */
	names_case(k->ec, &p, "otherName:1.3.6.1.4.1.311.20.2.3;IA5:a@corp.example.com",
		   -SGW_EDENIED, "otherName");
}

static void
test_policy_uri(void **state)
{
	struct keys *k = *state;
	struct cfg_csr_policy p = policy();
	char *uris[] = {"spiffe://corp.example.com/devices/*", "urn:dev:exact"};

	names_case(k->ec, &p, "URI:urn:dev:exact", -SGW_EDENIED, "URI 'urn:dev:exact'");
	p.san_uri = (struct cfg_strlist){uris, 2};
	names_case(k->ec, &p, "URI:urn:dev:exact", 0, NULL);
	names_case(k->ec, &p, "URI:spiffe://corp.example.com/devices/d1", 0, NULL);
	names_case(k->ec, &p, "URI:urn:dev:exactly", -SGW_EDENIED, "URI");
	names_case(k->ec, &p, "URI:spiffe://corp.example.com/admin", -SGW_EDENIED, "URI");
	names_case(k->ec, &p, "URI:spiffe://evil.org/spiffe://corp.example.com/devices/",
		   -SGW_EDENIED, "URI");
	names_case(k->ec, &p, "URI:SPIFFE://corp.example.com/devices/d1", -SGW_EDENIED, "URI");
}

static void
test_policy_upn(void **state)
{
	struct keys *k = *state;
	struct cfg_csr_policy p = policy();
	char *upns[] = {"*@corp.example.com", "svc@other.example.com"};
	const char *admin = "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:administrator@corp.example.com";

	names_case(k->ec, &p, admin, -SGW_EDENIED, "UPN 'administrator@corp.example.com'");
	p.allow_upn = 1;
	names_case(k->ec, &p, admin, 0, NULL); /* any UPN: the Intune validator vouches */
	p.san_upn = (struct cfg_strlist){upns, 2};
	names_case(k->ec, &p, admin, 0, NULL);
	names_case(k->ec, &p, "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:SVC@Other.example.com", 0,
		   NULL);
	names_case(k->ec, &p, "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:a@corp.example.com.evil",
		   -SGW_EDENIED, "UPN");
	names_case(k->ec, &p, "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:@corp.example.com",
		   -SGW_EDENIED, "UPN");
	names_case(k->ec, &p, "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:a@b@corp.example.com",
		   -SGW_EDENIED, "UPN");
	names_case(k->ec, &p, "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:x@other.example.com",
		   -SGW_EDENIED, "UPN");
}

static char *
repeat(char ch, size_t n, const char *suffix)
{
	char *s = malloc(n + strlen(suffix) + 1);

	assert_non_null(s);
	memset(s, ch, n);
	strcpy(s + n, suffix);
	return s;
}

static void
cn_case(EVP_PKEY *key, const struct cfg_csr_policy *p, const char *cn, int want, const char *msg)
{
	struct csr_spec s = {cn, NULL, 0, NULL};
	struct sgw_err err = {{0}};

	assert_int_equal(check(key, p, &s, &err), want);
	if (msg != NULL)
		assert_non_null(strstr(err.msg, msg));
}

static void
test_policy_lengths(void **state)
{
	struct keys *k = *state;
	struct cfg_csr_policy p = policy(); /* limits 0: the defaults */
	char *cn64 = repeat('a', 64, ""), *cn65 = repeat('a', 65, "");
	char *cn60k = repeat('a', 60000, ""), *dns = repeat('a', 250, ".example.com");
	char sans[400], *uri = repeat('a', 1100, "");
	char *uri_sans = malloc(1200);
	char *uris[] = {"*"};

	cn_case(k->ec, &p, cn64, 0, NULL);
	cn_case(k->ec, &p, cn65, -SGW_EDENIED, "CN has 65 characters, at most 64");
	cn_case(k->ec, &p, cn60k, -SGW_EDENIED, "at most");
	cn_case(k->ec, &p, "éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé", 0,
		NULL); /* 64 characters, 128 bytes */
	p.max_cn_length = 10;
	cn_case(k->ec, &p, "abcdefghijk", -SGW_EDENIED, "at most 10");
	p.max_cn_length = 0;
	p.max_subject_length = 20;
	cn_case(k->ec, &p, "abcdefghijk", -SGW_EDENIED, "CSR subject has");
	p.max_subject_length = 0;
	snprintf(sans, sizeof(sans), "DNS:%s", dns);
	names_case(k->ec, &p, sans, -SGW_EDENIED, "DNS has 262 characters, at most 255");
	p.san_uri = (struct cfg_strlist){uris, 1};
	snprintf(uri_sans, 1200, "URI:u:%s", uri);
	names_case(k->ec, &p, uri_sans, -SGW_EDENIED, "URI has 1102 characters, at most 1024");
	p.max_sans = 2;
	names_case(k->ec, &p, "DNS:a.example.com,DNS:b.example.com", 0, NULL);
	names_case(k->ec, &p, "DNS:a.example.com,DNS:b.example.com,DNS:c.example.com", -SGW_EDENIED,
		   "3 subjectAltNames, at most 2");
	names_case(k->ec, &p, "DNS:a\x01.example.com", -SGW_EDENIED, "characters not allowed");
	names_case(k->ec, &p, "DNS:a b.example.com", -SGW_EDENIED, "characters not allowed");
	free(cn64);
	free(cn65);
	free(cn60k);
	free(dns);
	free(uri);
	free(uri_sans);
}

static void
test_policy_cn_pattern(void **state)
{
	struct keys *k = *state;
	struct cfg_csr_policy p = policy();
	struct csr_spec s = {"x", NULL, 0, NULL};
	struct sgw_err err = {{0}};
	struct csr *c;

	p.cn_pattern = "*.devices.example.com";
	cn_case(k->ec, &p, "a.devices.example.com", 0, NULL);
	cn_case(k->ec, &p, "A.Devices.Example.COM", 0, NULL);
	cn_case(k->ec, &p, "a.devices.example.com.evil.org", -SGW_EDENIED, "cn_pattern");
	cn_case(k->ec, &p, "devices.example.com", -SGW_EDENIED, "cn_pattern");
	/* a second CN is checked too */
	c = parse_ok(k->ec, &s);
	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(c->req), "CN", MBSTRING_UTF8,
				   (const unsigned char *)"b.devices.example.com", -1, -1, 0);
	free(c->cns.v[0]);
	c->cns.v[0] = strdup("a.devices.example.com");
	assert_int_equal(csr_policy_check(&p, c, &err), 0);
	csr_free(c);
	s.cn = "a.devices.example.com";
	c = parse_ok(k->ec, &s);
	assert_int_equal(c->cns.n, 1);
	csr_free(c);
	p.require_cn = 0;
	s.cn = NULL;
	assert_int_equal(check(k->ec, &p, &s, &err), -SGW_EDENIED);
	assert_non_null(strstr(err.msg, "no commonName"));
}

static void
test_policy_subject_email(void **state)
{
	struct keys *k = *state;
	struct cfg_csr_policy p = policy();
	X509_REQ *req = X509_REQ_new();
	unsigned char *der = NULL;
	struct sgw_err err = {{0}};
	struct csr *c = NULL;
	int len;

	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_UTF8,
				   (const unsigned char *)"dev", -1, -1, 0);
	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "emailAddress", MBSTRING_UTF8,
				   (const unsigned char *)"admin@corp.example.com", -1, -1, 0);
	assert_true(X509_REQ_set_pubkey(req, k->ec));
	assert_true(X509_REQ_sign(req, k->ec, EVP_sha256()) > 0);
	len = i2d_X509_REQ(req, &der);
	assert_int_equal(csr_parse(der, (size_t)len, &c, &err), 0);
	assert_int_equal(csr_policy_check(&p, c, &err), 0);
	p.allow_san_email = 0;
	assert_int_equal(csr_policy_check(&p, c, &err), -SGW_EDENIED);
	assert_non_null(strstr(err.msg, "emailAddress"));
	csr_free(c);
	OPENSSL_free(der);
	X509_REQ_free(req);
}

static int
setup(void **state)
{
	struct keys *k = calloc(1, sizeof(*k));

	k->rsa2048 = EVP_RSA_gen(2048);
	k->rsa1024 = EVP_RSA_gen(1024);
	k->ec = EVP_EC_gen("P-256");
	if (k->rsa2048 == NULL || k->rsa1024 == NULL || k->ec == NULL)
		return -1;
	*state = k;
	return 0;
}

static int
teardown(void **state)
{
	struct keys *k = *state;

	EVP_PKEY_free(k->rsa2048);
	EVP_PKEY_free(k->rsa1024);
	EVP_PKEY_free(k->ec);
	free(k);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_rsa),
	    cmocka_unit_test(test_ec_no_challenge),
	    cmocka_unit_test(test_utf8_challenge),
	    cmocka_unit_test(test_bad_challenge_type),
	    cmocka_unit_test(test_tampered),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_policy_keys),
	    cmocka_unit_test(test_policy_require_cn),
	    cmocka_unit_test(test_policy_san_dns),
	    cmocka_unit_test(test_policy_san_flags),
	    cmocka_unit_test(test_names_parsed),
	    cmocka_unit_test(test_policy_kinds_refused),
	    cmocka_unit_test(test_policy_uri),
	    cmocka_unit_test(test_policy_upn),
	    cmocka_unit_test(test_policy_lengths),
	    cmocka_unit_test(test_policy_cn_pattern),
	    cmocka_unit_test(test_policy_subject_email),
	    cmocka_unit_test(test_fast_rsa),
	    cmocka_unit_test(test_fast_declines),
	    cmocka_unit_test(test_fast_unsorted_attributes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
