/* tests for gateway/admin/admin_reply.c: the admin API's replies, as a client
 * reads them.  A plain listener on 127.0.0.1:0 shares the event base with an
 * in-process client (core's http_client); the handler answers with the
 * admin_reply call the path names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/buffer.h>

#include "admin_reply.h"
#include "fixture/http_fixture.h"
#include "http/http_listen.c" /* the bound port of the opaque listener */
#include "http_client.h"

struct fx {
	struct http_fixture h; /* the loop, the client, its answers */
	struct http_listener *l;
	struct gw gw;
	struct admin a;
	int port;
	/* the client's last answer */
	long status;
	char body[1024], ctype[64], cache[64], auth[64];
};

static void
handler(struct evhttp_request *req, const struct http_origin *origin, void *arg)
{
	struct fx *f = arg;
	const char *uri = evhttp_request_get_uri(req);
	struct admin_principal p = {"token:alice", ADMIN_ROLE_ADMIN};
	struct evbuffer *out;
	json_t *in;

	(void)origin;
	if (strcmp(uri, "/json") == 0) {
		admin_reply_json(&f->a, req, &p, "t.json", 201,
				 json_pack("{s:i,s:s}", "b", 1, "a", "x"));
	} else if (strcmp(uri, "/null") == 0) {
		admin_reply_json(&f->a, req, &p, "t.null", 200, NULL);
	} else if (strcmp(uri, "/401") == 0) {
		admin_reply_error(&f->a, req, NULL, "auth", 401, "authentication required");
	} else if (strcmp(uri, "/dirty") == 0) {
		admin_reply_error(&f->a, req, &p, "t.dirty", 409, "bad \"%s\"\n%s", "x", "y\tz");
	} else if (strcmp(uri, "/buf") == 0) {
		out = evbuffer_new();
		evbuffer_add_printf(out, "metric 1\n");
		admin_reply_buf(&f->a, req, "t.buf", 200, "text/plain; version=0.0.4", out);
	} else if (strcmp(uri, "/echo") == 0) {
		in = admin_body_json(req);
		if (in == NULL)
			admin_reply_error(&f->a, req, &p, "t.echo", 400, "no JSON body");
		else
			admin_reply_json(&f->a, req, &p, "t.echo", 200, in);
	} else {
		fail_msg("unexpected %s", uri);
	}
}

static void
copy_header(const struct http_response *resp, const char *name, char *buf, size_t size)
{
	const char *v = http_response_header(resp, name);

	snprintf(buf, size, "%s", v != NULL ? v : "-");
}

static void
done_cb(void *arg, const struct http_response *resp)
{
	struct fx *f = arg;

	f->h.calls++;
	f->status = resp->status;
	snprintf(f->body, sizeof(f->body), "%.*s", (int)resp->body_len, (const char *)resp->body);
	copy_header(resp, "content-type", f->ctype, sizeof(f->ctype));
	copy_header(resp, "cache-control", f->cache, sizeof(f->cache));
	copy_header(resp, "www-authenticate", f->auth, sizeof(f->auth));
	event_base_loopbreak(f->h.base);
}

static void
call(struct fx *f, const char *path, const char *body, size_t len)
{
	char u[128];
	struct http_request rq = {.url = u, .body = (const uint8_t *)body, .body_len = len};

	snprintf(u, sizeof(u), "http://127.0.0.1:%d%s", f->port, path);
	rq.method = body != NULL ? "POST" : "GET";
	http_fixture_run(&f->h, &rq, done_cb, f);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct http_spec s = {.what = "test",
			      .address = "127.0.0.1:0",
			      .max_body = 4 * ADMIN_MAX_BODY, /* admin_body_json's own cap shows */
			      .max_headers = 8192,
			      .timeout = 10,
			      .methods = EVHTTP_REQ_GET | EVHTTP_REQ_POST};
	struct sgw_err err = {{0}};

	http_fixture_init(&f->h);
	f->gw.base = f->h.base; /* no store: replies go out at once; no metrics */
	f->a.gw = &f->gw;
	assert_int_equal(http_listener_new(f->h.base, &s, handler, f, &f->l, &err), 0);
	f->port = http_fixture_port(f->l->bound);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	http_listener_free(f->l);
	http_fixture_clean(&f->h);
	free(f);
	return 0;
}

