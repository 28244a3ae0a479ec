/* scep_fixture.h: what the SCEP codec's tests share (scep_msg.c,
 * scep_envelope.c, scep_certrep.c here; defined in scep_fixture.c): the RA,
 * client and CA keys and certificates made once per binary, the RA key in a
 * keyop, and pkiMessages built with the OpenSSL API as a client would.
 * With SGW_WRITE_SEEDS=DIR set, the messages built are also written to
 * DIR/scep_msg and DIR/envelope (fuzz seeds). */
#ifndef SGW_TEST_SCEP_FIXTURE_H
#define SGW_TEST_SCEP_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "keyop.h"
#include "scep_msg.h"

struct fx {
	EVP_PKEY *ra_pkey, *cl_pkey, *other_pkey;
	X509 *ra, *cl, *other, *issued;
	struct keyop *kop;
	const struct keyop_key *ra_key;
};

/* The content of every envelope built here (one copy per test binary). */
static const uint8_t payload[] = "messageData: a PKCS#10 would be here";

struct req {
	const char *type; /* messageType text, NULL to omit */
	const char *txid; /* NULL to omit */
	int nonce_len;	  /* 0 to omit */
	const EVP_MD *md;
	const EVP_CIPHER *cipher;
	X509 *extra_recip; /* a second RecipientInfo (first in order) */
	int tamper;	   /* flip a signature bit */
	int nocerts;	   /* leave the signer certificate out */
	uint8_t nonce[SCEP_NONCE_LEN];
};

/* cmocka group setup and teardown: *state is a struct fx. */
int group_setup(void **state);
int group_teardown(void **state);

/* Writes der to $SGW_WRITE_SEEDS/sub/name when that is set. */
void save_seed(const char *sub, const char *name, const uint8_t *der, size_t len);
/* A malloc'd copy of a memory BIO's contents. */
uint8_t *take_bio(BIO *b, size_t *len);
/* payload enveloped for r1 (and r2 when not NULL). */
uint8_t *envelope(X509 *r1, X509 *r2, const EVP_CIPHER *cipher, size_t *len);
/* A pkiMessage as q describes, signed with the client key; q->nonce is set. */
uint8_t *build_req(struct fx *f, struct req *q, size_t *len);
/* A PKCSReq: SHA-256, AES-128, a transactionID and a senderNonce. */
struct req req_default(void);
/* Decode, expect 0 and an outcome. */
struct scep_msg *decode_ok(const uint8_t *der, size_t len, int allow_md5, enum scep_outcome want);
/* Decode, expect < 0, no message and an error text. */
void decode_fails(const uint8_t *der, size_t len);

#endif
