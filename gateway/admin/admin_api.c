/* admin_api.c: the JSON routes under /api/v1/ (docs/architecture.md, admin API): transactions
 * (list, show, approve, reject), one-time challenges, certificates (search,
 * revoke through the backend), the profiles served (read-only). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/keyvalq_struct.h>

#include "admin_api.h"
#include "admin_otp.h"
#include "admin_read.h"
#include "admin_reply.h"
#include "log.h"
#include "revoke.h"
#include "validator_otp.h"

struct admin_revoke_job {
	struct admin *a;
	struct evhttp_request *req;
	struct admin_principal p;
	struct revoke_op op;
	struct profile_set *ps; /* op.backend_of_ctx: the generation it started with, a reference */
	struct admin_revoke_job *next;
};

/* RFC 5280 CRLReason names, by code (7 is unused). */
static const char *const crl_reasons[] = {
    "unspecified",   "keyCompromise",	     "cACompromise",	"affiliationChanged",
    "superseded",    "cessationOfOperation", "certificateHold", NULL,
    "removeFromCRL", "privilegeWithdrawn",   "aACompromise",
};

static void
txn_one(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
	const char *idstr, const char *verb)
{
	char action[64];
	int64_t id;

	snprintf(action, sizeof(action), "transactions.%s", verb != NULL ? verb : "show");
	if (admin_id_parse(idstr, &id) < 0) {
		admin_reply_error(a, req, p, action, 400, "bad transaction id");
		return;
	}
	if (verb == NULL) {
		admin_read_txn(a, req, p, id);
		return;
	}
	if (strcmp(verb, "approve") == 0) {
		admin_read_decide(a, req, p, id, verb, NULL);
	} else {
		json_t *in = admin_body_json(req);

		admin_read_decide(a, req, p, id, verb,
				  json_string_value(json_object_get(in, "reason")));
		json_decref(in);
	}
}

static void
transactions(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
	     char **segs, int n, const struct evkeyvalq *q)
{
	int get = evhttp_request_get_command(req) == EVHTTP_REQ_GET;

	if ((get && !(p->role & ADMIN_ROLE_READ)) || (!get && p->role != ADMIN_ROLE_ADMIN)) {
		admin_reply_error(a, req, p, "transactions", 403, "not allowed");
		return;
	}
	if (n == 1 && get)
		admin_read_txns(a, req, p, q);
	else if (n == 2 && get)
		txn_one(a, req, p, segs[1], NULL);
	else if (n == 3 && !get && (!strcmp(segs[2], "approve") || !strcmp(segs[2], "reject")))
		txn_one(a, req, p, segs[1], segs[2]);
	else
		admin_reply_error(a, req, p, "transactions", 404, "no such route");
}

/* ---- challenges ---------------------------------------------------------- */

#define TTL_MAX (30 * 86400)

/* "3600", "90m", "1h", "2d" or a JSON integer, 1 s..30 d: the seconds, 0
 * when absent (the profile's default), or -1 with *why set.  The number is
 * bounded before it is multiplied by its unit. */
static int
ttl_parse(const json_t *v, const char **why)
{
	const char *s = json_string_value(v);
	long long n, unit;
	char *end;

	*why = "ttl: 1s..30d, as seconds or a number with s, m, h or d";
	if (v == NULL)
		return 0;
	if (json_is_integer(v))
		return json_integer_value(v) > 0 && json_integer_value(v) <= TTL_MAX
			   ? (int)json_integer_value(v)
			   : -1;
	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	unit = *end == 'd' ? 86400 : *end == 'h' ? 3600 : *end == 'm' ? 60 : 1;
	if (errno != 0 || (*end != '\0' && (strchr("smhd", *end) == NULL || end[1] != '\0')) ||
	    n <= 0 || n > TTL_MAX / unit)
		return -1;
	return (int)(n * unit);
}

static void
challenge_issued(struct admin_otp *j)
{
	const struct otp_issue *is = &j->is;
	char what[400];

	if (is->rc < 0) {
		admin_reply_error(j->a, j->req, &j->p, "challenges.issue",
				  is->rc == -SGW_EDENIED ? 429 : 500, "%s",
				  is->rc == -SGW_EDENIED ? "too many active challenges"
							 : "cannot issue a challenge");
		return;
	}
	snprintf(what, sizeof(what), "profile=%s subject=%s expires=%lld", is->profile,
		 is->subject[0] ? is->subject : "-", (long long)is->expires);
	admin_audit(&j->p, "challenges.issue", 201, what); /* never the secret */
	admin_reply_json(j->a, j->req, &j->p, "challenges.issue", 201,
			 json_pack("{s:s,s:s,s:I,s:s}", "challenge", is->secret, "profile",
				   is->profile, "expires", (json_int_t)is->expires, "subject",
				   is->subject));
}

