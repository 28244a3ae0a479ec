/* validator_static.c: a static challenge per profile, kept only as its
 * SHA-256 and compared in constant time; and the explicit `none`. */
#include <string.h>

#include "validator.h"

struct static_priv {
	uint8_t sha256[32];
};

static int
static_configure(void *priv, const struct cfg_challenge *cfg, struct sgw_err *err)
{
	struct static_priv *p = priv;

	(void)err;
	memcpy(p->sha256, cfg->sha256, sizeof(p->sha256));
	return 0;
}

static int
static_check(void *priv, const struct validator_req *req, validator_cb cb, void *arg,
	     struct sgw_err *err)
{
	struct static_priv *p = priv;

	(void)cb;
	(void)arg;
	if (req->csr->challenge == NULL)
		return sgw_err_set(err, SGW_EDENIED, "CSR has no challengePassword");
	if (!validator_secret_matches(req->csr->challenge, p->sha256))
		return sgw_err_set(err, SGW_EDENIED, "challenge password mismatch");
	return 0;
}

const struct validator_ops validator_static = {
    .name = "static",
    .priv_size = sizeof(struct static_priv),
    .configure = static_configure,
    .check = static_check,
};

static int
none_check(void *priv, const struct validator_req *req, validator_cb cb, void *arg,
	   struct sgw_err *err)
{
	(void)priv;
	(void)req;
	(void)cb;
	(void)arg;
	(void)err;
	return 0;
}

const struct validator_ops validator_none = {
    .name = "none",
    .check = none_check,
};
