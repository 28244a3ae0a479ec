/* backend.c: the backend registry and the instance wrapper around
 * struct backend_ops (docs/conventions.md 1; unbound module_func_block). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

/* every backend type (declared in backend.h), NULL-terminated */
static const struct backend_ops *const registry[] = {
    &backend_local,
    &backend_acme,
    &backend_ejbca,
    NULL,
};

struct backend {
	const struct backend_ops *ops;
	char *name;
	void *priv;
	int started;
};

const struct backend_ops *
backend_lookup(const char *type)
{
	if (type == NULL)
		return NULL;
	for (size_t i = 0; registry[i] != NULL; i++)
		if (strcmp(registry[i]->name, type) == 0)
			return registry[i];
	return NULL;
}

int
backend_new(const char *name, const char *type, const struct cfg_node *node, const char *path,
	    struct backend **ret, struct sgw_err *err)
{
	const struct backend_ops *ops = backend_lookup(type);
	struct backend *b;
	int r;

	if (ops == NULL) {
		char list[128] = "";
		size_t n = 0;

		for (size_t i = 0; registry[i] != NULL && n < sizeof(list); i++)
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "",
					      registry[i]->name);
		return cfg_err(err, SGW_EINVAL, node, path,
			       "unknown backend type '%s' (one of: %s)",
			       type != NULL ? type : "(none)", list);
	}
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	b->ops = ops;
	b->name = strdup(name);
	b->priv = calloc(1, ops->priv_size > 0 ? ops->priv_size : 1);
	if (b->name == NULL || b->priv == NULL) {
		r = sgw_err_set(err, SGW_ENOMEM, "out of memory");
		goto fail;
	}
	r = ops->configure(b->priv, b->name, node, path, err);
	if (r < 0)
		goto fail;
	*ret = b;
	return 0;
fail:
	backend_free(b);
	return r;
}

int
backend_start(struct backend *b, const struct backend_env *env, struct sgw_err *err)
{
	int r;

	if (b->started)
		return sgw_err_set(err, SGW_EINVAL, "backend %s: started twice", b->name);
	r = b->ops->start(b->priv, env, err);
	if (r < 0)
		return r;
	b->started = 1;
	return 0;
}

int
backend_submit(struct backend *b, const struct backend_request *req, backend_cb cb, void *arg)
{
	if (!b->started)
		return -SGW_EINVAL;
	return b->ops->submit(b->priv, req, cb, arg);
}

int
backend_poll(struct backend *b, const char *handle, const struct backend_request *req,
	     backend_cb cb, void *arg)
{
	if (!b->started || b->ops->poll == NULL)
		return -SGW_EINVAL;
	return b->ops->poll(b->priv, handle, (b->ops->caps & BACKEND_CAP_POLL_CSR) ? req : NULL, cb,
			    arg);
}

int
backend_revoke(struct backend *b, const char *serial_hex, int reason, const uint8_t *der,
	       size_t der_len, backend_op_cb cb, void *arg)
{
	if (!b->started || b->ops->revoke == NULL || !(b->ops->caps & BACKEND_CAP_REVOKE))
		return -SGW_EINVAL;
	return b->ops->revoke(b->priv, serial_hex, reason, der, der_len, cb, arg);
}

int
backend_get_crl(struct backend *b, backend_crl_cb cb, void *arg)
{
	if (!b->started || b->ops->get_crl == NULL || !(b->ops->caps & BACKEND_CAP_CRL))
		return -SGW_EINVAL;
	return b->ops->get_crl(b->priv, cb, arg);
}

int
backend_own_files(struct backend *b, uid_t uid, gid_t gid, int check, struct sgw_err *err)
{
	return b->ops->own_files == NULL ? 0 : b->ops->own_files(b->priv, uid, gid, check, err);
}

unsigned
backend_caps(const struct backend *b)
{
	return b->ops->caps;
}

STACK_OF(X509) * backend_ca_chain(struct backend *b)
{
	if (!b->started)
		return NULL;
	return b->ops->ca_chain(b->priv);
}

const char *
backend_name(const struct backend *b)
{
	return b->name;
}

void
backend_free(struct backend *b)
{
	if (b == NULL)
		return;
	if (b->started && b->ops->stop != NULL)
		b->ops->stop(b->priv);
	if (b->priv != NULL && b->ops->free != NULL)
		b->ops->free(b->priv);
	free(b->priv);
	free(b->name);
	free(b);
}
