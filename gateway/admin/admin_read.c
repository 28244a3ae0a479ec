/* admin_read.c: the admin API's reads of the store (admin_read.h), and an
 * operator's decision on a transaction (txn_admin.c's step), each
 * one store step: the step copies what it needs from the request, its work
 * reads the store and builds the JSON (on a store thread when the store may
 * block), its done replies on the loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/keyvalq_struct.h>

#include "admin_read.h"
#include "admin_reply.h"
#include "metrics.h"

/* One read in flight; on a->reads until done (admin_reads_free() frees
 * those the store threads dropped at shutdown). */
struct admin_read {
	struct admin *a;
	struct evhttp_request *req;
	struct admin_principal p;
	const char *action;
	struct store *store;
	struct store_txn_filter tf;  /* transactions.list */
	int64_t id;		     /* transactions.show */
	struct store_cert_filter cf; /* certificates.list */
	char *subject;
	char serial[80];
	int metrics;		   /* GET /metrics: ms, and a text reply */
	struct admin_cert_ref ref; /* a client certificate's revocation check */
	admin_authed_fn cont;	   /* ... and what follows it */
	struct metrics_store ms;
	int code;      /* 200, or the error's */
	char msg[300]; /* the error, or the audit's "what" */
	json_t *body;
	struct admin_read *next;
};

json_t *
admin_txn_json(const struct store_txn *t)
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

int
admin_id_parse(const char *s, int64_t *ret)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v <= 0)
		return -1;
	*ret = v;
	return 0;
}

/* The store's form (txn_cert_serial: BN_bn2hex, lowercase, whole bytes) from
 * what an operator pastes ("0A:1B", "0a1b", openssl's "0A1B"); "" if not hex. */
void
admin_serial_norm(const char *in, char *out, size_t n)
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

/* ---- the step ------------------------------------------------------------ */

static void
read_free(struct admin_read *r)
{
	struct admin_read **pp = &r->a->reads;

	while (*pp != NULL && *pp != r)
		pp = &(*pp)->next;
	if (*pp == r)
		*pp = r->next;
	json_decref(r->body);
	free(r->subject);
	free(r);
}

/* The metrics page from r->ms (no audit: a scrape every few seconds). */
static void
metrics_reply(struct admin_read *r)
{
	struct evbuffer *out = evbuffer_new();

	if (out == NULL || metrics_render(r->a->gw->metrics, &r->ms, out) < 0) {
		evbuffer_free(out);
		admin_reply_error(r->a, r->req, &r->p, r->action, 500, "cannot render the metrics");
		return;
	}
	admin_reply_buf(r->a, r->req, r->action, 200, "text/plain; version=0.0.4", out);
}

static void
read_done(void *arg)
{
	struct admin_read *r = arg;

	if (r->code == 200 && r->cont != NULL) {
		r->cont(r->a, r->req, &r->p);
	} else if (r->cont != NULL) { /* the route is not known yet: "auth", as before */
		admin_reply_error(r->a, r->req, NULL, "auth", r->code, "%s", r->msg);
	} else if (r->code == 200 && r->metrics) {
		metrics_reply(r);
	} else if (r->code != 200) {
		admin_reply_error(r->a, r->req, &r->p, r->action, r->code, "%s", r->msg);
	} else {
		admin_audit(&r->p, r->action, 200, r->msg);
		admin_reply_json(r->a, r->req, &r->p, r->action, 200, r->body);
		r->body = NULL;
	}
	read_free(r);
}

/* A 500 (503 for an unreachable store) from work. */
static void
read_failed(struct admin_read *r, int ret)
{
	r->code = ret == -SGW_EUNAVAIL ? 503 : 500;
	snprintf(r->msg, sizeof(r->msg), "%s",
		 ret == -SGW_EUNAVAIL ? "store unavailable" : "store failure");
	json_decref(r->body);
	r->body = NULL;
}

static struct admin_read *
read_new(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
	 const char *action)
{
	struct admin_read *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		admin_reply_error(a, req, p, action, 500, "out of memory");
		return NULL;
	}
	*r = (struct admin_read){.a = a,
				 .req = req,
				 .p = *p,
				 .action = action,
				 .store = a->gw->store,
				 .code = 200,
				 .next = a->reads};
	a->reads = r;
	return r;
}

static void
read_start(struct admin_read *r, store_step_fn work)
{
	int ret = store_exec(r->store, work, read_done, r);

	if (ret < 0) { /* the store threads stopped (shutdown) */
		admin_reply_error(r->a, r->req, &r->p, r->action, 503, "store threads stopped");
		read_free(r);
	}
}

/* ---- transactions ---------------------------------------------------------- */

