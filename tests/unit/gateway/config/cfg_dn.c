/* tests for gateway/config/cfg_dn.c: RFC 4514 names from the configuration,
 * compared with certificate names as names (X509_NAME_cmp). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/x509.h>

#include "cfg_dn.h"

static X509_NAME *
parse(const char *s)
{
	X509_NAME *n = NULL;

	assert_int_equal(cfg_dn_parse(s, strlen(s), &n), 0);
	assert_non_null(n);
	return n;
}

/* The name a certificate would carry: entries in DER order (root-most first). */
static X509_NAME *
der_order(const char *const *kv)
{
	X509_NAME *n = X509_NAME_new();

	for (; kv[0] != NULL; kv += 2)
		assert_true(X509_NAME_add_entry_by_txt(n, kv[0], MBSTRING_UTF8,
						       (const unsigned char *)kv[1], -1, -1, 0));
	return n;
}

static void
same(const char *s, const char *const *kv)
{
	X509_NAME *a = parse(s), *b = der_order(kv);

	if (X509_NAME_cmp(a, b) != 0)
		fail_msg("'%s' is not the expected name", s);
	X509_NAME_free(a);
	X509_NAME_free(b);
}

static void
refused(const char *s)
{
	X509_NAME *n = NULL;

	if (cfg_dn_parse(s, strlen(s), &n) != -SGW_EPARSE)
		fail_msg("'%s' was accepted", s);
	assert_null(n);
}

static void
test_names(void **state)
{
	(void)state;
	same("CN=alice,O=Admins", (const char *const[]){"O", "Admins", "CN", "alice", NULL});
	/* types and values compare case- and space-insensitively, as names do */
	same("cn = Alice ,  o=ADMINS", (const char *const[]){"O", "admins", "CN", "alice", NULL});
	same("commonName=x,2.5.4.10=Org,C=DE",
	     (const char *const[]){"C", "DE", "O", "Org", "CN", "x", NULL});
	same("CN=a\\,b\\+c\\\\d\\\"e\\;\\<\\>",
	     (const char *const[]){"CN", "a,b+c\\d\"e;<>", NULL});
	same("CN=\\ lead and trail\\ ", (const char *const[]){"CN", " lead and trail ", NULL});
	same("CN=caf\\C3\\A9", (const char *const[]){"CN", "caf\xc3\xa9", NULL});
	same("CN=\\#1=2", (const char *const[]){"CN", "#1=2", NULL});
	same("emailAddress=a@b.c,CN=x",
	     (const char *const[]){"CN", "x", "emailAddress", "a@b.c", NULL});
}

static void
test_order_matters(void **state)
{
	X509_NAME *a = parse("CN=alice,O=Admins"), *b = parse("O=Admins,CN=alice");

	(void)state;
	assert_int_not_equal(X509_NAME_cmp(a, b), 0);
	X509_NAME_free(a);
	X509_NAME_free(b);
}

static void
test_refused(void **state)
{
	char big[CFG_DN_MAX + 2];

	(void)state;
	refused("");
	refused("CN");
	refused("CN=");
	refused("=x");
	refused("CN=a,");
	refused(",CN=a");
	refused("CN=a+O=b");	   /* multi-valued RDN */
	refused("CN=#0403616263"); /* hex value */
	refused("CN=\"quoted\"");
	refused("CN=a;O=b");
	refused("CN=a\\");
	refused("CN=a\\4");
	refused("CN=a\\zz");
	refused("XX=a");	    /* unknown type */
	refused("1.2.3.4.5.6.7=a"); /* an OID OpenSSL does not know */
	refused("C=USA");	    /* a country is two letters */
	refused("CN=\\FF");	    /* not UTF-8 */
	refused("C N=a");
	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "CN=", 3);
	big[sizeof(big) - 1] = '\0';
	refused(big);
	assert_int_equal(cfg_dn_parse("CN=a\0b", 6, &(X509_NAME *){NULL}), -SGW_EPARSE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_order_matters),
	    cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
