/* tests for gateway/store/store_sqlite_owed.c: the validator notifications
 * still owed (issue 20), through the store's entry points. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "store.h"
#include "store_fixture.h"
#include "store_owed_cases.h"

static void
test_owed(void **state)
{
	struct store_fixture db;
	struct store *s = NULL;
	struct sgw_err err = {{0}};

	(void)state;
	store_fixture_init(&db, "/tmp", "owed");
	assert_int_equal(store_open(&db.cfg, &s, &err), 0);
	owed_cases(s);
	/* the rows outlive a reopen */
	store_close(s);
	assert_int_equal(store_open(&db.cfg, &s, &err), 0);
	assert_int_equal(store_owed_del(s, 12), 0);
	store_close(s);
	store_fixture_remove(&db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_owed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
