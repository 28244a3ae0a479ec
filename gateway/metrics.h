/* metrics.h: counters and latency histograms for the admin /metrics page
 * (Prometheus text format 0.0.4).  Loop thread only; bounded: at most
 * METRICS_MAX_SERIES label sets per family, later ones are counted under
 * "other". */
#ifndef SGW_METRICS_H
#define SGW_METRICS_H

#include <stdint.h>
#include <time.h>

#include <event2/buffer.h>

#include "http_spec.h"
#include "profile.h"
#include "store.h"

#define METRICS_MAX_SERIES 256

struct metrics;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m); /* accepts NULL */

/* One finished SCEP request (scep_req.c req_finish); m may be NULL. */
void metrics_request(struct metrics *m, const char *op, const char *profile, const char *outcome,
		     double ms);
/* One backend answer (enum backend_status) to a call made at t0
 * (CLOCK_MONOTONIC): counted by status, timed, and the backend's health:
 * FAIL_TEMP (not reachable) is a failure, any other answer a success. */
void metrics_backend(struct metrics *m, const char *backend, int status, const struct timespec *t0);
/* 0 when the backend's last answer was FAIL_TEMP (no success since), else
 * 1 (also before any call). */
int metrics_backend_up(const struct metrics *m, const char *backend);
/* A CRL served for `backend`: its nextUpdate (seconds since the epoch). */
void metrics_crl(struct metrics *m, const char *backend, int64_t next_update);
/* A reload (SIGHUP): ok or refused. */
void metrics_reload(struct metrics *m, int ok);
/* The configuration generation in service, for the certificate gauges:
 * *current is read at each render (&gw->profiles). */
void metrics_set_profiles(struct metrics *m, struct profile_set *const *current);
/* The gateway's instance (cfg `instance:`): the label instance="NAME",
 * last, on every sample from now on. */
void metrics_set_instance(struct metrics *m, const char *instance);
/* One admin API call. */
void metrics_admin(struct metrics *m, const char *route, int http_status);

/* What the SCEP listeners count (connections, refusals by the HTTP limits):
 * http_server_new() adds to it.  NULL when m is. */
struct http_counters *metrics_http(struct metrics *m);

/* What the page reads from the store: pending transactions, store timing. */
struct metrics_store {
	int64_t pending;  /* AWAITING_APPROVAL */
	int64_t bpending; /* BACKEND_PENDING */
	struct store_stats st;
};
/* Read them: a store step's work (store_exec()), on a store thread when
 * the store may block; 0 or the store's error. */
int metrics_store_read(struct store *s, struct metrics_store *ret);
/* The whole page, with what metrics_store_read() read (loop thread). */
int metrics_render(const struct metrics *m, const struct metrics_store *ms, struct evbuffer *out);

#endif
