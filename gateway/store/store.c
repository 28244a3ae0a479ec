/* store.c: the generic store layer.  Picks a store_ops by the configured
 * `type:` from a NULL-terminated registry and forwards every call to it.
 * A store that is not thread-safe (SQLite) but runs its request steps on a
 * store thread (`offload: true`) has every call serialized here, so the
 * callers still on the loop thread (admin API, timers, metrics) stay safe. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_exec.h"

struct store {
	const struct store_ops *ops;
	void *priv;
	int offload;		 /* ops->blocking, or cfg->offload */
	int threads;		 /* store threads when offloaded */
	int serialize;		 /* offloaded, not thread-safe: calls under lock */
	pthread_mutex_t lock;	 /* recursive: an each() callback may call the store */
	struct store_exec *exec; /* store_attach_loop(); NULL: inline */
	char instance[64];	 /* store_set_instance(); "" leaves a row's as given */
};

static void
store_lock(struct store *s)
{
	if (s->serialize)
		pthread_mutex_lock(&s->lock);
}

static void
store_unlock(struct store *s)
{
	if (s->serialize)
		pthread_mutex_unlock(&s->lock);
}

/* s->ops->op(s->priv, ...) under the lock when it is needed. */
#define STORE_CALL(s, op, ...)                                                                     \
	({                                                                                         \
		int r_;                                                                            \
		store_lock(s);                                                                     \
		r_ = (s)->ops->op((s)->priv, __VA_ARGS__);                                         \
		store_unlock(s);                                                                   \
		r_;                                                                                \
	})

static const struct store_ops *const store_registry[] = {
    &store_sqlite_ops,
    &store_pg_ops,
    NULL,
};

static const struct store_ops *
store_lookup(const char *type)
{
	size_t i;

	for (i = 0; store_registry[i] != NULL; i++)
		if (strcmp(store_registry[i]->name, type) == 0)
			return store_registry[i];
	return NULL;
}

int
store_open(const struct cfg_store *cfg, struct store **ret, struct sgw_err *err)
{
	const struct store_ops *ops;
	const char *type;

	if (cfg == NULL || ret == NULL)
		return sgw_err_set(err, SGW_EINVAL, "store: no configuration");
	type = cfg->type != NULL ? cfg->type : "sqlite";
	ops = store_lookup(type);
	if (ops == NULL)
		return sgw_err_set(err, SGW_EINVAL, "store.type: unknown store '%s'", type);
	return store_open_ops(ops, cfg, ret, err);
}

int
store_check(const struct cfg_store *cfg, struct sgw_err *err)
{
	const struct store_ops *ops = store_lookup(cfg->type != NULL ? cfg->type : "sqlite");

	return ops != NULL && ops->check != NULL ? ops->check(cfg, err) : 0;
}

int
store_open_ops(const struct store_ops *ops, const struct cfg_store *cfg, struct store **ret,
	       struct sgw_err *err)
{
	struct store *s;
	int r;

	if (ops == NULL || cfg == NULL || ret == NULL)
		return sgw_err_set(err, SGW_EINVAL, "store: no configuration");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "store: out of memory");
	s->ops = ops;
	s->offload = ops->blocking || cfg->offload;
	/* a store that is not thread-safe gets one thread, and the lock */
	s->threads = ops->blocking ? (cfg->pool > 0 ? cfg->pool : STORE_POOL_DEFAULT) : 1;
	s->serialize = s->offload && !ops->blocking;
	r = ops->open(&s->priv, cfg, err);
	if (r < 0) {
		free(s);
		return r;
	}
	if (s->serialize) {
		pthread_mutexattr_t a;

		pthread_mutexattr_init(&a);
		pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
		pthread_mutex_init(&s->lock, &a);
		pthread_mutexattr_destroy(&a);
	}
	*ret = s;
	return 0;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	store_exec_stop(s->exec); /* no step runs on what close() frees */
	store_exec_free(s->exec);
	s->ops->close(s->priv);
	if (s->serialize)
		pthread_mutex_destroy(&s->lock);
	free(s);
}

void
store_set_instance(struct store *s, const char *instance)
{
	snprintf(s->instance, sizeof(s->instance), "%s", instance != NULL ? instance : "");
}

const char *
store_instance(const struct store *s)
{
	return s->instance;
}

/* Every write of a transaction records the instance that made it: t itself
 * when the caller's copy may change, else a copy of it (tmp). */
static const struct store_txn *
stamped(const struct store *s, const struct store_txn *t, struct store_txn *tmp)
{
	if (s->instance[0] == '\0' || strcmp(t->instance, s->instance) == 0)
		return t;
	*tmp = *t; /* borrows t's CSR for the call */
	memcpy(tmp->instance, s->instance, sizeof(tmp->instance));
	return tmp;
}

