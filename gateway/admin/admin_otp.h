/* admin_otp.h: an administrator's one-time challenge (POST
 * /api/v1/challenges/PROFILE, the NDES page), issued as a store step
 * (otp_issue()): the job keeps the request until the store answered.
 * Under admin_api.c and admin_mscep.c, over admin_reply.c. */
#ifndef SGW_ADMIN_OTP_H
#define SGW_ADMIN_OTP_H

#include <event2/http.h>

#include "admin_int.h"
#include "validator_otp.h"

struct admin_otp;
/* On the loop once the store answered: reply to j->req from j->is (rc,
 * secret, expires); the job is freed (and the secret cleansed) after it. */
typedef void (*admin_otp_fn)(struct admin_otp *j);

struct admin_otp {
	struct admin *a;
	struct evhttp_request *req;
	struct admin_principal p;
	struct otp_issue is; /* the caller sets profile, ttl, subject */
	admin_otp_fn reply;
	struct admin_otp *next; /* on a->otps until the reply */
};

/* A job for req (NULL with a 500 sent when out of memory). */
struct admin_otp *admin_otp_new(struct admin *a, struct evhttp_request *req,
				const struct admin_principal *p, admin_otp_fn reply);
/* Issue j->is with otp; a 503 (and j freed) when the step cannot start. */
void admin_otp_start(struct admin_otp *j, struct otp *otp, const char *action);
/* Shutdown, after store_drain(): the jobs the store threads dropped. */
void admin_otps_free(struct admin *a);

#endif
