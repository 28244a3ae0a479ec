/* admin_api.c: the JSON routes under /api/v1/ (docs/architecture.md, admin API): transactions
 * (list, show, approve, reject), one-time challenges, certificates (search,
 * revoke through the backend), the profiles served (read-only). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>

#include "admin_api.h"
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

static json_t *
txn_json(const struct store_txn *t)
{
	json_t *o, *info;

	o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "id", (json_int_t)t->id, "profile",
		      t->profile, "transaction_id", t->transaction_id, "state",
		      txn_state_name(t->state), "subject", t->subject, "peer", t->peer, "created",
		      (json_int_t)t->created, "updated", (json_int_t)t->updated, "age_seconds",
		      (json_int_t)((int64_t)time(NULL) - t->created));
	if (o == NULL)
		return NULL;
	if (t->reason[0])
		json_object_set_new(o, "reason", json_string(t->reason));
	if (t->cert_serial[0])
		json_object_set_new(o, "serial", json_string(t->cert_serial));
	/* key and SANs: the summary the store keeps (the CSR itself is sealed) */
	if (t->csr.info[0] != '\0' && (info = json_loads(t->csr.info, 0, NULL)) != NULL) {
		if (json_is_object(info))
			json_object_update(o, info);
		json_decref(info);
	}
	return o;
}

static int
add_txn(void *arg, const struct store_txn *t)
{
	return json_array_append_new(arg, txn_json(t)) == 0 ? 0 : -1;
}

static int
state_parse(const char *s)
{
	if (s == NULL || strcmp(s, "pending") == 0)
		return TXN_AWAITING_APPROVAL;
	if (strcmp(s, "all") == 0)
		return -1;
	for (int i = 0; i < TXN_STATE_MAX; i++)
		if (strcasecmp(s, txn_state_name(i)) == 0)
			return i;
	return -2;
}

static size_t
limit_parse(const struct evkeyvalq *q)
{
	const char *l = evhttp_find_header(q, "limit");
	long v = l != NULL ? strtol(l, NULL, 10) : 100;

	return v > 0 && v <= ADMIN_LIST_MAX ? (size_t)v : 100;
}

static void
txn_list(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
	 const struct evkeyvalq *q)
{
	struct store_txn_filter f = {.max = limit_parse(q)};
	json_t *arr = json_array();

	f.state = state_parse(evhttp_find_header(q, "state"));
	if (f.state == -2) {
		json_decref(arr);
		admin_reply_error(a, req, p, "transactions.list", 400, "unknown state");
		return;
	}
	if (arr == NULL || store_txn_list(a->gw->store, &f, add_txn, arr) < 0) {
		json_decref(arr);
		admin_reply_error(a, req, p, "transactions.list", 500, "store failure");
		return;
	}
	admin_audit(p, "transactions.list", 200, NULL);
	admin_reply_json(a, req, p, "transactions.list", 200,
			 json_pack("{s:o}", "transactions", arr));
}

static int
id_parse(const char *s, int64_t *ret)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v <= 0)
		return -1;
	*ret = v;
	return 0;
}

static int
err_code(int r)
{
	return r == -SGW_ENOTFOUND					   ? 404
	       : r == -SGW_EEXIST || r == -SGW_EDENIED || r == -SGW_EINVAL ? 409
	       : r == -SGW_EUNAVAIL ? 503 /* the database is down */
				    : 500;
}

static void
txn_one(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
	const char *idstr, const char *verb)
{
	struct store_txn t = {0};
	struct sgw_err err = {{0}};
	char action[64], what[300];
	json_t *body = NULL;
	int64_t id;
	int r;

	snprintf(action, sizeof(action), "transactions.%s", verb != NULL ? verb : "show");
	if (id_parse(idstr, &id) < 0) {
		admin_reply_error(a, req, p, action, 400, "bad transaction id");
		return;
	}
	if (verb == NULL) {
		r = store_txn_get(a->gw->store, id, &t);
		if (r == -SGW_ENOTFOUND)
			sgw_err_set(&err, SGW_ENOTFOUND, "no transaction %lld", (long long)id);
		else if (r < 0)
			sgw_err_set(&err, -r, "store: %s", sgw_strerror(r));
	} else if (strcmp(verb, "approve") == 0) {
		r = txn_approve(a->ta, id, p->name, &t, &err);
	} else {
		json_t *in = admin_body_json(req);
		const char *reason = json_string_value(json_object_get(in, "reason"));

		r = txn_reject(a->ta, id, p->name, reason, &t, &err);
		json_decref(in);
	}
	if (r < 0) {
		admin_reply_error(a, req, p, action, err_code(r), "%s", err.msg);
		return;
	}
	if (verb != NULL) { /* show the decision with the request's key and SANs */
		struct store_txn now = {0};

		if (store_txn_get(a->gw->store, id, &now) == 0) {
			store_txn_clear(&t);
			t = now;
		}
	}
	snprintf(what, sizeof(what), "txn=%s id=%lld profile=%s", t.transaction_id, (long long)t.id,
		 t.profile);
	body = txn_json(&t);
	store_txn_clear(&t);
	admin_audit(p, action, 200, what);
	admin_reply_json(a, req, p, action, 200, body);
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
		txn_list(a, req, p, q);
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
challenge_issue(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
		const char *profile)
{
	struct profile *prof = profiles_find(a->gw->profiles, profile);
	struct otp *otp = prof != NULL ? validator_as_otp(prof->validator) : NULL;
	json_t *in = admin_body_json(req);
	const char *subject = json_string_value(json_object_get(in, "subject"));
	const char *why;
	int ttl = ttl_parse(json_object_get(in, "ttl"), &why);
	char secret[OTP_SECRET_LEN + 1], what[400];
	int64_t expires = 0;
	int r;

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
	} else if ((r = otp_issue(otp, profile, ttl, subject, p->name, secret, sizeof(secret),
				  &expires)) < 0) {
		admin_reply_error(
		    a, req, p, "challenges.issue", r == -SGW_EDENIED ? 429 : 500, "%s",
		    r == -SGW_EDENIED ? "too many active challenges" : "cannot issue a challenge");
	} else {
		snprintf(what, sizeof(what), "profile=%s subject=%s expires=%lld", profile,
			 subject != NULL ? subject : "-", (long long)expires);
		admin_audit(p, "challenges.issue", 201, what); /* never the secret */
		admin_reply_json(a, req, p, "challenges.issue", 201,
				 json_pack("{s:s,s:s,s:I,s:s}", "challenge", secret, "profile",
					   profile, "expires", (json_int_t)expires, "subject",
					   subject != NULL ? subject : ""));
		OPENSSL_cleanse(secret, sizeof(secret));
	}
	json_decref(in);
}

