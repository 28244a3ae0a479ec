/* txn_result.h: applying a backend result to a stored transaction
 * (txn_result.c): the only code that moves a transaction after submission.
 * Used by the request in flight (txn_enroll.c, txn_poll.c) and by the
 * background submission of approved ones (txn_admin.c). */
#ifndef SGW_TXN_RESULT_H
#define SGW_TXN_RESULT_H

#include <time.h>

#include "backend.h"
#include "store.h"

/* Apply a backend result to transaction t and commit it.  ISSUED stores the
 * certificate and the state in one commit; -SGW_EEXIST on a serial collision
 * (nothing changed, the caller submits again).  PENDING records the backend
 * handle, REJECTED / FAIL_* the reason.  `issuer` is the RFC 2253 issuer
 * name; `now` (txn_now()) becomes t's updated time. */
int txn_apply_result(struct store *s, const char *issuer, struct store_txn *t,
		     const struct backend_result *res, int64_t now);

/* -v (debug): the backend's answer to txid and how long it took since t0
 * (when it was asked; CLOCK_MONOTONIC). */
void txn_log_backend(const char *txid, const char *profile, const char *backend,
		     const struct backend_result *res, const struct timespec *t0);

/* Serial of a certificate as stored: lowercase hex, no leading zeros. */
int txn_cert_serial(X509 *x, char *buf, size_t size);

#endif
