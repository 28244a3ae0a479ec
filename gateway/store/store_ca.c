/* store_ca.c: the store as a CA's shared state (core/ca_state.h) and the
 * cluster leases as the periodic jobs take them (store_ca.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store_ca.h"

_Static_assert(sizeof(((struct ca_revoked *)0)->serial) ==
		   sizeof(((struct store_revoked *)0)->serial),
	       "ca_state.h and store.h keep the same serial");

int
store_lease_hold(struct store *s, const char *job, const char *instance, int64_t now, int ttl,
		 int *ret_held)
{
	char before[128] = "";
	int64_t until = 0;
	int held = 0, r;

	*ret_held = 0;
	if (instance == NULL || instance[0] == '\0') {
		*ret_held = 1; /* no name, no cluster (tools, tests): the job runs */
		return 0;
	}
	if (store_lease_get(s, job, before, sizeof(before), &until) < 0)
		before[0] = '\0';
	if ((r = store_lease_take(s, job, instance, now, ttl, &held)) < 0) {
		log_warn("instance %s: cannot take the lease on job %s: %s", instance, job,
			 sgw_strerror(r));
		return r;
	}
	if (held && before[0] != '\0' && strcmp(before, instance) != 0)
		log_warn("instance %s took over job %s from %s (its lease expired %lld s ago)",
			 instance, job, before, (long long)(now - until));
	*ret_held = held;
	return 0;
}

static int
sc_revoke(void *priv, const char *ca, const struct ca_revoked *r)
{
	struct store_ca *c = priv;
	struct store_revoked s = {.reason = r->reason, .when = r->when};

	memcpy(s.serial, r->serial, sizeof(s.serial));
	s.serial[sizeof(s.serial) - 1] = '\0';
	return store_ca_revoke(c->store, ca, &s);
}

struct sc_walk {
	ca_revoked_each each;
	void *arg;
};

static int
sc_each(void *arg, const struct store_revoked *s)
{
	struct sc_walk *w = arg;
	struct ca_revoked r = {.reason = s->reason, .when = s->when};

	memcpy(r.serial, s->serial, sizeof(r.serial));
	return w->each(w->arg, &r);
}

static int
sc_revoked_list(void *priv, const char *ca, ca_revoked_each each, void *arg)
{
	struct store_ca *c = priv;
	struct sc_walk w = {each, arg};

	return store_ca_revoked_list(c->store, ca, sc_each, &w);
}

static int
sc_crl_get(void *priv, const char *ca, struct ca_crl *ret)
{
	struct store_ca *c = priv;
	struct store_crl s = {0};
	int r = store_ca_crl_get(c->store, ca, &s);

	if (r == 0)
		*ret = (struct ca_crl){s.number, s.next_update, s.der, s.der_len};
	return r;
}

static int
sc_crl_put(void *priv, const char *ca, const struct ca_crl *k)
{
	struct store_ca *c = priv;
	struct store_crl s = {k->number, k->next_update, k->der, k->der_len};

	return store_ca_crl_put(c->store, ca, &s);
}

static int
sc_crl_seed(void *priv, const char *ca, const struct ca_crl *k)
{
	struct store_ca *c = priv;
	struct store_crl s = {k->number, k->next_update, k->der, k->der_len};

	return store_ca_crl_seed(c->store, ca, &s);
}

/* Asked in a step before each CRL served: a store whose calls run on store
 * threads (PostgreSQL: a round trip) answers -SGW_EINVAL, as a store without
 * the operation, so the local backend reads the stored CRL again at most
 * every LOCAL_CRL_RECHECK_MS instead of once per request. */
static int
sc_crl_number(void *priv, const char *ca, int64_t *ret)
{
	struct store_ca *c = priv;

	if (store_threads(c->store) > 0)
		return -SGW_EINVAL;
	return store_ca_crl_number(c->store, ca, ret);
}

static int
sc_lease(void *priv, const char *job, int ttl, int *ret_held)
{
	struct store_ca *c = priv;

	return store_lease_hold(c->store, job, c->instance, (int64_t)time(NULL), ttl, ret_held);
}

static int
sc_step(void *priv, ca_step_fn work, ca_step_fn done, void *arg)
{
	struct store_ca *c = priv;

	return store_exec(c->store, work, done, arg);
}

static const struct ca_state_ops store_ca_ops = {
    .name = "store",
    .revoke = sc_revoke,
    .revoked_list = sc_revoked_list,
    .crl_get = sc_crl_get,
    .crl_put = sc_crl_put,
    .crl_seed = sc_crl_seed,
    .crl_number = sc_crl_number,
    .lease = sc_lease,
    .step = sc_step,
};

void
store_ca_init(struct store_ca *c, struct store *s, const char *instance)
{
	c->state = (struct ca_state){&store_ca_ops, c};
	c->store = s;
	snprintf(c->instance, sizeof(c->instance), "%s", instance != NULL ? instance : "");
}
