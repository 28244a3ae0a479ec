/* gw.h: the runtime context the loop thread passes around explicitly (no
 * globals): config, event base, keys, workers, store, profiles, clock. */
#ifndef SGW_GW_H
#define SGW_GW_H

#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "cfg.h"
#include "keyop.h"
#include "profile.h"
#include "store.h"
#include "worker.h"

struct txn_admin;
struct health_probe;
struct txn_owed;
struct req_ctx;

struct gw {
	const struct cfg *cfg;
	struct event_base *base;
	struct keyop *keys;
	struct worker_pool *workers;
	struct store *store;
	struct profile_set *profiles;
	struct metrics *metrics;     /* metrics.c; may be NULL */
	struct txn_admin *txn_admin; /* txn_admin.c: background submissions; may be NULL */
	struct txn_owed *txn_owed;   /* txn_owed.c: owed validator notifications; may be NULL */
	unsigned inflight;	     /* requests being processed */
	LIST_HEAD(, req_ctx) reqs;   /* those requests (scep_req.c) */
	unsigned max_inflight;	     /* from limits.max_connections */
	int draining;		     /* SIGTERM received: refuse new work */
	int not_ready;		     /* health.c: the last /healthz answer was 503 */
	struct health_probe *probes; /* health.c: waiting for a store step */
	/* The wall clock in seconds since the epoch, for every time the
	 * transaction engine reads or stores: time() in the daemon (main.c);
	 * the engine's tests move it. */
	int64_t (*now)(void);
};

#endif
