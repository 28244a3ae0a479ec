/* acme_json.h: the ACME objects the backend reads (RFC 8555 7.1), parsed
 * from bytes into typed structs.  Pure (jansson, no I/O, no logging) and
 * fuzzed (tests/fuzz/fuzz_acme_json.c).  Unknown members are ignored; the
 * members used are type- and length-checked. */
#ifndef SGW_ACME_JSON_H
#define SGW_ACME_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#define ACME_MAX_JSON (256 * 1024)
#define ACME_MAX_URL 1024
#define ACME_MAX_AUTHZ 64
#define ACME_MAX_CHALL 16
#define ACME_PROBLEM_PREFIX "urn:ietf:params:acme:error:"

enum acme_status {
	ACME_ST_UNKNOWN,
	ACME_ST_PENDING,
	ACME_ST_READY,
	ACME_ST_PROCESSING,
	ACME_ST_VALID,
	ACME_ST_INVALID,
	ACME_ST_DEACTIVATED,
	ACME_ST_EXPIRED,
	ACME_ST_REVOKED,
	ACME_ST_MAX
};

struct acme_problem {
	char type[128];	  /* the full URN, or "" */
	char detail[256]; /* may be "" */
	int status;	  /* HTTP status in the document, 0 if absent */
};

struct acme_dir {
	char *new_nonce, *new_account, *new_order, *revoke_cert, *key_change;
	int eab_required; /* meta.externalAccountRequired */
};

struct acme_order {
	enum acme_status status;
	char *authz[ACME_MAX_AUTHZ];
	size_t n_authz;
	char *finalize;
	char *certificate; /* NULL until valid */
	int has_error;
	struct acme_problem error;
};

struct acme_chall {
	char *type, *url, *token;
	enum acme_status status;
	int has_error; /* an invalid challenge says why (RFC 8555 8) */
	struct acme_problem error;
};

struct acme_authz {
	enum acme_status status;
	char *id_type, *id_value;
	int wildcard;
	struct acme_chall chall[ACME_MAX_CHALL];
	size_t n_chall;
};

struct acme_account {
	enum acme_status status;
};

enum acme_status acme_status_parse(const char *s);
const char *acme_status_name(enum acme_status st);

/* Each returns 0 or -SGW_EPARSE / -SGW_ENOMEM; on failure `out` is cleared. */
int acme_dir_parse(const uint8_t *buf, size_t len, struct acme_dir *out);
int acme_problem_parse(const uint8_t *buf, size_t len, struct acme_problem *out);
int acme_order_parse(const uint8_t *buf, size_t len, struct acme_order *out);
int acme_authz_parse(const uint8_t *buf, size_t len, struct acme_authz *out);
int acme_account_parse(const uint8_t *buf, size_t len, struct acme_account *out);
void acme_dir_clear(struct acme_dir *d);
void acme_order_clear(struct acme_order *o);
void acme_authz_clear(struct acme_authz *a);

/* The problem type without "urn:ietf:params:acme:error:" ("badNonce"). */
const char *acme_problem_short(const struct acme_problem *p);

/* Retry-After (RFC 9110 10.2.3): delta-seconds or an HTTP-date; seconds from
 * `now`, clamped to [0, max].  -SGW_EPARSE when neither. */
int acme_retry_after(const char *value, time_t now, int max, int *ret_seconds);

/* application/pem-certificate-chain: the leaf and the rest (issuer first).
 * At most 16 certificates. */
int acme_chain_parse(const uint8_t *buf, size_t len, X509 **ret_cert, STACK_OF(X509) * *ret_chain);

#endif
