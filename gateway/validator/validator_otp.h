/* validator_otp.h: one-time challenges (NDES style): random, shown once,
 * stored as SHA-256 only, single use, expiring, optionally bound to a subject.
 * A profile issues them when its validator is the otp one:
 * validator_as_otp(profile->validator) != NULL (validator.h). */
#ifndef SGW_VALIDATOR_OTP_H
#define SGW_VALIDATOR_OTP_H

#include <stddef.h>
#include <stdint.h>

#include "validator.h"

#define OTP_SECRET_LEN 32 /* uppercase hex characters (16 random bytes) */

/* Issuing one challenge: the caller embeds it in its own job and keeps it
 * until the callback. */
struct otp_issue;
typedef void (*otp_issued_fn)(void *arg, struct otp_issue *is);
struct otp_issue {
	/* set by the caller */
	char profile[64];
	int ttl;	   /* seconds; 0: the configured ttl */
	char subject[256]; /* bound to it; "": any */
	char issued_by[64];
	/* for the callback */
	int rc;				 /* 0, -SGW_EDENIED (max_active reached) or -SGW_E* */
	char secret[OTP_SECRET_LEN + 1]; /* when rc == 0; the caller cleanses it */
	int64_t expires;
	int default_ttl; /* the configured ttl (otp_ttl()) */
	/* internal: copied from the otp, so that the step reads nothing of the
	 * profile set (a reload may free it meanwhile) */
	struct store *store;
	int max_active;
	otp_issued_fn cb;
	void *arg;
};
/* Issue a challenge for is->profile, random, valid for is->ttl seconds,
 * stored as its SHA-256 in the store the validator was started with, as a
 * store step (store_exec(): on a store thread when the store may block).
 * 0 when cb(arg, is) follows on the loop (perhaps before this returns);
 * -SGW_EINVAL before start, or < 0 when the store threads stopped: no
 * callback.  The secret is in is->secret and nowhere else. */
int otp_issue(struct otp *o, struct otp_issue *is, otp_issued_fn cb, void *arg);
/* The stored form of a challenge (its SHA-256), which store_txn_accept uses
 * in the commit that accepts the request: the check does not use it. */
void otp_challenge_sha256(const char *challenge, uint8_t ret[32]);
/* The configured lifetime of an issued challenge, seconds. */
int otp_ttl(const struct otp *o);

#endif