/* ---- certificates -------------------------------------------------------- */

/* The store's form (txn_cert_serial: BN_bn2hex, lowercase, whole bytes) from
 * what an operator pastes ("0A:1B", "0a1b", openssl's "0A1B"); "" if not hex. */
static void
serial_norm(const char *in, char *out, size_t n)
{
	char hex[80];
	size_t k = 0;

	for (; *in != '\0' && k + 1 < sizeof(hex); in++) {
		if (*in == ':')
			continue;
		if (strchr("0123456789abcdefABCDEF", *in) == NULL) {
			out[0] = '\0';
			return;
		}
		if (k > 0 || *in != '0')
			hex[k++] = (char)(*in >= 'A' && *in <= 'F' ? *in - 'A' + 'a' : *in);
	}
	hex[k] = '\0';
	snprintf(out, n, "%s%s", k % 2 ? "0" : "", k > 0 ? hex : "00");
}

static int
add_cert(void *arg, const struct store_cert *c)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:b}", "serial", c->serial, "issuer", c->issuer,
			      "subject", c->subject, "not_before", (json_int_t)c->not_before,
			      "not_after", (json_int_t)c->not_after, "revoked", c->revoked);

	if (o != NULL && c->revoked)
		json_object_set_new(o, "revoked_at", json_integer(c->revoked_at));
	if (o != NULL && c->txn_id)
		json_object_set_new(o, "transaction", json_integer(c->txn_id));
	if (o != NULL && c->superseded_by[0])
		json_object_set_new(o, "superseded_by", json_string(c->superseded_by));
	return json_array_append_new(arg, o) == 0 ? 0 : -1;
}

static void
cert_list(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
	  const struct evkeyvalq *q)
{
	const char *serial_in = evhttp_find_header(q, "serial");
	const char *before = evhttp_find_header(q, "before");
	char serial[80] = "";
	struct store_cert_filter f = {
	    .subject = evhttp_find_header(q, "subject"), .serial = serial, .max = limit_parse(q)};
	json_t *arr, *o;
	int64_t next = 0;

	if (serial_in != NULL)
		serial_norm(serial_in, serial, sizeof(serial));
	if (serial_in != NULL && serial[0] == '\0')
		snprintf(serial, sizeof(serial), "-"); /* not hex: matches nothing */
	if (before != NULL && id_parse(before, &f.before) < 0) {
		admin_reply_error(a, req, p, "certificates.list", 400,
				  "before: a positive integer (the \"next\" of a reply)");
		return;
	}
	arr = json_array();
	if (arr == NULL || store_cert_search(a->gw->store, &f, add_cert, arr, &next) < 0) {
		json_decref(arr);
		admin_reply_error(a, req, p, "certificates.list", 500, "store failure");
		return;
	}
	o = json_pack("{s:o}", "certificates", arr);
	/* older certificates were not looked at: ask again with before=next */
	if (o != NULL && next > 0)
		json_object_set_new(o, "next", json_integer(next));
	admin_audit(p, "certificates.list", 200, NULL);
	admin_reply_json(a, req, p, "certificates.list", 200, o);
}

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

static void
revoke_done(void *arg, struct revoke_op *op)
{
	struct admin_revoke_job *j = arg;
	struct admin *a = j->a;
	char what[200];

	snprintf(what, sizeof(what), "serial=%s reason=%d", op->serial, op->reason);
	if (op->backend_rc < 0 && op->backend_rc != -SGW_EEXIST) {
		admin_reply_error(a, j->req, &j->p, "certificates.revoke", 502, "%s: %s", what,
				  op->backend_why[0] ? op->backend_why : "store failure");
	} else if (op->store_rc < 0 && op->store_rc != -SGW_EEXIST) {
		admin_reply_error(a, j->req, &j->p, "certificates.revoke", 502, "%s: %s", what,
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

/* revoke_start()'s refusals, as this API has always worded them. */
static void
revoke_refused(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
	       const char *serial, int r)
{
	if (r == -SGW_ENOTFOUND || r == -SGW_EIO)
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
cert_revoke(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
	    const char *serial_in)
{
	char serial[80];
	json_t *in = admin_body_json(req);
	int reason = reason_parse(json_object_get(in, "reason")), r;
	struct admin_revoke_job *j;

	json_decref(in);
	serial_norm(serial_in, serial, sizeof(serial));
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
	if ((r = revoke_start(&j->op, NULL)) < 0) {
		revoke_refused(a, req, p, serial, r);
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
		cert_list(a, req, p, q);
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
}
