/* tests for backends/local/revoke.c and crl.c: revocations and CRLs of the
 * local CA in a shared state (core/ca_state.h), here an in-memory one with
 * the store's rules (a CRL stored only as the successor of the stored
 * number), shared by two started backends as two instances share the
 * store; the upgrade from an older version's state_dir files.  The state
 * checks the contract of core/ca_state.h: once the backend serves, it is
 * called only in a step's work, here inline (SQLite) or on a thread of its
 * own (PostgreSQL's store threads), never on the loop thread then. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "backend.h"
#include "ca_state.h"
#include "cfg.h"
#include "fixture/cfg_fixture.h"
#include "fixture/pki_fixture.h"

/* ---- the shared state: what the store keeps ----------------------------- */

struct fake {
	struct ca_revoked rv[16];
	size_t n;
	int64_t number; /* 0: no CRL stored */
	int64_t next_update;
	uint8_t *der;
	size_t der_len;
	int steal; /* the next put loses to a CRL of the same number without the last revocation */
	int seeds;
	int unavail;	/* crl_get answers -SGW_EUNAVAIL (PostgreSQL down) */
	int lease_held; /* what lease() answers */
	int leases;	/* lease() calls */
	char lease_job[64];
	/* the steps: inline, or on `threads` (never on the loop thread) */
	struct worker_pool *threads;
	pthread_t loop;
	int serving; /* the backends started: calls only in a step's work */
	int in_step, steps, dones;
	/* threaded: a call waits while `closed` (the store is locked) */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int closed;
};

/* Every call: in a step once serving, and then on a store thread when the
 * steps are threaded; it waits while the test holds the store closed. */
static void
f_enter(struct fake *s)
{
	if (!s->serving)
		return;
	assert_true(s->in_step);
	if (s->threads == NULL)
		return;
	assert_false(pthread_equal(pthread_self(), s->loop));
	pthread_mutex_lock(&s->mu);
	while (s->closed)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
}

static void
f_close(struct fake *s, int closed)
{
	pthread_mutex_lock(&s->mu);
	s->closed = closed;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static int
f_revoke(void *priv, const char *ca, const struct ca_revoked *r)
{
	struct fake *s = priv;

	f_enter(s);
	assert_string_equal(ca, "ca");
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->rv[i].serial, r->serial) == 0)
			return -SGW_EEXIST;
	assert_true(s->n < 16);
	s->rv[s->n++] = *r;
	return 0;
}

static int
f_list(void *priv, const char *ca, ca_revoked_each each, void *arg)
{
	struct fake *s = priv;

	f_enter(s);
	(void)ca;
	for (size_t i = 0; i < s->n; i++)
		if (each(arg, &s->rv[i]) < 0)
			break;
	return 0;
}

static int
f_get(void *priv, const char *ca, struct ca_crl *ret)
{
	struct fake *s = priv;

	f_enter(s);
	(void)ca;
	if (s->unavail)
		return -SGW_EUNAVAIL;
	if (s->number == 0)
		return -SGW_ENOTFOUND;
	ret->number = s->number;
	ret->next_update = s->next_update;
	ret->der = malloc(s->der_len);
	assert_non_null(ret->der);
	memcpy(ret->der, s->der, s->der_len);
	ret->der_len = s->der_len;
	return 0;
}

static void
f_set(struct fake *s, const struct ca_crl *c)
{
	free(s->der);
	s->der = malloc(c->der_len);
	assert_non_null(s->der);
	memcpy(s->der, c->der, c->der_len);
	s->der_len = c->der_len;
	s->number = c->number;
	s->next_update = c->next_update;
}

static int
f_put(void *priv, const char *ca, const struct ca_crl *c)
{
	struct fake *s = priv;

	f_enter(s);
	(void)ca;
	if (s->steal && s->number > 0) {
		/* another instance was faster with the CRL it had (no new entry) */
		struct ca_crl theirs = {c->number, s->next_update, s->der, s->der_len};
		uint8_t *old = s->der;

		s->der = NULL;
		f_set(s, &theirs);
		free(old);
		s->steal = 0;
		return -SGW_EEXIST;
	}
	if (c->number != s->number + 1)
		return -SGW_EEXIST;
	f_set(s, c);
	return 0;
}

