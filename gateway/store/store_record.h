/* store_record.h: the records the store keeps (transactions and
 * certificates) and the helpers every layer of the store and its callers
 * share: state names and freeing what a record owns.  store.h includes it;
 * the store's implementations include it without the store's entry points. */
#ifndef SGW_STORE_RECORD_H
#define SGW_STORE_RECORD_H

#include <stddef.h>
#include <stdint.h>

enum txn_state {
	TXN_RECEIVED = 0,
	TXN_AUTHORIZED,
	TXN_AWAITING_APPROVAL,
	TXN_SUBMITTED,
	TXN_BACKEND_PENDING,
	TXN_ISSUED,
	TXN_REJECTED,
	TXN_FAILED,
	TXN_EXPIRED, /* awaited approval longer than the RA profile's pending_ttl */
	TXN_STATE_MAX
};
const char *txn_state_name(int state);
/* ISSUED, REJECTED, FAILED, EXPIRED: nothing will be done with the request
 * any more, so the store drops its sealed CSR. */
#define TXN_STATE_FINAL(s) ((s) >= TXN_ISSUED && (s) < TXN_STATE_MAX)

/* What the store keeps of a request's CSR.  The CSR itself (its
 * challengePassword included) only sealed: CMS EnvelopedData (AES-256) to the
 * profile's RA encryption certificate, opened by txn/txn_csr.c alone, and
 * dropped once the transaction is final.  In clear: the SHA-256 of the
 * request's identity (txn/txn_csr.h: a re-sent request is answered from the
 * stored transaction only when it is the same request) and a summary for
 * the admin API (key and SANs, JSON), never the challenge. */
#define STORE_CSR_INFO_MAX 2048
struct store_csr {
	uint8_t *sealed; /* owned by the record; NULL once final */
	size_t sealed_len;
	uint8_t sha256[32];
	int hashed; /* sha256 is set (0 for rows that never had a CSR) */
	char info[STORE_CSR_INFO_MAX];
};

struct store_txn {
	int64_t id; /* store-assigned */
	char profile[64];
	char transaction_id[129];
	uint8_t signer_key_sha256[32];
	int state;    /* enum txn_state */
	int msg_type; /* PKCSReq / RenewalReq */
	char subject[512];
	char peer[64];
	char reason[256];	  /* why rejected/failed; shown to the device */
	char cert_serial[80];	  /* hex serial once ISSUED */
	char backend_handle[256]; /* backend's id while pending */
	int64_t created;	  /* unix seconds */
	int64_t updated;
	char instance[64]; /* the gateway instance (cfg `instance:`) that last wrote the row */
	struct store_csr csr;
};

struct store_cert {
	char serial[80];  /* lowercase hex, no leading zeros beyond one */
	char issuer[512]; /* RFC 2253 */
	char subject[512];
	int64_t not_before;
	int64_t not_after;
	int64_t txn_id; /* 0 if none */
	int revoked;	/* 0/1 */
	int64_t revoked_at;
	int revoke_reason;
	char superseded_by[80]; /* the serial of its renewal (txn_supersede.c), or "" */
	uint8_t *der;		/* owned by the record */
	size_t der_len;
};

/* Free what a found record owns (csr.sealed / der); the struct itself is the caller's. */
void store_txn_clear(struct store_txn *t);
void store_cert_clear(struct store_cert *c);

#endif
