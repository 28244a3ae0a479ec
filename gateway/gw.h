/* gw.h: the runtime context the loop thread passes around explicitly (no
 * globals): config, event base, keys, workers, store, profiles. */
#ifndef SGW_GW_H
#define SGW_GW_H

#include <event2/event.h>

#include "cfg.h"
#include "keyop.h"
#include "profile.h"
#include "store.h"
#include "worker.h"

struct gw {
	const struct cfg *cfg;
	struct event_base *base;
	struct keyop *keys;
	struct worker_pool *workers;
	struct store *store;
	struct profile_set *profiles;
	struct metrics *metrics; /* metrics.c; may be NULL */
	unsigned inflight;	 /* requests being processed */
	unsigned max_inflight;	 /* from limits.max_connections */
	int draining;		 /* SIGTERM received: refuse new work */
};

#endif
