/* main.c: argv, config, build the modules in order, run the loop.
 *   scepgw -c FILE        run (logs to stderr; systemd runs it in the foreground)
 *   scepgw -n -c FILE     check the configuration (keys and certificates too) and exit
 *   SIGHUP                reload the configuration (reload.c); SIGTERM/SIGINT drain and stop
 *   scepgw -d             accepted for compatibility: always in the foreground */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "admin.h"
#include "check.h"
#include "config.h"
#include "daemon.h"
#include "evloop.h"
#include "gw.h"
#include "health.h"
#include "http_client.h"
#include "http_server.h"
#include "log.h"
#include "metrics.h"
#include "reload.h"
#include "revoke_cli.h"
#include "scep_envelope.h"
#include "scep_http.h"
#include "scep_msg.h"
#include "scep_req.h"
#include "store.h"
#include "store_ca.h"
#include "txn_csr.h"
#include "txn_owed.h"

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
	const char *file;
	int keep_debug;	 /* -v */
	struct cfg *cfg; /* the startup configuration: listeners, store, user, admin */
	struct keyop *keys;
	struct gw gw; /* gw.profiles: the configuration generation in service */
	struct event_base *base;
	struct worker_pool *workers;
	struct http_client *http_out; /* outbound: backends and validators make children */
	struct backend_env env;
	struct store *store;
	struct store_ca store_ca; /* the store as the local CA's shared state */
	struct http_server *http;
	struct daemon_signals *sig;
	struct metrics *metrics;
	struct txn_admin *txn_admin;
	struct txn_owed *txn_owed;
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
	store_drain(m->store);	    /* the same for the store threads' steps */
	health_probes_free(&m->gw); /* the /healthz probes those steps dropped */
	http_server_free(m->http);
	/* the backends and validators of every generation still alive stop
	 * here; what the admin jobs still hold is freed with them below */
	profiles_stop_all(m->gw.profiles);
	/* nothing calls back into a request now: free those the drain
	 * deadline or a second signal left unanswered */
	req_drop_all(&m->gw);
	profiles_unref(m->gw.profiles);
	/* the outbound client after its children (backends, validators) */
	http_client_free(m->http_out);
	admin_free(m->admin); /* after the backends: no callback reaches it late */
	txn_admin_free(m->txn_admin);
	txn_owed_free(m->txn_owed); /* after the validators: no notification answers late */
	metrics_free(m->metrics);
	worker_pool_free(m->workers);
	store_close(m->store);
	if (m->base != NULL)
		event_base_free(m->base);
	keyop_free(m->keys);
	cfg_free(m->cfg);
	scep_envelope_disable_legacy();
}

/* Everything `-n` checks: config, certificates, keys, backends, admin.client_ca.
 * The startup configuration and keys stay main's for the whole run (the
 * listeners, the store and the admin API borrow them); a reload's are its
 * generation's own. */
static int
load(struct modules *m, struct cfg_report *rep, struct sgw_err *err)
{
	struct profile_set *ps;
	int r;

	if (scep_oids_init() < 0)
		return sgw_err_set(err, SGW_EINVAL, "cannot register the SCEP OIDs");
	if ((r = reload_build(m->file, m->keep_debug, rep, &ps, err)) < 0)
		return r;
	m->cfg = ps->own_cfg;
	m->keys = ps->own_keys;
	ps->own_cfg = NULL;
	ps->own_keys = NULL;
	m->gw.profiles = ps;
	return 0;
}

/* A store that cannot be reached now is a warning: the gateway starts
 * without it and connects when it can (PKIOperation answers 503 until
 * then).  One that refuses the login, or cannot work as configured, is an
 * error. */
static void
check_store(const struct cfg *cfg, struct cfg_report *rep)
{
	struct sgw_err err = {{0}};
	int r = store_check(&cfg->store, &err);

	if (r == -SGW_EUNAVAIL)
		cfg_report_add(rep, 0, "%s (the gateway starts anyway, and connects when it can)",
			       err.msg);
	else if (r < 0)
		cfg_report_take(rep, r, &err);
}