static int
f_seed(void *priv, const char *ca, const struct ca_crl *c)
{
	struct fake *s = priv;

	f_enter(s);
	(void)ca;
	if (s->number != 0)
		return -SGW_EEXIST;
	s->seeds++;
	f_set(s, c);
	return 0;
}

static int
f_number(void *priv, const char *ca, int64_t *ret)
{
	struct fake *s = priv;

	f_enter(s);
	(void)ca;
	if (s->unavail)
		return -SGW_EUNAVAIL;
	if (s->number == 0)
		return -SGW_ENOTFOUND;
	*ret = s->number;
	return 0;
}

static int
f_lease(void *priv, const char *job, int ttl, int *ret_held)
{
	struct fake *s = priv;

	f_enter(s);
	assert_true(ttl > 0);
	snprintf(s->lease_job, sizeof(s->lease_job), "%s", job);
	s->leases++;
	*ret_held = s->lease_held;
	return 0;
}

struct f_step_ctx {
	struct fake *s;
	ca_step_fn work, done;
	void *arg;
};

static void
f_step_work(void *arg)
{
	struct f_step_ctx *c = arg;

	c->s->in_step++; /* one store thread: no two steps at once */
	c->work(c->arg);
	c->s->in_step--;
}

static void
f_step_done(void *arg)
{
	struct f_step_ctx *c = arg;

	assert_true(pthread_equal(pthread_self(), c->s->loop));
	c->done(c->arg);
	c->s->dones++;
	free(c);
}

static int
f_step(void *priv, ca_step_fn work, ca_step_fn done, void *arg)
{
	struct fake *s = priv;
	struct f_step_ctx *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	assert_true(pthread_equal(pthread_self(), s->loop));
	*c = (struct f_step_ctx){s, work, done, arg};
	s->steps++;
	if (s->threads != NULL)
		return worker_pool_submit(s->threads, f_step_work, f_step_done, c);
	f_step_work(c);
	f_step_done(c);
	return 0;
}

static const struct ca_state_ops fake_ops = {
    "fake", f_revoke, f_list, f_get, f_put, f_seed, f_number, f_lease, f_step,
};
/* a store that cannot tell the number alone */
static const struct ca_state_ops fake_ops_no_number = {
    "fake", f_revoke, f_list, f_get, f_put, f_seed, NULL, f_lease, f_step,
};

/* ---- fixture: a CA, two instances -------------------------------------- */

struct inst {
	struct keyop *keys;
	struct backend *b;
};

struct fx {
	char dir[64], cert[128], key[128];
	EVP_PKEY *ca_key;
	X509 *ca;
	struct event_base *base;
	struct worker_pool *pool;
	struct fake state;
	struct ca_state cs;
	struct inst a, b;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/scepgw-lrev-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->cert, sizeof(f->cert), "%s/ca.pem", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/ca.key", f->dir);
	f->ca_key = EVP_EC_gen("P-256");
	f->ca = pki_fixture_cert(
	    &(struct pki_fixture_cert){.key = f->ca_key,
				       .cn = "Test Issuing CA",
				       .serial = 1,
				       .not_before = -3600,
				       .not_after = 86400L * 3650,
				       .ext = {{"basicConstraints", "critical,CA:TRUE"},
					       {"keyUsage", "critical,keyCertSign,cRLSign"},
					       {"subjectKeyIdentifier", "hash"}}});
	pki_fixture_pem(f->cert, f->ca, NULL, 0644);
	pki_fixture_pem(f->key, NULL, f->ca_key, 0600);
	f->base = event_base_new();
	f->pool = worker_pool_new(f->base, 2);
	f->cs = (struct ca_state){&fake_ops, &f->state};
	f->state.loop = pthread_self();
	pthread_mutex_init(&f->state.mu, NULL);
	pthread_cond_init(&f->state.cv, NULL);
	*state = f;
	return 0;
}

