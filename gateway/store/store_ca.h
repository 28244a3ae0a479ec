/* store_ca.h: the store as the shared state of a CA the gateway runs
 * (core/ca_state.h), for the local backend, and the cluster leases with the
 * log line of a takeover (store_ca.c). */
#ifndef SGW_STORE_CA_H
#define SGW_STORE_CA_H

#include "ca_state.h"
#include "store.h"

/* A store and this instance's name behind a struct ca_state; the caller
 * keeps it (and the store) while a backend uses it. */
struct store_ca {
	struct ca_state state;
	struct store *store;
	char instance[64];
};

void store_ca_init(struct store_ca *c, struct store *s, const char *instance);

/* store_lease_take() for `instance`, and when it takes over a job another
 * instance held (its lease expired), the log line "instance X took over job
 * J from Y".  *ret_held as there; an error of the store leaves it 0.
 * Without an instance name (NULL or "": a tool, a test) *ret_held is 1. */
int store_lease_hold(struct store *s, const char *job, const char *instance, int64_t now, int ttl,
		     int *ret_held);

#endif
