/* tests for gateway/admin/admin_auth.c: the tokens file (read as a secret
 * file) and who a request's Authorization header names. */
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

#include <event2/http.h>
#include <openssl/evp.h>

#include "admin_auth.h"
#include "admin_cert.h"

struct fx {
	char dir[64], file[128];
	struct cfg_admin cfg;
	struct admin a;
};

static void
sha256_hex(const char *s, char *hex)
{
	unsigned char h[32];
	unsigned int n = 0;

	EVP_Digest(s, strlen(s), h, &n, EVP_sha256(), NULL);
	for (unsigned i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
}

static void
write_file(struct fx *f, const char *text, mode_t mode)
{
	FILE *fp;

	unlink(f->file);
	fp = fopen(f->file, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(chmod(f->file, mode), 0);
}

static void
reset(struct fx *f)
{
	free(f->a.tokens);
	f->a = (struct admin){.cfg = &f->cfg};
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/scepgw-aa-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->file, sizeof(f->file), "%s/admin.tokens", f->dir);
	reset(f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char link[160];

	snprintf(link, sizeof(link), "%s/link", f->dir);
	unlink(link);
	unlink(f->file);
	rmdir(f->dir);
	free(f->a.tokens);
	free(f);
	return 0;
}

static int
load(struct fx *f, const char *text, struct sgw_err *err)
{
	write_file(f, text, 0600);
	reset(f);
	return admin_tokens_load(&f->a, f->file, err);
}

static void
load_fails(struct fx *f, const char *text, const char *msg_tail)
{
	struct sgw_err err = {{0}};
	size_t n, m = strlen(msg_tail);

	assert_int_equal(load(f, text, &err), -SGW_EINVAL);
	n = strlen(err.msg);
	if (n < m || strcmp(err.msg + n - m, msg_tail) != 0)
		fail_msg("'%s' does not end in '%s'", err.msg, msg_tail);
}

static int
auth(struct fx *f, const char *header, struct admin_principal *p)
{
	struct evhttp_request *req = evhttp_request_new(NULL, NULL);
	struct admin_cert_ref ref;
	int r;

	if (header != NULL)
		evhttp_add_header(evhttp_request_get_input_headers(req), "Authorization", header);
	r = admin_authenticate(&f->a, req, p, &ref);
	evhttp_request_free(req);
	return r;
}

static void
test_load(void **state)
{
	struct fx *f = *state;
	struct sgw_err err = {{0}};
	char text[1024], ha[65], hr[65], hm[65], bad[80];

	sha256_hex("alpha-secret", ha);
	sha256_hex("reader-secret", hr);
	sha256_hex("mdm-secret", hm);
	for (char *c = hm; *c; c++) /* hex digits in either case */
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	snprintf(text, sizeof(text),
		 "# name:sha256(token)[:role]\n\nalpha:%s\r\nreader:%s:read\nmdm@x.y:%s:challenge",
		 ha, hr, hm);
	assert_int_equal(load(f, text, &err), 0);
	assert_int_equal(f->a.n_tokens, 3);
	assert_string_equal(f->a.tokens[0].name, "alpha");
	assert_int_equal(f->a.tokens[0].role, ADMIN_ROLE_ADMIN);
	assert_int_equal(f->a.tokens[0].sha256[0], strtol((char[]){ha[0], ha[1], 0}, NULL, 16));
	assert_int_equal(f->a.tokens[1].role, ADMIN_ROLE_READ);
	assert_string_equal(f->a.tokens[2].name, "mdm@x.y");
	assert_int_equal(f->a.tokens[2].role, ADMIN_ROLE_CHALLENGE);

	snprintf(text, sizeof(text), "alpha:%s\nbeta:%s:root\n", ha, hr);
	load_fails(f, text, ":2: expected name:sha256hex[:admin|read|challenge]");
	snprintf(bad, sizeof(bad), "alpha:%.63sx\n", ha); /* not hex */
	load_fails(f, bad, ":1: expected name:sha256hex[:admin|read|challenge]");
	snprintf(bad, sizeof(bad), "alpha:%.62s\n", ha); /* too short */
	load_fails(f, bad, ":1: expected name:sha256hex[:admin|read|challenge]");
	snprintf(text, sizeof(text), "al pha:%s\n", ha); /* a name with a space */
	load_fails(f, text, ":1: expected name:sha256hex[:admin|read|challenge]");
	snprintf(text, sizeof(text), "alpha:%s:read:x\n", ha);
	load_fails(f, text, ":1: expected name:sha256hex[:admin|read|challenge]");
	load_fails(f, "# only comments\n\n", "admin.tokens: no tokens");
}

static void
test_secret_file(void **state)
{
	struct fx *f = *state;
	struct sgw_err err = {{0}};
	char text[128], ha[65], link[160];

	sha256_hex("alpha-secret", ha);
	snprintf(text, sizeof(text), "alpha:%s\n", ha);
	write_file(f, text, 0640); /* readable by the group */
	assert_int_equal(admin_tokens_load(&f->a, f->file, &err), -SGW_EDENIED);
	assert_non_null(strstr(err.msg, "chmod 600"));
	assert_null(f->a.tokens);
	write_file(f, text, 0600);
	snprintf(link, sizeof(link), "%s/link", f->dir);
	assert_int_equal(symlink(f->file, link), 0); /* no symlink followed */
	assert_int_equal(admin_tokens_load(&f->a, link, &err), -SGW_EIO);
	assert_int_equal(admin_tokens_load(&f->a, "/nonexistent/tokens", &err), -SGW_EIO);
	assert_int_equal(admin_tokens_load(&f->a, f->file, &err), 0);
	assert_int_equal(f->a.n_tokens, 1);
}

static void
test_authenticate(void **state)
{
	struct fx *f = *state;
	struct sgw_err err = {{0}};
	struct admin_principal p;
	char text[256], ha[65], hr[65];
	const char *basic_alpha = "Basic YWxwaGE6YWxwaGEtc2VjcmV0";	 /* alpha:alpha-secret */
	const char *basic_reader = "Basic cmVhZGVyOmFscGhhLXNlY3JldA=="; /* reader:alpha-secret */

	sha256_hex("alpha-secret", ha);
	sha256_hex("reader-secret", hr);
	snprintf(text, sizeof(text), "alpha:%s\nreader:%s:read\n", ha, hr);
	assert_int_equal(load(f, text, &err), 0);
	assert_int_equal(auth(f, "Bearer alpha-secret", &p), 0);
	assert_string_equal(p.name, "token:alpha");
	assert_int_equal(p.role, ADMIN_ROLE_ADMIN);
	assert_int_equal(auth(f, "bearer reader-secret", &p), 0);
	assert_string_equal(p.name, "token:reader");
	assert_int_equal(p.role, ADMIN_ROLE_READ);
	assert_int_equal(auth(f, basic_alpha, &p), 0);
	assert_string_equal(p.name, "token:alpha");
	/* basic auth: the name must own the secret */
	assert_int_equal(auth(f, basic_reader, &p), -SGW_EAUTH);
	assert_int_equal(auth(f, "Bearer wrong", &p), -SGW_EAUTH);
	assert_int_equal(auth(f, "Bearer ", &p), -SGW_EAUTH);
	assert_int_equal(auth(f, "Digest x", &p), -SGW_EAUTH);
	/* no header and no TLS connection: no client certificate either */
	assert_int_equal(auth(f, NULL, &p), -SGW_EAUTH);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_load, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_secret_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_authenticate, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
