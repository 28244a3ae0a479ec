/* validator.c: validator registry and the constant-time secret check. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "validator.h"

struct validator {
	const struct validator_ops *ops;
	void *priv;
};

static const struct validator_ops *const validators[CHALLENGE_TYPE_MAX] = {
    [CHALLENGE_NONE] = &validator_none,	    [CHALLENGE_STATIC] = &validator_static,
    [CHALLENGE_OTP] = &validator_otp,	    [CHALLENGE_WEBHOOK] = &validator_webhook,
    [CHALLENGE_INTUNE] = &validator_intune,
};

int
validator_new(const struct cfg_challenge *cfg, struct validator **ret, struct sgw_err *err)
{
	struct validator *v;
	int r;

	if ((unsigned)cfg->type >= CHALLENGE_TYPE_MAX || validators[cfg->type] == NULL)
		return sgw_err_set(err, SGW_EINVAL, "unknown challenge type %d", (int)cfg->type);
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return -SGW_ENOMEM;
	v->ops = validators[cfg->type];
	if (v->ops->priv_size > 0 && (v->priv = calloc(1, v->ops->priv_size)) == NULL) {
		free(v);
		return -SGW_ENOMEM;
	}
	r = v->ops->configure != NULL ? v->ops->configure(v->priv, cfg, err) : 0;
	if (r < 0) {
		validator_free(v);
		return r;
	}
	*ret = v;
	return 0;
}

int
validator_check(struct validator *v, const struct validator_req *req, validator_cb cb, void *arg,
		struct sgw_err *err)
{
	return v->ops->check(v->priv, req, cb, arg, err);
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

void
validator_attach_store(struct validator *v, struct store *s)
{
	if (v != NULL && v->ops->attach != NULL)
		v->ops->attach(v->priv, s);
}

int
validator_attach_http(struct validator *v, struct http_client *http)
{
	if (v == NULL || v->ops->attach_http == NULL)
		return 0;
	return v->ops->attach_http(v->priv, http);
}

void
validator_start(struct validator *v, struct event_base *base, struct backend *b)
{
	if (v != NULL && v->ops->start != NULL)
		v->ops->start(v->priv, base, b);
}

void
validator_free(struct validator *v)
{
	if (v == NULL)
		return;
	if (v->ops->free != NULL)
		v->ops->free(v->priv);
	if (v->priv != NULL)
		OPENSSL_cleanse(v->priv, v->ops->priv_size);
	free(v->priv);
	free(v);
}

int
validator_secret_matches(const char *secret, const uint8_t want[32])
{
	uint8_t got[SHA256_DIGEST_LENGTH];
	int eq;

	if (secret == NULL)
		return 0;
	SHA256((const unsigned char *)secret, strlen(secret), got);
	eq = CRYPTO_memcmp(got, want, sizeof(got)) == 0;
	OPENSSL_cleanse(got, sizeof(got));
	return eq;
}
