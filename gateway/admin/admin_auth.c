/* admin_auth.c: who is calling the admin API.  Bearer tokens (and HTTP basic
 * auth name:token, for the mscep_admin page) are checked against their
 * SHA-256 with CRYPTO_memcmp; a client certificate (mTLS) is admin_cert.c's.
 * Tokens never reach the log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "admin_auth.h"
#include "admin_cert.h"
#include "b64.h"
#include "secret_file.h"

#define TOKEN_LINE_MAX 512
#define TOKENS_FILE_MAX (1024 * 1024)
#define SECRET_MAX 256

/* "name:sha256hex[:role]" */
static int
token_parse(char *line, struct admin_token *t)
{
	char *name = strtok(line, ":"), *hex = strtok(NULL, ":"), *role = strtok(NULL, ":");

	if (name == NULL || hex == NULL || strtok(NULL, ":") != NULL ||
	    strlen(name) >= sizeof(t->name) ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz"
			 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-") != strlen(name) ||
	    b64_hex_decode(hex, strlen(hex), t->sha256, sizeof(t->sha256)) < 0)
		return -SGW_EINVAL;
	snprintf(t->name, sizeof(t->name), "%s", name);
	return admin_role_parse(role, &t->role);
}

/* One line of the tokens file, NUL-terminated: blank, a comment or a token. */
static int
tokens_line(struct admin *a, const char *file, int lineno, char *line, struct sgw_err *err)
{
	if (line[0] == '\0' || line[0] == '#')
		return 0;
	if (a->n_tokens == ADMIN_MAX_TOKENS)
		return sgw_err_set(err, SGW_EINVAL, "%s: more than %d tokens", file,
				   ADMIN_MAX_TOKENS);
	if (strlen(line) >= TOKEN_LINE_MAX || token_parse(line, &a->tokens[a->n_tokens]) < 0)
		return sgw_err_set(err, SGW_EINVAL,
				   "%s:%d: expected name:sha256hex[:admin|read|challenge]", file,
				   lineno);
	a->n_tokens++;
	return 0;
}

int
admin_tokens_load(struct admin *a, const char *file, struct sgw_err *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char *line, *next;
	int r, lineno = 0;

	if ((r = secret_file_read(file, TOKENS_FILE_MAX, 0, &buf, &len, err)) < 0)
		return r;
	r = -SGW_ENOMEM;
	if ((a->tokens = calloc(ADMIN_MAX_TOKENS, sizeof(*a->tokens))) == NULL)
		goto out;
	r = 0;
	for (line = (char *)buf; r == 0 && line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line[strcspn(line, "\r")] = '\0';
		r = tokens_line(a, file, ++lineno, line, err);
	}
	if (r == 0 && a->n_tokens == 0)
		r = sgw_err_set(err, SGW_EINVAL, "%s: no tokens", file);
out:
	secret_file_free(buf, len); /* wiped */
	return r;
}

/* Constant time over every entry; name == NULL matches any name. */
static const struct admin_token *
token_match(const struct admin *a, const char *name, const char *secret, size_t len)
{
	const struct admin_token *found = NULL;
	uint8_t h[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)secret, len, h);
	for (size_t i = 0; i < a->n_tokens; i++) {
		int eq = CRYPTO_memcmp(h, a->tokens[i].sha256, sizeof(h)) == 0;

		if (eq && found == NULL && (name == NULL || strcmp(name, a->tokens[i].name) == 0))
			found = &a->tokens[i];
	}
	OPENSSL_cleanse(h, sizeof(h));
	return found;
}

static int
auth_header(struct admin *a, const char *h, struct admin_principal *p)
{
	const struct admin_token *t = NULL;
	unsigned char dec[SECRET_MAX + 4];
	char *colon;
	size_t len;
	int n;

	if (strncasecmp(h, "Bearer ", 7) == 0) {
		len = strlen(h + 7);
		if (len > 0 && len <= SECRET_MAX)
			t = token_match(a, NULL, h + 7, len);
	} else if (strncasecmp(h, "Basic ", 6) == 0 && (len = strlen(h + 6)) <= SECRET_MAX &&
		   len % 4 == 0) {
		n = EVP_DecodeBlock(dec, (const unsigned char *)h + 6, (int)len);
		while (n > 0 && len > 0 && h[6 + len - 1] == '=') { /* padding decodes to zeros */
			n--;
			len--;
		}
		dec[n > 0 ? n : 0] = '\0';
		colon = n > 0 ? strchr((char *)dec, ':') : NULL;
		if (colon != NULL && colon[1] != '\0') {
			*colon = '\0';
			t = token_match(a, (char *)dec, colon + 1, strlen(colon + 1));
		}
		OPENSSL_cleanse(dec, sizeof(dec));
	}
	if (t == NULL)
		return -SGW_EAUTH;
	snprintf(p->name, sizeof(p->name), "token:%s", t->name);
	p->role = t->role;
	return 0;
}

static int
auth_cert(struct admin *a, struct evhttp_request *req, struct admin_principal *p,
	  struct admin_cert_ref *ref)
{
	struct evhttp_connection *con = evhttp_request_get_connection(req);
	struct bufferevent *bev = con != NULL ? evhttp_connection_get_bufferevent(con) : NULL;

	return admin_cert_auth(a, bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL, p, ref);
}

int
admin_authenticate(struct admin *a, struct evhttp_request *req, struct admin_principal *p,
		   struct admin_cert_ref *ref)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");

	memset(p, 0, sizeof(*p));
	memset(ref, 0, sizeof(*ref));
	if (h != NULL)
		return auth_header(a, h, p);
	return auth_cert(a, req, p, ref);
}
