/* engine_fixture.h: what the transaction engine's tests share (txn_pkiop.c,
 * txn_admin.c, revoke.c here): the engine running in the test process as
 * in the daemon (config, profiles, store with group commit, workers,
 * txn_admin, the SCEP HTTP listener on a loopback port) with a fake backend,
 * a fake validator in place of the configured ones and a clock the tests
 * move (gw.now, reset to the real time before each test), and a device that
 * sends real pkiMessages and checks the CertReps with the project's
 * independent client (tests/tools/scepreq_msg.c).
 *
 * Definitions, not declarations: each test is one source file, and includes
 * this once.  The engine reaches its backend and validator through opaque
 * handles that only their registries build, so this compiles backend.c and
 * validator.c in to wrap the fakes' ops in such handles (their tables are
 * renamed so that the two do not collide). */
#ifndef SGW_TEST_ENGINE_FIXTURE_H
#define SGW_TEST_ENGINE_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "fixture/http_fixture.h"
#include "fixture/pki_fixture.h"
#include "gw.h"
#include "metrics.h"
#include "scep_envelope.h"
#include "scep_http.h"
#include "scep_msg.h"
#include "txn_admin.h"
#include "txn_result.h"

#define registry backend_registry_
#include "backend.c"
#undef registry
#define registry validator_registry_
#include "validator.c"
#undef registry

#include "../../../tools/scepc.c"
#include "../../../tools/scepreq_msg.c"

/* ---- the fake backend ---------------------------------------------------- */

enum fake_kind { FK_SUBMIT, FK_POLL, FK_CRL, FK_REVOKE };

struct fake_call {
	enum fake_kind kind;
	backend_cb cb;
	backend_crl_cb crl_cb;
	backend_op_cb op_cb;
	void *arg;
	X509_REQ *csr; /* what to issue */
};

struct fake_backend {
	int hold; /* 1: calls wait for fake_answer(); 0: answered at once (later on the loop) */
	enum backend_status submit_st, poll_st;
	int submit_rc; /* submit()'s answer: 0 (queued), or -SGW_E* (refused, nothing queued) */
	int revoke_rc; /* revoke()'s answer: 0, -SGW_EEXIST (revoked before), -SGW_E* */
	int submits, polls, revokes;
	int polls_with_csr; /* polls given the stored request's CSR, the pending one's */
	char revoked_serial[80];
	int revoked_reason;
	struct fake_call q[8];
	size_t nq;
	X509_REQ *pending[16]; /* by handle "h<i>" */
	size_t npending;
};

/* ---- the fake validator ------------------------------------------------- */

struct fake_validator {
	int verdict; /* check(): 0 or -SGW_EDENIED */
	int async;   /* check() answers later */
	int checks, notifies;
	int notified_cert; /* the last notify() carried a certificate */
	char notified_reason[256];
	validator_cb cb;
	void *arg;
};

struct fx {
	char dir[64];
	EVP_PKEY *ca_key, *ra_key, *dev_key;
	X509 *ca, *ra;
	struct cfg *cfg;
	struct keyop *keys;
	struct profile_set *ps;
	struct event_base *base;
	struct worker_pool *workers;
	struct store *store;
	struct gw gw;
	struct txn_admin *ta;
	struct evhttp *http;
	int port;
	struct fake_backend fb;
	struct fake_validator fv;
	struct backend *fake_b, *orig_b[4];
	struct validator *fake_v, *orig_v[4];
	int64_t clock;		    /* what the engine reads as the time: fake_clock() */
	const char *store_fault;    /* this store operation answers -SGW_EUNAVAIL */
	struct store_ops fault_ops; /* SQLite's, wrapped (fault_store()) */
};

static struct fx *fx; /* the fakes' ops reach the fixture here */

static int64_t
fake_clock(void)
{
	return fx->clock;
}

static X509 *make_cert(EVP_PKEY *key, const X509_NAME *subject, EVP_PKEY *signer, X509 *issuer,
		       const char *ku);

static X509 *
fake_issue(X509_REQ *csr)
{
	EVP_PKEY *pk = X509_REQ_get_pubkey(csr);
	X509 *x = make_cert(pk, X509_REQ_get_subject_name(csr), fx->ca_key, fx->ca,
			    "digitalSignature,keyEncipherment");

	EVP_PKEY_free(pk);
	return x;
}

