/* health.c: the readiness checks behind /healthz. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <openssl/x509.h>

#include "health.h"
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

/* The store answers (a PostgreSQL store: a live connection that answers an
 * empty query); the SQLite file and its directory: on a file system mounted
 * read-write with free space, and writable by this process. */
static void
check_store(const struct gw *gw, char *why, size_t size)
{
	const char *path = gw->cfg->store.path;
	char dir[1024];
	char *slash;
	struct statvfs vfs;

	if (gw->store != NULL && store_ready(gw->store, dir, sizeof(dir)) < 0)
		add(why, size, "store: %s", dir);
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
health_check(const struct gw *gw, char *why, size_t size)
{
	const struct profile_set *ps = gw->profiles;

	why[0] = '\0';
	if (gw->draining)
		add(why, size, "shutting down");
	check_store(gw, why, size);
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

void
health_reply(struct gw *gw, struct evhttp_request *req)
{
	struct evbuffer *out = evbuffer_new();
	char why[768];
	int ok = health_check(gw, why, sizeof(why)) == 0;

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
	evhttp_send_reply(req, ok ? 200 : 503, ok ? "OK" : "Service Unavailable", out);
	evbuffer_free(out);
}
