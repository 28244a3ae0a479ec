/* metrics.h: counters and latency histograms for the admin /metrics page
 * (Prometheus text format 0.0.4).  Loop thread only; bounded: at most
 * METRICS_MAX_SERIES label sets per family, later ones are counted under
 * "other". */
#ifndef SGW_METRICS_H
#define SGW_METRICS_H

#include <event2/buffer.h>

#include "http_spec.h"
#include "store.h"

#define METRICS_MAX_SERIES 256

struct metrics;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m); /* accepts NULL */

/* One finished SCEP request (scep_req.c req_finish); m may be NULL. */
void metrics_request(struct metrics *m, const char *op, const char *profile, const char *outcome,
		     double ms);
/* One backend answer: `status` names the result, `seconds` since the call. */
void metrics_backend(struct metrics *m, const char *backend, const char *status, double seconds);
/* One admin API call. */
void metrics_admin(struct metrics *m, const char *route, int http_status);

/* What the SCEP listeners count (connections, refusals by the HTTP limits):
 * http_server_new() adds to it.  NULL when m is. */
struct http_counters *metrics_http(struct metrics *m);

/* The whole page; pending transactions and store timing come from s. */
int metrics_render(const struct metrics *m, struct store *s, struct evbuffer *out);

#endif
