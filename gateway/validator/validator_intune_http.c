/* validator_intune_http.c: the Intune client (docs/protocol-notes.md 2.2):
 * client-credentials tokens per scope, cached until expiry minus a margin and
 * refreshed once on a 401 (dropped only if it is still the one that got the
 * 401), one fetch per scope at a time with the other calls waiting on it;
 * service discovery through Graph, cached and cleared on failure;
 * POST {service}/ScepActions/<action>.  Also the UUIDs of the request ids. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "http_client.h"
#include "intune_json.h"
#include "log.h"
#include "validator_intune.h"

#define VI_MARGIN 300 /* seconds before a token's expiry when it is renewed */
#define VI_APP_ID "0000000a-0000-0000-c000-000000000000"
static const char *const vi_services[VI_SVC_MAX] = {"ScepRequestValidationFEService",
						    "PkiConnectorFEService"};
static const char *const vi_api_version[VI_SVC_MAX] = {"2018-02-20", "5019-05-05"};

void
vi_uuid(char out[37])
{
	uint8_t b[16] = {0};

	if (RAND_bytes(b, sizeof(b)) != 1)
		memset(b, 0x5a, sizeof(b)); /* still a well-formed id */
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

struct vi_op {
	LIST_ENTRY(vi_op) entry;
	struct intune *in;
	char action[80];
	enum vi_svc svc;
	char *body;
	char txn[128];
	vi_done done;
	void *arg;
	int retried[VI_SCOPE_MAX];   /* 401s answered by a new token */
	unsigned used[VI_SCOPE_MAX]; /* the token generation last sent */
	enum vi_scope want;	     /* the token being fetched or waited for */
	LIST_ENTRY(vi_op) wait;	     /* on tok[want].waits when waiting */
	int waiting;
};

static void op_next(struct vi_op *op);

static void
op_end(struct vi_op *op, int rc, const char *code, const char *desc, const char *reason,
       const uint8_t *body, size_t len)
{
	LIST_REMOVE(op, entry);
	if (op->waiting)
		LIST_REMOVE(op, wait);
	op->done(op->arg, rc, code, desc, reason, body, len);
	free(op->body);
	free(op);
}

static int
op_start(struct vi_op *op, struct http_request *hr, http_cb cb)
{
	http_trust_apply(&op->in->conf.trust, hr);
	hr->timeout_ms = op->in->conf.timeout * 1000L;
	hr->max_response = 256 * 1024;
	hr->retry_on = HTTP_RETRY_CONNECT;
	return http_client_start(op->in->hc, hr, cb, op, NULL);
}

/* ---- tokens --------------------------------------------------------------- */

/* After a fetch: on with the token, or answered with the fetch's failure. */
static void
op_resume(struct vi_op *op, int ok, const char *reason)
{
	if (ok)
		op_next(op);
	else
		op_end(op, -SGW_EAUTH, NULL, NULL, reason, NULL, 0);
}

static void
token_done(void *arg, const struct http_response *resp)
{
	struct vi_op *op = arg, *w;
	struct vi_token *t = &op->in->tok[op->want];
	struct vi_op_list waits = LIST_HEAD_INITIALIZER(waits);
	char reason[160] = "";
	long exp;
	int ok;

	/* the waiters, off the token before any call runs again (oldest first) */
	t->fetching = NULL;
	while ((w = LIST_FIRST(&t->waits)) != NULL) {
		LIST_REMOVE(w, wait);
		LIST_INSERT_HEAD(&waits, w, wait);
	}
	ok = resp->err == 0 && resp->status == 200 &&
	     intune_json_token(resp->body, resp->body_len, t->value, sizeof(t->value), &exp) >= 0;
	if (ok) {
		t->expires = time(NULL) + (exp > 2 * VI_MARGIN ? exp - VI_MARGIN : exp / 2);
		t->gen++;
	} else {
		t->expires = 0;
		snprintf(reason, sizeof(reason), "intune: token request failed: %s%s HTTP %ld",
			 resp->error, resp->timed_out ? " (timeout)" : "", resp->status);
	}
	op_resume(op, ok, reason);
	while ((w = LIST_FIRST(&waits)) != NULL) {
		LIST_REMOVE(w, wait);
		w->waiting = 0;
		op_resume(w, ok, reason);
	}
}

static int
token_fetch(struct vi_op *op, enum vi_scope s)
{
	const struct intune_conf *c = &op->in->conf;
	struct http_request hr = {.method = "POST"};
	char url[1024], id[512], sec[3 * VI_SECRET_MAX + 1], scope[1024], *form;
	size_t flen;
	int r;

	op->want = s;
	snprintf(url, sizeof(url), "%s%s/oauth2/v2.0/token", c->authority_url, c->tenant);
	if (http_escape(c->client_id, id, sizeof(id)) < 0 ||
	    http_escape((const char *)op->in->secret, sec, sizeof(sec)) < 0 ||
	    http_escape(s == VI_GRAPH ? c->graph_scope : c->intune_scope, scope, sizeof(scope)) < 0)
		return -SGW_EINVAL;
	flen = strlen(id) + strlen(sec) + strlen(scope) + 80;
	if ((form = malloc(flen)) == NULL)
		return -SGW_ENOMEM;
	snprintf(form, flen, "grant_type=client_credentials&client_id=%s&client_secret=%s&scope=%s",
		 id, sec, scope);
	hr.url = url;
	hr.headers[0] = "Content-Type: application/x-www-form-urlencoded";
	hr.headers[1] = "Accept: application/json";
	hr.body = (const uint8_t *)form;
	hr.body_len = strlen(form);
	if ((r = op_start(op, &hr, token_done)) >= 0)
		op->in->tok[s].fetching = op;
	OPENSSL_cleanse(sec, sizeof(sec));
	OPENSSL_cleanse(form, flen);
	free(form);
	return r;
}

/* The token of scope s for op: wait for the fetch in flight, or start one. */
static int
token_get(struct vi_op *op, enum vi_scope s)
{
	struct vi_token *t = &op->in->tok[s];

	if (t->fetching == NULL)
		return token_fetch(op, s);
	op->want = s;
	op->waiting = 1;
	LIST_INSERT_HEAD(&t->waits, op, wait);
	return 0;
}

/* A 401 for op's token of scope s: drop it unless a newer one replaced it. */
static void
token_drop(struct vi_op *op, enum vi_scope s)
{
	if (op->in->tok[s].gen == op->used[s])
		op->in->tok[s].expires = 0;
}

/* ---- discovery ------------------------------------------------------------ */

static void
discovery_done(void *arg, const struct http_response *resp)
{
	struct vi_op *op = arg;
	struct intune *in = op->in;
	char reason[160];

	if (resp->err == 0 && resp->status == 401 && !op->retried[VI_GRAPH]++) {
		token_drop(op, VI_GRAPH);
		op_next(op);
		return;
	}
	if (resp->err != 0 || resp->status != 200 ||
	    intune_json_discovery(resp->body, resp->body_len, vi_services[op->svc],
				  in->service[op->svc], sizeof(in->service[0])) < 0) {
		in->service[op->svc][0] = '\0';
		snprintf(reason, sizeof(reason), "intune: service discovery failed: %s HTTP %ld",
			 resp->error, resp->status);
		op_end(op, -SGW_EBACKEND, NULL, NULL, reason, NULL, 0);
		return;
	}
	op_next(op);
}

static int
discovery_fetch(struct vi_op *op)
{
	struct http_request hr = {.method = "GET"};
	char url[1024], auth[8300], rid[80], uuid[37];

	snprintf(url, sizeof(url), "%sv1.0/servicePrincipals/appId=%s/endpoints",
		 op->in->conf.graph_url, VI_APP_ID);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", op->in->tok[VI_GRAPH].value);
	op->used[VI_GRAPH] = op->in->tok[VI_GRAPH].gen;
	vi_uuid(uuid);
	snprintf(rid, sizeof(rid), "client-request-id: %s", uuid);
	hr.url = url;
	hr.headers[0] = auth;
	hr.headers[1] = rid;
	hr.headers[2] = "Accept: application/json";
	return op_start(op, &hr, discovery_done);
}

/* ---- the action ----------------------------------------------------------- */

static void
action_done(void *arg, const struct http_response *resp)
{
	struct vi_op *op = arg;
	char code[64], desc[256], reason[200];

	if (resp->err == 0 && resp->status == 401 && !op->retried[VI_INTUNE]++) {
		token_drop(op, VI_INTUNE); /* refresh once */
		op_next(op);
		return;
	}
	if (resp->err != 0)
		op->in->service[op->svc][0] = '\0'; /* rediscover next time */
	if (resp->err == 0 && resp->status >= 200 && resp->status <= 299 && op->svc == VI_SVC_PKI) {
		op_end(op, 0, "", "", NULL, resp->body, resp->body_len);
		return;
	}
	if (resp->err != 0 || resp->status < 200 || resp->status > 299 ||
	    intune_json_result(resp->body, resp->body_len, code, sizeof(code), desc, sizeof(desc)) <
		0) {
		snprintf(reason, sizeof(reason), "intune: %s failed: %s%s HTTP %ld", op->action,
			 resp->error, resp->timed_out ? " (timeout)" : "", resp->status);
		op_end(op, -SGW_EBACKEND, NULL, NULL, reason, NULL, 0);
		return;
	}
	op_end(op, 0, code, desc, NULL, NULL, 0);
}

static int
action_send(struct vi_op *op)
{
	const struct intune_conf *c = &op->in->conf;
	struct http_request hr = {.method = "POST"};
	char url[1024], auth[8300], rid[80], ua[300], ua2[300], uuid[37], ver[40];

	snprintf(url, sizeof(url), "%s/%s%s",
		 c->intune_url != NULL && op->svc == VI_SVC_SCEP ? c->intune_url
								 : op->in->service[op->svc],
		 op->svc == VI_SVC_SCEP ? "ScepActions/" : "", op->action);
	snprintf(ver, sizeof(ver), "api-version: %s", vi_api_version[op->svc]);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", op->in->tok[VI_INTUNE].value);
	op->used[VI_INTUNE] = op->in->tok[VI_INTUNE].gen;
	vi_uuid(uuid);
	snprintf(rid, sizeof(rid), "client-request-id: %s", uuid);
	snprintf(ua, sizeof(ua), "UserAgent: %s", c->provider_name);
	snprintf(ua2, sizeof(ua2), "User-Agent: %s", c->provider_name);
	hr.url = url;
	hr.headers[0] = auth;
	hr.headers[1] = rid;
	hr.headers[2] = ua;
	hr.headers[3] = ua2;
	hr.headers[4] = "Content-Type: application/json";
	hr.headers[5] = "Accept: application/json";
	hr.headers[6] = ver;
	hr.body = (const uint8_t *)op->body;
	hr.body_len = strlen(op->body);
	return op_start(op, &hr, action_done);
}

/* Start whatever the op needs next: a token, discovery, or the action. */
static int
op_step(struct vi_op *op)
{
	struct intune *in = op->in;
	time_t now = time(NULL);

	if (in->tok[VI_INTUNE].expires <= now)
		return token_get(op, VI_INTUNE);
	if ((in->conf.intune_url == NULL || op->svc != VI_SVC_SCEP) &&
	    in->service[op->svc][0] == '\0')
		return in->tok[VI_GRAPH].expires <= now ? token_get(op, VI_GRAPH)
							: discovery_fetch(op);
	return action_send(op);
}

static void
op_next(struct vi_op *op)
{
	char reason[120];
	int r;

	if ((r = op_step(op)) < 0) {
		snprintf(reason, sizeof(reason), "intune: cannot send: %s", sgw_strerror(r));
		op_end(op, r, NULL, NULL, reason, NULL, 0);
	}
}

int
vi_call(struct intune *in, struct event_base *base, enum vi_svc svc, const char *action,
	const char *body, const char *txn, vi_done done, void *arg)
{
	struct vi_op *op;
	int r;

	if (base == NULL)
		return -SGW_EINVAL;
	/* not started with the daemon's client (unit tests): a client of its own */
	if (in->hc == NULL && (in->hc = http_client_new(base, 16)) == NULL)
		return -SGW_ENOMEM;
	if ((op = calloc(1, sizeof(*op))) == NULL || (op->body = strdup(body)) == NULL) {
		free(op);
		return -SGW_ENOMEM;
	}
	op->in = in;
	op->svc = svc;
	snprintf(op->action, sizeof(op->action), "%s", action);
	snprintf(op->txn, sizeof(op->txn), "%s", txn);
	op->done = done;
	op->arg = arg;
	if ((r = op_step(op)) < 0) { /* no callback then */
		free(op->body);
		free(op);
		return r;
	}
	LIST_INSERT_HEAD(&in->ops, op, entry);
	return 0;
}

void
vi_cancel_all(struct intune *in)
{
	struct vi_op *op;
	int s;

	while ((op = LIST_FIRST(&in->ops)) != NULL) {
		LIST_REMOVE(op, entry);
		free(op->arg);
		free(op->body);
		free(op);
	}
	for (s = 0; s < VI_SCOPE_MAX; s++) { /* the waiters were freed above */
		in->tok[s].fetching = NULL;
		LIST_INIT(&in->tok[s].waits);
	}
}