static X509_CRL *
fake_crl(void)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, time(NULL));

	assert_true(X509_CRL_set_issuer_name(crl, X509_get_subject_name(fx->ca)));
	assert_true(X509_CRL_set1_lastUpdate(crl, t));
	assert_true(X509_CRL_sign(crl, fx->ca_key, EVP_sha256()) > 0);
	ASN1_TIME_free(t);
	return crl;
}

/* Answer call c with status st, as a backend would on the loop. */
static void
fake_fire(struct fake_call *c, enum backend_status st)
{
	struct backend_result res = {.status = st};
	X509_CRL *crl;

	if (c->kind == FK_CRL) {
		crl = fake_crl();
		c->crl_cb(c->arg, crl, NULL);
		X509_CRL_free(crl);
		return;
	}
	if (c->kind == FK_REVOKE) {
		c->op_cb(c->arg, fx->fb.revoke_rc,
			 fx->fb.revoke_rc < 0 ? "the fake CA refuses" : NULL);
		return;
	}
	if (st == BACKEND_ISSUED) {
		res.cert = fake_issue(c->csr);
	} else if (st == BACKEND_PENDING) {
		assert_true(fx->fb.npending < 16);
		snprintf(res.handle, sizeof(res.handle), "h%zu", fx->fb.npending);
		fx->fb.pending[fx->fb.npending++] = X509_REQ_dup(c->csr);
	} else {
		snprintf(res.reason, sizeof(res.reason), "fake status %d", (int)st);
	}
	X509_REQ_free(c->csr);
	c->cb(c->arg, &res);
	backend_result_clear(&res);
}

/* The oldest waiting call, answered with st (or its kind's default, -1). */
static void
fake_answer(int st)
{
	struct fake_call c;

	assert_true(fx->fb.nq > 0);
	c = fx->fb.q[0];
	memmove(fx->fb.q, fx->fb.q + 1, --fx->fb.nq * sizeof(c));
	fake_fire(&c, st >= 0		  ? (enum backend_status)st
		      : c.kind == FK_POLL ? fx->fb.poll_st
					  : fx->fb.submit_st);
}

static void
fake_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	while (!fx->fb.hold && fx->fb.nq > 0)
		fake_answer(-1);
}

static int
fake_queue(struct fake_call *c)
{
	struct timeval now = {0, 0};

	assert_true(fx->fb.nq < 8);
	fx->fb.q[fx->fb.nq++] = *c;
	if (!fx->fb.hold)
		assert_int_equal(event_base_once(fx->base, -1, EV_TIMEOUT, fake_kick, NULL, &now),
				 0);
	return 0;
}

static int
fake_submit(void *priv, const struct backend_request *req, backend_cb cb, void *arg)
{
	const unsigned char *p = req->csr_der;
	struct fake_call c = {.kind = FK_SUBMIT, .cb = cb, .arg = arg};

	(void)priv;
	fx->fb.submits++;
	if (fx->fb.submit_rc < 0)
		return fx->fb.submit_rc;
	c.csr = d2i_X509_REQ(NULL, &p, (long)req->csr_len);
	assert_non_null(c.csr);
	return fake_queue(&c);
}

static int
fake_poll(void *priv, const char *handle, const struct backend_request *req, backend_cb cb,
	  void *arg)
{
	struct fake_call c = {.kind = FK_POLL, .cb = cb, .arg = arg};
	size_t i = (size_t)strtoul(handle + 1, NULL, 10);
	uint8_t *der = NULL;
	int len;

	(void)priv;
	fx->fb.polls++;
	assert_true(handle[0] == 'h' && i < fx->fb.npending);
	if (req != NULL) { /* BACKEND_CAP_POLL_CSR: the CSR the store kept, opened */
		len = i2d_X509_REQ(fx->fb.pending[i], &der);
		assert_true(len > 0 && (size_t)len == req->csr_len);
		assert_memory_equal(der, req->csr_der, req->csr_len);
		assert_non_null(req->csr_req);
		OPENSSL_free(der);
		fx->fb.polls_with_csr++;
	}
	c.csr = X509_REQ_dup(fx->fb.pending[i]);
	return fake_queue(&c);
}

