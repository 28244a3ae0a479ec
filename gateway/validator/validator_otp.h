/* validator_otp.h: one-time challenges (NDES style): random, shown once,
 * stored as SHA-256 only, single use, expiring, optionally bound to a subject. */
#ifndef SGW_VALIDATOR_OTP_H
#define SGW_VALIDATOR_OTP_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "store.h"

#define OTP_SECRET_LEN 32 /* uppercase hex characters (16 random bytes) */

/* Issue a challenge for `profile` (whose challenge type is otp) valid for
 * ttl seconds (0: the profile's default), bound to `subject` ("" or NULL:
 * any).  The secret is written to ret_secret (at least OTP_SECRET_LEN + 1
 * bytes) and nowhere else.  -SGW_EDENIED when max_active is reached. */
int otp_issue(struct store *s, const char *profile, const struct cfg_challenge *cfg, int ttl,
	      const char *subject, const char *issued_by, char *ret_secret, size_t cap,
	      int64_t *ret_expires);

#endif
