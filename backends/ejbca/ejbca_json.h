/* ejbca_json.h: the EJBCA REST JSON (docs/protocol-notes.md 1.2-1.4), built and
 * parsed with jansson.  Pure: no I/O, no logging, no globals (docs/conventions.md 10);
 * fuzzed by tests/fuzz/fuzz_ejbca_json.c.  Field names are snake_case; byte
 * arrays are standard base64 with padding. */
#ifndef SGW_EJBCA_JSON_H
#define SGW_EJBCA_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define EJBCA_MAX_BODY (1024 * 1024)
#define EJBCA_MAX_CHAIN 8

struct ejbca_enroll {
	const char *csr_pem; /* always PEM: older versions need it */
	const char *certificate_profile;
	const char *end_entity_profile;
	const char *ca_name;
	const char *username;
	const char *password; /* the one-time enrolment code */
	const char *email;    /* NULL: not sent */
	int include_chain;
};

/* body of POST v1/certificate/pkcs10enroll; *ret is malloc'd, NUL-terminated */
int ejbca_json_enroll(const struct ejbca_enroll *e, char **ret);
/* body of POST v1/certificate/{request_id}/finalize */
int ejbca_json_finalize(const char *password, char **ret);

enum ejbca_kind {
	EJBCA_CERT,    /* 201 CertificateRestResponse */
	EJBCA_PENDING, /* 202 waiting for approval: request_id */
	EJBCA_ERROR,   /* anything else: error_code/error_message when present */
	EJBCA_KIND_MAX
};

struct ejbca_der {
	uint8_t *der;
	size_t len;
};

struct ejbca_reply {
	enum ejbca_kind kind;
	long status; /* the HTTP status it was parsed for */
	struct ejbca_der cert;
	struct ejbca_der chain[EJBCA_MAX_CHAIN];
	size_t n_chain;	     /* 0 when certificate_chain was absent (early versions) */
	char serial[80];     /* serial_number as sent, or "" */
	char request_id[32]; /* digits, PENDING only; "" when the reply names none */
	char message[256];   /* error_message / info_message, printable ASCII, or "" */
};

/* Classify and parse an HTTP reply to pkcs10enroll or finalize.  An error
 * status with a body that is not JSON is still EJBCA_ERROR (0 returned);
 * -SGW_EPARSE when a 201/202 body is malformed.  ret is cleared first. */
int ejbca_json_parse_reply(long status, const uint8_t *body, size_t len, struct ejbca_reply *ret);
void ejbca_reply_clear(struct ejbca_reply *r);

/* GET v1/ca: the subject_dn of the CA called `name`; -SGW_ENOTFOUND. */
int ejbca_json_ca_dn(const uint8_t *body, size_t len, const char *name, char *dn, size_t size);
/* GET v1/ca/{dn}/getLatestCrl: the DER CRL (malloc'd). */
int ejbca_json_crl(const uint8_t *body, size_t len, struct ejbca_der *ret);
/* error_message of any error body, or "" (never fails). */
void ejbca_json_message(const uint8_t *body, size_t len, char *out, size_t size);

/* Standard base64 with padding, whitespace refused; *ret malloc'd. */
int ejbca_b64_decode(const char *s, size_t slen, uint8_t **ret, size_t *ret_len);
/* The digits of the request id in a `link` such as ".../123/finalize". */
int ejbca_link_request_id(const char *link, char *out, size_t size);

#endif