static void
stop(struct inst *i)
{
	backend_free(i->b);
	keyop_free(i->keys);
	memset(i, 0, sizeof(*i));
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	const char *const files[] = {"ca.pem", "ca.key", "ca.revoked", "ca.crlnumber"};
	char path[160];

	f_close(&f->state, 0);
	stop(&f->a);
	stop(&f->b);
	while (f->state.dones < f->state.steps) /* a step of the periodic job, say */
		assert_int_equal(event_base_loop(f->base, EVLOOP_ONCE), 0);
	worker_pool_free(f->state.threads);
	worker_pool_free(f->pool);
	pthread_mutex_destroy(&f->state.mu);
	pthread_cond_destroy(&f->state.cv);
	event_base_free(f->base);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, files[i]);
		unlink(path);
	}
	rmdir(f->dir);
	free(f->state.der);
	X509_free(f->ca);
	EVP_PKEY_free(f->ca_key);
	free(f);
	return 0;
}

/* Configure and start backend "ca" as instance i; with the shared state
 * unless none. */
static int
try_start(struct fx *f, struct inst *i, const char *extra, int none, struct sgw_err *err)
{
	char yaml[4096];
	struct cfg *c = NULL;
	const struct cfg_backend *cb;
	struct backend_env env = {f->base, f->pool, NULL, NULL, none ? NULL : &f->cs};
	int r;

	snprintf(
	    yaml, sizeof(yaml),
	    CFG_FIXTURE_HEAD "scep_profiles:\n"
			     "  p1: {ra_identity: ra, ra_profile: rp, challenge: {type: none}}\n"
			     "ra_profiles:\n  rp: {backend: ca}\n"
			     "backends:\n  ca:\n    type: local\n    ca_cert: %s\n    ca_key: %s\n"
			     "%s%s",
	    f->cert, f->key, strstr(extra, "crl_validity") ? "" : "    crl_validity: 1h\n", extra);
	i->keys = env.keys = keyop_new();
	r = cfg_parse("t.yaml", (const uint8_t *)yaml, strlen(yaml), &c, err);
	if (r == 0 && (cb = cfg_backend_find(c, "ca")) != NULL)
		r = backend_new(cb->name, cb->type, cb->node, cb->path, &i->b, err);
	cfg_free(c);
	return r == 0 ? backend_start(i->b, &env, err) : r;
}

static void
start(struct fx *f, struct inst *i, const char *extra, int none)
{
	struct sgw_err err = {{0}};

	f->state.serving = 0; /* the start reads directly (the import) */
	if (try_start(f, i, extra, none, &err) != 0)
		fail_msg("%s", err.msg);
	f->state.serving = 1;
}

/* The steps on a store thread of their own, as with PostgreSQL. */
static int
setup_threaded(void **state)
{
	struct fx *f;

	setup(state);
	f = *state;
	f->state.threads = worker_pool_new(f->base, 1);
	assert_non_null(f->state.threads);
	return 0;
}

struct crlbox {
	int calls, rc;
	X509_CRL *crl;
};

static void
on_revoked(void *arg, int rc, const char *reason)
{
	struct crlbox *b = arg;

	(void)reason;
	b->calls++;
	b->rc = rc;
}

static void
on_crl(void *arg, X509_CRL *crl, const char *reason)
{
	struct crlbox *b = arg;

	(void)reason;
	b->calls++;
	X509_CRL_free(b->crl);
	b->crl = crl != NULL ? X509_CRL_dup(crl) : NULL;
}

static void
run_until(struct fx *f, const int *counter)
{
	while (*counter < 1)
		assert_int_equal(event_base_loop(f->base, EVLOOP_ONCE), 0);
}

static int
do_revoke(struct fx *f, struct inst *i, const char *serial, int reason)
{
	struct crlbox b = {0};

	assert_int_equal(backend_revoke(i->b, serial, reason, NULL, 0, on_revoked, &b), 0);
	assert_int_equal(b.calls, 0); /* always later */
	run_until(f, &b.calls);
	return b.rc;
}

/* The CRL instance i serves: issuer and signature checked; its number. */
static long
get_crl(struct fx *f, struct inst *i, X509_CRL **ret)
{
	struct crlbox b = {0};
	ASN1_INTEGER *num;
	long n;

	assert_int_equal(backend_get_crl(i->b, on_crl, &b), 0);
	run_until(f, &b.calls);
	assert_non_null(b.crl);
	assert_int_equal(X509_CRL_verify(b.crl, X509_get0_pubkey(f->ca)), 1);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(b.crl), X509_get_subject_name(f->ca)),
			 0);
	num = X509_CRL_get_ext_d2i(b.crl, NID_crl_number, NULL, NULL);
	assert_non_null(num);
	n = ASN1_INTEGER_get(num);
	ASN1_INTEGER_free(num);
	*ret = b.crl;
	return n;
}

