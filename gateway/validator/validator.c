/* validator.c: the validator registry and the instance wrapper around
 * struct validator_ops (validator.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "validator.h"

static const struct validator_ops *const registry[] = {
    &validator_none, &validator_static, &validator_otp, &validator_webhook, &validator_intune, NULL,
};

struct validator {
	const struct validator_ops *ops;
	void *priv;
	int started;
};

const struct validator_ops *
validator_lookup(const char *type)
{
	for (const struct validator_ops *const *o = registry; type != NULL && *o != NULL; o++)
		if (strcmp((*o)->name, type) == 0)
			return *o;
	return NULL;
}

int
validator_new(const char *type, const struct cfg_node *node, const char *path,
	      struct validator **ret, struct sgw_err *err)
{
	const struct validator_ops *ops = validator_lookup(type);
	char sub[CFG_PATH_MAX];
	struct validator *v;
	int r;

	if (ops == NULL) {
		char list[128] = "";
		size_t n = 0;

		for (size_t i = 0; registry[i] != NULL && n < sizeof(list); i++)
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "",
					      registry[i]->name);
		if (snprintf(sub, sizeof(sub), "%s.type", path) < 0)
			sub[0] = '\0';
		return cfg_err(err, SGW_EINVAL, cfg_node_get(node, "type"), sub,
			       "unknown validator '%s' (one of: %s)",
			       type != NULL ? type : "(none)", list);
	}
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	v->ops = ops;
	if ((v->priv = calloc(1, ops->priv_size > 0 ? ops->priv_size : 1)) == NULL) {
		r = sgw_err_set(err, SGW_ENOMEM, "out of memory");
		goto fail;
	}
	if ((r = ops->configure(v->priv, node, path, err)) < 0)
		goto fail;
	*ret = v;
	return 0;
fail:
	validator_free(v);
	return r;
}

int
validator_start(struct validator *v, const struct validator_env *env, struct sgw_err *err)
{
	int r;

	if (v->started)
		return sgw_err_set(err, SGW_EINVAL, "validator %s: started twice", v->ops->name);
	if (v->ops->start != NULL && (r = v->ops->start(v->priv, env, err)) < 0)
		return r;
	v->started = 1;
	return 0;
}

int
validator_check(struct validator *v, const struct validator_req *req, validator_cb cb, void *arg,
		struct sgw_err *err)
{
	return v->ops->check(v->priv, req, cb, arg, err);
}

int
validator_has_notify(const struct validator *v)
{
	return v != NULL && v->ops->notify != NULL;
}

int
validator_notify(struct validator *v, const struct validator_req *req, X509 *cert,
		 const char *reason, validator_cb cb, void *arg)
{
	if (v == NULL || v->ops->notify == NULL)
		return 0;
	return v->ops->notify(v->priv, req, cert, reason, cb, arg);
}

const char *
validator_name(const struct validator *v)
{
	return v->ops->name;
}

struct otp *
validator_as_otp(struct validator *v)
{
	return v != NULL && v->ops == &validator_otp ? v->priv : NULL;
}

void
validator_free(struct validator *v)
{
	if (v == NULL)
		return;
	if (v->ops->free != NULL && v->priv != NULL)
		v->ops->free(v->priv);
	if (v->priv != NULL)
		OPENSSL_cleanse(v->priv, v->ops->priv_size > 0 ? v->ops->priv_size : 1);
	free(v->priv);
	free(v);
}