static int
add_txn(void *arg, const struct store_txn *t)
{
	return json_array_append_new(arg, admin_txn_json(t)) == 0 ? 0 : -1;
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
txns_work(void *arg)
{
	struct admin_read *r = arg;
	json_t *arr = json_array();
	int ret = arr != NULL ? store_txn_list(r->store, &r->tf, add_txn, arr) : -SGW_ENOMEM;

	if (ret < 0) {
		json_decref(arr);
		read_failed(r, ret);
		return;
	}
	r->msg[0] = '\0';
	r->body = json_pack("{s:o}", "transactions", arr);
}

void
admin_read_txns(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
		const struct evkeyvalq *q)
{
	int state = state_parse(evhttp_find_header(q, "state"));
	struct admin_read *r;

	if (state == -2) {
		admin_reply_error(a, req, p, "transactions.list", 400, "unknown state");
		return;
	}
	if ((r = read_new(a, req, p, "transactions.list")) == NULL)
		return;
	r->tf = (struct store_txn_filter){.state = state, .max = limit_parse(q)};
	read_start(r, txns_work);
}

static void
txn_work(void *arg)
{
	struct admin_read *r = arg;
	struct store_txn t = {0};
	int ret = store_txn_get(r->store, r->id, &t);

	if (ret == -SGW_ENOTFOUND) {
		r->code = 404;
		snprintf(r->msg, sizeof(r->msg), "no transaction %lld", (long long)r->id);
		return;
	}
	if (ret < 0) {
		read_failed(r, ret);
		return;
	}
	snprintf(r->msg, sizeof(r->msg), "txn=%s id=%lld profile=%s", t.transaction_id,
		 (long long)t.id, t.profile);
	r->body = admin_txn_json(&t);
	store_txn_clear(&t);
}

void
admin_read_txn(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
	       int64_t id)
{
	struct admin_read *r = read_new(a, req, p, "transactions.show");

	if (r == NULL)
		return;
	r->id = id;
	read_start(r, txn_work);
}

/* ---- an operator's decision (txn_approve / txn_reject's store step) ------------ */

static void
decided(void *arg, int rc, const struct store_txn *t, const struct sgw_err *err)
{
	struct admin_read *r = arg;

	if (rc < 0) {
		r->code = rc == -SGW_ENOTFOUND						 ? 404
			  : rc == -SGW_EEXIST || rc == -SGW_EDENIED || rc == -SGW_EINVAL ? 409
			  : rc == -SGW_EUNAVAIL						 ? 503
											 : 500;
		snprintf(r->msg, sizeof(r->msg), "%.290s", err->msg);
	} else {
		snprintf(r->msg, sizeof(r->msg), "txn=%s id=%lld profile=%s", t->transaction_id,
			 (long long)t->id, t->profile);
		r->body = admin_txn_json(t); /* with the request's key and SANs */
	}
	read_done(r);
}

void
admin_read_decide(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
		  int64_t id, const char *verb, const char *reason)
{
	int approve = strcmp(verb, "approve") == 0;
	struct admin_read *r =
	    read_new(a, req, p, approve ? "transactions.approve" : "transactions.reject");
	int ret;

	if (r == NULL)
		return;
	ret = approve ? txn_approve(a->ta, id, p->name, decided, r)
		      : txn_reject(a->ta, id, p->name, reason, decided, r);
	if (ret < 0) { /* the store threads stopped (shutdown) */
		admin_reply_error(a, req, p, r->action, 503, "store threads stopped");
		read_free(r);
	}
}

/* ---- certificates ------------------------------------------------------------ */

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
certs_work(void *arg)
{
	struct admin_read *r = arg;
	json_t *arr = json_array();
	int64_t next = 0;
	int ret =
	    arr != NULL ? store_cert_search(r->store, &r->cf, add_cert, arr, &next) : -SGW_ENOMEM;

	if (ret < 0) {
		json_decref(arr);
		read_failed(r, ret);
		return;
	}
	r->msg[0] = '\0';
	r->body = json_pack("{s:o}", "certificates", arr);
	/* older certificates were not looked at: ask again with before=next */
	if (r->body != NULL && next > 0)
		json_object_set_new(r->body, "next", json_integer(next));
}

void
admin_read_certs(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
		 const struct evkeyvalq *q)
{
	const char *serial_in = evhttp_find_header(q, "serial");
	const char *before = evhttp_find_header(q, "before");
	const char *subject = evhttp_find_header(q, "subject");
	int64_t b = 0;
	struct admin_read *r;

	if (before != NULL && admin_id_parse(before, &b) < 0) {
		admin_reply_error(a, req, p, "certificates.list", 400,
				  "before: a positive integer (the \"next\" of a reply)");
		return;
	}
	if ((r = read_new(a, req, p, "certificates.list")) == NULL)
		return;
	if (serial_in != NULL)
		admin_serial_norm(serial_in, r->serial, sizeof(r->serial));
	if (serial_in != NULL && r->serial[0] == '\0')
		snprintf(r->serial, sizeof(r->serial), "-"); /* not hex: matches nothing */
	if (subject != NULL && (r->subject = strdup(subject)) == NULL) {
		admin_reply_error(a, req, p, "certificates.list", 500, "out of memory");
		read_free(r);
		return;
	}
	r->cf = (struct store_cert_filter){
	    .subject = r->subject, .serial = r->serial, .before = b, .max = limit_parse(q)};
	read_start(r, certs_work);
}

/* ---- a client certificate's revocation ----------------------------------------- */

static void
cert_check_work(void *arg)
{
	struct admin_read *r = arg;
	int ret = admin_cert_revoked(r->store, &r->ref);

	if (ret < 0) {
		r->code = ret == -SGW_EDENIED ? 403 : 503;
		snprintf(r->msg, sizeof(r->msg), "%s",
			 ret == -SGW_EDENIED ? "client certificate revoked"
					     : "cannot check the client certificate");
	}
}

void
admin_read_cert_check(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
		      const struct admin_cert_ref *ref, admin_authed_fn cont)
{
	struct admin_read *r = read_new(a, req, p, "auth");

	if (r == NULL)
		return;
	r->ref = *ref;
	r->cont = cont;
	read_start(r, cert_check_work);
}

/* ---- metrics ---------------------------------------------------------------- */

static void
metrics_work(void *arg)
{
	struct admin_read *r = arg;
	int ret = metrics_store_read(r->store, &r->ms);

	if (ret < 0)
		read_failed(r, ret);
}

void
admin_read_metrics(struct admin *a, struct evhttp_request *req, const struct admin_principal *p)
{
	struct admin_read *r = read_new(a, req, p, "metrics");

	if (r == NULL)
		return;
	r->metrics = 1;
	read_start(r, metrics_work);
}

void
admin_reads_free(struct admin *a)
{
	while (a->reads != NULL)
		read_free(a->reads);
}