/* The reason listed for serial hex (upper case), -1 when not listed. */
static int
reason_of(X509_CRL *crl, const char *hex)
{
	STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);

	for (int k = 0; k < sk_X509_REVOKED_num(rev); k++) {
		X509_REVOKED *rv = sk_X509_REVOKED_value(rev, k);
		BIGNUM *bn = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(rv), NULL);
		char *h = BN_bn2hex(bn);
		int match = strcmp(h, hex) == 0, reason;
		ASN1_ENUMERATED *e;

		OPENSSL_free(h);
		BN_free(bn);
		if (!match)
			continue;
		e = X509_REVOKED_get_ext_d2i(rv, NID_crl_reason, NULL, NULL);
		reason = e != NULL ? (int)ASN1_ENUMERATED_get(e) : 0;
		ASN1_ENUMERATED_free(e);
		return reason;
	}
	return -1;
}

/* ---- tests ---------------------------------------------------------------- */

static void
test_revoke_and_crl(void **state)
{
	struct fx *f = *state;
	X509_CRL *crl = NULL;

	start(f, &f->a, "", 0);
	assert_true(backend_caps(f->a.b) & BACKEND_CAP_CRL);
	assert_int_equal(get_crl(f, &f->a, &crl), 1); /* none stored: the first */
	assert_true(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)) <= 0);
	assert_int_equal(
	    ASN1_TIME_compare(X509_CRL_get0_nextUpdate(crl), X509_CRL_get0_lastUpdate(crl)), 1);
	X509_CRL_free(crl);
	assert_int_equal(f->state.number, 1);

	/* each revocation is stored, and the CRL with it before the callback */
	assert_int_equal(do_revoke(f, &f->a, "abc123", 1), 0);
	assert_int_equal(f->state.n, 1);
	assert_int_equal(f->state.number, 2);
	assert_int_equal(do_revoke(f, &f->a, "abc123", 4), -SGW_EEXIST);
	assert_int_equal(do_revoke(f, &f->a, "XYZ", 1), -SGW_EINVAL);
	assert_int_equal(do_revoke(f, &f->a, "00abc1", 1), -SGW_EINVAL); /* not the store's form */
	assert_int_equal(do_revoke(f, &f->a, "abc", 1), -SGW_EINVAL);	 /* half an octet */
	assert_int_equal(do_revoke(f, &f->a, "abc124", 8), -SGW_EINVAL); /* removeFromCRL */
	assert_int_equal(do_revoke(f, &f->a, "0abc", 3), 0); /* a leading zero nibble is fine */
	assert_int_equal(do_revoke(f, &f->a, "d00d", 0), 0);
	assert_int_equal(f->state.n, 3);
	assert_int_equal(get_crl(f, &f->a, &crl), 4);
	assert_int_equal(reason_of(crl, "ABC123"), 1);
	assert_int_equal(reason_of(crl, "0ABC"), 3);
	assert_int_equal(reason_of(crl, "D00D"), 0); /* unspecified: no extension */
	X509_CRL_free(crl);
	assert_int_equal(get_crl(f, &f->a, &crl), 4); /* nothing changed: the same CRL */
	X509_CRL_free(crl);

	/* a restart serves the stored CRL: the number is kept, not restarted */
	stop(&f->a);
	start(f, &f->a, "", 0);
	assert_int_equal(get_crl(f, &f->a, &crl), 4);
	assert_int_equal(reason_of(crl, "D00D"), 0);
	X509_CRL_free(crl);
	assert_int_equal(do_revoke(f, &f->a, "ee", 5), 0);
	assert_int_equal(f->state.number, 5);
}

/* Two instances on one state: a revocation on A is served by B with A's
 * number at once (the stored number checked on every CRL served), or within
 * LOCAL_CRL_RECHECK_MS (250 ms) by a store that cannot tell it alone. */
