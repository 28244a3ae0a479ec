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

/* Issue a challenge for `profile` valid for ttl seconds (0: the configured
 * ttl), bound to `subject` ("" or NULL: any), in the store the validator was
 * started with.  The secret is written to ret_secret (at least
 * OTP_SECRET_LEN + 1 bytes) and nowhere else.  -SGW_EDENIED when max_active
 * is reached; -SGW_EINVAL before start. */
int otp_issue(struct otp *o, const char *profile, int ttl, const char *subject,
	      const char *issued_by, char *ret_secret, size_t cap, int64_t *ret_expires);
/* The stored form of a challenge (its SHA-256), which store_txn_accept uses
 * in the commit that accepts the request: the check does not use it. */
void otp_challenge_sha256(const char *challenge, uint8_t ret[32]);
/* The configured lifetime of an issued challenge, seconds. */
int otp_ttl(const struct otp *o);

#endif
