/* revoke_cli.c: the `revoke` subcommand.  It runs beside the daemon, in a
 * process of its own: the config, the profiles, the store and a loop of its
 * own, then one revoke_start() (revoke.c), which starts only the backend that
 * issued the certificate, and the loop until its callback. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon.h"
#include "http_client.h"
#include "log.h"
#include "profile.h"
#include "revoke.h"
#include "revoke_cli.h"
#include "scep_envelope.h"
#include "store.h"
#include "store_ca.h"
#include "worker.h"

struct revoke_run {
	struct cfg *cfg;
	struct keyop *keys;
	struct profile_set *ps;
	struct store *store;
	struct store_ca store_ca;
	struct event_base *base;
	struct worker_pool *workers;
	struct http_client *http;
	struct revoke_op op;
	int done;
};

static void
revoked_cb(void *arg, struct revoke_op *op)
{
	struct revoke_run *v = arg;

	(void)op;
	v->done = 1;
	event_base_loopbreak(v->base);
}

static int
setup(struct revoke_run *v, const char *file, struct sgw_err *err)
{
	int r;

	if ((r = cfg_load(file, &v->cfg, err)) < 0)
		return r;
	log_set_instance(v->cfg->instance);
	if ((v->keys = keyop_new()) == NULL || (v->base = event_base_new()) == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	if ((r = profiles_build(v->cfg, v->keys, &v->ps, err)) < 0)
		return r;
	if ((v->workers = worker_pool_new(v->base, 1)) == NULL ||
	    (v->http = http_client_new(v->base, 0)) == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "cannot start a worker or the HTTP client");
	return store_open(&v->cfg->store, &v->store, err);
}

/* What the callback found, as the subcommand prints it. */
static int
report(struct revoke_run *v, struct sgw_err *err)
{
	struct revoke_op *op = &v->op;

	if (op->rc < 0) /* refused: backend_why says why */
		return sgw_err_set(err, -op->rc, "%s", op->backend_why);
	if (op->backend_rc < 0 && op->backend_rc != -SGW_EEXIST)
		return sgw_err_set(
		    err, -op->backend_rc, "backend %s: %s", backend_name(op->backend),
		    op->backend_why[0] ? op->backend_why : sgw_strerror(op->backend_rc));
	if (op->store_rc == -SGW_EEXIST && op->backend_rc == -SGW_EEXIST)
		printf("%s was already revoked\n", op->serial);
	else if (op->store_rc == 0 || op->store_rc == -SGW_EEXIST)
		printf("revoked %s (%s), issuer %s\n", op->serial, revoke_reason_name(op->reason),
		       op->issuer);
	if (op->store_rc < 0 && op->store_rc != -SGW_EEXIST)
		return sgw_err_set(err, -op->store_rc, "store: %s", sgw_strerror(op->store_rc));
	return 0;
}

static int
revoke_run(struct revoke_run *v, const char *file, struct sgw_err *err)
{
	struct backend_env env;
	int r;

	if ((r = setup(v, file, err)) < 0)
		return r;
	store_set_instance(v->store, v->cfg->instance);
	store_ca_init(&v->store_ca, v->store, v->cfg->instance);
	env = (struct backend_env){.base = v->base,
				   .workers = v->workers,
				   .keys = v->keys,
				   .http = v->http,
				   .ca_state = &v->store_ca.state};
	v->op.store = v->store;
	v->op.backend_of = profiles_backend_of;
	v->op.backend_of_ctx = v->ps;
	v->op.start = &env;
	v->op.cb = revoked_cb;
	v->op.arg = v;
	if ((r = revoke_start(&v->op, err)) < 0)
		return r;
	while (!v->done)
		if (event_base_dispatch(v->base) < 0)
			return sgw_err_set(err, SGW_EIO, "event loop failed");
	return report(v, err);
}

int
revoke_command(const char *cfg_file, int argc, char **argv)
{
	struct revoke_run v = {0};
	struct sgw_err err = {{0}};
	int reason = 0, r;

	if (argc == 3 && strcmp(argv[1], "--reason") == 0)
		reason = revoke_reason_parse(argv[2]);
	if ((argc != 1 && argc != 3) || (argc == 3 && strcmp(argv[1], "--reason") != 0) ||
	    reason < 0 || revoke_serial_normalize(argv[0], v.op.serial, 41) < 0) {
		fprintf(stderr, "usage: scepgw -c FILE revoke SERIAL [--reason unspecified|"
				"keyCompromise|cACompromise|affiliationChanged|superseded|"
				"cessationOfOperation|certificateHold|privilegeWithdrawn|"
				"aACompromise]\n");
		return 2;
	}
	v.op.reason = reason;
	r = revoke_run(&v, cfg_file, &err);
	/* run as root for a daemon with user: the files it wrote go back to
	 * that user, or the daemon could no longer read them */
	if (r == 0 && v.cfg->user != NULL && geteuid() == 0)
		r = daemon_own_files(v.ps, v.cfg->user, 0, &err);
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