static void
two_instances(struct fx *f, int wait_ms)
{
	X509_CRL *crl = NULL;

	start(f, &f->a, "", 0);
	start(f, &f->b, "", 0);
	assert_int_equal(do_revoke(f, &f->a, "01", 1), 0);
	assert_int_equal(get_crl(f, &f->b, &crl), 1); /* A stored number 1 with it */
	assert_int_equal(reason_of(crl, "01"), 1);
	X509_CRL_free(crl);
	assert_int_equal(do_revoke(f, &f->a, "02", 4), 0);
	usleep((useconds_t)wait_ms * 1000);
	assert_int_equal(get_crl(f, &f->b, &crl), 2);
	assert_int_equal(reason_of(crl, "02"), 4);
	X509_CRL_free(crl);
	/* B revokes what A did already: the state says so */
	assert_int_equal(do_revoke(f, &f->b, "02", 1), -SGW_EEXIST);
	assert_int_equal(do_revoke(f, &f->b, "03", 1), 0);
	assert_int_equal(f->state.number, 3);
	usleep((useconds_t)wait_ms * 1000);
	assert_int_equal(get_crl(f, &f->a, &crl), 3);
	assert_int_equal(reason_of(crl, "03"), 1);
	X509_CRL_free(crl);
}

static void
test_two_instances(void **state)
{
	two_instances(*state, 0);
}

static void
test_two_instances_no_number(void **state)
{
	struct fx *f = *state;

	f->cs.ops = &fake_ops_no_number;
	two_instances(f, 300);
}

/* Another instance stores the same number first, from a list without this
 * revocation: this one makes the next number, so the revocation is listed. */
static void
test_race_lost(void **state)
{
	struct fx *f = *state;
	X509_CRL *crl = NULL;

	start(f, &f->a, "", 0);
	assert_int_equal(get_crl(f, &f->a, &crl), 1);
	X509_CRL_free(crl);
	f->state.steal = 1;
	assert_int_equal(do_revoke(f, &f->a, "abcd", 1), 0);
	assert_int_equal(f->state.steal, 0);
	assert_int_equal(f->state.number, 3); /* 2 was theirs, without abcd */
	assert_int_equal(get_crl(f, &f->a, &crl), 3);
	assert_int_equal(reason_of(crl, "ABCD"), 1);
	X509_CRL_free(crl);
}

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[160];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
}

/* An older version's state_dir: imported once, the number continues. */
static void
test_import(void **state)
{
	struct fx *f = *state;
	X509_CRL *crl = NULL;
	char extra[128];

	write_file(f->dir, "ca.revoked", "abc123 1 1700000000\n0abc 3 1700000100\n");
	write_file(f->dir, "ca.crlnumber", "41\n");
	snprintf(extra, sizeof(extra), "    state_dir: %s\n", f->dir);
	start(f, &f->a, extra, 0);
	assert_int_equal(f->state.n, 2);
	assert_string_equal(f->state.rv[1].serial, "0abc");
	assert_int_equal(f->state.rv[1].when, 1700000100);
	assert_int_equal(get_crl(f, &f->a, &crl), 42);
	assert_int_equal(f->state.seeds, 1);
	assert_int_equal(reason_of(crl, "ABC123"), 1);
	assert_int_equal(reason_of(crl, "0ABC"), 3);
	X509_CRL_free(crl);

	/* once: the files are not read again, even when they change */
	write_file(f->dir, "ca.revoked", "abc123 1 1700000000\n0abc 3 1700000100\nff 1 1\n");
	stop(&f->a);
	start(f, &f->a, extra, 0);
	start(f, &f->b, extra, 0);
	assert_int_equal(f->state.n, 2);
	assert_int_equal(get_crl(f, &f->b, &crl), 42);
	assert_int_equal(f->state.seeds, 1);
	X509_CRL_free(crl);
}

static void
test_import_bad_file(void **state)
{
	struct fx *f = *state;
	struct sgw_err err = {{0}};
	char extra[128];

	write_file(f->dir, "ca.revoked", "abc123 one 1700000000\n");
	snprintf(extra, sizeof(extra), "    state_dir: %s\n", f->dir);
	assert_int_equal(try_start(f, &f->a, extra, 0, &err), -SGW_EPARSE);
	assert_non_null(strstr(err.msg, "ca.revoked:1: bad revocation line"));
	assert_int_equal(f->state.n, 0);
}

