/* tests for gateway/core/log.c: the three line formats (text, journal with
 * its syslog priority prefix, JSON that a parser reads back even with quotes,
 * control characters and a message cut inside a UTF-8 character), the level
 * filter, and `auto` choosing the journal only when stderr is the stream
 * JOURNAL_STREAM names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "log.h"

static char path[64];
static int saved_stderr = -1;

/* stderr goes to a fresh temporary file until read_back(). */
static void
capture(void)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/sgw-log-test.XXXXXX");
	assert_true((fd = mkstemp(path)) >= 0);
	assert_true((saved_stderr = dup(STDERR_FILENO)) >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
}

/* What was logged since capture(), NUL-terminated (the caller frees it). */
static char *
read_back(void)
{
	FILE *f;
	char *buf = calloc(1, 65536);
	size_t n;

	assert_true(dup2(saved_stderr, STDERR_FILENO) >= 0);
	close(saved_stderr);
	assert_non_null(buf);
	assert_non_null(f = fopen(path, "r"));
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	unlink(path);
	return buf;
}

static void
test_text(void **state)
{
	char *out;

	(void)state;
	log_init(LOG_LVL_INFO, "scepgw");
	log_set_format(LOG_FMT_TEXT);
	capture();
	log_warn("a warning %d", 7);
	log_debug("not shown at info");
	out = read_back();
	assert_non_null(strstr(out, " scepgw["));
	assert_non_null(strstr(out, "] warn: a warning 7\n"));
	assert_null(strstr(out, "not shown"));
	assert_int_equal(out[4], '-'); /* starts with the date */
	free(out);
}

/* The instance at the end of a text or journal line, a key of a JSON one. */
static void
test_instance(void **state)
{
	char *out;
	json_t *o;
	json_error_t je;

	(void)state;
	log_init(LOG_LVL_INFO, "scepgw");
	log_set_instance("gw-a.1");
	log_set_format(LOG_FMT_TEXT);
	capture();
	log_warn("a warning %d", 7);
	out = read_back();
	assert_non_null(strstr(out, "] warn: a warning 7 instance=gw-a.1\n"));
	free(out);
	log_set_format(LOG_FMT_JOURNAL);
	capture();
	log_info("i");
	out = read_back();
	assert_string_equal(out, "<6>info: i instance=gw-a.1\n");
	free(out);
	log_set_format(LOG_FMT_JSON);
	capture();
	log_info("j \"q\"");
	out = read_back();
	assert_non_null(o = json_loads(out, 0, &je));
	assert_string_equal(json_string_value(json_object_get(o, "instance")), "gw-a.1");
	assert_string_equal(json_string_value(json_object_get(o, "msg")), "j \"q\"");
	json_decref(o);
	free(out);
	/* a long message is cut, the instance stays */
	log_set_format(LOG_FMT_TEXT);
	capture();
	log_info("%3000d", 1);
	out = read_back();
	assert_true(strlen(out) <= 2048);
	assert_non_null(strstr(out, "  instance=gw-a.1\n"));
	free(out);
	log_set_instance(NULL);
	log_set_format(LOG_FMT_TEXT);
}

static void
test_journal(void **state)
{
	char *out;

	(void)state;
	log_init(LOG_LVL_DEBUG, "scepgw");
	log_set_format(LOG_FMT_JOURNAL);
	capture();
	log_err("e");
	log_warn("w");
	log_info("i");
	log_debug("d");
	out = read_back();
	/* journald adds the time and pid: only the priority and the level */
	assert_string_equal(out, "<3>error: e\n<4>warn: w\n<6>info: i\n<7>debug: d\n");
	free(out);
	log_init(LOG_LVL_INFO, "scepgw");
}

static void
test_json(void **state)
{
	char *out, *line, *save = NULL, big[3000];
	json_t *o;
	json_error_t je;
	int lines = 0;

	(void)state;
	log_init(LOG_LVL_INFO, "scepgw");
	log_set_format(LOG_FMT_JSON);
	/* a message longer than a line, cut inside a two-byte UTF-8 character */
	for (size_t i = 0; i + 2 < sizeof(big); i += 2)
		memcpy(big + i, "\xc3\xa4", 2);
	big[sizeof(big) - 2] = '\0';
	capture();
	log_warn("peer=%s said \"%s\"\tand\\left", "1.2.3.4", "hi\x01");
	log_info("%s", big);
	out = read_back();
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		assert_non_null(o = json_loads(line, 0, &je));
		assert_string_equal(json_string_value(json_object_get(o, "ident")), "scepgw");
		assert_true(json_integer_value(json_object_get(o, "pid")) == (json_int_t)getpid());
		if (lines == 0) {
			assert_string_equal(json_string_value(json_object_get(o, "level")), "warn");
			assert_int_equal(json_integer_value(json_object_get(o, "priority")), 4);
			assert_string_equal(json_string_value(json_object_get(o, "msg")),
					    "peer=1.2.3.4 said \"hi\x01\"\tand\\left");
		} else {
			const char *m = json_string_value(json_object_get(o, "msg"));

			assert_int_equal(json_integer_value(json_object_get(o, "priority")), 6);
			assert_true(strlen(m) > 1000 && strlen(m) < sizeof(big));
			assert_int_equal(strlen(m) % 2, 0); /* whole characters only */
		}
		json_decref(o);
		lines++;
	}
	assert_int_equal(lines, 2);
	free(out);
}

/* auto: the journal when JOURNAL_STREAM names stderr's device and inode. */
static void
test_auto(void **state)
{
	char *out, js[64];
	struct stat sb;

	(void)state;
	capture();
	assert_int_equal(fstat(STDERR_FILENO, &sb), 0);
	snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)sb.st_dev,
		 (unsigned long long)sb.st_ino);
	setenv("JOURNAL_STREAM", "1:2", 1); /* another stream: stderr is not the journal */
	log_set_format(LOG_FMT_AUTO);
	log_warn("first");
	setenv("JOURNAL_STREAM", js, 1);
	log_set_format(LOG_FMT_AUTO);
	log_warn("second");
	unsetenv("JOURNAL_STREAM");
	log_set_format(LOG_FMT_AUTO);
	log_warn("third");
	out = read_back();
	assert_non_null(strstr(out, "] warn: first\n<4>warn: second\n"));
	assert_non_null(strstr(out, "] warn: third\n"));
	free(out);
}

static void
test_parse(void **state)
{
	(void)state;
	assert_int_equal(log_format_parse("journal"), LOG_FMT_JOURNAL);
	assert_int_equal(log_format_parse("json"), LOG_FMT_JSON);
	assert_int_equal(log_format_parse("auto"), LOG_FMT_AUTO);
	assert_int_equal(log_format_parse("syslog"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_text),     cmocka_unit_test(test_journal),
	    cmocka_unit_test(test_instance), cmocka_unit_test(test_json),
	    cmocka_unit_test(test_auto),     cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
