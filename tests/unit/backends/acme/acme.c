/* tests for backends/acme/acme.c's account_key_file (a key the instances of
 * a cluster share): configure refuses a file group or others can read, a
 * missing file and account_key beside it, each naming the key; start
 * refuses a file that holds no PEM key, and with a good one uses it (no key
 * made in state_dir, no account.url read from it). */
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

#include <event2/event.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "backend.h"
#include "cfg.h"
#include "fixture/cfg_fixture.h"
#include "http_client.h"

#define CFG_HEAD                                                                                   \
	CFG_FIXTURE_HEAD                                                                           \
	"scep_profiles:\n"                                                                         \
	"  p1: {ra_identity: ra, ra_profile: rp, challenge: {type: none}}\n"                       \
	"ra_profiles:\n"                                                                           \
	"  rp: {backend: ac}\n"                                                                    \
	"backends:\n"                                                                              \
	"  ac:\n"                                                                                  \
	"    type: acme\n"                                                                         \
	"    directory: https://127.0.0.1:1/dir\n"

struct fx {
	char dir[64];	 /* the test's temporary directory */
	char key[128];	 /* dir/account.pem */
	char state[128]; /* dir/state */
	struct backend *b;
};

/* backend_new from CFG_HEAD plus the state_dir and `extra` YAML lines. */
static int
configure(struct fx *f, const char *extra, struct sgw_err *err)
{
	char yaml[4096];
	struct cfg *c = NULL;
	const struct cfg_backend *cb;
	int r;

	snprintf(yaml, sizeof(yaml), CFG_HEAD "    state_dir: %s\n%s", f->state, extra);
	r = cfg_parse("t.yaml", (const uint8_t *)yaml, strlen(yaml), &c, err);
	if (r == 0 && (cb = cfg_backend_find(c, "ac")) != NULL)
		r = backend_new(cb->name, cb->type, cb->node, cb->path, &f->b, err);
	cfg_free(c);
	return r;
}

static void
write_file(const char *path, const char *data, size_t len, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* A P-256 key in PEM at path, with mode. */
static void
write_key(const char *path, mode_t mode)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	BIO *b = BIO_new(BIO_s_mem());
	char *pem;
	long n;

	assert_non_null(k);
	assert_non_null(b);
	assert_int_equal(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(b, &pem);
	write_file(path, pem, (size_t)n, mode);
	BIO_free(b);
	EVP_PKEY_free(k);
}

static void
expect_refused(struct fx *f, const char *extra, const char *msg)
{
	struct sgw_err err = {{0}};

	assert_true(configure(f, extra, &err) < 0);
	if (strstr(err.msg, msg) == NULL)
		fail_msg("'%s' does not contain '%s'", err.msg, msg);
	assert_null(f->b);
}

static int
setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	snprintf(f.dir, sizeof(f.dir), "/tmp/sgw-acme-XXXXXX");
	assert_non_null(mkdtemp(f.dir));
	snprintf(f.key, sizeof(f.key), "%s/account.pem", f.dir);
	snprintf(f.state, sizeof(f.state), "%s/state", f.dir);
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char p[200];

	backend_free(f->b);
	f->b = NULL;
	unlink(f->key);
	snprintf(p, sizeof(p), "%s/issued", f->state);
	rmdir(p);
	rmdir(f->state);
	rmdir(f->dir);
	return 0;
}

static void
test_refusals(void **state)
{
	struct fx *f = *state;
	char extra[300];

	snprintf(extra, sizeof(extra), "    account_key_file: %s\n", f->key);
	expect_refused(f, extra, "t.yaml:15: backends.ac: account_key_file: ");
	expect_refused(f, extra, "No such file");
	write_key(f->key, 0644);
	expect_refused(f, extra, "t.yaml:15: backends.ac: account_key_file: ");
	expect_refused(f, extra, "accessible by group or others");
	assert_int_equal(chmod(f->key, 0600), 0);
	snprintf(extra, sizeof(extra), "    account_key: rsa\n    account_key_file: %s\n", f->key);
	expect_refused(f, extra, "account_key: not with account_key_file");
}

static void
test_start(void **state)
{
	struct fx *f = *state;
	struct event_base *base = event_base_new();
	struct keyop *keys = keyop_new();
	struct http_client *hc = http_client_new(base, 4);
	struct backend_env env = {.base = base, .keys = keys, .http = hc};
	struct sgw_err err = {{0}};
	char extra[300], p[200];
	struct stat st;

	assert_non_null(base);
	assert_non_null(keys);
	assert_non_null(hc);
	snprintf(extra, sizeof(extra), "    account_key_file: %s\n", f->key);
	/* owner-only but no key in it: start says which key */
	write_file(f->key, "not a key\n", 10, 0600);
	assert_int_equal(configure(f, extra, &err), 0);
	assert_true(backend_start(f->b, &env, &err) < 0);
	if (strstr(err.msg, "backends.ac.account_key_file: ") == NULL ||
	    strstr(err.msg, "not a PEM private key") == NULL)
		fail_msg("%s", err.msg);
	backend_free(f->b);
	f->b = NULL;
	keyop_free(keys);
	keys = env.keys = keyop_new();
	/* a P-256 key: started with it, nothing made in state_dir */
	write_key(f->key, 0600);
	assert_int_equal(configure(f, extra, &err), 0);
	if (backend_start(f->b, &env, &err) != 0)
		fail_msg("%s", err.msg);
	snprintf(p, sizeof(p), "%s/account.key", f->state);
	assert_int_not_equal(stat(p, &st), 0);
	assert_non_null(keyop_find(keys, "acme:ac:account"));
	backend_free(f->b);
	f->b = NULL;
	http_client_free(hc);
	keyop_free(keys);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_start),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
