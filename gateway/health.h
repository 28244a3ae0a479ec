/* health.h: readiness, for a load balancer's probe (GET /healthz on the
 * SCEP listeners and on the admin API): the store can be written, every RA
 * certificate in service is valid now, every backend answered its last call
 * (metrics_backend_up). */
#ifndef SGW_HEALTH_H
#define SGW_HEALTH_H

#include <stddef.h>

#include <event2/http.h>

#include "gw.h"

/* 0 when ready; -SGW_EIO otherwise, with the failing checks in `why`
 * ("store: /var/lib/scepgw: read-only file system; backend local-ca:
 * unreachable").  store_why: NULL when the store answered, else why not
 * (health_probe() asks it). */
int health_check(const struct gw *gw, const char *store_why, char *why, size_t size);
/* The checks, the store's as a store step (store_exec(): on a store thread
 * when the store may block), then reply(arg, req, ok, why) on the loop. */
typedef void (*health_fn)(void *arg, struct evhttp_request *req, int ok, const char *why);
void health_probe(struct gw *gw, struct evhttp_request *req, health_fn reply, void *arg);
/* Shutdown, after store_drain(): the probes the store threads dropped. */
void health_probes_free(struct gw *gw);
/* GET or HEAD /healthz: 200 "ok", or 503 with the failing checks; logged
 * at debug level only (an info line when the answer changes). */
void health_reply(struct gw *gw, struct evhttp_request *req);

#endif