static int
fake_get_crl(void *priv, backend_crl_cb cb, void *arg)
{
	struct fake_call c = {.kind = FK_CRL, .crl_cb = cb, .arg = arg};

	(void)priv;
	return fake_queue(&c);
}

static int
fake_revoke(void *priv, const char *serial_hex, int reason, const uint8_t *der, size_t der_len,
	    backend_op_cb cb, void *arg)
{
	struct fake_call c = {.kind = FK_REVOKE, .op_cb = cb, .arg = arg};

	(void)priv;
	(void)der;
	(void)der_len;
	fx->fb.revokes++;
	snprintf(fx->fb.revoked_serial, sizeof(fx->fb.revoked_serial), "%s", serial_hex);
	fx->fb.revoked_reason = reason;
	return fake_queue(&c);
}

static const struct backend_ops fake_backend_ops = {
    .name = "fake",
    .caps = BACKEND_CAP_CRL | BACKEND_CAP_POLL | BACKEND_CAP_POLL_CSR | BACKEND_CAP_REVOKE,
    .submit = fake_submit,
    .poll = fake_poll,
    .get_crl = fake_get_crl,
    .revoke = fake_revoke,
};

static void
fake_verdict(evutil_socket_t fd, short what, void *arg)
{
	validator_cb cb = fx->fv.cb;

	(void)fd;
	(void)what;
	(void)arg;
	fx->fv.cb = NULL;
	cb(fx->fv.arg, fx->fv.verdict, fx->fv.verdict < 0 ? "the fake says no" : NULL);
}

static int
fake_check(void *priv, const struct validator_req *req, validator_cb cb, void *arg,
	   struct sgw_err *err)
{
	struct timeval now = {0, 0};

	(void)priv;
	assert_non_null(req->csr);
	fx->fv.checks++;
	if (!fx->fv.async)
		return fx->fv.verdict < 0 ? sgw_err_set(err, SGW_EDENIED, "the fake says no") : 0;
	fx->fv.cb = cb;
	fx->fv.arg = arg;
	assert_int_equal(event_base_once(fx->base, -1, EV_TIMEOUT, fake_verdict, NULL, &now), 0);
	return -SGW_EAGAIN;
}

static int
fake_notify(void *priv, const struct validator_req *req, X509 *cert, const char *reason,
	    validator_cb cb, void *arg)
{
	(void)priv;
	(void)req;
	(void)cb;
	(void)arg;
	fx->fv.notifies++;
	fx->fv.notified_cert = cert != NULL;
	snprintf(fx->fv.notified_reason, sizeof(fx->fv.notified_reason), "%s",
		 reason != NULL ? reason : "");
	return 0;
}

static const struct validator_ops fake_validator_ops = {
    .name = "fake",
    .check = fake_check,
    .notify = fake_notify,
};

/* ---- fixture -------------------------------------------------------------- */

/* issuer NULL: a self-signed CA.  Serials are random, as a CA's are. */
static X509 *
make_cert(EVP_PKEY *key, const X509_NAME *subject, EVP_PKEY *signer, X509 *issuer, const char *ku)
{
	return pki_fixture_cert(&(struct pki_fixture_cert){
	    .key = key,
	    .subject = subject,
	    .signer = signer,
	    .issuer = issuer,
	    .not_before = -3600,
	    .not_after = 86400L * 30,
	    .ext = {{"basicConstraints", issuer == NULL ? "critical,CA:TRUE" : "CA:FALSE"},
		    {"keyUsage", ku}}});
}

static void
write_pem(const char *name, X509 *x, EVP_PKEY *k)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	pki_fixture_pem(path, x, k, 0600);
}

/* ---- the store: SQLite's, with an operation made unreachable ------------- */

/* An operation named by fx->store_fault answers -SGW_EUNAVAIL, as the
 * PostgreSQL store does when the database is unreachable. */
#define FAULT(op) (fx->store_fault != NULL && strcmp(fx->store_fault, op) == 0)

static int
fault_nonce_check(void *priv, const uint8_t *nonce, size_t len, int64_t now, int ttl)
{
	return FAULT("nonce_check") ? -SGW_EUNAVAIL
				    : store_sqlite_ops.nonce_check(priv, nonce, len, now, ttl);
}