static void
challenge_issue(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
		const char *profile)
{
	struct profile *prof = profiles_find(a->gw->profiles, profile);
	struct otp *otp = prof != NULL ? validator_as_otp(prof->validator) : NULL;
	json_t *in = admin_body_json(req);
	const char *subject = json_string_value(json_object_get(in, "subject"));
	const char *why;
	int ttl = ttl_parse(json_object_get(in, "ttl"), &why);
	struct admin_otp *j;

	if (!(p->role & ADMIN_ROLE_CHALLENGE)) {
		admin_reply_error(a, req, p, "challenges.issue", 403, "not allowed");
	} else if (otp == NULL) {
		admin_reply_error(a, req, p, "challenges.issue", prof == NULL ? 404 : 409,
				  "profile %.64s %s", profile,
				  prof == NULL ? "does not exist" : "has no otp challenge");
	} else if (ttl < 0) {
		admin_reply_error(a, req, p, "challenges.issue", 400, "%s", why);
	} else if (subject != NULL && strlen(subject) >= 256) {
		admin_reply_error(a, req, p, "challenges.issue", 400, "subject: 255 bytes at most");
	} else if ((j = admin_otp_new(a, req, p, challenge_issued)) != NULL) {
		snprintf(j->is.profile, sizeof(j->is.profile), "%s", profile);
		snprintf(j->is.subject, sizeof(j->is.subject), "%s",
			 subject != NULL ? subject : "");
		j->is.ttl = ttl;
		admin_otp_start(j, otp, "challenges.issue");
	}
	json_decref(in);
}

/* ---- certificates -------------------------------------------------------- */

static void
revoke_job_free(struct admin_revoke_job *j)
{
	struct admin_revoke_job **pp = &j->a->revokes;

	while (*pp != NULL && *pp != j)
		pp = &(*pp)->next;
	if (*pp == j)
		*pp = j->next;
	profiles_unref(j->ps);
	free(j);
}

/* revoke_start()'s refusals, as this API has always worded them. */
static void
revoke_refused(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
	       const char *serial, int r)
{
	if (r == -SGW_EUNAVAIL)
		admin_reply_error(a, req, p, "certificates.revoke", 503, "serial %.80s: %s", serial,
				  "store unavailable");
	else if (r == -SGW_ENOTFOUND || r == -SGW_EIO)
		admin_reply_error(a, req, p, "certificates.revoke", r == -SGW_ENOTFOUND ? 404 : 409,
				  "serial %.80s: %s", serial,
				  r == -SGW_ENOTFOUND ? "not found" : "ambiguous or store failure");
	else if (r == -SGW_EEXIST || r == -SGW_EINVAL || r == -SGW_ENOMEM)
		admin_reply_error(a, req, p, "certificates.revoke", 409, "serial %s: %s", serial,
				  r == -SGW_EEXIST ? "already revoked"
						   : "no backend for its issuer");
	else
		admin_reply_error(a, req, p, "certificates.revoke", 409,
				  "the backend cannot revoke %s", serial);
}

static void
revoke_done(void *arg, struct revoke_op *op)
{
	struct admin_revoke_job *j = arg;
	struct admin *a = j->a;
	char what[200];

	snprintf(what, sizeof(what), "serial=%s reason=%d", op->serial, op->reason);
	if (op->rc < 0) {
		revoke_refused(a, j->req, &j->p, op->serial, op->rc);
	} else if (op->backend_rc < 0 && op->backend_rc != -SGW_EEXIST) {
		/* the CA's state waits for the store (unavailable): try again later */
		admin_reply_error(a, j->req, &j->p, "certificates.revoke",
				  op->backend_rc == -SGW_EUNAVAIL ? 503 : 502, "%s: %s", what,
				  op->backend_why[0] ? op->backend_why : "store failure");
	} else if (op->store_rc < 0 && op->store_rc != -SGW_EEXIST) {
		admin_reply_error(a, j->req, &j->p, "certificates.revoke",
				  op->store_rc == -SGW_EUNAVAIL ? 503 : 502, "%s: %s", what,
				  "store failure");
	} else {
		admin_audit(&j->p, "certificates.revoke", 200, what);
		admin_reply_json(a, j->req, &j->p, "certificates.revoke", 200,
				 json_pack("{s:s,s:b,s:s}", "serial", op->serial, "revoked", 1,
					   "reason", crl_reasons[op->reason]));
	}
	revoke_job_free(j);
}

