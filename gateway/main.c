/* main.c: argv, config, build the modules in order, run the loop.
 *   scepgw -c FILE        run (logs to stderr; systemd runs it in the foreground)
 *   scepgw -n -c FILE     check the configuration (keys and certificates too) and exit
 *   scepgw -d             accepted for compatibility: always in the foreground */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "admin.h"
#include "admin_trust.h"
#include "config.h"
#include "daemon.h"
#include "evloop.h"
#include "gw.h"
#include "http_client.h"
#include "http_server.h"
#include "log.h"
#include "metrics.h"
#include "revoke_cli.h"
#include "scep_envelope.h"
#include "scep_http.h"
#include "scep_msg.h"
#include "secret_file.h"
#include "txn_csr.h"

#define DRAIN_SECONDS 10

static void
usage(void)
{
	fprintf(stderr, "usage: scepgw [-n] [-d] [-v] -c FILE\n"
			"  -c FILE  configuration (YAML)\n"
			"  -n       check the configuration and exit\n"
			"  -d       stay in the foreground (the default)\n"
			"  -v       debug logging\n"
			"  -V       print the version\n"
			"       scepgw -c FILE revoke SERIAL [--reason REASON]\n");
}

struct modules {
	struct cfg *cfg;
	struct keyop *keys;
	struct profile_set *profiles;
	struct event_base *base;
	struct worker_pool *workers;
	struct http_client *http_out; /* outbound: backends and validators make children */
	struct store *store;
	struct http_server *http;
	struct daemon_signals *sig;
	struct metrics *metrics;
	struct txn_admin *txn_admin;
	struct admin *admin;
};

static void
modules_free(struct modules *m)
{
	daemon_signals_free(m->sig);
	/* No job may run on what is freed below: the queued ones are dropped
	 * (the loop has stopped, their `done` would never run), the running
	 * ones are waited for.  The pool itself stays until the end, so what
	 * the backends submit while they stop is refused (-SGW_EAGAIN). */
	worker_pool_stop(m->workers);
	http_server_free(m->http);
	profiles_free(m->profiles);
	/* the outbound client after its children (backends, validators) */
	http_client_free(m->http_out);
	admin_free(m->admin); /* after the backends: no callback reaches it late */
	txn_admin_free(m->txn_admin);
	metrics_free(m->metrics);
	worker_pool_free(m->workers);
	store_close(m->store);
	if (m->base != NULL)
		event_base_free(m->base);
	keyop_free(m->keys);
	cfg_free(m->cfg);
	scep_envelope_disable_legacy();
}

/* The secret files the listeners and the admin API read when they start,
 * checked (owner, mode) here so that `-n` refuses them too, by kind.  The
 * profiles' own (challenge secrets, client secrets, keys) are checked when
 * each profile is built. */
static int
check_secret_files(const struct cfg *c, struct sgw_err *err)
{
	int r;

	for (size_t i = 0; i < c->n_listen; i++)
		if (c->listen[i].tls &&
		    (r = secret_file_check_as("TLS key", c->listen[i].tls_files.key, err)) < 0)
			return r;
	if (!c->admin.enabled)
		return 0;
	if (c->admin.tls &&
	    (r = secret_file_check_as("admin TLS key", c->admin.tls_files.key, err)) < 0)
		return r;
	if (c->admin.tokens_file != NULL &&
	    (r = secret_file_check_as("admin tokens file", c->admin.tokens_file, err)) < 0)
		return r;
	return 0;
}

/* Everything `-n` checks: config, certificates, keys, backends, admin.client_ca. */
static int
load(struct modules *m, const char *file, struct sgw_err *err)
{
	int r, lvl;

	if ((r = cfg_load(file, &m->cfg, err)) < 0)
		return r;
	lvl = log_level_parse(m->cfg->log_level);
	if (lvl >= 0 && log_verbosity != LOG_LVL_DEBUG)
		log_verbosity = lvl;
	log_set_format(log_format_parse(m->cfg->log_format));
	if (scep_oids_init() < 0)
		return sgw_err_set(err, SGW_EINVAL, "cannot register the SCEP OIDs");
	if ((r = check_secret_files(m->cfg, err)) < 0)
		return r;
	m->keys = keyop_new();
	if (m->keys == NULL)
		return -SGW_ENOMEM;
	if ((r = profiles_build(m->cfg, m->keys, &m->profiles, err)) < 0)
		return r;
	return admin_trust_check(&m->cfg->admin, m->profiles, err);
}

