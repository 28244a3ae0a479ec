/* tests for gateway/core/cfg_yaml.c: the node tree (types, keys, items, line
 * numbers) and its limits (size, depth), through cfg_node.h alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cfg_node.h"

static void
test_node_getters(void **state)
{
	static const char y[] = "a: 1\nb:\n  - x\n  - {k: v}\nc: {}\n";
	struct sgw_err err = {{0}};
	struct cfg_node *root = NULL;
	const struct cfg_node *b, *m;

	(void)state;
	assert_int_equal(cfg_node_parse("n.yaml", (const uint8_t *)y, strlen(y), &root, &err), 0);
	assert_int_equal(cfg_node_type(root), CFG_NODE_MAP);
	assert_string_equal(cfg_node_file(root), "n.yaml");
	assert_int_equal(cfg_node_count(root), 3);
	assert_string_equal(cfg_node_key(root, 0), "a");
	assert_string_equal(cfg_node_key(root, 2), "c");
	assert_null(cfg_node_key(root, 3));
	assert_string_equal(cfg_node_scalar(cfg_node_item(root, 0)), "1");
	assert_null(cfg_node_scalar(root));
	b = cfg_node_get(root, "b");
	assert_int_equal(cfg_node_type(b), CFG_NODE_SEQ);
	assert_int_equal(cfg_node_line(b), 2);
	assert_int_equal(cfg_node_count(b), 2);
	assert_null(cfg_node_key(b, 0));
	assert_int_equal(cfg_node_line(cfg_node_item(b, 0)), 3);
	m = cfg_node_item(b, 1);
	assert_int_equal(cfg_node_line(m), 4);
	assert_string_equal(cfg_node_scalar(cfg_node_get(m, "k")), "v");
	assert_null(cfg_node_item(b, 2));
	assert_null(cfg_node_get(root, "zz"));
	assert_null(cfg_node_get(b, "k"));
	assert_int_equal(cfg_node_count(cfg_node_get(root, "c")), 0);
	assert_int_equal(cfg_node_count(cfg_node_item(root, 0)), 0);
	cfg_node_free(root);
	cfg_node_free(NULL);
}

static void
test_limits(void **state)
{
	struct sgw_err err = {{0}};
	struct cfg_node *root = NULL;
	size_t n = (1u << 20) + 1;
	uint8_t *big = malloc(n);
	char deep[200] = "";

	(void)state;
	assert_non_null(big);
	memset(big, ' ', n);
	assert_true(cfg_node_parse("b.yaml", big, n, &root, &err) < 0);
	assert_string_equal(err.msg, "b.yaml: larger than 1048576 bytes");
	free(big);
	memset(deep, '[', 40);
	assert_true(cfg_node_parse("d.yaml", (const uint8_t *)deep, strlen(deep), &root, &err) < 0);
	assert_string_equal(err.msg,
			    "d.yaml:1: [0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]"
			    "[0][0][0][0][0][0][0][0][0][0][0][0][0]: nested too deeply");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_node_getters),
	    cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