/* The store unavailable at start (PostgreSQL down): the backend starts with
 * the import pending; meanwhile no CRL and no revocation, and no step but
 * the periodic job's retry (every 7 s with crl_validity: 1m); once the store
 * answers, that retry imports and the CRL continues the files' number. */
static void
test_import_pending(void **state)
{
	struct fx *f = *state;
	struct crlbox b = {0}, c = {0};
	X509_CRL *crl = NULL;
	char extra[160];

	write_file(f->dir, "ca.revoked", "abc123 1 1700000000\n0abc 3 1700000100\n");
	write_file(f->dir, "ca.crlnumber", "41\n");
	snprintf(extra, sizeof(extra), "    state_dir: %s\n    crl_validity: 1m\n", f->dir);
	f->state.unavail = 1;
	start(f, &f->a, extra, 0);
	assert_int_equal(backend_revoke(f->a.b, "beef", 1, NULL, 0, on_revoked, &b), 0);
	run_until(f, &b.calls);
	assert_int_equal(b.rc, -SGW_EUNAVAIL);
	assert_int_equal(backend_get_crl(f->a.b, on_crl, &c), 0);
	run_until(f, &c.calls);
	assert_null(c.crl);
	assert_int_equal(f->state.steps, 0);
	while (f->state.dones < 1) /* the periodic job's retry, still unavailable */
		assert_int_equal(event_base_loop(f->base, EVLOOP_ONCE), 0);
	assert_int_equal(f->state.n, 0);
	c.calls = 0;
	assert_int_equal(backend_get_crl(f->a.b, on_crl, &c), 0);
	run_until(f, &c.calls);
	assert_null(c.crl);
	f->state.unavail = 0;
	while (f->state.n < 2)
		assert_int_equal(event_base_loop(f->base, EVLOOP_ONCE), 0);
	assert_int_equal(get_crl(f, &f->a, &crl), 42);
	assert_int_equal(f->state.seeds, 1);
	assert_int_equal(reason_of(crl, "ABC123"), 1);
	assert_int_equal(reason_of(crl, "0ABC"), 3);
	X509_CRL_free(crl);
	assert_int_equal(do_revoke(f, &f->a, "beef", 1), 0);
	assert_int_equal(get_crl(f, &f->a, &crl), 43);
	X509_CRL_free(crl);
}

static void
until_leases(struct fx *f, int n)
{
	while (f->state.leases < n)
		assert_int_equal(event_base_loop(f->base, EVLOOP_ONCE), 0);
}

/* The periodic job (every crl_validity / 8: 7 s with 1m) runs on the holder
 * of the lease crl:<name> only, and makes the next CRL when the stored one
 * misses a revocation (its instance died between the two commits).  Not
 * held at first (another instance runs the job) unless held_first. */
static void
periodic_job(struct fx *f, int held_first)
{
	struct ca_revoked lost = {"0bad", 1, 1700000000};
	X509_CRL *crl = NULL;

	start(f, &f->a, "    crl_validity: 1m\n", 0);
	assert_int_equal(get_crl(f, &f->a, &crl), 1);
	X509_CRL_free(crl);
	f->state.serving = 0;				       /* the test plays another instance */
	assert_int_equal(f_revoke(&f->state, "ca", &lost), 0); /* no CRL was made for it */
	f->state.serving = 1;
	f->state.lease_held = held_first;
	until_leases(f, 1);
	assert_string_equal(f->state.lease_job, "crl:ca");
	if (!held_first) {
		assert_int_equal(f->state.number, 1); /* another instance runs the job */
		f->state.lease_held = 1;
		until_leases(f, 2);
	}
	while (f->state.number < 2)
		assert_int_equal(event_base_loop(f->base, EVLOOP_ONCE), 0);
	usleep(300 * 1000);
	assert_int_equal(get_crl(f, &f->a, &crl), 2);
	assert_int_equal(reason_of(crl, "0BAD"), 1);
	X509_CRL_free(crl);
}

static void
test_periodic_job(void **state)
{
	periodic_job(*state, 0);
}

static void
test_periodic_job_held(void **state)
{
	periodic_job(*state, 1);
}

