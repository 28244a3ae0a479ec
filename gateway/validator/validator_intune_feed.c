/* validator_intune_feed.c: Intune's revocation feed (docs/protocol-notes.md 2.2 item
 * 4, IntuneRevocationClient): every revocation_interval, download up to
 * revocation_max requests from PkiConnectorFEService, revoke each through the
 * profile's backend (and mark it in the store), then upload the results.
 * In a cluster one instance runs the rounds, the holder of the lease
 * feed_job (issue 20); another takes over when its lease expires.  The
 * lease is taken in a store step (store_exec()): on a store thread when the
 * store may block (PostgreSQL), so the loop never waits for it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "backend.h"
#include "intune_json.h"
#include "log.h"
#include "revoke.h"
#include "store_ca.h"
#include "validator_intune.h"

#define FEED_MAX 500

struct vi_feed {
	struct intune *in; /* NULL once stopped while revocations or the lease run */
	/* the lease step: its inputs copied, its answer */
	struct store *store;
	char job[128], instance[64];
	int64_t now;
	int ttl, leasing, held, rc;
	size_t n, pending;
	struct intune_revocation req[FEED_MAX];
	int ok[FEED_MAX];
	char err[FEED_MAX][128];
};

static void
feed_end(struct vi_feed *f)
{
	if (f->in != NULL && f->in->feed == f)
		f->in->feed = NULL;
	free(f);
}

static void
upload_done(void *arg, int rc, const char *code, const char *desc, const char *reason,
	    const uint8_t *body, size_t len)
{
	struct vi_feed *f = arg;

	(void)code;
	(void)desc;
	(void)body;
	(void)len;
	if (rc < 0)
		log_err("intune revocation feed: upload: %s", reason);
	else
		log_info("intune revocation feed: %zu result(s) uploaded", f->n);
	feed_end(f);
}

static void
upload(struct vi_feed *f)
{
	json_t *a = json_array(), *o;
	char *body = NULL;
	int r = -SGW_ENOMEM;

	for (size_t i = 0; a != NULL && i < f->n; i++)
		json_array_append_new(a, json_pack("{s:s, s:b, s:s, s:s}", "requestContext",
						   f->req[i].context, "succeeded", f->ok[i],
						   "errorCode", f->ok[i] ? "0" : "1",
						   "errorMessage", f->err[i]));
	o = json_pack("{s:o}", "results", a);
	if (o != NULL)
		body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (body != NULL)
		r = vi_call(f->in, f->in->base, VI_SVC_PKI,
			    "CertificateAuthorityRequests/uploadRevocationResults", body, "-",
			    upload_done, f);
	free(body);
	if (r < 0) {
		log_err("intune revocation feed: cannot upload: %s", sgw_strerror(r));
		feed_end(f);
	}
}

struct vi_rev {
	struct vi_feed *f;
	size_t i;
	struct revoke_op op;
};

static void
revoked(struct vi_feed *f, size_t i, int rc, const char *reason)
{
	f->ok[i] = rc == 0 || rc == -SGW_EEXIST;
	/* the feed's error text is capped; the reason may be longer */
	snprintf(f->err[i], sizeof(f->err[i]), "%.*s", (int)sizeof(f->err[i]) - 1,
		 f->ok[i] ? ""
		 : reason ? reason
			  : "failed");
	log_info("intune revocation feed: serial %s: %s", f->req[i].serial,
		 f->ok[i] ? "revoked" : f->err[i]);
	if (--f->pending > 0)
		return;
	if (f->in == NULL)
		free(f); /* stopped meanwhile */
	else
		upload(f);
}

/* revoke.c revoked it (and marked the store) or says why not. */
static void
revoke_done(void *arg, struct revoke_op *op)
{
	struct vi_rev *v = arg;

	revoked(v->f, v->i, op->backend_rc, op->backend_why[0] ? op->backend_why : NULL);
	free(v);
}

/* Only certificates this gateway issued (in its store) are revoked. */
static void
revoke_one(struct vi_feed *f, size_t i, const char *serial)
{
	struct vi_rev *v = calloc(1, sizeof(*v));
	int rc;

	if (v == NULL) {
		revoked(f, i, -SGW_ENOMEM, "out of memory");
		return;
	}
	*v = (struct vi_rev){.f = f, .i = i};
	v->op = (struct revoke_op){
	    .store = f->in->store, .backend = f->in->backend, .cb = revoke_done, .arg = v};
	snprintf(v->op.serial, sizeof(v->op.serial), "%s", serial);
	if ((rc = revoke_start(&v->op, NULL)) < 0) {
		free(v);
		revoked(f, i, rc,
			rc == -SGW_ENOTFOUND || rc == -SGW_EIO
			    ? "no certificate with this serial number"
			    : "the backend cannot revoke");
	}
}

