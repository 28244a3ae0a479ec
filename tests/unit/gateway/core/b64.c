/* tests for gateway/core/b64.c: RFC 4648 10 vectors in both alphabets, the strict
 * refusals and what the lenient mode lets through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "b64.h"
#include "err.h"

static void
enc_is(const void *in, size_t len, enum b64_alphabet a, enum b64_mode m, const char *want)
{
	char *s = NULL;

	assert_int_equal(b64_encode(in, len, a, m, &s), 0);
	assert_string_equal(s, want);
	free(s);
}

static void
dec_is(const char *in, enum b64_alphabet a, enum b64_mode m, const void *want, size_t want_len)
{
	uint8_t *out = NULL;
	size_t n = 99;

	assert_int_equal(b64_decode(in, strlen(in), a, m, &out, &n), 0);
	assert_non_null(out);
	assert_int_equal(n, want_len);
	assert_memory_equal(out, want, n);
	free(out);
}

static void
dec_fails(const char *in, enum b64_alphabet a, enum b64_mode m)
{
	uint8_t *out = NULL;
	size_t n = 99;

	assert_int_equal(b64_decode(in, strlen(in), a, m, &out, &n), -SGW_EPARSE);
	assert_null(out); /* ret_* untouched on failure */
	assert_int_equal(n, 99);
}

#define S(s) s, sizeof(s) - 1

/* RFC 4648 10: the same text in both alphabets (no '+' or '/' in it). */
static const struct {
	const char *in, *padded, *bare;
} rfc[] = {
    {"", "", ""},
    {"f", "Zg==", "Zg"},
    {"fo", "Zm8=", "Zm8"},
    {"foo", "Zm9v", "Zm9v"},
    {"foob", "Zm9vYg==", "Zm9vYg"},
    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
};

static void
test_rfc4648_vectors(void **state)
{
	(void)state;
	for (enum b64_alphabet a = 0; a < B64_ALPHABET_MAX; a++) {
		for (size_t i = 0; i < sizeof(rfc) / sizeof(rfc[0]); i++) {
			size_t n = strlen(rfc[i].in);

			enc_is(rfc[i].in, n, a, B64_STRICT, rfc[i].padded);
			enc_is(rfc[i].in, n, a, B64_LENIENT, rfc[i].padded);
			enc_is(rfc[i].in, n, a, B64_STRICT_NOPAD, rfc[i].bare);
			dec_is(rfc[i].padded, a, B64_STRICT, rfc[i].in, n);
			dec_is(rfc[i].padded, a, B64_LENIENT, rfc[i].in, n);
			dec_is(rfc[i].bare, a, B64_LENIENT, rfc[i].in, n);
			dec_is(rfc[i].bare, a, B64_STRICT_NOPAD, rfc[i].in, n);
		}
	}
}

static void
test_alphabets(void **state)
{
	static const uint8_t hi[] = {0xfb, 0xff, 0xbf}, hi2[] = {0xfb, 0xff};

	(void)state;
	enc_is(hi, sizeof(hi), B64_STD, B64_STRICT, "+/+/");
	enc_is(hi, sizeof(hi), B64_URL, B64_STRICT_NOPAD, "-_-_");
	enc_is(hi2, sizeof(hi2), B64_STD, B64_STRICT, "+/8=");
	enc_is(hi2, sizeof(hi2), B64_URL, B64_STRICT, "-_8=");
	enc_is(hi2, sizeof(hi2), B64_URL, B64_STRICT_NOPAD, "-_8");
	dec_is("+/+/", B64_STD, B64_STRICT, hi, sizeof(hi));
	dec_is("-_-_", B64_URL, B64_STRICT, hi, sizeof(hi));
	dec_is("-_8", B64_URL, B64_STRICT_NOPAD, hi2, sizeof(hi2));
	/* each alphabet refuses the other's two characters, in every mode */
	for (enum b64_mode m = 0; m < B64_MODE_MAX; m++) {
		dec_fails("-_-_", B64_STD, m);
		dec_fails("+/+/", B64_URL, m);
		dec_fails("ab+/", B64_URL, m);
		dec_fails("ab-_", B64_STD, m);
	}
}

static void
test_strict(void **state)
{
	(void)state;
	dec_fails("Zg", B64_STD, B64_STRICT);	    /* padding missing */
	dec_fails("Zg=", B64_STD, B64_STRICT);	    /* padding short */
	dec_fails("Zg===", B64_STD, B64_STRICT);    /* padding long */
	dec_fails("Z===", B64_STD, B64_STRICT);	    /* three '=' */
	dec_fails("====", B64_STD, B64_STRICT);	    /* nothing but padding */
	dec_fails("Zg==Zg==", B64_STD, B64_STRICT); /* inner padding */
	dec_fails("Zm=v", B64_STD, B64_STRICT);	    /* '=' inside the last quad */
	dec_fails("Zm9vYmE=\n", B64_STD, B64_STRICT);
	dec_fails("Zm9v\r\nYmFy", B64_STD, B64_STRICT);
	dec_fails("Zm9 ", B64_STD, B64_STRICT);
	dec_fails("Zm9\t", B64_STD, B64_STRICT);
	dec_fails("Zm9.", B64_STD, B64_STRICT);
	/* the EJBCA decoder this replaced accepted non-zero unused bits */
	dec_is("Zh==", B64_STD, B64_STRICT, S("f"));
	dec_is("Zm9=", B64_STD, B64_STRICT, S("fo"));
}