static void
stamp(const struct store *s, struct store_txn *t)
{
	if (s->instance[0] != '\0')
		memcpy(t->instance, s->instance, sizeof(t->instance));
}

int
store_txn_insert(struct store *s, struct store_txn *t)
{
	stamp(s, t);
	return STORE_CALL(s, txn_insert, t);
}

int
store_txn_find(struct store *s, const char *profile, const char *transaction_id,
	       const uint8_t key_sha256[32], struct store_txn *ret)
{
	return STORE_CALL(s, txn_find, profile, transaction_id, key_sha256, ret);
}

int
store_txn_get(struct store *s, int64_t id, struct store_txn *ret)
{
	return STORE_CALL(s, txn_get, id, ret);
}

int
store_txn_update(struct store *s, const struct store_txn *t)
{
	struct store_txn tmp;

	return STORE_CALL(s, txn_update, stamped(s, t, &tmp));
}

int
store_txn_accept(struct store *s, struct store_txn *t, const struct store_accept *a)
{
	stamp(s, t);
	return STORE_CALL(s, txn_accept, t, a);
}

int
store_txn_issue(struct store *s, struct store_txn *t, const struct store_cert *c)
{
	stamp(s, t);
	return STORE_CALL(s, txn_issue, t, c);
}

int
store_cert_get(struct store *s, const char *issuer, const char *serial, struct store_cert *ret)
{
	return STORE_CALL(s, cert_get, issuer, serial, ret);
}

int
store_cert_count(struct store *s, int64_t *ret)
{
	return STORE_CALL(s, cert_count, ret);
}

int
store_cert_revoke(struct store *s, const char *issuer, const char *serial, int reason, int64_t when)
{
	return STORE_CALL(s, cert_revoke, issuer, serial, reason, when);
}

int
store_cert_find_serial(struct store *s, const char *serial, struct store_cert *ret)
{
	return STORE_CALL(s, cert_find_serial, serial, ret);
}

int
store_cert_supersede(struct store *s, const char *issuer, const char *serial, const char *by)
{
	return STORE_CALL(s, cert_supersede, issuer, serial, by);
}

int
store_cert_superseded(struct store *s, const char *issuer, const char *serial, const char *profile,
		      const uint8_t key_sha256[32], int *ret_superseded)
{
	return STORE_CALL(s, cert_superseded, issuer, serial, profile, key_sha256, ret_superseded);
}

int
store_nonce_check(struct store *s, const uint8_t *nonce, size_t len, int64_t now, int ttl)
{
	return STORE_CALL(s, nonce_check, nonce, len, now, ttl);
}

int
store_txn_list(struct store *s, const struct store_txn_filter *f, store_txn_each each, void *arg)
{
	return STORE_CALL(s, txn_list, f, each, arg);
}

int
store_txn_count(struct store *s, int state, int64_t *ret)
{
	return STORE_CALL(s, txn_count, state, ret);
}

int
store_txn_decide(struct store *s, const struct store_txn *t, const char *admin)
{
	struct store_txn tmp;

	return STORE_CALL(s, txn_decide, stamped(s, t, &tmp), admin);
}

int
store_txn_decider(struct store *s, int64_t id, char *ret_admin, size_t cap)
{
	return STORE_CALL(s, txn_decider, id, ret_admin, cap);
}

int
store_otp_put(struct store *s, const struct store_otp *o)
{
	return STORE_CALL(s, otp_put, o);
}

int
store_otp_consume(struct store *s, const char *profile, const uint8_t sha256[32], int64_t now,
		  char *ret_subject, size_t cap)
{
	return STORE_CALL(s, otp_consume, profile, sha256, now, ret_subject, cap);
}

int
store_otp_peek(struct store *s, const char *profile, const uint8_t sha256[32], int64_t now,
	       char *ret_subject, size_t cap)
{
	return STORE_CALL(s, otp_peek, profile, sha256, now, ret_subject, cap);
}

int
store_txn_legacy_csr(struct store *s, store_legacy_fn fn, void *arg, struct sgw_err *err)
{
	return STORE_CALL(s, txn_legacy_csr, fn, arg, err);
}

int
store_otp_count(struct store *s, const char *profile, int64_t now, int64_t *ret)
{
	return STORE_CALL(s, otp_count, profile, now, ret);
}

int
store_cert_search(struct store *s, const struct store_cert_filter *f, store_cert_each each,
		  void *arg, int64_t *next)
{
	return STORE_CALL(s, cert_search, f, each, arg, next);
}

