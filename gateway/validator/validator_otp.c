/* validator_otp.c: the `otp` challenge type.  The check only finds the
 * challenge usable; it is used in the store commit that accepts the request
 * (txn_enroll.c, store_txn_accept), after the CSR policy, so that a refused
 * CSR does not burn it, and of two requests with the same challenge the
 * second to commit loses. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "store.h"
#include "validator.h"
#include "validator_otp.h"

struct otp_conf {
	char *type, *sha256, *secret_file; /* static's: refused here */
	int ttl, max_active;
};

static const struct cfg_field otp_fields[] = {
    {"type", CFG_STR, offsetof(struct otp_conf, type), 1},
    {"ttl", CFG_DURATION, offsetof(struct otp_conf, ttl), 0},
    {"max_active", CFG_INT, offsetof(struct otp_conf, max_active), 0},
    {"sha256", CFG_STR, offsetof(struct otp_conf, sha256), 0},
    {"secret_file", CFG_STR, offsetof(struct otp_conf, secret_file), 0},
    {NULL},
};

struct otp {
	int ttl;	     /* default lifetime of an issued challenge, seconds */
	int max_active;	     /* unused, unexpired challenges per profile at most */
	struct store *store; /* start() */
};

static int
otp_configure(void *priv, const struct cfg_node *node, const char *path, struct sgw_err *err)
{
	struct otp *o = priv;
	struct otp_conf c = {0};
	int r;

	if ((r = cfg_parse_map(node, path, otp_fields, &c, err)) < 0)
		return r;
	if (c.sha256 != NULL || c.secret_file != NULL)
		r = cfg_err(err, SGW_EINVAL, node, path, "sha256 and secret_file need type static");
	o->ttl = c.ttl > 0 ? c.ttl : 3600;
	o->max_active = c.max_active > 0 ? c.max_active : 10000;
	cfg_fields_free(otp_fields, &c);
	return r;
}

static int
otp_start(void *priv, const struct validator_env *env, struct sgw_err *err)
{
	(void)err;
	((struct otp *)priv)->store = env->store;
	return 0;
}

int
otp_ttl(const struct otp *o)
{
	return o->ttl;
}

int
otp_issue(struct otp *o, const char *profile, int ttl, const char *subject, const char *issued_by,
	  char *ret_secret, size_t cap, int64_t *ret_expires)
{
	struct store_otp so = {0};
	uint8_t raw[OTP_SECRET_LEN / 2];
	char secret[OTP_SECRET_LEN + 1];
	int64_t active = 0;
	int r;

	if (o == NULL || o->store == NULL || cap < sizeof(secret))
		return -SGW_EINVAL;
	so.created = (int64_t)time(NULL);
	if ((r = store_otp_count(o->store, profile, so.created, &active)) < 0)
		return r;
	if (active >= o->max_active)
		return -SGW_EDENIED;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -SGW_EIO;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(secret + 2 * i, 3, "%02X", raw[i]);
	SHA256((const unsigned char *)secret, OTP_SECRET_LEN, so.sha256);
	snprintf(so.profile, sizeof(so.profile), "%s", profile);
	snprintf(so.subject, sizeof(so.subject), "%s", subject != NULL ? subject : "");
	snprintf(so.issued_by, sizeof(so.issued_by), "%s", issued_by);
	so.expires = so.created + (ttl > 0 ? ttl : o->ttl);
	r = store_otp_put(o->store, &so);
	if (r == 0) {
		memcpy(ret_secret, secret, sizeof(secret));
		*ret_expires = so.expires;
	}
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(secret, sizeof(secret));
	return r;
}

void
otp_challenge_sha256(const char *challenge, uint8_t ret[32])
{
	SHA256((const unsigned char *)challenge, strlen(challenge), ret);
}

static int
otp_check(void *priv, const struct validator_req *req, validator_cb cb, void *arg,
	  struct sgw_err *err)
{
	struct otp *p = priv;
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
	otp_challenge_sha256(c->challenge, h);
	r = store_otp_peek(p->store, req->profile, h, (int64_t)time(NULL), bound, sizeof(bound));
	OPENSSL_cleanse(h, sizeof(h));
	if (r == -SGW_ENOTFOUND)
		return sgw_err_set(err, SGW_EDENIED, "one-time challenge unknown, used or expired");
	if (r == -SGW_EUNAVAIL)
		return sgw_err_set(err, SGW_EUNAVAIL, "one-time challenge: store unavailable");
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
    .priv_size = sizeof(struct otp),
    .configure = otp_configure,
    .start = otp_start,
    .check = otp_check,
};
