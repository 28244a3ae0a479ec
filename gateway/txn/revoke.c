/* revoke.c: the `revoke` subcommand.  It runs beside the daemon: it finds the
 * certificate in the store, asks the issuing backend to revoke it (the local
 * CA appends to its revocation file, which the daemon notices at the next CRL
 * request), then marks the store row (renewal and GetCert see it at once). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>

#include "http_client.h"
#include "log.h"
#include "profile.h"
#include "revoke.h"
#include "scep_envelope.h"
#include "store.h"
#include "worker.h"

static const char *const reasons[] = {
    "unspecified", "keyCompromise",	   "cACompromise",    "affiliationChanged",
    "superseded",  "cessationOfOperation", "certificateHold", NULL,
    NULL,	   "privilegeWithdrawn",   "aACompromise",
};
#define N_REASONS ((int)(sizeof(reasons) / sizeof(reasons[0])))

int
revoke_reason_parse(const char *name)
{
	char *end;
	long v;

	if (name == NULL || name[0] == '\0')
		return -1;
	for (int i = 0; i < N_REASONS; i++)
		if (reasons[i] != NULL && strcasecmp(name, reasons[i]) == 0)
			return i;
	v = strtol(name, &end, 10);
	if (*end != '\0' || v < 0 || v >= N_REASONS || reasons[v] == NULL)
		return -1;
	return (int)v;
}

const char *
revoke_reason_name(int code)
{
	if (code < 0 || code >= N_REASONS || reasons[code] == NULL)
		return "unknown";
	return reasons[code];
}

int
revoke_serial_normalize(const char *in, char *out, size_t size)
{
	size_t n = 0;

	if (strncasecmp(in, "0x", 2) == 0)
		in += 2;
	for (; *in != '\0'; in++) {
		char ch = *in;

		if (ch == ':')
			continue;
		if (ch >= 'A' && ch <= 'F')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return -1;
		if (n == 0 && ch == '0')
			continue; /* leading zeros */
		if (n + 1 >= size)
			return -1;
		out[n++] = ch;
	}
	if (n == 0) {
		if (size < 2)
			return -1;
		out[n++] = '0';
	} else if (n % 2 == 1) { /* whole octets, as the store (BN_bn2hex) */
		if (n + 1 >= size)
			return -1;
		memmove(out + 1, out, n);
		out[0] = '0';
		n++;
	}
	out[n] = '\0';
	return 0;
}

struct revoke_run {
	struct cfg *cfg;
	struct keyop *keys;
	struct profile_set *ps;
	struct store *store;
	struct event_base *base;
	struct worker_pool *workers;
	struct http_client *http;
	int done, rc;
	char reason[256];
};

static void
revoked_cb(void *arg, int rc, const char *reason)
{
	struct revoke_run *v = arg;

	v->done = 1;
	v->rc = rc;
	snprintf(v->reason, sizeof(v->reason), "%s", reason != NULL ? reason : sgw_strerror(rc));
	event_base_loopbreak(v->base);
}

static struct backend *
backend_of(struct profile_set *ps, const char *issuer)
{
	for (size_t i = 0; i < ps->n; i++)
		if (strcmp(ps->v[i].issuer, issuer) == 0)
			return ps->v[i].backend;
	return NULL;
}

static int
setup(struct revoke_run *v, const char *file, struct sgw_err *err)
{
	int r;

	if ((r = cfg_load(file, &v->cfg, err)) < 0)
		return r;
	if ((v->keys = keyop_new()) == NULL || (v->base = event_base_new()) == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	if ((r = profiles_build(v->cfg, v->keys, &v->ps, err)) < 0)
		return r;
	if ((v->workers = worker_pool_new(v->base, 1)) == NULL ||
	    (v->http = http_client_new(v->base, 0)) == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "cannot start a worker or the HTTP client");
	return store_open(&v->cfg->store, &v->store, err);
}

/* Ask the backend, running the loop until its callback. */
static int
backend_do(struct revoke_run *v, struct backend *b, const char *serial, int reason,
	   struct sgw_err *err)
{
	struct backend_env env = {
	    .base = v->base, .workers = v->workers, .keys = v->keys, .http = v->http};
	int r;

	if ((r = backend_start(b, &env, err)) < 0)
		return r;
	if ((r = backend_revoke(b, serial, reason, revoked_cb, v)) < 0)
		return sgw_err_set(err, -r, "backend %s cannot revoke (local: set state_dir)",
				   backend_name(b));
	while (!v->done)
		if (event_base_dispatch(v->base) < 0)
			return sgw_err_set(err, SGW_EIO, "event loop failed");
	if (v->rc < 0 && v->rc != -SGW_EEXIST)
		return sgw_err_set(err, -v->rc, "backend %s: %s", backend_name(b), v->reason);
	return 0;
}

static int
revoke_run(struct revoke_run *v, const char *file, const char *serial, int reason,
	   struct sgw_err *err)
{
	struct store_cert c = {0};
	struct backend *b;
	int r, already;

	if ((r = setup(v, file, err)) < 0)
		return r;
	r = store_cert_find_serial(v->store, serial, &c);
	if (r == -SGW_ENOTFOUND)
		return sgw_err_set(err, SGW_ENOTFOUND, "no certificate with serial %s", serial);
	if (r < 0)
		return sgw_err_set(err, -r, "store: %s", sgw_strerror(r));
	b = backend_of(v->ps, c.issuer);
	if (b == NULL) {
		r = sgw_err_set(err, SGW_ENOTFOUND, "no backend issues under %s", c.issuer);
	} else if ((r = backend_do(v, b, serial, reason, err)) == 0) {
		already = v->rc == -SGW_EEXIST;
		r = store_cert_revoke(v->store, c.issuer, serial, reason, (int64_t)time(NULL));
		if (r == -SGW_EEXIST && already)
			printf("%s was already revoked\n", serial);
		else if (r == 0 || r == -SGW_EEXIST)
			printf("revoked %s (%s), issuer %s\n", serial, revoke_reason_name(reason),
			       c.issuer);
		if (r == -SGW_EEXIST)
			r = 0;
		if (r < 0)
			sgw_err_set(err, -r, "store: %s", sgw_strerror(r));
	}
	store_cert_clear(&c);
	return r;
}

int
revoke_command(const char *cfg_file, int argc, char **argv)
{
	struct revoke_run v = {0};
	struct sgw_err err = {{0}};
	char serial[80];
	int reason = 0, r;

	if (argc == 3 && strcmp(argv[1], "--reason") == 0)
		reason = revoke_reason_parse(argv[2]);
	if ((argc != 1 && argc != 3) || (argc == 3 && strcmp(argv[1], "--reason") != 0) ||
	    reason < 0 || revoke_serial_normalize(argv[0], serial, 41) < 0) {
		fprintf(stderr, "usage: scepgw -c FILE revoke SERIAL [--reason unspecified|"
				"keyCompromise|cACompromise|affiliationChanged|superseded|"
				"cessationOfOperation|certificateHold|privilegeWithdrawn|"
				"aACompromise]\n");
		return 2;
	}
	r = revoke_run(&v, cfg_file, serial, reason, &err);
	if (r < 0)
		fprintf(stderr, "scepgw revoke: %s\n", err.msg[0] ? err.msg : sgw_strerror(r));
	profiles_free(v.ps); /* stops the backends before the workers go */
	http_client_free(v.http);
	worker_pool_free(v.workers);
	store_close(v.store);
	if (v.base != NULL)
		event_base_free(v.base);
	keyop_free(v.keys);
	cfg_free(v.cfg);
	scep_envelope_disable_legacy();
	return r < 0 ? 1 : 0;
}