/* scepgw -n: every error and warning in one run, then OK or not. */
static int
check_all(struct modules *m, struct cfg_report *rep)
{
	struct sgw_err err = {{0}};

	cfg_report_take(rep, daemon_own_files(m->gw.profiles, m->cfg->user, 1, &err), &err);
	check_certs(m->gw.profiles, (int64_t)time(NULL), rep);
	check_local_ca(m->cfg, m->keys, (int64_t)time(NULL), rep);
	check_listeners(m->cfg, rep);
	check_readable(m->cfg, rep);
	check_store(m->cfg, rep);
	cfg_report_print(rep, stderr);
	if (rep->n_err > 0)
		return -SGW_EINVAL;
	fprintf(stderr, "%s: configuration OK%s\n", m->file,
		rep->n_warn > 0 ? " (with warnings)" : "");
	return 0;
}

static int64_t
wall_clock(void)
{
	return (int64_t)time(NULL);
}

static void
on_reload(void *arg)
{
	struct modules *m = arg;
	struct sgw_err err = {{0}};
	int r;

	log_info("reload: reading %s", m->file);
	daemon_notify("RELOADING=1");
	if ((r = reload_apply(&m->gw, m->file, m->keep_debug, &m->env, &err)) < 0)
		log_err("reload: %s; the configuration in service stays",
			err.msg[0] ? err.msg : sgw_strerror(r));
	metrics_reload(m->metrics, r == 0);
	daemon_notify("READY=1");
}

static int
run(struct modules *m, struct sgw_err *err)
{
	struct gw *gw = &m->gw;
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
	    (r = txn_csr_migrate(m->store, gw->profiles, err)) < 0 ||
	    (r = store_attach_loop(m->store, m->base, err)) < 0)
		return r;
	store_set_instance(m->store, m->cfg->instance);
	store_ca_init(&m->store_ca, m->store, m->cfg->instance);
	m->env = (struct backend_env){.base = m->base,
				      .workers = m->workers,
				      .keys = m->keys,
				      .http = m->http_out,
				      .ca_state = &m->store_ca.state};
	if ((r = profiles_start(gw->profiles, &m->env, m->store, err)) < 0)
		return r;
	gw->cfg = m->cfg;
	gw->base = m->base;
	gw->keys = m->keys;
	gw->workers = m->workers;
	gw->store = m->store;
	gw->now = wall_clock;
	gw->max_inflight = (unsigned)m->cfg->limits.max_connections;
	if ((gw->metrics = m->metrics = metrics_new()) != NULL) {
		metrics_set_profiles(m->metrics, &gw->profiles);
		metrics_set_instance(m->metrics, m->cfg->instance);
	}
	if (gw->metrics == NULL || (gw->txn_admin = m->txn_admin = txn_admin_new(gw)) == NULL ||
	    (gw->txn_owed = m->txn_owed = txn_owed_new(gw, txn_admin_period(m->txn_admin))) == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	if ((r = http_server_new(m->base, m->cfg, metrics_http(m->metrics), scep_http_handle, gw,
				 &m->http, err)) < 0 ||
	    (r = admin_new(gw, m->txn_admin, &m->admin, err)) < 0)
		return r;
	if ((r = daemon_own_files(gw->profiles, m->cfg->user, 0, err)) < 0 ||
	    (r = daemon_drop_privileges(m->cfg->user, err)) < 0)
		return r;
	m->sig = daemon_signals_new(gw, m->http, DRAIN_SECONDS, on_reload, m);
	if (m->sig == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "cannot install signal handlers");
	reload_log_checks(gw->profiles);
	log_info("scepgw %s ready: %zu profile(s), %d worker(s), %d store thread(s)", SGW_VERSION,
		 gw->profiles->n, worker_pool_size(m->workers), store_threads(m->store));
	daemon_notify("READY=1");
	event_base_dispatch(m->base);
	log_info("stopped");
	return 0;
}

int
main(int argc, char **argv)
{
	struct modules m = {0};
	struct cfg_report rep = {0};
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
			m.keep_debug = 1;
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
	m.file = file;
	r = load(&m, check ? &rep : NULL, &err);
	if (r == 0 && check)
		r = check_all(&m, &rep);
	else if (r < 0 && check)
		fprintf(stderr, "error: %s\n", err.msg[0] ? err.msg : sgw_strerror(r));
	if (r == 0 && !check)
		r = run(&m, &err);
	if (r < 0 && !check)
		log_err("%s", err.msg[0] ? err.msg : sgw_strerror(r));
	cfg_report_clear(&rep);
	modules_free(&m);
	return r < 0 ? 1 : 0;
}
