/* validator_otp.c: the `otp` challenge type.  The check only finds the
 * challenge usable; it is used in the store commit that accepts the request
 * (txn_enroll.c, store_txn_accept), after the CSR policy, so that a refused
 * CSR does not burn it, and of two requests with the same challenge the
 * second to commit loses. */
#include <stdio.h>
#include <stdlib.h>
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

/* Store step: count the active ones, then store the new one.  Reads only
 * what otp_issue() copied into is (the store outlives the step: it is
 * drained before it is closed), nothing of the profile set. */
static void
issue_work(void *arg)
{
	struct otp_issue *is = arg;
	struct store_otp so = {0};
	uint8_t raw[OTP_SECRET_LEN / 2];
	int64_t active = 0;

	so.created = (int64_t)time(NULL);
	if ((is->rc = store_otp_count(is->store, is->profile, so.created, &active)) < 0)
		return;
	if (active >= is->max_active) {
		is->rc = -SGW_EDENIED;
		return;
	}
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		is->rc = -SGW_EIO;
		return;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(is->secret + 2 * i, 3, "%02X", raw[i]);
	OPENSSL_cleanse(raw, sizeof(raw));
	SHA256((const unsigned char *)is->secret, OTP_SECRET_LEN, so.sha256);
	snprintf(so.profile, sizeof(so.profile), "%s", is->profile);
	snprintf(so.subject, sizeof(so.subject), "%s", is->subject);
	snprintf(so.issued_by, sizeof(so.issued_by), "%s", is->issued_by);
	so.expires = so.created + (is->ttl > 0 ? is->ttl : is->default_ttl);
	if ((is->rc = store_otp_put(is->store, &so)) == 0)
		is->expires = so.expires;
	else
		OPENSSL_cleanse(is->secret, sizeof(is->secret));
}

static void
issue_done(void *arg)
{
	struct otp_issue *is = arg;

	is->cb(is->arg, is);
}

int
otp_issue(struct otp *o, struct otp_issue *is, otp_issued_fn cb, void *arg)
{
	if (o == NULL || o->store == NULL)
		return -SGW_EINVAL;
	is->store = o->store;
	is->max_active = o->max_active;
	is->default_ttl = o->ttl;
	is->cb = cb;
	is->arg = arg;
	is->rc = -SGW_EIO;
	is->secret[0] = '\0';
	return store_exec(o->store, issue_work, issue_done, is);
}

void
otp_challenge_sha256(const char *challenge, uint8_t ret[32])
{
	SHA256((const unsigned char *)challenge, strlen(challenge), ret);
}

/* One check in flight: the store step that peeks at the challenge. */
struct otp_peek {
	struct store *store;
	const struct csr *csr; /* the request's: alive until cb */
	validator_cb cb;
	void *arg;
	char profile[64];
	uint8_t sha256[SHA256_DIGEST_LENGTH];
	int64_t now;
	int rc;
	char bound[256];
};

/* Store step (store_exec): is the challenge usable, and bound to whom? */
static void
peek_work(void *arg)
{
	struct otp_peek *k = arg;

	k->rc = store_otp_peek(k->store, k->profile, k->sha256, k->now, k->bound, sizeof(k->bound));
}

/* Loop thread: the verdict.  An unreachable store is -SGW_EUNAVAIL (the
 * request gets 503), not a refusal. */
static void
peek_done(void *arg)
{
	struct otp_peek *k = arg;
	const struct csr *c = k->csr;
	const char *why = NULL;
	int verdict = -SGW_EDENIED;

	if (k->rc == -SGW_ENOTFOUND)
		why = "one-time challenge unknown, used or expired";
	else if (k->rc == -SGW_EUNAVAIL)
		verdict = k->rc, why = "one-time challenge";
	else if (k->rc < 0)
		why = "one-time challenge: store failure";
	else if (k->bound[0] != '\0' && !(c->cn != NULL && strcmp(c->cn, k->bound) == 0) &&
		 !(c->subject != NULL && strcmp(c->subject, k->bound) == 0))
		why = "one-time challenge is bound to another subject";
	else
		verdict = 0;
	OPENSSL_cleanse(k->sha256, sizeof(k->sha256));
	k->cb(k->arg, verdict, why);
	free(k);
}

/* Shutdown: the step was dropped (or its done never ran); the request it
 * would have answered is freed with the others (req_drop_all()). */
static void
peek_drop(void *arg)
{
	struct otp_peek *k = arg;

	OPENSSL_cleanse(k->sha256, sizeof(k->sha256));
	free(k);
}

/* The challenge is peeked at in a store step: cb(arg, verdict, reason)
 * follows, on the loop thread (before this returns when the store runs
 * inline), and -SGW_EAGAIN. */
static int
otp_check(void *priv, const struct validator_req *req, validator_cb cb, void *arg,
	  struct sgw_err *err)
{
	struct otp *p = priv;
	const struct csr *c = req->csr;
	struct otp_peek *k;
	int r;

	if (p->store == NULL)
		return sgw_err_set(err, SGW_EDENIED, "one-time challenges are not available");
	if (c->challenge == NULL)
		return sgw_err_set(err, SGW_EDENIED, "CSR has no challengePassword");
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "one-time challenge: out of memory");
	*k = (struct otp_peek){
	    .store = p->store, .csr = c, .cb = cb, .arg = arg, .now = (int64_t)time(NULL)};
	snprintf(k->profile, sizeof(k->profile), "%s", req->profile);
	otp_challenge_sha256(c->challenge, k->sha256);
	if ((r = store_exec_owned(p->store, peek_work, peek_done, peek_drop, k)) == 0)
		return -SGW_EAGAIN;
	OPENSSL_cleanse(k->sha256, sizeof(k->sha256));
	free(k);
	return sgw_err_set(err, SGW_EUNAVAIL, "one-time challenge: store threads stopped: %s",
			   sgw_strerror(r));
}

const struct validator_ops validator_otp = {
    .name = "otp",
    .priv_size = sizeof(struct otp),
    .configure = otp_configure,
    .start = otp_start,
    .check = otp_check,
};
