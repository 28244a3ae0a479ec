/*
 * sgwload: a SCEP (RFC 8894) load generator for benchmarks.  Shared declarations
 * between the driver (sgwload.c: options, HTTP over libevent, report) and the
 * message code (sgwload_msg.c: PKCSReq building and CertRep verification on the
 * OpenSSL 3 API).  Shares no code with the gateway or with tests/tools/scepreq.
 */
#ifndef SGWLOAD_H
#define SGWLOAD_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "scepc.h"

#define SL_NONCE_LEN SCEPC_NONCE_LEN

/* Failure kinds; sl_kind_name gives the report name.  SL_OK is success. */
enum sl_kind {
	SL_OK = 0,
	SL_TIMEOUT,	 /* no answer within the timeout */
	SL_CONN,	 /* connection refused, reset or closed early */
	SL_TRANSPORT,	 /* another HTTP-level error (bad header, buffer) */
	SL_HTTP_STATUS,	 /* an HTTP status other than 200 */
	SL_BAD_REPLY,	 /* not a SignedData pkiMessage, wrong attributes */
	SL_BAD_SIG,	 /* the signature does not verify with the expected certificate */
	SL_BAD_ECHO,	 /* transactionID or recipientNonce do not match the request */
	SL_PKI_FAILURE,	 /* pkiStatus FAILURE (failInfo counted apart) */
	SL_PENDING,	 /* pkiStatus PENDING */
	SL_DECRYPT,	 /* SUCCESS whose envelope does not decrypt with the client key */
	SL_KEY_MISMATCH, /* no issued certificate carries the request's public key */
	SL_SUBJECT,	 /* the issued certificate's CN is not the requested one */
	SL_CHAIN,	 /* the issued certificate does not chain to the GetCACert CA */
	SL_CAPS_BODY,	 /* GetCACaps body differs from the first one */
	SL_NKINDS
};

const char *sl_kind_name(int kind);

struct sl_item {
	/* request, built before timing */
	EVP_PKEY *key; /* borrowed from the key pool */
	X509 *signer;  /* self-signed signer certificate */
	char cn[64];
	char txid[72];
	unsigned char nonce[SL_NONCE_LEN];
	unsigned char *der; /* the pkiMessage */
	size_t derlen;
	char *get_uri; /* GET mode: path?operation=PKIOperation&message=... */
	/* timing */
	uint64_t t_send_ns;
	double lat_ms;
	int done;
	int transport_err; /* enum sl_kind for transport errors, 0 otherwise */
	int http_status;
	unsigned char *resp;
	size_t resplen;
	/* verification */
	int kind;
	int failinfo; /* FAILURE: 0..4, else -1 */
	int reply_md_nid, reply_cipher_nid;
	char serial[96]; /* issuer hash + serial, hex, on SUCCESS */
};

struct sl_build_params {
	const char *challenge;
	const EVP_CIPHER *cipher;
	const EVP_MD *md;
	X509 *ra_enc; /* the recipient of the request's envelope */
};

struct sl_verify_params {
	X509 *ra_sig;		/* the expected CertRep signer */
	X509_STORE *trust;	/* the roots from GetCACert */
	STACK_OF(X509) * chain; /* the non-root certificates of GetCACert */
};

/* Register the SCEP attribute OIDs (before any thread starts). */
int sl_init_oids(void);
/* Build it->der for it->cn, it->txid, it->key; fills it->signer and it->nonce. */
int sl_build_pkcsreq(const struct sl_build_params *p, struct sl_item *it);
/* Classify the reply in it->resp: sets it->kind, it->failinfo, it->serial. */
void sl_verify_certrep(const struct sl_verify_params *p, struct sl_item *it);
void sl_item_clear(struct sl_item *it);

/* GetCACert: parse by content type; returns every certificate. */
STACK_OF(X509) * sl_parse_cacert(const char *ctype, const unsigned char *p, size_t n);
/* RA mode: the non-CA certificates with keyEncipherment / digitalSignature;
 * otherwise (one CA certificate, micromdm) the CA for both. */
int sl_pick_ra(STACK_OF(X509) * certs, X509 **enc, X509 **sig);
/* Roots of certs into a store, the rest into *chain (partial chain if no root). */
X509_STORE *sl_trust_store(STACK_OF(X509) * certs, STACK_OF(X509) * *chain);

#endif
