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
 * unreachable"). */
int health_check(const struct gw *gw, char *why, size_t size);
/* GET or HEAD /healthz: 200 "ok", or 503 with the failing checks; logged
 * at debug level only (an info line when the answer changes). */
void health_reply(struct gw *gw, struct evhttp_request *req);

#endif