static void
test_strict_nopad(void **state)
{
	(void)state;
	dec_fails("Zg==", B64_URL, B64_STRICT_NOPAD); /* no padding at all */
	dec_fails("Zm8=", B64_URL, B64_STRICT_NOPAD);
	dec_fails("Z", B64_URL, B64_STRICT_NOPAD); /* 4k+1 */
	dec_fails("Zm9vY", B64_URL, B64_STRICT_NOPAD);
	dec_fails("Zh", B64_URL, B64_STRICT_NOPAD); /* unused bits not zero */
	dec_fails("Zm9", B64_URL, B64_STRICT_NOPAD);
	dec_fails("Zm9v\n", B64_URL, B64_STRICT_NOPAD);
	dec_fails("Zm 9v", B64_URL, B64_STRICT_NOPAD);
	dec_is("Zm9vYmFy", B64_URL, B64_STRICT_NOPAD, S("foobar"));
}

static void
test_lenient(void **state)
{
	uint8_t *out;
	size_t n;

	(void)state;
	dec_is("aGVsbG8=", B64_STD, B64_LENIENT, S("hello"));
	dec_is("aGVsbG8", B64_STD, B64_LENIENT, S("hello"));	    /* padding missing */
	dec_is("aGVs\r\nbG8=", B64_STD, B64_LENIENT, S("hello"));   /* line breaks */
	dec_is("aGVs\nbG8=\r\n", B64_STD, B64_LENIENT, S("hello")); /* trailing ones too */
	dec_is("aGVsbG8=\r\n=", B64_STD, B64_LENIENT, S("hello"));  /* even inside padding */
	dec_is(" /+/", B64_STD, B64_LENIENT, "\xfb\xff\xbf", 3);    /* ' ' reads as '+' */
	dec_is("Zg=", B64_STD, B64_LENIENT, S("f"));		    /* short padding */
	dec_is("Zm9v=", B64_STD, B64_LENIENT, S("foo"));	    /* needless padding */
	dec_is("Zh", B64_STD, B64_LENIENT, S("f"));		    /* bits not checked */
	dec_is("=", B64_STD, B64_LENIENT, "", 0);		    /* decodes to nothing */
	dec_is("\r\n", B64_STD, B64_LENIENT, "", 0);
	dec_fails("aGVs=bG8", B64_STD, B64_LENIENT);   /* data after padding */
	dec_fails("aGVsbG8===", B64_STD, B64_LENIENT); /* three '=' */
	dec_fails("a", B64_STD, B64_LENIENT);	       /* 4k+1 data characters */
	dec_fails("aGVs\r\nb", B64_STD, B64_LENIENT);
	dec_fails("aGVs\tbG8=", B64_STD, B64_LENIENT); /* other whitespace */
	dec_fails("aGVs%bG8=", B64_STD, B64_LENIENT);
	dec_fails(" /+/", B64_URL, B64_LENIENT); /* the space rule is for '+' only */
	out = NULL;
	assert_int_equal(b64_decode("aGVs\0bG8=", 9, B64_STD, B64_LENIENT, &out, &n), -SGW_EPARSE);
	assert_null(out);
}

static void
test_empty_and_args(void **state)
{
	uint8_t *out = NULL;
	char *s = NULL;
	size_t n = 99;

	(void)state;
	for (enum b64_alphabet a = 0; a < B64_ALPHABET_MAX; a++) {
		for (enum b64_mode m = 0; m < B64_MODE_MAX; m++) {
			assert_int_equal(b64_decode(NULL, 0, a, m, &out, &n), 0);
			assert_non_null(out);
			assert_int_equal(n, 0);
			free(out);
			assert_int_equal(b64_encode(NULL, 0, a, m, &s), 0);
			assert_string_equal(s, "");
			free(s);
		}
	}
	out = NULL;
	s = NULL;
	assert_int_equal(b64_decode("Zg==", 4, B64_ALPHABET_MAX, B64_STRICT, &out, &n),
			 -SGW_EINVAL);
	assert_int_equal(b64_decode("Zg==", 4, B64_STD, B64_MODE_MAX, &out, &n), -SGW_EINVAL);
	assert_int_equal(b64_decode(NULL, 4, B64_STD, B64_STRICT, &out, &n), -SGW_EINVAL);
	assert_int_equal(b64_encode((const uint8_t *)"f", 1, B64_ALPHABET_MAX, B64_STRICT, &s),
			 -SGW_EINVAL);
	assert_int_equal(b64_encode((const uint8_t *)"f", 1, B64_STD, B64_MODE_MAX, &s),
			 -SGW_EINVAL);
	assert_int_equal(b64_encode((const uint8_t *)"f", SIZE_MAX, B64_STD, B64_STRICT, &s),
			 -SGW_EINVAL);
	assert_null(out);
	assert_null(s);
}

/* Every length up to 256, all byte values: decode(encode(x)) == x. */
static void
test_round_trip(void **state)
{
	uint8_t in[256], *out;
	size_t n;
	char *s;

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 167 + 13);
	for (enum b64_alphabet a = 0; a < B64_ALPHABET_MAX; a++) {
		for (enum b64_mode m = 0; m < B64_MODE_MAX; m++) {
			for (size_t len = 0; len <= sizeof(in); len++) {
				assert_int_equal(b64_encode(in, len, a, m, &s), 0);
				assert_int_equal(b64_decode(s, strlen(s), a, m, &out, &n), 0);
				assert_int_equal(n, len);
				assert_memory_equal(out, in, len);
				free(s);
				free(out);
			}
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc4648_vectors), cmocka_unit_test(test_alphabets),
	    cmocka_unit_test(test_strict),	    cmocka_unit_test(test_strict_nopad),
	    cmocka_unit_test(test_lenient),	    cmocka_unit_test(test_empty_and_args),
	    cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