static void
download_done(void *arg, int rc, const char *code, const char *desc, const char *reason,
	      const uint8_t *body, size_t len)
{
	struct vi_feed *f = arg;
	char serial[80];

	(void)code;
	(void)desc;
	if (rc < 0 || intune_json_revocations(body, len, f->req, FEED_MAX, &f->n) < 0) {
		log_err("intune revocation feed: download: %s",
			rc < 0 ? reason : "not the expected JSON");
		feed_end(f);
		return;
	}
	if (f->n == 0) {
		feed_end(f);
		return;
	}
	f->pending = f->n + 1; /* +1: callbacks may come at once */
	for (size_t i = 0; i < f->n; i++) {
		if (revoke_serial_normalize(f->req[i].serial, serial, sizeof(serial)) < 0) {
			revoked(f, i, -SGW_EINVAL, "bad serial number");
			continue;
		}
		snprintf(f->req[i].serial, sizeof(f->req[i].serial), "%s", serial);
		revoke_one(f, i, serial);
	}
	if (--f->pending == 0)
		upload(f);
}

/* The round, once this instance holds the lease (or has no store). */
static void
feed_download(struct vi_feed *f)
{
	struct intune *in = f->in;
	char body[128];
	int r;

	snprintf(body, sizeof(body),
		 "{\"downloadParameters\":{\"maxRequests\":%d,\"issuerName\":null}}",
		 in->conf.revocation_max);
	r = vi_call(in, in->base, VI_SVC_PKI,
		    "CertificateAuthorityRequests/downloadRevocationRequests", body, "-",
		    download_done, f);
	if (r < 0) {
		log_err("intune revocation feed: cannot download: %s", sgw_strerror(r));
		feed_end(f);
	}
}

/* Store step: the lease, from what f copied (store threads). */
static void
lease_work(void *arg)
{
	struct vi_feed *f = arg;

	f->rc = store_lease_hold(f->store, f->job, f->instance, f->now, f->ttl, &f->held);
}

static void
lease_done(void *arg)
{
	struct vi_feed *f = arg;

	f->leasing = 0;
	if (f->in == NULL) { /* stopped meanwhile */
		free(f);
		return;
	}
	if (f->rc < 0 || !f->held) {
		feed_end(f); /* another instance runs the feed */
		return;
	}
	feed_download(f);
}

static void
feed_tick(evutil_socket_t fd, short what, void *arg)
{
	struct intune *in = arg;
	struct vi_feed *f;

	(void)fd;
	(void)what;
	if (in->feed != NULL)
		return; /* the previous round still runs */
	if ((f = in->feed = calloc(1, sizeof(*in->feed))) == NULL)
		return;
	f->in = in;
	if (in->store == NULL) {
		feed_download(f);
		return;
	}
	f->store = in->store;
	snprintf(f->job, sizeof(f->job), "%s", in->feed_job);
	snprintf(f->instance, sizeof(f->instance), "%s", store_instance(in->store));
	f->now = (int64_t)time(NULL);
	f->ttl = 3 * in->conf.revocation_interval;
	f->leasing = 1;
	if (store_exec(in->store, lease_work, lease_done, f) < 0) {
		f->leasing = 0;
		feed_end(f); /* shutting down */
	}
}

void
vi_feed_start(struct intune *in, struct event_base *base, struct backend *b)
{
	struct timeval tv = {in->conf.revocation_interval, 0};

	in->base = base;
	in->backend = b;
	if (in->conf.revocation_interval <= 0 || base == NULL || b == NULL)
		return;
	if (!(backend_caps(b) & BACKEND_CAP_REVOKE)) {
		log_warn("intune revocation feed: the backend cannot revoke; feed off");
		return;
	}
	if ((in->feed_timer = event_new(base, -1, EV_PERSIST, feed_tick, in)) == NULL ||
	    evtimer_add(in->feed_timer, &tv) < 0)
		log_err("intune revocation feed: cannot start the timer");
}

void
vi_feed_stop(struct intune *in)
{
	if (in->feed_timer != NULL)
		event_free(in->feed_timer);
	in->feed_timer = NULL;
	/* a round waiting for the backend or its lease step finishes without
	 * us (revoked() or lease_done() frees it); one in an HTTP call is freed
	 * by vi_cancel_all() */
	if (in->feed != NULL && (in->feed->pending > 0 || in->feed->leasing))
		in->feed->in = NULL;
	in->feed = NULL;
}
