/* validator_static.c: a static challenge per profile, kept only as its
 * SHA-256 (given as `sha256:` or hashed from `secret_file:` at load) and
 * compared in constant time; and the explicit `none`.  Both know the keys of
 * the other local types (otp.c) only to say which type they need. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

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

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static int
parse_hex32(const char *s, uint8_t out[32])
{
	if (strlen(s) != 64)
		return -SGW_EINVAL;
	for (size_t i = 0; i < 32; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -SGW_EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* SHA-256 of a regular file's contents, minus one trailing newline. */
static int
hash_secret_file(const struct cfg_node *n, const char *path, const char *file, uint8_t out[32],
		 struct sgw_err *err)
{
	uint8_t buf[SECRET_MAX + 1];
	struct stat st;
	ssize_t len;
	int fd, r = -SGW_EINVAL;

	fd = open(file, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return cfg_err(err, SGW_EIO, n, path, "cannot open '%s': %s", file,
			       strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > SECRET_MAX) {
		r = cfg_err(err, SGW_EINVAL, n, path,
			    "'%s' is not a regular file of at most %d bytes", file, SECRET_MAX);
		goto out;
	}
	len = read(fd, buf, sizeof(buf));
	if (len > 0 && buf[len - 1] == '\n')
		len -= len > 1 && buf[len - 2] == '\r' ? 2 : 1;
	if (len <= 0 || len > SECRET_MAX) {
		r = cfg_err(err, SGW_EINVAL, n, path, "'%s' is empty or unreadable", file);
		goto out;
	}
	if (!EVP_Digest(buf, (size_t)len, out, NULL, EVP_sha256(), NULL)) {
		r = cfg_err(err, SGW_EINVAL, n, path, "SHA-256 failed");
		goto out;
	}
	r = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
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
	else if (parse_hex32(c.sha256, p->sha256) < 0)
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
