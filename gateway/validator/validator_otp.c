/* validator_otp.c: the `otp` challenge type.  A challenge is consumed by one
 * store statement (check and use cannot be separated), so two requests with
 * the same challenge cannot both pass. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "validator.h"
#include "validator_otp.h"

struct otp_priv {
	struct store *store; /* validator_attach_store() */
};

int
otp_issue(struct store *s, const char *profile, const struct cfg_challenge *cfg, int ttl,
	  const char *subject, const char *issued_by, char *ret_secret, size_t cap,
	  int64_t *ret_expires)
{
	struct store_otp o = {0};
	uint8_t raw[OTP_SECRET_LEN / 2];
	char secret[OTP_SECRET_LEN + 1];
	int64_t active = 0;
	int r;

	if (cfg->type != CHALLENGE_OTP || cap < sizeof(secret))
		return -SGW_EINVAL;
	o.created = (int64_t)time(NULL);
	if ((r = store_otp_count(s, profile, o.created, &active)) < 0)
		return r;
	if (active >= cfg->otp_max_active)
		return -SGW_EDENIED;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -SGW_EIO;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(secret + 2 * i, 3, "%02X", raw[i]);
	SHA256((const unsigned char *)secret, OTP_SECRET_LEN, o.sha256);
	snprintf(o.profile, sizeof(o.profile), "%s", profile);
	snprintf(o.subject, sizeof(o.subject), "%s", subject != NULL ? subject : "");
	snprintf(o.issued_by, sizeof(o.issued_by), "%s", issued_by);
	o.expires = o.created + (ttl > 0 ? ttl : cfg->otp_ttl);
	r = store_otp_put(s, &o);
	if (r == 0) {
		memcpy(ret_secret, secret, sizeof(secret));
		*ret_expires = o.expires;
	}
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(secret, sizeof(secret));
	return r;
}

static void
otp_attach(void *priv, struct store *s)
{
	((struct otp_priv *)priv)->store = s;
}

static int
otp_check(void *priv, const struct validator_req *req, validator_cb cb, void *arg,
	  struct sgw_err *err)
{
	struct otp_priv *p = priv;
	const struct csr *c = req->csr;
	uint8_t h[SHA256_DIGEST_LENGTH];
	char bound[256];
	int r;

	(void)cb;
	(void)arg;
	if (p->store == NULL)
		return sgw_err_set(err, SGW_EDENIED, "one-time challenges are not available");
	if (c->challenge == NULL)
		return sgw_err_set(err, SGW_EDENIED, "CSR has no challengePassword");
	SHA256((const unsigned char *)c->challenge, strlen(c->challenge), h);
	r = store_otp_consume(p->store, req->profile, h, (int64_t)time(NULL), bound, sizeof(bound));
	OPENSSL_cleanse(h, sizeof(h));
	if (r == -SGW_ENOTFOUND)
		return sgw_err_set(err, SGW_EDENIED, "one-time challenge unknown, used or expired");
	if (r < 0)
		return sgw_err_set(err, SGW_EDENIED, "one-time challenge: store failure");
	if (bound[0] != '\0' && !(c->cn != NULL && strcmp(c->cn, bound) == 0) &&
	    !(c->subject != NULL && strcmp(c->subject, bound) == 0))
		return sgw_err_set(err, SGW_EDENIED,
				   "one-time challenge is bound to another subject");
	return 0;
}

const struct validator_ops validator_otp = {
    .name = "otp",
    .priv_size = sizeof(struct otp_priv),
    .check = otp_check,
    .attach = otp_attach,
};