static int
fault_txn_find(void *priv, const char *profile, const char *transaction_id,
	       const uint8_t key_sha256[32], struct store_txn *ret)
{
	return FAULT("txn_find")
		   ? -SGW_EUNAVAIL
		   : store_sqlite_ops.txn_find(priv, profile, transaction_id, key_sha256, ret);
}

static int
fault_txn_accept(void *priv, struct store_txn *t, const struct store_accept *a)
{
	return FAULT("txn_accept") ? -SGW_EUNAVAIL : store_sqlite_ops.txn_accept(priv, t, a);
}

static int
fault_txn_issue(void *priv, struct store_txn *t, const struct store_cert *c)
{
	return FAULT("txn_issue") ? -SGW_EUNAVAIL : store_sqlite_ops.txn_issue(priv, t, c);
}

static int
fault_txn_update(void *priv, const struct store_txn *t)
{
	return FAULT("txn_update") ? -SGW_EUNAVAIL : store_sqlite_ops.txn_update(priv, t);
}

static int
fault_cert_get(void *priv, const char *issuer, const char *serial, struct store_cert *ret)
{
	return FAULT("cert_get") ? -SGW_EUNAVAIL
				 : store_sqlite_ops.cert_get(priv, issuer, serial, ret);
}

static int
fault_txn_list(void *priv, const struct store_txn_filter *f, store_txn_each each, void *arg)
{
	return FAULT("txn_list") ? -SGW_EUNAVAIL : store_sqlite_ops.txn_list(priv, f, each, arg);
}

/* SGW_TEST_STORE_OFFLOAD=1 (tests/meson.build): the same tests with the
 * store's steps on a store thread (offload: true). */
static void
fault_store_open(void)
{
	struct sgw_err err = {{0}};

	fx->fault_ops = store_sqlite_ops;
	fx->fault_ops.nonce_check = fault_nonce_check;
	fx->fault_ops.txn_find = fault_txn_find;
	fx->fault_ops.txn_accept = fault_txn_accept;
	fx->fault_ops.txn_issue = fault_txn_issue;
	fx->fault_ops.txn_update = fault_txn_update;
	fx->fault_ops.cert_get = fault_cert_get;
	fx->fault_ops.txn_list = fault_txn_list;
	fx->cfg->store.offload = getenv("SGW_TEST_STORE_OFFLOAD") != NULL;
	assert_int_equal(store_open_ops(&fx->fault_ops, &fx->cfg->store, &fx->store, &err), 0);
	assert_int_equal(store_attach_loop(fx->store, fx->base, &err), 0);
	assert_int_equal(store_threads(fx->store), fx->cfg->store.offload ? 1 : 0);
}

static void
write_config(const char *path)
{
	FILE *f = fopen(path, "w");
	const char *d = fx->dir;

	assert_non_null(f);
	fprintf(f,
		"listen:\n  - address: \"127.0.0.1:1\"\n"
		"store: { type: sqlite, path: \"%s/scepgw.db\" }\n"
		"ra_identities:\n  t:\n"
		"    sign: { cert: \"%s/ra.pem\", key: \"%s/ra.key\" }\n"
		"    ca_chain: \"%s/ca.pem\"\n"
		"scep_profiles:\n"
		"  auto: { ra_identity: t, ra_profile: auto, challenge: { type: none },"
		" getcert: true, getcrl: true }\n"
		"  manual: { ra_identity: t, ra_profile: manual, challenge: { type: none } }\n"
		"  renew: { ra_identity: t, ra_profile: auto, challenge: { type: none },"
		" renewal: { enabled: true, window_percent: 10, allow_key_reuse: true } }\n"
		"ra_profiles:\n"
		"  auto: { backend: ca, template: default, approval: auto }\n"
		"  manual: { backend: ca, template: default, approval: manual, pending_ttl: 1h }\n"
		"backends:\n"
		"  ca: { type: local, ca_cert: \"%s/ca.pem\", ca_key: \"%s/ca.key\" }\n",
		d, d, d, d, d, d);
	fclose(f);
}

/* evhttp's gencb: the listener's handler without a PROXY protocol origin */
static void
fx_gencb(struct evhttp_request *req, void *arg)
{
	scep_http_handle(req, NULL, arg);
}

