/* tests for gateway/core/p11_uri.c: RFC 7512 URIs naming a private key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "p11_uri.h"

static int
parse(const char *s, struct p11_uri *u, struct sgw_err *err)
{
	return p11_uri_parse((const uint8_t *)s, strlen(s), u, err);
}

static void
test_forms(void **state)
{
	struct sgw_err err = {{0}};
	struct p11_uri u;

	(void)state;
	assert_int_equal(parse("pkcs11:token=scepgw;object=ra-sign;type=private", &u, &err), 0);
	assert_string_equal(u.token, "scepgw");
	assert_string_equal(u.object, "ra-sign");
	assert_int_equal(u.type, P11_URI_TYPE_PRIVATE);
	assert_false(u.has_id);
	p11_uri_clear(&u);

	/* RFC 7512 examples: percent-escapes, id bytes, slot-id, manufacturer */
	assert_int_equal(parse("pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;"
			       "manufacturer=Snake%20Oil,%20Inc.;model=1.0;serial=42;"
			       "object=my-key;id=%01%ff;slot-id=7",
			       &u, &err),
			 0);
	assert_string_equal(u.token, "The Software PKCS#11 Softtoken");
	assert_string_equal(u.manufacturer, "Snake Oil, Inc.");
	assert_string_equal(u.model, "1.0");
	assert_string_equal(u.serial, "42");
	assert_int_equal(u.id_len, 2);
	assert_memory_equal(u.id, "\x01\xff", 2);
	assert_true(u.has_slot_id);
	assert_int_equal(u.slot_id, 7);
	assert_int_equal(u.type, P11_URI_TYPE_ANY);
	p11_uri_clear(&u);

	/* an id alone is enough; empty attributes and a vendor x- attribute are skipped */
	assert_int_equal(parse("PKCS11:id=%03;;x-vendor=1", &u, &err), 0);
	assert_null(u.token);
	assert_int_equal(u.id_len, 1);
	p11_uri_clear(&u);
	assert_true(p11_uri_is("pkcs11:object=a"));
	assert_false(p11_uri_is("/etc/scepgw/ra.key"));
	assert_false(p11_uri_is(NULL));
}

static void
test_refused(void **state)
{
	static const char *const bad[] = {
	    "/etc/ra.key",
	    "pkcs11:",			      /* no key named */
	    "pkcs11:token=x",		      /* no object or id */
	    "pkcs11:object=a?pin-value=1234", /* the PIN belongs in pin_file */
	    "pkcs11:object=a;module-path=/x.so",
	    "pkcs11:object=a;type=cert", /* not a private key */
	    "pkcs11:object=a;type=secret",
	    "pkcs11:object=a;object=b", /* repeated */
	    "pkcs11:object=a%2",	/* truncated escape */
	    "pkcs11:object=a%zz",	/* bad escape */
	    "pkcs11:object=a%00b",	/* NUL in a string */
	    "pkcs11:object=a b",	/* space */
	    "pkcs11:object",		/* no = */
	    "pkcs11:object=a;slot-id=x",
	    "pkcs11:object=a;slot-id=12345678901",
	    "pkcs11:id=",
	    "pkcs11:frobnicate=1;object=a",
	};
	struct sgw_err err = {{0}};
	struct p11_uri u;
	char long_uri[400];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.msg[0] = '\0';
		if (parse(bad[i], &u, &err) == 0)
			fail_msg("accepted %s", bad[i]);
		assert_true(err.msg[0] != '\0');
		assert_null(u.token);
		assert_null(u.object);
	}
	/* the PIN of a refused URI is not echoed */
	assert_int_not_equal(parse("pkcs11:object=a?pin-value=s3cret", &u, &err), 0);
	assert_null(strstr(err.msg, "s3cret"));
	/* a value longer than P11_URI_MAX_VALUE */
	memcpy(long_uri, "pkcs11:object=", 14);
	memset(long_uri + 14, 'a', sizeof(long_uri) - 15);
	long_uri[sizeof(long_uri) - 1] = '\0';
	assert_int_not_equal(parse(long_uri, &u, &err), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_forms),
	    cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
