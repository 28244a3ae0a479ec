/*
 * scepreq: an independent SCEP (RFC 8894) test client.  Shared declarations
 * between the command-line/HTTP part (scepreq.c) and the message codec
 * (scepreq_msg.c).  Built only on the OpenSSL 3 API: no gateway code.
 */
#ifndef SCEPREQ_H
#define SCEPREQ_H

#include <stddef.h>

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "scepc.h"

#define SR_NONCE_LEN SCEPC_NONCE_LEN

enum sr_status {
	SR_SUCCESS = 0,
	SR_FAILURE = 2,
	SR_PENDING = 3,
};

extern int sr_verbose;

/* Messages go to stderr as "scepreq: TAG...".  sr_ossl_err also drains the OpenSSL error queue. */
void sr_log(const char *tag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sr_ossl_err(const char *tag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Register the SCEP attribute OIDs; call once before starting threads. */
int sr_init_oids(void);

const char *sr_failinfo_name(int failinfo);
const char *sr_nid_name(int nid);

/* GetCACert: parse the body by its content type; returns all certificates. */
STACK_OF(X509) *
    sr_parse_cacert(const char *ctype, const unsigned char *p, size_t n, const char *tag);
/* Choose the RA encryption and signing certificates (no new references). */
int sr_pick_ra(STACK_OF(X509) * certs, X509 **enc, X509 **sig);
/* The CA in the set that issued no other certificate of the set (the issuing CA). */
X509 *sr_issuing_ca(STACK_OF(X509) * certs);
void sr_describe_cert(const char *tag, const char *what, X509 *x);

struct sr_req_params {
	const char *cn;
	const char *challenge; /* NULL: no challengePassword attribute */
	int challenge_utf8;    /* 1 UTF8String, 0 PrintableString, -1 auto */
	const char *const *sans;
	int nsans;
	const EVP_CIPHER *cipher;
	const EVP_MD *md;
	const char *txid; /* NULL: hex SHA-256 of the public key */
	int msg_type;
	int set_signing_time;
	long signing_time_offset; /* seconds from now, when set_signing_time */
	int corrupt_sig;
	int oaep;		      /* RSAES-OAEP key transport */
	const char *poll_cn;	      /* CertPoll: this subject CN instead of the signer's */
	const unsigned char *csr_der; /* a given CSR (--csr) instead of one built here */
	size_t csr_len;
};

struct sr_txn {
	EVP_PKEY *key;	    /* may be NULL for a replayed request without --key */
	EVP_PKEY *sign_key; /* the signer's key when it is not `key` (renewal); owned */
	int want;	    /* SR_WANT_*: what a SUCCESS must carry */
	X509 *signer;	    /* preset (renewal, GetCert): not replaced by a self-signed one */
	char txid[256];
	unsigned char nonce[SR_NONCE_LEN];
	int cipher_nid;
	int md_nid;
	unsigned char *der;
	size_t derlen;
};

enum { SR_WANT_OWN_CERT = 0, SR_WANT_ANY_CERT, SR_WANT_CRL };

/* GetCert (p->msg_type 21) or GetCRL (22): messageData IssuerAndSerialNumber(issuer,
 * serial_hex), signed by t->signer with t->key (both preset by the caller). */
int sr_build_ias_request(const struct sr_req_params *p, X509 *ra_enc, const X509_NAME *issuer,
			 const char *serial_hex, struct sr_txn *t, const char *tag);

int sr_build_pkcsreq(const struct sr_req_params *p, X509 *ra_enc, struct sr_txn *t,
		     const char *tag);
/* CertPoll (GetCertInitial, p->msg_type 20) for orig: same key, signer and transactionID,
 * new senderNonce, messageData IssuerAndSubject(ca subject, signer subject). */
int sr_build_certpoll(const struct sr_txn *orig, X509 *ca, const struct sr_req_params *p,
		      X509 *ra_enc, struct sr_txn *t, const char *tag);
/* Load an existing pkiMessage (replay): recover transactionID, senderNonce, signer, algorithms. */
int sr_load_request(const unsigned char *der, size_t len, struct sr_txn *t, const char *tag);
void sr_txn_clear(struct sr_txn *t);

struct sr_reply {
	int status;
	int failinfo; /* -1 if absent */
	char failtext[256];
	int md_nid;
	int cipher_nid;		   /* SUCCESS only */
	const char *recipient;	   /* SUCCESS: "ktri" (key transport) or "kari" (ECDH) */
	X509 *cert;		   /* SUCCESS: the issued certificate (our key) */
	STACK_OF(X509) * certs;	   /* SUCCESS: every certificate in the degenerate SignedData */
	STACK_OF(X509_CRL) * crls; /* SUCCESS: every CRL in it (GetCRL) */
	int content_present;
};

/*
 * Parse and verify a CertRep: signature by exactly ra_sig, messageType 3, transactionID,
 * recipientNonce, senderNonce, pkiStatus; on SUCCESS decrypt with t->key.
 * Returns 0 with r filled in, -1 on any protocol or verification error.
 */
int sr_parse_certrep(const unsigned char *p, size_t n, X509 *ra_sig, const struct sr_txn *t,
		     struct sr_reply *r, const char *tag);
void sr_reply_clear(struct sr_reply *r);

/* Verify that cert chains to the CA certificates from GetCACert. */
int sr_verify_issued(X509 *cert, STACK_OF(X509) * cacerts, STACK_OF(X509) * extra, const char *tag);

#endif
