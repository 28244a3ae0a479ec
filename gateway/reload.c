/* reload.c: build a configuration generation (startup, `-n`, SIGHUP) and
 * swap it in on SIGHUP, logging what changed and what needs a restart. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin_trust.h"
#include "check.h"
#include "log.h"
#include "reload.h"
#include "secret_file.h"

/* The secret files the listeners and the admin API read when they start,
 * checked (owner, mode) here so that `-n` refuses them too, by kind.  The
 * profiles' own (challenge secrets, client secrets, keys) are checked when
 * each profile is built. */
static int
check_secret_files(const struct cfg *c, struct cfg_report *rep, struct sgw_err *err)
{
	int r;

	if (c->pkcs11.module != NULL &&
	    (r = cfg_report_take(
		 rep, secret_file_check_as("PKCS#11 PIN file", c->pkcs11.pin_file, err), err)) < 0)
		return r;
	for (size_t i = 0; i < c->n_listen; i++)
		if (c->listen[i].tls &&
		    (r = cfg_report_take(
			 rep, secret_file_check_as("TLS key", c->listen[i].tls_files.key, err),
			 err)) < 0)
			return r;
	if (!c->admin.enabled)
		return 0;
	if (c->admin.tls &&
	    (r = cfg_report_take(
		 rep, secret_file_check_as("admin TLS key", c->admin.tls_files.key, err), err)) < 0)
		return r;
	if (c->admin.tokens_file != NULL &&
	    (r = cfg_report_take(
		 rep, secret_file_check_as("admin tokens file", c->admin.tokens_file, err), err)) <
		0)
		return r;
	return 0;
}

int
reload_build(const char *file, int keep_debug, struct cfg_report *rep, struct profile_set **ret,
	     struct sgw_err *err)
{
	struct cfg *c = NULL;
	struct keyop *keys = NULL;
	struct profile_set *ps = NULL;
	int r, lvl;

	if ((r = cfg_load(file, &c, err)) < 0)
		return r;
	log_set_instance(c->instance); /* the first one stays: a reload keeps it */
	lvl = log_level_parse(c->log_level);
	if (lvl >= 0 && !keep_debug)
		log_verbosity = lvl;
	log_set_format(log_format_parse(c->log_format));
	if ((r = check_secret_files(c, rep, err)) < 0)
		goto fail;
	if ((keys = keyop_new()) == NULL) {
		r = -SGW_ENOMEM;
		goto fail;
	}
	if ((r = profiles_build_report(c, keys, rep, &ps, err)) < 0)
		goto fail;
	ps->own_cfg = c;
	ps->own_keys = keys;
	if ((r = cfg_report_take(rep, admin_trust_check(&c->admin, ps, err), err)) < 0) {
		profiles_free(ps);
		return r;
	}
	*ret = ps;
	return 0;
fail:
	keyop_free(keys);
	cfg_free(c);
	return r;
}

void
reload_log_checks(const struct profile_set *ps)
{
	struct cfg_report rep = {0};

	check_certs(ps, (int64_t)time(NULL), &rep);
	for (size_t i = 0; i < rep.n; i++)
		log_warn("%s", rep.line[i]);
	cfg_report_clear(&rep);
}

static int
differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

static int
listen_differs(const struct cfg *a, const struct cfg *b)
{
	if (a->n_listen != b->n_listen)
		return 1;
	for (size_t i = 0; i < a->n_listen; i++)
		if (differs(a->listen[i].address, b->listen[i].address) ||
		    a->listen[i].tls != b->listen[i].tls ||
		    a->listen[i].proxy_protocol != b->listen[i].proxy_protocol ||
		    differs(a->listen[i].tls_files.cert, b->listen[i].tls_files.cert) ||
		    differs(a->listen[i].tls_files.key, b->listen[i].tls_files.key))
			return 1;
	return 0;
}

/* The listeners copy trusted_proxies as their PROXY protocol senders. */
static int
proxy_senders_differ(const struct cfg *a, const struct cfg *b)
{
	int any = 0;

	for (size_t i = 0; i < a->n_listen; i++)
		any |= a->listen[i].proxy_protocol;
	return any && (a->n_trusted_proxies != b->n_trusted_proxies ||
		       memcmp(a->trusted_proxies, b->trusted_proxies,
			      a->n_trusted_proxies * sizeof(*a->trusted_proxies)) != 0);
}