static int64_t
wall_clock(void)
{
	return (int64_t)time(NULL);
}

static int
run(struct modules *m, struct sgw_err *err)
{
	struct gw gw = {0};
	struct backend_env env;
	int r;

	daemon_raise_nofile();
	m->base = evloop_new();
	if (m->base == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "cannot create the event loop");
	m->workers = worker_pool_new(m->base, m->cfg->workers);
	if (m->workers == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "cannot start the worker pool");
	if ((m->http_out = http_client_new(m->base, 0)) == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "cannot create the HTTP client");
	if ((r = store_open(&m->cfg->store, &m->store, err)) < 0 ||
	    (r = txn_csr_migrate(m->store, m->profiles, err)) < 0 ||
	    (r = store_attach_loop(m->store, m->base, err)) < 0)
		return r;
	env = (struct backend_env){
	    .base = m->base, .workers = m->workers, .keys = m->keys, .http = m->http_out};
	if ((r = profiles_start(m->profiles, &env, m->store, err)) < 0)
		return r;
	gw = (struct gw){.cfg = m->cfg,
			 .base = m->base,
			 .keys = m->keys,
			 .workers = m->workers,
			 .store = m->store,
			 .profiles = m->profiles,
			 .now = wall_clock,
			 .max_inflight = (unsigned)m->cfg->limits.max_connections};
	if ((gw.metrics = m->metrics = metrics_new()) == NULL ||
	    (gw.txn_admin = m->txn_admin = txn_admin_new(&gw)) == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	if ((r = http_server_new(m->base, m->cfg, metrics_http(m->metrics), scep_http_handle, &gw,
				 &m->http, err)) < 0 ||
	    (r = admin_new(&gw, m->txn_admin, &m->admin, err)) < 0)
		return r;
	if ((r = daemon_own_files(m->profiles, m->cfg->user, 0, err)) < 0 ||
	    (r = daemon_drop_privileges(m->cfg->user, err)) < 0)
		return r;
	m->sig = daemon_signals_new(&gw, m->http, DRAIN_SECONDS);
	if (m->sig == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "cannot install signal handlers");
	log_info("scepgw %s ready: %zu profile(s), %d worker(s)", SGW_VERSION, m->profiles->n,
		 worker_pool_size(m->workers));
	event_base_dispatch(m->base);
	log_info("stopped");
	return 0;
}

int
main(int argc, char **argv)
{
	struct modules m = {0};
	struct sgw_err err = {{0}};
	const char *file = NULL;
	int check = 0, ch, r;

	/* "+": stop at the first non-option (a subcommand and its own options) */
	while ((ch = getopt(argc, argv, "+c:ndvVh")) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'd':
			break;
		case 'v':
			log_verbosity = LOG_LVL_DEBUG;
			break;
		case 'V':
			printf("scepgw %s\n", SGW_VERSION);
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (file != NULL && optind < argc && strcmp(argv[optind], "revoke") == 0) {
		log_init(log_verbosity, "scepgw");
		return revoke_command(file, argc - optind - 1, argv + optind + 1);
	}
	if (file == NULL || optind != argc) {
		usage();
		return 2;
	}
	log_init(log_verbosity, "scepgw");
	r = load(&m, file, &err);
	if (r == 0 && check)
		r = daemon_own_files(m.profiles, m.cfg->user, 1, &err);
	if (r == 0 && check)
		fprintf(stderr, "%s: configuration OK\n", file);
	if (r == 0 && !check)
		r = run(&m, &err);
	if (r < 0) {
		if (check)
			fprintf(stderr, "%s\n", err.msg[0] ? err.msg : sgw_strerror(r));
		else
			log_err("%s", err.msg[0] ? err.msg : sgw_strerror(r));
	}
	modules_free(&m);
	return r < 0 ? 1 : 0;
}