static void
test_json(void **state)
{
	struct fx *f = *state;

	call(f, "/json", NULL, 0);
	assert_int_equal(f->status, 201);
	/* two-space indent, sorted keys, a final newline */
	assert_string_equal(f->body, "{\n  \"a\": \"x\",\n  \"b\": 1\n}\n");
	assert_string_equal(f->ctype, "application/json");
	assert_string_equal(f->cache, "no-store");
	assert_string_equal(f->auth, "-");
	call(f, "/null", NULL, 0); /* a body that could not be built */
	assert_int_equal(f->status, 500);
}

/* stderr (the log) into a file while a test runs; *saved restores it. */
static FILE *
capture_begin(int *saved)
{
	FILE *tmp = tmpfile();

	assert_non_null(tmp);
	fflush(stderr);
	*saved = dup(2);
	assert_true(*saved >= 0);
	assert_int_equal(dup2(fileno(tmp), 2), 2);
	return tmp;
}

static void
capture_end(FILE *tmp, int saved, char *buf, size_t size)
{
	size_t n;

	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, size - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
}

static void
test_errors(void **state)
{
	struct fx *f = *state;
	char log[2048];
	int saved;
	FILE *tmp = capture_begin(&saved);

	call(f, "/401", NULL, 0);
	assert_int_equal(f->status, 401);
	assert_string_equal(f->body, "{\n  \"error\": \"authentication required\"\n}\n");
	assert_string_equal(f->auth, "Basic realm=\"scepgw\", Bearer");
	assert_string_equal(f->cache, "no-store");
	/* control characters and quotes never reach the body or the audit line */
	call(f, "/dirty", NULL, 0);
	assert_int_equal(f->status, 409);
	assert_string_equal(f->body, "{\n  \"error\": \"bad ?x??y?z\"\n}\n");
	assert_string_equal(f->auth, "-");
	call(f, "/json", NULL, 0); /* admin_reply_json alone writes no audit line */
	capture_end(tmp, saved, log, sizeof(log));
	assert_non_null(
	    strstr(log, " audit admin=- action=auth status=401 authentication required\n"));
	assert_non_null(
	    strstr(log, " audit admin=token:alice action=t.dirty status=409 bad ?x??y?z\n"));
	assert_null(strstr(log, "t.json"));
}

static void
test_buf(void **state)
{
	struct fx *f = *state;

	call(f, "/buf", NULL, 0);
	assert_int_equal(f->status, 200);
	assert_string_equal(f->body, "metric 1\n");
	assert_string_equal(f->ctype, "text/plain; version=0.0.4");
	assert_string_equal(f->cache, "no-store");
}

static void
test_body_json(void **state)
{
	struct fx *f = *state;
	size_t big = ADMIN_MAX_BODY + 1;
	char *b = malloc(big);

	call(f, "/echo", "{\"reason\":\"dup\"}", 16);
	assert_int_equal(f->status, 200);
	assert_string_equal(f->body, "{\n  \"reason\": \"dup\"\n}\n");
	call(f, "/echo", "{\"a\":1,\"a\":2}", 13); /* duplicate keys */
	assert_int_equal(f->status, 400);
	call(f, "/echo", "{\"a\":", 5);
	assert_int_equal(f->status, 400);
	call(f, "/echo", "", 0);
	assert_int_equal(f->status, 400);
	/* a well-formed body over ADMIN_MAX_BODY is not read */
	memset(b, ' ', big);
	memcpy(b, "{\"a\":1}", 7);
	call(f, "/echo", b, big);
	assert_int_equal(f->status, 400);
	call(f, "/echo", b, big - 1);
	assert_int_equal(f->status, 200);
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_json, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_buf, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_body_json, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