static void
start_http(void)
{
	struct evhttp_bound_socket *bs;

	assert_non_null(fx->http = evhttp_new(fx->base));
	assert_non_null(bs = evhttp_bind_socket_with_handle(fx->http, "127.0.0.1", 0));
	fx->port = http_fixture_port(bs);
	evhttp_set_gencb(fx->http, fx_gencb, &fx->gw);
}

/* The fakes take the place of the configured backend and validator. */
static void
swap_in_fakes(void)
{
	assert_true(fx->ps->n <= 4);
	fx->fake_b = calloc(1, sizeof(*fx->fake_b));
	fx->fake_v = calloc(1, sizeof(*fx->fake_v));
	assert_non_null(fx->fake_b);
	assert_non_null(fx->fake_v);
	*fx->fake_b = (struct backend){.ops = &fake_backend_ops, .name = strdup("fake")};
	fx->fake_b->started = 1;
	fx->fake_v->ops = &fake_validator_ops;
	for (size_t i = 0; i < fx->ps->n; i++) {
		fx->orig_b[i] = fx->ps->v[i].backend;
		fx->orig_v[i] = fx->ps->v[i].validator;
		fx->ps->v[i].backend = fx->fake_b;
		fx->ps->v[i].validator = fx->fake_v;
	}
}