int
store_stats(struct store *s, struct store_stats *ret)
{
	return STORE_CALL(s, stats, ret);
}

/* The shared-state calls are optional in a store_ops until every store
 * implements them: -SGW_EINVAL says so instead of a NULL call. */
#define STORE_OPTIONAL(s, op, ...)                                                                 \
	((s)->ops->op != NULL ? STORE_CALL(s, op, __VA_ARGS__) : -SGW_EINVAL)

int
store_ca_revoke(struct store *s, const char *ca, const struct store_revoked *r)
{
	return STORE_OPTIONAL(s, ca_revoke, ca, r);
}

int
store_ca_revoked_list(struct store *s, const char *ca, store_revoked_each each, void *arg)
{
	return STORE_OPTIONAL(s, ca_revoked_list, ca, each, arg);
}

int
store_ca_crl_get(struct store *s, const char *ca, struct store_crl *ret)
{
	return STORE_OPTIONAL(s, ca_crl_get, ca, ret);
}

int
store_ca_crl_put(struct store *s, const char *ca, const struct store_crl *c)
{
	return STORE_OPTIONAL(s, ca_crl_put, ca, c);
}

int
store_lease_take(struct store *s, const char *job, const char *holder, int64_t now, int ttl,
		 int *ret_held)
{
	return STORE_OPTIONAL(s, lease_take, job, holder, now, ttl, ret_held);
}

int
store_ca_crl_seed(struct store *s, const char *ca, const struct store_crl *c)
{
	return STORE_OPTIONAL(s, ca_crl_seed, ca, c);
}

int
store_lease_get(struct store *s, const char *job, char *ret_holder, size_t cap,
		int64_t *ret_expires)
{
	return STORE_OPTIONAL(s, lease_get, job, ret_holder, cap, ret_expires);
}

int
store_ca_crl_number(struct store *s, const char *ca, int64_t *ret)
{
	return STORE_OPTIONAL(s, ca_crl_number, ca, ret);
}

int
store_owed_put(struct store *s, const struct store_owed *o)
{
	return STORE_OPTIONAL(s, owed_put, o);
}

int
store_owed_del(struct store *s, int64_t txn_id)
{
	return STORE_OPTIONAL(s, owed_del, txn_id);
}

int
store_owed_due(struct store *s, const char *me, int64_t now, int64_t stale, size_t max,
	       store_owed_each each, void *arg)
{
	return STORE_OPTIONAL(s, owed_due, me, now, stale, max, each, arg);
}

int
store_nonce_find(struct store *s, const uint8_t *nonce, size_t len, int64_t now, int ttl,
		 const char *profile, const char *transaction_id, const uint8_t key_sha256[32],
		 struct store_txn *ret, int *ret_found)
{
	int r;

	if (s->ops->nonce_find != NULL)
		return STORE_CALL(s, nonce_find, nonce, len, now, ttl, profile, transaction_id,
				  key_sha256, ret, ret_found);
	r = store_nonce_check(s, nonce, len, now, ttl);
	*ret_found = store_txn_find(s, profile, transaction_id, key_sha256, ret);
	return r;
}

int
store_ready(struct store *s, char *why, size_t cap)
{
	if (s == NULL || s->ops->ready == NULL)
		return 0;
	return s->ops->ready(s->priv, why, cap);
}

int
store_await_durable(struct store *s, store_durable_fn cb, void *arg)
{
	if (s == NULL || s->ops->await_durable == NULL)
		return 0;
	/* not under the lock: a reply must not wait for a store thread's
	 * step (store_sync.c locks what it shares with its thread) */
	return s->ops->await_durable(s->priv, cb, arg);
}

int
store_attach_loop(struct store *s, struct event_base *base, struct sgw_err *err)
{
	if (s->offload && s->exec == NULL) {
		s->exec = store_exec_new(base, s->threads);
		if (s->exec == NULL)
			return sgw_err_set(err, SGW_ENOMEM,
					   "store: cannot start %d store thread(s)", s->threads);
	}
	if (s->ops->attach_loop == NULL)
		return 0;
	return STORE_CALL(s, attach_loop, base, err);
}

int
store_exec(struct store *s, store_step_fn work, store_step_fn done, void *arg)
{
	return store_exec_run(s->exec, work, done, arg);
}

int
store_exec_owned(struct store *s, store_step_fn work, store_step_fn done, store_step_fn drop,
		 void *arg)
{
	return store_exec_run_drop(s->exec, work, done, drop, arg);
}

void
store_drain(struct store *s)
{
	if (s != NULL)
		store_exec_stop(s->exec);
}

int
store_threads(const struct store *s)
{
	return store_exec_threads(s->exec);
}
