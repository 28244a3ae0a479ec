/* scepreq_cli.h: the command-line side of scepreq shared by scepreq.c
 * (options, HTTP, enroll) and scepreq_ops.c (getcert, getcrl,
 * getnextcacert). */
#ifndef SCEPREQ_CLI_H
#define SCEPREQ_CLI_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define MAX_SANS 32

struct opts {
	const char *url, *challenge, *cn, *out, *out_key, *key_file, *txid, *save_req, *send_req;
	const char *csr_file; /* --csr: send this CSR (its key is --key) */
	const char *ra_chain, *expect, *expect_failinfo, *message, *tls_ca;
	const char *sans[MAX_SANS];
	int nsans, use_get, key_bits, parallel, challenge_utf8, msg_type, mirror_check;
	long truncate, timeout;
	int set_signing_time, corrupt_sig, certpoll, poll_max, poll_interval, oaep;
	const char *serial, *signer_cert, *signer_key, *poll_cn, *encrypt_to;
	long signing_time_offset;
	EVP_CIPHER *cipher;
	EVP_MD *md;
};

struct http_resp {
	long code;
	char ctype[128];
	char retry_after[32]; /* the Retry-After header, or "" */
	unsigned char *body;
	size_t len;
};

void http_resp_clear(struct http_resp *r);
int http_get_op(const struct opts *o, const char *op, struct http_resp *r, const char *tag);
int ctype_base_is(const char *ctype, const char *want);
int read_file(const char *path, unsigned char **data, size_t *len);
int write_file(const char *path, const void *data, size_t len);
int write_certs_pem(const char *path, STACK_OF(X509) * certs);
STACK_OF(X509) * read_certs_pem(const char *path);
STACK_OF(X509) * fetch_cacert(const struct opts *o, char *ctype, size_t ctlen);
int send_pkiop(const struct opts *o, const unsigned char *der, size_t len, struct http_resp *r,
	       const char *tag);
EVP_PKEY *load_key(const char *path);
void serial_hex(X509 *x, char *out, size_t n);
X509 *read_cert1(const char *path);

/* scepreq_ops.c */
int cmd_getcert(const struct opts *o, int crl);
int cmd_getnextcacert(const struct opts *o);

#endif
