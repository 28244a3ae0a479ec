/* tests for gateway/core/cfg.c: cfg_parse_map over a sample table, every
 * field type, the number suffixes and the errors, through cfg_node.h alone.
 * The node tree it runs on: cfg_yaml.c beside this file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cfg_node.h"

struct sample {
	char *s;
	int i, b, d;
	size_t z;
	struct cfg_strlist l;
	const struct cfg_node *n;
};

static const struct cfg_field sample_fields[] = {
    {"s", CFG_STR, offsetof(struct sample, s), 1},
    {"i", CFG_INT, offsetof(struct sample, i), 0},
    {"b", CFG_BOOL, offsetof(struct sample, b), 0},
    {"d", CFG_DURATION, offsetof(struct sample, d), 0},
    {"z", CFG_SIZE, offsetof(struct sample, z), 0},
    {"l", CFG_STRLIST, offsetof(struct sample, l), 0},
    {"n", CFG_NODE, offsetof(struct sample, n), 0},
    {NULL},
};

/* Parses "{s: x, <fields>}" (s: only when not given) with sample_fields; returns the result code.
 */
static int
sample_parse(const char *fields, struct sample *out, struct sgw_err *err)
{
	char y[256];
	struct cfg_node *root = NULL;
	int r;

	snprintf(y, sizeof(y), "{%s%s}", strncmp(fields, "s:", 2) == 0 ? "" : "s: x, ", fields);
	assert_int_equal(cfg_node_parse("s.yaml", (const uint8_t *)y, strlen(y), &root, err), 0);
	memset(out, 0, sizeof(*out));
	r = cfg_parse_map(root, "sec", sample_fields, out, err);
	if (r == 0)
		cfg_fields_free(sample_fields, out);
	assert_null(out->s);
	assert_null(out->l.v);
	cfg_node_free(root);
	return r;
}

static void
test_suffixes(void **state)
{
	struct sgw_err err = {{0}};
	struct sample s;

	(void)state;
	assert_int_equal(sample_parse("z: 512, d: 45", &s, &err), 0);
	assert_int_equal(s.z, 512);
	assert_int_equal(s.d, 45);
	assert_int_equal(sample_parse("z: 64k, d: 30s", &s, &err), 0);
	assert_int_equal(s.z, 65536);
	assert_int_equal(s.d, 30);
	assert_int_equal(sample_parse("z: 2M, d: 5m", &s, &err), 0);
	assert_int_equal(s.z, 2097152);
	assert_int_equal(s.d, 300);
	assert_int_equal(sample_parse("d: 2h, i: -7, b: Off", &s, &err), 0);
	assert_int_equal(s.d, 7200);
	assert_int_equal(s.i, -7);
	assert_int_equal(s.b, 0);
	assert_int_equal(sample_parse("d: 1d, b: TRUE", &s, &err), 0);
	assert_int_equal(s.d, 86400);
	assert_int_equal(s.b, 1);
	assert_true(sample_parse("d: 99999999999d", &s, &err) < 0);
	assert_string_equal(err.msg, "s.yaml:1: sec.d: expected a duration (e.g. 30, 30s, 5m, 2h, "
				     "1d), got '99999999999d'");
	assert_true(sample_parse("z: k", &s, &err) < 0);
	assert_true(sample_parse("z: -1k", &s, &err) < 0);
	assert_true(sample_parse("z: 1g", &s, &err) < 0);
	assert_true(sample_parse("i: 1.5", &s, &err) < 0);
	assert_true(sample_parse("i: \" 1\"", &s, &err) < 0);
	/* a failure after a list was allocated frees it (sample_parse checks) */
	assert_int_equal(sample_parse("l: [a, b], n: {x: 1}", &s, &err), 0);
	assert_true(sample_parse("l: [a, b], i: x", &s, &err) < 0);
	assert_true(sample_parse("l: [a, [b]]", &s, &err) < 0);
	assert_string_equal(err.msg, "s.yaml:1: sec.l[1]: expected a non-empty string");
	assert_true(sample_parse("s: ''", &s, &err) < 0);
	assert_string_equal(err.msg, "s.yaml:1: sec.s: empty value");
	assert_true(sample_parse("i: 1", &s, &err) == 0);
	assert_true(sample_parse("n: 1", &s, &err) == 0);
	assert_true(sample_parse("i: 1, q: 2", &s, &err) < 0);
	assert_string_equal(err.msg, "s.yaml:1: sec.q: unknown key");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_suffixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
