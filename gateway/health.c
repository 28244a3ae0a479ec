/* health.c: the readiness checks behind /healthz. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <openssl/x509.h>

#include "health.h"
#include "http_server.h"
#include "log.h"
#include "metrics.h"

static void __attribute__((format(printf, 3, 4))) add(char *why, size_t size, const char *fmt, ...)
{
	size_t n = strlen(why);
	va_list ap;

	if (n > 0 && n + 2 < size) {
		memcpy(why + n, "; ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	if (n < size)
		vsnprintf(why + n, size - n, fmt, ap);
	va_end(ap);
}

/* The store answered (store_why: NULL, or why not); the SQLite file and its
 * directory: on a file system mounted read-write with free space, and
 * writable by this process. */
static void
check_store(const struct gw *gw, const char *store_why, char *why, size_t size)
{
	const char *path = gw->cfg->store.path;
	char dir[1024];
	char *slash;
	struct statvfs vfs;

	if (store_why != NULL)
		add(why, size, "store: %s", store_why);
	if (path == NULL)
		return;
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (statvfs(dir, &vfs) != 0)
		add(why, size, "store: %s: %s", dir, strerror(errno));
	else if (vfs.f_flag & ST_RDONLY)
		add(why, size, "store: %s: %s", dir, "read-only file system");
	else if (vfs.f_bavail == 0)
		add(why, size, "store: %s: %s", dir, "no space left");
	else if (access(dir, W_OK) != 0 || access(path, W_OK) != 0)
		add(why, size, "store: %s: %s", path, "not writable");
}

static void
check_cert(const char *name, X509 *x, char *why, size_t size)
{
	if (x == NULL)
		return;
	if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0)
		add(why, size, "ra_identity %s: %s", name, "certificate expired");
	else if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0)
		add(why, size, "ra_identity %s: %s", name, "certificate not yet valid");
}

int
health_check(const struct gw *gw, const char *store_why, char *why, size_t size)
{
	const struct profile_set *ps = gw->profiles;

	why[0] = '\0';
	if (gw->draining)
		add(why, size, "shutting down");
	check_store(gw, store_why, why, size);
	for (size_t i = 0; ps != NULL && i < ps->n_ids; i++) {
		check_cert(ps->ids[i].cfg->name, ps->ids[i].sign_cert, why, size);
		if (ps->ids[i].enc_cert != ps->ids[i].sign_cert)
			check_cert(ps->ids[i].cfg->name, ps->ids[i].enc_cert, why, size);
	}
	for (size_t i = 0; ps != NULL && i < ps->n_backends; i++)
		if (!metrics_backend_up(gw->metrics, backend_name(ps->backends[i])))
			add(why, size, "backend %s: %s", backend_name(ps->backends[i]),
			    "unreachable at its last call");
	return why[0] == '\0' ? 0 : -SGW_EIO;
}

/* ---- the probe: the store's ping as a store step, the rest on the loop ---------- */

struct health_probe {
	struct gw *gw;
	struct evhttp_request *req;
	health_fn reply;
	void *arg;
	struct store *store;
	int rc;
	char store_why[256];
	struct health_probe *next; /* on gw->probes until the reply */
};

static void
probe_free(struct health_probe *h)
{
	struct health_probe **pp = &h->gw->probes;

	while (*pp != NULL && *pp != h)
		pp = &(*pp)->next;
	if (*pp == h)
		*pp = h->next;
	free(h);
}

/* Store step: a PostgreSQL store's connection answers an empty query. */
static void
probe_work(void *arg)
{
	struct health_probe *h = arg;

	h->rc = h->store != NULL ? store_ready(h->store, h->store_why, sizeof(h->store_why)) : 0;
}

static void
probe_done(void *arg)
{
	struct health_probe *h = arg;
	char why[768];
	int ok = health_check(h->gw, h->rc < 0 ? h->store_why : NULL, why, sizeof(why)) == 0;

	h->reply(h->arg, h->req, ok, why);
	probe_free(h);
}

void
health_probe(struct gw *gw, struct evhttp_request *req, health_fn reply, void *arg)
{
	struct health_probe *h = calloc(1, sizeof(*h));

	if (h == NULL) {
		reply(arg, req, 0, "out of memory");
		return;
	}
	*h = (struct health_probe){.gw = gw,
				   .req = req,
				   .reply = reply,
				   .arg = arg,
				   .store = gw->store,
				   .next = gw->probes};
	gw->probes = h;
	if (h->store == NULL) {
		probe_work(h);
		probe_done(h);
	} else if (store_exec(h->store, probe_work, probe_done, h) < 0) {
		reply(arg, req, 0, "store threads stopped");
		probe_free(h);
	}
}

void
health_probes_free(struct gw *gw)
{
	while (gw->probes != NULL)
		probe_free(gw->probes);
}

static void
scep_reply(void *arg, struct evhttp_request *req, int ok, const char *why)
{
	struct gw *gw = arg;
	struct evbuffer *out = evbuffer_new();

	if (ok == gw->not_ready) /* logged once when the answer changes */
		log_info("healthz: %s%s", ok ? "ready" : "not ready: ", ok ? "" : why);
	else
		log_debug("healthz: %s%s", ok ? "ready" : "not ready: ", ok ? "" : why);
	gw->not_ready = !ok;
	if (out == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evbuffer_add_printf(out, "%s\n", ok ? "ok" : why);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; charset=utf-8");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
	if (!ok)
		http_retry_after(req);
	evhttp_send_reply(req, ok ? 200 : 503, ok ? "OK" : "Service Unavailable", out);
	evbuffer_free(out);
}

void
health_reply(struct gw *gw, struct evhttp_request *req)
{
	health_probe(gw, req, scep_reply, gw);
}
