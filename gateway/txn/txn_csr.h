/* txn_csr.h: a request's CSR as the store keeps it (struct store_csr in
 * store_record.h): sealed to the profile's RA encryption certificate, its
 * SHA-256, and a summary for the admin API; and the only way back to the
 * CSR of a stored transaction (approval, resubmission), opened with the RA
 * key on a worker (txn_csr.c).  Nothing else sees the sealed form. */
#ifndef SGW_TXN_CSR_H
#define SGW_TXN_CSR_H

#include <stddef.h>
#include <stdint.h>

#include "csr.h"
#include "gw.h"
#include "profile.h"
#include "store.h"

/* Fill ret (zeroed first; the caller frees it with the record) from a parsed
 * CSR: the DER sealed (CMS EnvelopedData, AES-256-CBC) to id->enc_cert, the
 * SHA-256 of the request's identity (subject, public key, requested
 * extensions but a subjectKeyIdentifier: a CSR generated again for the same
 * request has the same; not the challenge), the key and SAN summary.  A public-key operation: the
 * decode job (txn_pkiop.c) calls it on a worker. */
int txn_csr_seal(const struct ra_identity *id, const struct csr *c, struct store_csr *ret,
		 struct sgw_err *err);

/* 1 when t was recorded for the same request (txn_csr_seal), else 0. */
int txn_csr_same(const struct store_txn *t, const struct store_csr *c);

/* The opened CSR, parsed on the worker: rc 0 and the CSR (the callback owns
 * it; csr_free), or rc < 0 and NULL (the sealed copy is gone, unreadable
 * with this RA key, or not the recorded request: -SGW_EAUTH). */
typedef void (*txn_csr_cb)(void *arg, int rc, struct csr *csr);

struct txn_csr_job; /* an opening in progress */

/* Open t's sealed CSR with prof's RA key on gw's worker pool; cb runs on the
 * loop, unless cancelled before.  < 0 when the job could not start (cb is
 * not called). */
int txn_csr_open(struct gw *gw, const struct profile *prof, const struct store_txn *t,
		 txn_csr_cb cb, void *arg, struct txn_csr_job **ret_job);
/* cb will not be called (its arg may go); the job frees itself (or here,
 * when the worker pool dropped it at shutdown).  Every job not answered is
 * cancelled by its owner. */
void txn_csr_cancel(struct txn_csr_job *job);

/* At start-up, once after an upgrade, before the store's group commit
 * starts: the CSRs an older version stored in clear are sealed (requests in
 * progress) or dropped (final ones, and those of a profile no longer
 * configured), and the file rewritten (store_txn_legacy_csr). */
int txn_csr_migrate(struct store *s, const struct profile_set *ps, struct sgw_err *err);

#endif