static int
limits_differ(const struct cfg_limits *a, const struct cfg_limits *b)
{
	return a->max_body != b->max_body || a->max_headers != b->max_headers ||
	       a->timeout != b->timeout || a->max_connections != b->max_connections ||
	       a->max_sockets != b->max_sockets ||
	       a->max_sockets_per_peer != b->max_sockets_per_peer ||
	       a->request_timeout != b->request_timeout;
}

static int
admin_differs(const struct cfg_admin *a, const struct cfg_admin *b)
{
	return a->enabled != b->enabled || differs(a->listen, b->listen) || a->tls != b->tls ||
	       differs(a->tls_files.cert, b->tls_files.cert) ||
	       differs(a->tls_files.key, b->tls_files.key) || differs(a->client_ca, b->client_ca) ||
	       differs(a->tokens_file, b->tokens_file) ||
	       differs(a->mscep_profile, b->mscep_profile) || a->n_clients != b->n_clients;
}

static void
add(char *buf, size_t size, const char *what)
{
	size_t n = strlen(buf);

	snprintf(buf + n, size - n, "%s%s", n > 0 ? ", " : "", what);
}

/* What the running process keeps from its startup configuration `run`. */
static void
restart_needed(const struct cfg *run, const struct cfg *c, char *buf, size_t size)
{
	buf[0] = '\0';
	if (listen_differs(run, c))
		add(buf, size, "listen");
	if (proxy_senders_differ(run, c))
		add(buf, size, "trusted_proxies (as PROXY protocol senders)");
	if (differs(run->store.type, c->store.type) || differs(run->store.path, c->store.path) ||
	    differs(run->store.synchronous, c->store.synchronous) ||
	    differs(run->store.conninfo, c->store.conninfo) ||
	    differs(run->store.password_file, c->store.password_file) ||
	    run->store.pool != c->store.pool || run->store.nonce_ttl != c->store.nonce_ttl)
		add(buf, size, "store");
	if (differs(run->user, c->user))
		add(buf, size, "user");
	if (run->workers != c->workers)
		add(buf, size, "workers");
	if (limits_differ(&run->limits, &c->limits))
		add(buf, size, "limits");
	if (admin_differs(&run->admin, &c->admin))
		add(buf, size, "admin");
}

/* The profiles added, removed, and those whose RA certificates (what
 * GetCACert serves) changed. */
static void
profiles_changed(const struct profile_set *old, struct profile_set *ps, char *buf, size_t size)
{
	char one[96];

	buf[0] = '\0';
	for (size_t i = 0; i < ps->n; i++) {
		const struct profile *p = &ps->v[i];
		const struct profile *o = profiles_find((struct profile_set *)old, p->cfg->name);

		if (o == NULL)
			snprintf(one, sizeof(one), "+%.64s", p->cfg->name);
		else if (o->getcacert_len != p->getcacert_len ||
			 memcmp(o->getcacert, p->getcacert, p->getcacert_len) != 0)
			snprintf(one, sizeof(one), "%.64s (new RA certificate)", p->cfg->name);
		else
			continue;
		add(buf, size, one);
	}
	for (size_t i = 0; i < old->n; i++)
		if (profiles_find(ps, old->v[i].cfg->name) == NULL) {
			snprintf(one, sizeof(one), "-%.64s", old->v[i].cfg->name);
			add(buf, size, one);
		}
}

int
reload_apply(struct gw *gw, const char *file, int keep_debug, const struct backend_env *env,
	     struct sgw_err *err)
{
	struct profile_set *ps = NULL, *old = gw->profiles;
	struct backend_env e = *env;
	char restart[128], changed[512];
	int lvl = log_verbosity, r;

	if ((r = reload_build(file, keep_debug, NULL, &ps, err)) < 0) {
		log_verbosity = lvl;
		return r;
	}
	e.keys = ps->own_keys;
	if ((r = profiles_start(ps, &e, gw->store, err)) < 0) {
		log_verbosity = lvl;
		profiles_free(ps);
		return r;
	}
	ps->generation = old->generation + 1;
	restart_needed(gw->cfg, ps->cfg, restart, sizeof(restart));
	profiles_changed(old, ps, changed, sizeof(changed));
	profiles_retire(ps, old);
	gw->profiles = ps;
	log_info("reload: configuration %u in service: %zu profile(s), %zu backend(s); "
		 "changed profiles: %s; %u request(s) finish on the previous one",
		 ps->generation, ps->n, ps->n_backends, changed[0] ? changed : "none",
		 old->refs - 1);
	if (restart[0] != '\0')
		log_warn("reload: changed, applied only by a restart: %s", restart);
	reload_log_checks(ps);
	profiles_unref(old);
	return 0;
}
