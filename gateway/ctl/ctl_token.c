/* ctl_token.c: a new admin token for the tokens_file (docs/config.md,
 * admin:).  The gateway keeps only the SHA-256 of a token
 * (gateway/admin/admin_auth.c); the token itself goes to the client. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "ctl_token.h"

#define TOKEN_BYTES 24	  /* 192 bits, printed as 48 hex digits */
#define TOKEN_NAME_MAX 63 /* ADMIN_NAME_MAX - 1 in gateway/admin/admin_int.h */

static void
hex(const unsigned char *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
}

int
ctl_token_new(const char *name, const char *role)
{
	static const char name_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					 "0123456789._@-";
	unsigned char raw[TOKEN_BYTES], md[SHA256_DIGEST_LENGTH];
	char token[2 * TOKEN_BYTES + 1], digest[2 * SHA256_DIGEST_LENGTH + 1];

	if (name == NULL || name[0] == '\0' || strlen(name) > TOKEN_NAME_MAX ||
	    strspn(name, name_chars) != strlen(name)) {
		fprintf(stderr, "scepgwctl: token name: 1..%d of A-Z a-z 0-9 . _ @ -\n",
			TOKEN_NAME_MAX);
		return 2;
	}
	if (role != NULL && strcmp(role, "admin") != 0 && strcmp(role, "read") != 0 &&
	    strcmp(role, "challenge") != 0) {
		fprintf(stderr, "scepgwctl: --role: admin, read or challenge, not '%s'\n", role);
		return 2;
	}
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		fprintf(stderr, "scepgwctl: no random bytes for a token\n");
		return 1;
	}
	hex(raw, sizeof(raw), token);
	SHA256((const unsigned char *)token, strlen(token), md);
	hex(md, sizeof(md), digest);
	printf("%s\n%s:%s%s%s\n", token, name, digest,
	       role != NULL && strcmp(role, "admin") != 0 ? ":" : "",
	       role != NULL && strcmp(role, "admin") != 0 ? role : "");
	fprintf(stderr,
		"scepgwctl: line 1 is the token: give it to the client (as its token file or "
		"SCEPGWCTL_TOKEN); it is shown once.\n"
		"scepgwctl: line 2 goes into the gateway's tokens_file; then reload or restart "
		"scepgw.\n");
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(token, sizeof(token));
	return 0;
}
