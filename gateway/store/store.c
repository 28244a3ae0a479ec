/* store.c: the generic store layer.  Picks a store_ops by the configured
 * `type:` from a NULL-terminated registry and forwards every call to it. */
#include <stdlib.h>
#include <string.h>

#include "store.h"

struct store {
	const struct store_ops *ops;
	void *priv;
};

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
	struct store *s;
	int r;

	if (cfg == NULL || ret == NULL)
		return sgw_err_set(err, SGW_EINVAL, "store: no configuration");
	type = cfg->type != NULL ? cfg->type : "sqlite";
	ops = store_lookup(type);
	if (ops == NULL)
		return sgw_err_set(err, SGW_EINVAL, "store.type: unknown store '%s'", type);
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "store: out of memory");
	s->ops = ops;
	r = ops->open(&s->priv, cfg, err);
	if (r < 0) {
		free(s);
		return r;
	}
	*ret = s;
	return 0;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	s->ops->close(s->priv);
	free(s);
}

int
store_txn_insert(struct store *s, struct store_txn *t)
{
	return s->ops->txn_insert(s->priv, t);
}

int
store_txn_find(struct store *s, const char *profile, const char *transaction_id,
	       const uint8_t key_sha256[32], struct store_txn *ret)
{
	return s->ops->txn_find(s->priv, profile, transaction_id, key_sha256, ret);
}

int
store_txn_get(struct store *s, int64_t id, struct store_txn *ret)
{
	return s->ops->txn_get(s->priv, id, ret);
}

int
store_txn_update(struct store *s, const struct store_txn *t)
{
	return s->ops->txn_update(s->priv, t);
}

int
store_txn_accept(struct store *s, struct store_txn *t, const struct store_accept *a)
{
	return s->ops->txn_accept(s->priv, t, a);
}

int
store_txn_issue(struct store *s, struct store_txn *t, const struct store_cert *c)
{
	return s->ops->txn_issue(s->priv, t, c);
}

int
store_cert_get(struct store *s, const char *issuer, const char *serial, struct store_cert *ret)
{
	return s->ops->cert_get(s->priv, issuer, serial, ret);
}

int
store_cert_count(struct store *s, int64_t *ret)
{
	return s->ops->cert_count(s->priv, ret);
}

int
store_cert_revoke(struct store *s, const char *issuer, const char *serial, int reason, int64_t when)
{
	return s->ops->cert_revoke(s->priv, issuer, serial, reason, when);
}

int
store_cert_find_serial(struct store *s, const char *serial, struct store_cert *ret)
{
	return s->ops->cert_find_serial(s->priv, serial, ret);
}

int
store_cert_supersede(struct store *s, const char *issuer, const char *serial, const char *by)
{
	return s->ops->cert_supersede(s->priv, issuer, serial, by);
}

int
store_cert_superseded(struct store *s, const char *issuer, const char *serial, const char *profile,
		      const uint8_t key_sha256[32], int *ret_superseded)
{
	return s->ops->cert_superseded(s->priv, issuer, serial, profile, key_sha256,
				       ret_superseded);
}

int
store_nonce_check(struct store *s, const uint8_t *nonce, size_t len, int64_t now, int ttl)
{
	return s->ops->nonce_check(s->priv, nonce, len, now, ttl);
}

int
store_txn_list(struct store *s, const struct store_txn_filter *f, store_txn_each each, void *arg)
{
	return s->ops->txn_list(s->priv, f, each, arg);
}

int
store_txn_count(struct store *s, int state, int64_t *ret)
{
	return s->ops->txn_count(s->priv, state, ret);
}

int
store_txn_decide(struct store *s, const struct store_txn *t, const char *admin)
{
	return s->ops->txn_decide(s->priv, t, admin);
}

int
store_txn_decider(struct store *s, int64_t id, char *ret_admin, size_t cap)
{
	return s->ops->txn_decider(s->priv, id, ret_admin, cap);
}

int
store_otp_put(struct store *s, const struct store_otp *o)
{
	return s->ops->otp_put(s->priv, o);
}

int
store_otp_consume(struct store *s, const char *profile, const uint8_t sha256[32], int64_t now,
		  char *ret_subject, size_t cap)
{
	return s->ops->otp_consume(s->priv, profile, sha256, now, ret_subject, cap);
}

int
store_otp_peek(struct store *s, const char *profile, const uint8_t sha256[32], int64_t now,
	       char *ret_subject, size_t cap)
{
	return s->ops->otp_peek(s->priv, profile, sha256, now, ret_subject, cap);
}

int
store_txn_legacy_csr(struct store *s, store_legacy_fn fn, void *arg, struct sgw_err *err)
{
	return s->ops->txn_legacy_csr(s->priv, fn, arg, err);
}

int
store_otp_count(struct store *s, const char *profile, int64_t now, int64_t *ret)
{
	return s->ops->otp_count(s->priv, profile, now, ret);
}

int
store_cert_search(struct store *s, const struct store_cert_filter *f, store_cert_each each,
		  void *arg, int64_t *next)
{
	return s->ops->cert_search(s->priv, f, each, arg, next);
}

int
store_stats(struct store *s, struct store_stats *ret)
{
	return s->ops->stats(s->priv, ret);
}

/* The shared-state calls are optional in a store_ops until every store
 * implements them: -SGW_EINVAL says so instead of a NULL call. */
#define STORE_OPTIONAL(s, op, ...)                                                                 \
	((s)->ops->op != NULL ? (s)->ops->op((s)->priv, __VA_ARGS__) : -SGW_EINVAL)

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
	return s->ops->await_durable(s->priv, cb, arg);
}

int
store_attach_loop(struct store *s, struct event_base *base, struct sgw_err *err)
{
	if (s->ops->attach_loop == NULL)
		return 0;
	return s->ops->attach_loop(s->priv, base, err);
}