static int
setup(void **state)
{
	struct sgw_err err = {{0}};
	X509_NAME *name;
	char path[128];

	(void)state;
	fx = calloc(1, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/scepgw-txn-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx->ca_key = EVP_EC_gen("P-256");
	fx->ra_key = EVP_RSA_gen(2048);
	fx->dev_key = EVP_RSA_gen(2048);
	name = scepc_cn_name("Engine Test CA");
	fx->ca = make_cert(fx->ca_key, name, fx->ca_key, NULL, "keyCertSign,cRLSign");
	X509_NAME_free(name);
	name = scepc_cn_name("Engine Test RA");
	fx->ra =
	    make_cert(fx->ra_key, name, fx->ca_key, fx->ca, "digitalSignature,keyEncipherment");
	X509_NAME_free(name);
	write_pem("ca.pem", fx->ca, NULL);
	write_pem("ca.key", NULL, fx->ca_key);
	write_pem("ra.pem", fx->ra, NULL);
	write_pem("ra.key", NULL, fx->ra_key);
	snprintf(path, sizeof(path), "%s/scepgw.yaml", fx->dir);
	write_config(path);
	assert_int_equal(scep_oids_init(), 0);
	assert_int_equal(sr_init_oids(), 0);
	assert_int_equal(cfg_load(path, &fx->cfg, &err), 0);
	assert_non_null(fx->keys = keyop_new());
	assert_int_equal(profiles_build(fx->cfg, fx->keys, &fx->ps, &err), 0);
	assert_non_null(fx->base = event_base_new());
	assert_non_null(fx->workers = worker_pool_new(fx->base, 2));
	fx->clock = (int64_t)time(NULL);
	fault_store_open();
	fx->gw = (struct gw){.cfg = fx->cfg,
			     .base = fx->base,
			     .keys = fx->keys,
			     .workers = fx->workers,
			     .store = fx->store,
			     .profiles = fx->ps,
			     .metrics = metrics_new(),
			     .now = fake_clock,
			     .max_inflight = 64};
	swap_in_fakes();
	assert_non_null(fx->gw.txn_admin = fx->ta = txn_admin_new(&fx->gw));
	start_http();
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	evhttp_free(fx->http);
	txn_admin_free(fx->ta);
	for (size_t i = 0; i < fx->ps->n; i++) {
		fx->ps->v[i].backend = fx->orig_b[i];
		fx->ps->v[i].validator = fx->orig_v[i];
	}
	profiles_free(fx->ps);
	fx->fake_b->started = 0;
	backend_free(fx->fake_b);
	validator_free(fx->fake_v);
	for (size_t i = 0; i < fx->fb.npending; i++)
		X509_REQ_free(fx->fb.pending[i]);
	metrics_free(fx->gw.metrics);
	worker_pool_free(fx->workers);
	store_close(fx->store);
	event_base_free(fx->base);
	keyop_free(fx->keys);
	cfg_free(fx->cfg);
	scep_envelope_disable_legacy();
	EVP_PKEY_free(fx->ca_key);
	EVP_PKEY_free(fx->ra_key);
	EVP_PKEY_free(fx->dev_key);
	X509_free(fx->ca);
	X509_free(fx->ra);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

/* Before each test: the fakes answer at once, issue, revoke and allow; the
 * clock shows the real time. */
static int
reset(void **state)
{
	(void)state;
	fx->clock = (int64_t)time(NULL);
	assert_int_equal(fx->fb.nq, 0);
	fx->fb.hold = 0;
	fx->fb.submit_st = BACKEND_ISSUED;
	fx->fb.poll_st = BACKEND_ISSUED;
	fx->fb.revoke_rc = 0;
	fx->fb.submit_rc = 0;
	fx->fb.submits = fx->fb.polls = fx->fb.revokes = fx->fb.polls_with_csr = 0;
	fx->fv = (struct fake_validator){0};
	fx->store_fault = NULL;
	return 0;
}

/* ---- the device: requests over HTTP, CertReps checked -------------------- */

struct call {
	struct evhttp_connection *con;
	int done, code;
	char retry_after[16]; /* the reply's Retry-After, or "" */
	unsigned char *body;
	size_t len;
};

static void
call_done(struct evhttp_request *req, void *arg)
{
	struct call *c = arg;
	struct evbuffer *in;
	const char *ra;

	c->done = 1;
	if (req == NULL)
		return;
	c->code = evhttp_request_get_response_code(req);
	ra = evhttp_find_header(evhttp_request_get_input_headers(req), "Retry-After");
	snprintf(c->retry_after, sizeof(c->retry_after), "%s", ra != NULL ? ra : "");
	in = evhttp_request_get_input_buffer(req);
	c->len = evbuffer_get_length(in);
	c->body = malloc(c->len + 1);
	assert_non_null(c->body);
	assert_int_equal(evbuffer_remove(in, c->body, c->len), (int)c->len);
}

/* POST a pkiMessage to a profile; the reply comes in call_wait(). */
static void
call_start(struct call *c, const char *profile, const struct sr_txn *t)
{
	struct evhttp_request *req;
	char path[128];

	memset(c, 0, sizeof(*c));
	assert_non_null(c->con = evhttp_connection_base_new(fx->base, NULL, "127.0.0.1",
							    (ev_uint16_t)fx->port));
	evhttp_connection_set_timeout(c->con, 20);
	assert_non_null(req = evhttp_request_new(call_done, c));
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", "127.0.0.1");
	evbuffer_add(evhttp_request_get_output_buffer(req), t->der, t->derlen);
	snprintf(path, sizeof(path), "/scep/%s/pkiclient.exe?operation=PKIOperation", profile);
	assert_int_equal(evhttp_make_request(c->con, req, EVHTTP_REQ_POST, path), 0);
}

/* The loop runs until the reply; it must be a CertRep for t, parsed into rep. */
static void
call_wait(struct call *c, const struct sr_txn *t, struct sr_reply *rep)
{
	while (!c->done)
		assert_true(event_base_loop(fx->base, EVLOOP_ONCE) >= 0);
	evhttp_connection_free(c->con);
	assert_int_equal(c->code, 200);
	memset(rep, 0, sizeof(*rep));
	assert_int_equal(sr_parse_certrep(c->body, c->len, fx->ra, t, rep, "test"), 0);
	free(c->body);
}

/* The loop runs until the reply, which is an HTTP error (no CertRep): its
 * status; *retry_after gets its Retry-After ("" when none). */
__attribute__((unused)) static int
call_wait_http(struct call *c, char retry_after[16])
{
	while (!c->done)
		assert_true(event_base_loop(fx->base, EVLOOP_ONCE) >= 0);
	evhttp_connection_free(c->con);
	free(c->body);
	memcpy(retry_after, c->retry_after, sizeof(c->retry_after));
	return c->code;
}

static void
send_req(const char *profile, const struct sr_txn *t, struct sr_reply *rep)
{
	struct call c;

	call_start(&c, profile, t);
	call_wait(&c, t, rep);
}

static void
assert_reply(struct sr_reply *rep, int status, int failinfo)
{
	assert_int_equal(rep->status, status);
	assert_int_equal(rep->failinfo, failinfo);
}

enum { FI_BADREQUEST = 2, FI_BADCERTID = 4 }; /* RFC 8894 3.2.1.4.5 */

static const struct sr_req_params base_params = {
    .challenge_utf8 = -1, .msg_type = 19, .set_signing_time = 1};

/* A PKCSReq (msg_type 19) or RenewalReq (17) for the device key, signed with
 * it by signer (a certificate of that key), or by a self-signed one (NULL). */
static void
signed_req(struct sr_txn *t, int msg_type, const char *cn, const char *txid, X509 *signer)
{
	struct sr_req_params p = base_params;

	p.msg_type = msg_type;
	p.cn = cn;
	p.txid = txid;
	p.cipher = EVP_aes_128_cbc();
	p.md = EVP_sha256();
	memset(t, 0, sizeof(*t));
	assert_true(EVP_PKEY_up_ref(fx->dev_key));
	t->key = fx->dev_key;
	if (signer != NULL) {
		assert_true(X509_up_ref(signer));
		t->signer = signer;
	}
	assert_int_equal(sr_build_pkcsreq(&p, fx->ra, t, "test"), 0);
}

/* A PKCSReq from the device key, signed by a self-signed certificate. */
static void
pkcsreq(struct sr_txn *t, const char *cn, const char *txid)
{
	signed_req(t, 19, cn, txid, NULL);
}

__attribute__((unused)) static void
certpoll(const struct sr_txn *orig, struct sr_txn *t)
{
	struct sr_req_params p = base_params;

	p.msg_type = 20;
	p.cipher = EVP_aes_128_cbc();
	p.md = EVP_sha256();
	assert_int_equal(sr_build_certpoll(orig, fx->ca, &p, fx->ra, t, "test"), 0);
}

/* CertPoll for orig, expecting status / failInfo; 1 when it carried a certificate. */
__attribute__((unused)) static int
poll_expect(const char *profile, const struct sr_txn *orig, int status, int failinfo)
{
	struct sr_txn t;
	struct sr_reply rep;
	int got;

	certpoll(orig, &t);
	send_req(profile, &t, &rep);
	assert_reply(&rep, status, failinfo);
	got = rep.cert != NULL;
	sr_reply_clear(&rep);
	sr_txn_clear(&t);
	return got;
}

/* GetCert (want a certificate) or GetCRL, signed by the device's issued certificate. */
__attribute__((unused)) static void
getcert(X509 *signer, int msg_type, const char *serial, struct sr_reply *rep)
{
	struct sr_req_params p = base_params;
	struct sr_txn t = {0};

	p.msg_type = msg_type;
	p.cipher = EVP_aes_128_cbc();
	p.md = EVP_sha256();
	assert_true(EVP_PKEY_up_ref(fx->dev_key) && X509_up_ref(signer));
	t.key = fx->dev_key;
	t.signer = signer;
	t.want = msg_type == 22 ? SR_WANT_CRL : SR_WANT_ANY_CERT;
	assert_int_equal(
	    sr_build_ias_request(&p, fx->ra, X509_get_subject_name(fx->ca), serial, &t, "test"), 0);
	send_req("auto", &t, rep);
	sr_txn_clear(&t);
}

/* ---- the store's view -------------------------------------------------- */

struct find {
	const char *profile, *txid;
	struct store_txn t;
	int n;
};

static int
find_each(void *arg, const struct store_txn *t)
{
	struct find *f = arg;

	if (strcmp(t->profile, f->profile) == 0 && strcmp(t->transaction_id, f->txid) == 0) {
		f->t = *t;
		f->t.csr.sealed = NULL;
		f->t.csr.sealed_len = 0;
		f->n++;
	}
	return 0;
}

/* The transaction's row (asserted to be the only one): its state, or -1 with no row. */
__attribute__((unused)) static int
row(const char *profile, const char *txid, struct store_txn *ret)
{
	struct store_txn_filter flt = {.state = -1, .max = 1000};
	struct find f = {.profile = profile, .txid = txid};

	assert_int_equal(store_txn_list(fx->store, &flt, find_each, &f), 0);
	assert_true(f.n <= 1);
	if (ret != NULL)
		*ret = f.t;
	return f.n == 1 ? f.t.state : -1;
}

/* The loop runs until the fake backend holds n calls. */
__attribute__((unused)) static void
until_backend_holds(size_t n)
{
	while (fx->fb.nq < n)
		assert_true(event_base_loop(fx->base, EVLOOP_ONCE) >= 0);
}

#endif