static int
reason_parse(const json_t *v)
{
	const char *s = json_string_value(v);

	if (v == NULL)
		return 0;
	for (int i = 0; s != NULL && i < (int)(sizeof(crl_reasons) / sizeof(*crl_reasons)); i++)
		if (crl_reasons[i] != NULL && strcmp(crl_reasons[i], s) == 0)
			return i;
	return -1;
}

static void
cert_revoke(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
	    const char *serial_in)
{
	char serial[80];
	json_t *in = admin_body_json(req);
	int reason = reason_parse(json_object_get(in, "reason"));
	struct admin_revoke_job *j;

	json_decref(in);
	admin_serial_norm(serial_in, serial, sizeof(serial));
	if (reason < 0) {
		admin_reply_error(a, req, p, "certificates.revoke", 400, "unknown CRL reason");
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		revoke_refused(a, req, p, serial, -SGW_ENOMEM);
		return;
	}
	*j = (struct admin_revoke_job){
	    .a = a, .req = req, .p = *p, .ps = profiles_ref(a->gw->profiles), .next = a->revokes};
	j->op = (struct revoke_op){.store = a->gw->store,
				   .backend_of = profiles_backend_of,
				   .backend_of_ctx = j->ps,
				   .reason = reason,
				   .refuse_revoked = 1,
				   .cb = revoke_done,
				   .arg = j};
	snprintf(j->op.serial, sizeof(j->op.serial), "%s", serial);
	a->revokes = j;
	if (revoke_start(&j->op, NULL) < 0) { /* the store threads stopped (shutdown) */
		admin_reply_error(a, req, p, "certificates.revoke", 503, "store threads stopped");
		revoke_job_free(j);
	}
}

static void
certificates(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
	     char **segs, int n, const struct evkeyvalq *q)
{
	int get = evhttp_request_get_command(req) == EVHTTP_REQ_GET;

	if ((get && !(p->role & ADMIN_ROLE_READ)) || (!get && p->role != ADMIN_ROLE_ADMIN))
		admin_reply_error(a, req, p, "certificates", 403, "not allowed");
	else if (n == 1 && get)
		admin_read_certs(a, req, p, q);
	else if (n == 3 && !get && strcmp(segs[2], "revoke") == 0)
		cert_revoke(a, req, p, segs[1]);
	else
		admin_reply_error(a, req, p, "certificates", 404, "no such route");
}

/* ---- profiles ------------------------------------------------------------ */

/* GET /api/v1/profiles: what each SCEP profile is, for an operator (no
 * secret: the challenge's type, never its file or value). */
static void
profile_list(struct admin *a, struct evhttp_request *req, const struct admin_principal *p)
{
	const struct profile_set *ps = a->gw->profiles;
	json_t *arr = json_array();

	if (!(p->role & ADMIN_ROLE_READ)) {
		json_decref(arr);
		admin_reply_error(a, req, p, "profiles", 403, "not allowed");
		return;
	}
	for (size_t i = 0; arr != NULL && i < ps->n; i++) {
		const struct profile *pr = &ps->v[i];

		json_array_append_new(
		    arr, json_pack("{s:s,s:s?,s:s,s:s?,s:s,s:b,s:b,s:b,s:s?}", "name",
				   pr->cfg->name, "challenge", pr->cfg->challenge.type, "backend",
				   backend_name(pr->backend), "approval", pr->ra->approval,
				   "ra_identity", pr->cfg->ra_identity, "renewal",
				   pr->cfg->renewal.enabled, "getcert", pr->cfg->getcert, "getcrl",
				   pr->cfg->getcrl, "next_ra_identity", pr->cfg->next_ra_identity));
	}
	admin_reply_json(a, req, p, "profiles", 200, json_pack("{s:o*}", "profiles", arr));
}

void
admin_api(struct admin *a, struct evhttp_request *req, const struct admin_principal *p, char **segs,
	  int n, const struct evkeyvalq *query)
{
	int post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;

	if (n >= 1 && strcmp(segs[0], "transactions") == 0)
		transactions(a, req, p, segs, n, query);
	else if (n >= 1 && strcmp(segs[0], "certificates") == 0)
		certificates(a, req, p, segs, n, query);
	else if (n == 3 && post && !strcmp(segs[0], "profiles") && !strcmp(segs[2], "challenges"))
		challenge_issue(a, req, p, segs[1]);
	else if (n == 1 && !post && !strcmp(segs[0], "profiles"))
		profile_list(a, req, p);
	else
		admin_reply_error(a, req, p, "route", 404, "no such route");
}

void
admin_api_free(struct admin *a)
{
	while (a->revokes != NULL)
		revoke_job_free(a->revokes);
	admin_reads_free(a);
	admin_otps_free(a);
}