/* With the store's calls on a store thread that waits (a locked table),
 * the loop runs on: a revocation and CRLs asked meanwhile return at once
 * and answer once the store answers; the CRLs asked together share one
 * check of the store. */
static void
test_store_waits(void **state)
{
	struct fx *f = *state;
	struct crlbox rv = {0}, c[3] = {{0}};
	struct timeval tv = {0, 200 * 1000};
	X509_CRL *crl = NULL;
	int steps;

	start(f, &f->a, "", 0);
	assert_int_equal(get_crl(f, &f->a, &crl), 1);
	X509_CRL_free(crl);
	f_close(&f->state, 1);
	steps = f->state.steps;
	assert_int_equal(backend_revoke(f->a.b, "abcd", 1, NULL, 0, on_revoked, &rv), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(backend_get_crl(f->a.b, on_crl, &c[i]), 0);
	assert_int_equal(f->state.steps, steps + 2); /* the revocation's, one check */
	assert_int_equal(event_base_loopexit(f->base, &tv), 0);
	assert_true(event_base_dispatch(f->base) >= 0); /* the loop runs 200 ms */
	assert_int_equal(rv.calls + c[0].calls + c[1].calls + c[2].calls, 0);
	assert_int_equal(f->state.n, 0);
	f_close(&f->state, 0);
	run_until(f, &rv.calls);
	for (int i = 0; i < 3; i++) {
		run_until(f, &c[i].calls);
		assert_non_null(c[i].crl);
		X509_CRL_free(c[i].crl);
	}
	assert_int_equal(rv.rc, 0);
	assert_int_equal(f->state.n, 1);
	assert_int_equal(f->state.number, 2);
	assert_int_equal(get_crl(f, &f->a, &crl), 2);
	assert_int_equal(reason_of(crl, "ABCD"), 1);
	X509_CRL_free(crl);
}

/* A backend stopped (a reload) while its steps wait for the store: no
 * callback after stop, and the steps that finish later free their jobs
 * (LeakSanitizer checks) without touching the backend. */
static void
test_stop_while_waiting(void **state)
{
	struct fx *f = *state;
	struct crlbox rv = {0}, c = {0};
	X509_CRL *crl = NULL;
	int steps;

	start(f, &f->a, "", 0);
	assert_int_equal(get_crl(f, &f->a, &crl), 1);
	X509_CRL_free(crl);
	f_close(&f->state, 1);
	steps = f->state.steps;
	assert_int_equal(backend_revoke(f->a.b, "beef", 1, NULL, 0, on_revoked, &rv), 0);
	assert_int_equal(backend_get_crl(f->a.b, on_crl, &c), 0);
	stop(&f->a);
	f_close(&f->state, 0);
	assert_int_equal(f->state.steps, steps + 2);
	while (f->state.dones < f->state.steps) /* the steps end without the backend */
		assert_int_equal(event_base_loop(f->base, EVLOOP_ONCE), 0);
	assert_int_equal(rv.calls + c.calls, 0);
	assert_int_equal(f->state.n, 1); /* the revocation's step ran: stored */
}

static void
test_no_shared_state(void **state)
{
	struct fx *f = *state;
	struct crlbox b = {0};

	start(f, &f->a, "", 1);
	assert_int_equal(backend_revoke(f->a.b, "abc1", 1, NULL, 0, on_revoked, &b), -SGW_EINVAL);
	assert_int_equal(backend_get_crl(f->a.b, on_crl, &b), -SGW_EINVAL);
	assert_int_equal(b.calls, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_revoke_and_crl, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_instances, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_instances_no_number, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_race_lost, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_import, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_import_bad_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_import_pending, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_periodic_job, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_shared_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_revoke_and_crl, setup_threaded, teardown),
	    cmocka_unit_test_setup_teardown(test_two_instances, setup_threaded, teardown),
	    cmocka_unit_test_setup_teardown(test_two_instances_no_number, setup_threaded, teardown),
	    cmocka_unit_test_setup_teardown(test_race_lost, setup_threaded, teardown),
	    cmocka_unit_test_setup_teardown(test_periodic_job_held, setup_threaded, teardown),
	    cmocka_unit_test_setup_teardown(test_store_waits, setup_threaded, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_while_waiting, setup_threaded, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
