/* admin_otp.c: an administrator's one-time challenge as a store step
 * (admin_otp.h).  The job copies what the step needs (otp_issue() copies
 * the validator's settings), so a reload freeing the profile set meanwhile
 * frees nothing the step reads. */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/crypto.h>

#include "admin_otp.h"
#include "admin_reply.h"

static void
otp_job_free(struct admin_otp *j)
{
	struct admin_otp **pp = &j->a->otps;

	while (*pp != NULL && *pp != j)
		pp = &(*pp)->next;
	if (*pp == j)
		*pp = j->next;
	OPENSSL_cleanse(j->is.secret, sizeof(j->is.secret));
	free(j);
}

struct admin_otp *
admin_otp_new(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
	      admin_otp_fn reply)
{
	struct admin_otp *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		admin_reply_error(a, req, p, "challenges.issue", 500, "out of memory");
		return NULL;
	}
	*j = (struct admin_otp){.a = a, .req = req, .p = *p, .reply = reply, .next = a->otps};
	snprintf(j->is.issued_by, sizeof(j->is.issued_by), "%.63s", p->name);
	a->otps = j;
	return j;
}

static void
issued(void *arg, struct otp_issue *is)
{
	struct admin_otp *j = arg;

	(void)is;
	j->reply(j);
	otp_job_free(j);
}

void
admin_otp_start(struct admin_otp *j, struct otp *otp, const char *action)
{
	if (otp_issue(otp, &j->is, issued, j) < 0) {
		admin_reply_error(j->a, j->req, &j->p, action, 503, "store threads stopped");
		otp_job_free(j);
	}
}

void
admin_otps_free(struct admin *a)
{
	while (a->otps != NULL)
		otp_job_free(a->otps);
}
