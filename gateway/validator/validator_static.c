/* validator_static.c: a static challenge per profile, kept only as its
 * SHA-256 (given as `sha256:` or hashed from `secret_file:` at load) and
 * compared in constant time; and the explicit `none`.  Both know the keys of
 * the other local types (otp.c) only to say which type they need. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "b64.h"
#include "secret_file.h"
#include "validator.h"

#define SECRET_MAX 4096

struct local_conf {
	char *type, *sha256, *secret_file;
	int ttl, max_active; /* otp's: refused here */
};

static const struct cfg_field local_fields[] = {
    {"type", CFG_STR, offsetof(struct local_conf, type), 1},
    {"sha256", CFG_STR, offsetof(struct local_conf, sha256), 0},
    {"secret_file", CFG_STR, offsetof(struct local_conf, secret_file), 0},
    {"ttl", CFG_DURATION, offsetof(struct local_conf, ttl), 0},
    {"max_active", CFG_INT, offsetof(struct local_conf, max_active), 0},
    {NULL},
};

/* Like cfg_parse_map(): on failure, c holds nothing to free. */
static int
local_parse(const struct cfg_node *n, const char *path, struct local_conf *c, struct sgw_err *err)
{
	int r = cfg_parse_map(n, path, local_fields, c, err);

	if (r == 0 && (c->ttl != 0 || c->max_active != 0)) {
		cfg_fields_free(local_fields, c);
		r = cfg_err(err, SGW_EINVAL, n, path, "ttl and max_active need type otp");
	}
	return r;
}

static const char *
subpath(char buf[CFG_PATH_MAX], const char *path, const char *key)
{
	if (snprintf(buf, CFG_PATH_MAX, "%s.%s", path, key) < 0)
		buf[0] = '\0';
	return buf;
}

/* secret_file_read()'s message without its leading "<file>: " */
static const char *
why(const struct sgw_err *e, const char *file)
{
	size_t n = strlen(file);

	return strncmp(e->msg, file, n) == 0 && strncmp(e->msg + n, ": ", 2) == 0 ? e->msg + n + 2
										  : e->msg;
}

/* SHA-256 of a secret file's contents, minus one trailing newline. */
static int
hash_secret_file(const struct cfg_node *n, const char *path, const char *file, uint8_t out[32],
		 struct sgw_err *err)
{
	struct sgw_err e = {{0}};
	uint8_t *buf = NULL;
	size_t len = 0, used;
	int r;

	r = secret_file_read_as("static challenge secret file", file, SECRET_MAX, 0, &buf, &len,
				&e);
	if (r == -SGW_EIO)
		return cfg_err(err, SGW_EIO, n, path, "cannot open '%s': %s", file, why(&e, file));
	if (r == -SGW_EINVAL)
		return cfg_err(err, SGW_EINVAL, n, path, "'%s' is empty or unreadable", file);
	if (r < 0)
		return cfg_err(err, r, n, path, "%s", e.msg);
	used = len;
	if (used > 0 && buf[used - 1] == '\n')
		used -= used > 1 && buf[used - 2] == '\r' ? 2 : 1;
	if (used == 0)
		r = cfg_err(err, SGW_EINVAL, n, path, "'%s' is empty or unreadable", file);
	else if (!EVP_Digest(buf, used, out, NULL, EVP_sha256(), NULL))
		r = cfg_err(err, SGW_EINVAL, n, path, "SHA-256 failed");
	secret_file_free(buf, len);
	return r;
}

struct static_priv {
	uint8_t sha256[32];
};

static int
static_configure(void *priv, const struct cfg_node *node, const char *path, struct sgw_err *err)
{
	struct static_priv *p = priv;
	struct local_conf c = {0};
	char sub[CFG_PATH_MAX];
	int r;

	if ((r = local_parse(node, path, &c, err)) < 0)
		return r;
	if ((c.sha256 != NULL) == (c.secret_file != NULL))
		r = cfg_err(err, SGW_EINVAL, node, path,
			    "type static needs exactly one of sha256 or secret_file");
	else if (c.secret_file != NULL)
		r = hash_secret_file(cfg_node_get(node, "secret_file"),
				     subpath(sub, path, "secret_file"), c.secret_file, p->sha256,
				     err);
	else if (b64_hex_decode(c.sha256, strlen(c.sha256), p->sha256, sizeof(p->sha256)) < 0)
		r = cfg_err(err, SGW_EINVAL, cfg_node_get(node, "sha256"),
			    subpath(sub, path, "sha256"), "expected 64 hex characters");
	cfg_fields_free(local_fields, &c);
	return r;
}

/* Constant-time: 1 when SHA-256(secret) equals want. */
static int
secret_matches(const char *secret, const uint8_t want[32])
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

static int
static_check(void *priv, const struct validator_req *req, validator_cb cb, void *arg,
	     struct sgw_err *err)
{
	struct static_priv *p = priv;

	(void)cb;
	(void)arg;
	if (req->csr->challenge == NULL)
		return sgw_err_set(err, SGW_EDENIED, "CSR has no challengePassword");
	if (!secret_matches(req->csr->challenge, p->sha256))
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
none_configure(void *priv, const struct cfg_node *node, const char *path, struct sgw_err *err)
{
	struct local_conf c = {0};
	int r;

	(void)priv;
	if ((r = local_parse(node, path, &c, err)) < 0)
		return r;
	if (c.sha256 != NULL || c.secret_file != NULL)
		r = cfg_err(err, SGW_EINVAL, node, path, "sha256 and secret_file need type static");
	cfg_fields_free(local_fields, &c);
	return r;
}

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
    .configure = none_configure,
    .check = none_check,
};
