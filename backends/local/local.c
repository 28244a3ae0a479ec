/* local.c: the local CA backend.  Signs CSRs with a CA key held by keyop,
 * on the worker pool; the outcome reaches the caller on the loop thread.
 *
 *   backends:
 *     local-ca: { type: local, ca_cert: ca.pem, ca_chain: chain.pem, ca_key: ca.key,
 *                 digest: sha256, templates: { default: { ... } } }
 *
 * Each submit() becomes one worker job that carries its inputs by value
 * (the CSR, a copy of the template, the issuer name, the AKI), so a job never
 * reads the backend's state off the loop thread; the CSR is the caller's
 * decoded X509_REQ when it passes one (borrowed until the callback), so it is
 * not decoded twice.  In-flight jobs are listed; stop() detaches them and
 * their results are then dropped silently. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "backend.h"
#include "local_int.h"
#include "pem_chain.h"
#include "template.h"

static const struct cfg_field local_fields[] = {
    {"type", CFG_STR, offsetof(struct local_conf, type), 1},
    {"ca_cert", CFG_STR, offsetof(struct local_conf, ca_cert), 1},
    {"ca_chain", CFG_STR, offsetof(struct local_conf, ca_chain), 0},
    {"ca_key", CFG_STR, offsetof(struct local_conf, ca_key), 1},
    {"digest", CFG_STR, offsetof(struct local_conf, digest), 0},
    {"templates", CFG_NODE, offsetof(struct local_conf, templates), 0},
    {"state_dir", CFG_STR, offsetof(struct local_conf, state_dir), 0},
    {"crl_validity", CFG_DURATION, offsetof(struct local_conf, crl_validity), 0},
    {NULL, 0, 0, 0},
};

struct local_job {
	LIST_ENTRY(local_job) link; /* loop thread only */
	struct local *owner;	    /* loop thread only; NULL once stopped */
	backend_cb cb;
	void *arg;
	struct tmpl_issue in;	    /* in.issuer is owned; in.req is own_req or borrowed */
	X509_REQ *own_req;	    /* decoded here when the request came as DER only */
	uint8_t *san_copy;	    /* in.san_der: the request's approved names, copied */
	int decided;		    /* outcome known at submit: nothing to sign */
	enum backend_status status; /* written by the worker */
	X509 *cert;
	struct sgw_err reason;
};

/* ---- configure --------------------------------------------------------- */

static const EVP_MD *
digest_by_name(const char *name)
{
	if (name == NULL || strcmp(name, "sha256") == 0)
		return EVP_sha256();
	if (strcmp(name, "sha384") == 0)
		return EVP_sha384();
	if (strcmp(name, "sha512") == 0)
		return EVP_sha512();
	return NULL;
}

static int
local_configure(void *priv, const char *bname, const struct cfg_node *node, const char *path,
		struct sgw_err *err)
{
	struct local *l = priv;
	int r;

	LIST_INIT(&l->jobs);
	LIST_INIT(&l->crl_jobs);
	LIST_INIT(&l->crl_waiters);
	l->name = strdup(bname);
	l->path = strdup(path);
	if (l->name == NULL || l->path == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	r = cfg_parse_map(node, path, local_fields, &l->conf, err);
	if (r < 0)
		return r;
	l->md = digest_by_name(l->conf.digest);
	if (l->md == NULL)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(node, "digest"), path,
			       "digest: '%s' is not one of sha256, sha384, sha512", l->conf.digest);
	r = tmpl_set_parse(l->conf.templates, path, &l->tmpls, err);
	l->conf.templates = NULL; /* borrowed from the config tree: not kept */
	if (r == 0)
		r = local_crl_configure(l, node, err);
	return r;
}

/* ---- start ------------------------------------------------------------- */

static int
load_certs(const struct local *l, const char *file, const char *key, STACK_OF(X509) * sk, int max,
	   struct sgw_err *err)
{
	STACK_OF(X509) *in = NULL;
	struct sgw_err lerr = {{0}};
	X509 *x;
	int r = pem_chain_load(file, (size_t)max, &in, &lerr);

	if (r == -SGW_EIO)
		return sgw_err_set(err, SGW_EIO, "%s.%s: %s: cannot open", l->path, key, file);
	if (r < 0)
		return sgw_err_set(err, r, "%s.%s: %s", l->path, key, lerr.msg);
	while (r == 0 && (x = sk_X509_shift(in)) != NULL) {
		if (l->ca != NULL && X509_cmp(x, l->ca) == 0) {
			X509_free(x); /* a chain file that repeats the issuing CA */
		} else if (!sk_X509_push(sk, x)) {
			X509_free(x);
			r = sgw_err_set(err, SGW_ENOMEM, "out of memory");
		}
	}
	sk_X509_pop_free(in, X509_free);
	return r;
}

static int
check_ca(struct local *l, struct sgw_err *err)
{
	const ASN1_OCTET_STRING *ski;
	unsigned int len = 0;
	struct tm tm;

	if ((X509_get_extension_flags(l->ca) & EXFLAG_CA) == 0)
		return sgw_err_set(err, SGW_EINVAL,
				   "%s.ca_cert: not a CA (basicConstraints CA:TRUE)", l->path);
	if ((X509_get_extension_flags(l->ca) & EXFLAG_KUSAGE) == 0 ||
	    (X509_get_key_usage(l->ca) & KU_KEY_CERT_SIGN) == 0)
		return sgw_err_set(err, SGW_EINVAL, "%s.ca_cert: keyUsage lacks keyCertSign",
				   l->path);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(l->ca), &tm) != 1)
		return sgw_err_set(err, SGW_EPARSE, "%s.ca_cert: bad notAfter", l->path);
	l->ca_not_after = timegm(&tm);
	ski = X509_get0_subject_key_id(l->ca);
	if (ski != NULL && ASN1_STRING_length(ski) > 0 &&
	    (size_t)ASN1_STRING_length(ski) <= sizeof(l->aki)) {
		l->aki_len = (size_t)ASN1_STRING_length(ski);
		memcpy(l->aki, ASN1_STRING_get0_data(ski), l->aki_len);
		return 0;
	}
	if (!X509_pubkey_digest(l->ca, EVP_sha1(), l->aki, &len)) /* no usable SKI */
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	l->aki_len = len;
	return 0;
}

static int
load_ca(struct local *l, struct sgw_err *err)
{
	int r;

	l->chain = sk_X509_new_null();
	if (l->chain == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	r = load_certs(l, l->conf.ca_cert, "ca_cert", l->chain, 1, err);
	if (r < 0)
		return r;
	l->ca = sk_X509_value(l->chain, 0);
	if (!X509_up_ref(l->ca)) {
		l->ca = NULL;
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	}
	r = check_ca(l, err);
	if (r == 0 && l->conf.ca_chain != NULL)
		r = load_certs(l, l->conf.ca_chain, "ca_chain", l->chain, LOCAL_MAX_CHAIN, err);
	return r;
}

/* The CA certificate and its key (a file or a token's, keyop.h), checked. */
static int
load_ca_key(struct local *l, struct keyop *keys, struct sgw_err *err)
{
	char id[300], inner[sizeof(err->msg)];
	int r;

	r = load_ca(l, err);
	if (r < 0)
		return r;
	snprintf(id, sizeof(id), "ca:%s", l->name);
	r = keyop_load(keys, id, l->conf.ca_key, err);
	if (r < 0) {
		snprintf(inner, sizeof(inner), "%s", err != NULL ? err->msg : "");
		return sgw_err_set(err, -r, "%s.ca_key: %s", l->path, inner);
	}
	l->key = keyop_find(keys, id);
	if (l->key == NULL || !keyop_matches_cert(l->key, l->ca))
		return sgw_err_set(err, SGW_EINVAL, "%s: ca_key %s does not match ca_cert %s",
				   l->path, l->conf.ca_key, l->conf.ca_cert);
	return 0;
}

static int
local_start(void *priv, const struct backend_env *env, struct sgw_err *err)
{
	struct local *l = priv;
	int r = load_ca_key(l, env->keys, err);

	if (r < 0)
		return r;
	l->workers = env->workers;
	l->running = 1;
	return local_crl_start(l, env, err);
}

/* ---- jobs -------------------------------------------------------------- */

static void
job_free(struct local_job *j)
{
	X509_REQ_free(j->own_req);
	free(j->san_copy);
	X509_NAME_free((X509_NAME *)j->in.issuer);
	X509_free(j->cert);
	free(j);
}

static void job_decide(struct local_job *j, enum backend_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
job_decide(struct local_job *j, enum backend_status st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->reason.msg, sizeof(j->reason.msg), fmt, ap);
	va_end(ap);
	j->status = st;
	j->decided = 1;
}

/* Worker thread: touches only the job. */
static void
job_work(void *arg)
{
	struct local_job *j = arg;
	int r;

	if (j->decided)
		return;
	r = tmpl_issue(&j->in, &j->cert, &j->reason);
	if (r == 0)
		j->status = BACKEND_ISSUED;
	else if (r == -SGW_ENOMEM || r == -SGW_EBACKEND)
		j->status = BACKEND_FAIL_TEMP;
	else
		j->status = BACKEND_FAIL_PERM;
}

/* The worker pool dropped the job at shutdown (its done never runs): the
 * backend forgets it, no callback. */
static void
job_drop(void *arg)
{
	struct local_job *j = arg;

	if (j->owner != NULL)
		LIST_REMOVE(j, link);
	job_free(j);
}

/* Loop thread. */
static void
job_done(void *arg)
{
	struct local_job *j = arg;
	struct backend_result res;
	struct local *l = j->owner;

	if (l == NULL) { /* stopped meanwhile: no callback */
		job_free(j);
		return;
	}
	LIST_REMOVE(j, link);
	memset(&res, 0, sizeof(res));
	res.status = j->status;
	if (j->status == BACKEND_ISSUED) {
		res.cert = j->cert;
		j->cert = NULL;
		res.chain = X509_chain_up_ref(l->chain);
		if (res.chain == NULL) {
			X509_free(res.cert);
			res.cert = NULL;
			res.status = BACKEND_FAIL_TEMP;
			snprintf(res.reason, sizeof(res.reason), "out of memory");
		}
	} else {
		snprintf(res.reason, sizeof(res.reason), "%.*s", (int)sizeof(res.reason) - 1,
			 j->reason.msg);
	}
	/* the callback may free the backend: `l` is not used after it */
	j->cb(j->arg, &res);
	backend_result_clear(&res);
	job_free(j);
}

/* The request's CSR: the caller's decoded one (already verified), else
 * csr_der decoded here.  -1 when it does not parse. */
static int
job_csr(struct local_job *j, const struct backend_request *req)
{
	const unsigned char *p = req->csr_der;

	if (req->csr_der == NULL || req->csr_len == 0 || req->csr_len > LOCAL_MAX_CSR)
		return -1;
	if (req->csr_req != NULL) {
		j->in.req = req->csr_req;
		j->in.req_verified = 1;
		return 0;
	}
	j->own_req = d2i_X509_REQ(NULL, &p, (long)req->csr_len);
	if (j->own_req == NULL || p != req->csr_der + req->csr_len) {
		ERR_clear_error();
		return -1;
	}
	j->in.req = j->own_req;
	return 0;
}

/* Fill the job's inputs; a bad request becomes a decided job (outcome by
 * callback like any other). */
static int
job_fill(struct local_job *j, const struct local *l, const struct backend_request *req)
{
	const char *name = req->template != NULL ? req->template : "default";
	const struct tmpl *t = tmpl_find(&l->tmpls, name);

	if (t == NULL) {
		job_decide(j, BACKEND_FAIL_PERM, "unknown certificate template '%.64s'", name);
		return 0;
	}
	if (job_csr(j, req) < 0) {
		job_decide(j, BACKEND_FAIL_PERM, "the CSR does not parse");
		return 0;
	}
	j->in.issuer = X509_NAME_dup(X509_get_subject_name(l->ca));
	if (j->in.issuer == NULL)
		return -SGW_ENOMEM;
	j->in.names_approved = req->names_approved;
	if (req->names_approved && req->san_len > 0) {
		if (req->san_der == NULL)
			return -SGW_EINVAL;
		if ((j->san_copy = malloc(req->san_len)) == NULL)
			return -SGW_ENOMEM;
		memcpy(j->san_copy, req->san_der, req->san_len);
		j->in.san_der = j->san_copy;
		j->in.san_len = req->san_len;
	}
	memcpy(j->in.aki, l->aki, l->aki_len);
	j->in.aki_len = l->aki_len;
	j->in.ca_not_after = l->ca_not_after;
	j->in.tp = t->p;
	j->in.key = l->key;
	j->in.md = l->md;
	return 0;
}

static int
local_submit(void *priv, const struct backend_request *req, backend_cb cb, void *arg)
{
	struct local *l = priv;
	struct local_job *j;
	int r;

	if (!l->running || cb == NULL)
		return -SGW_EINVAL;
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return -SGW_ENOMEM;
	j->owner = l;
	j->cb = cb;
	j->arg = arg;
	r = job_fill(j, l, req);
	if (r == 0)
		r = worker_pool_submit_drop(l->workers, job_work, job_done, job_drop, j);
	if (r < 0) {
		job_free(j);
		return r;
	}
	LIST_INSERT_HEAD(&l->jobs, j, link);
	return 0;
}

/* ---- the rest of the contract ------------------------------------------ */

static STACK_OF(X509) * local_ca_chain(void *priv)
{
	struct local *l = priv;

	return l->chain;
}

static void
local_stop(void *priv)
{
	struct local *l = priv;
	struct local_job *j;

	while ((j = LIST_FIRST(&l->jobs)) != NULL) {
		LIST_REMOVE(j, link);
		j->owner = NULL;
	}
	local_crl_stop(l);
	l->running = 0;
}

static void
local_free(void *priv)
{
	struct local *l = priv;

	local_stop(l);
	cfg_fields_free(local_fields, &l->conf);
	tmpl_set_free(&l->tmpls);
	local_crl_free(l);
	X509_free(l->ca);
	sk_X509_pop_free(l->chain, X509_free);
	free(l->name);
	free(l->path);
}

/* The files of an older version's revocation state (crl.h) are read after
 * the privilege drop, by `scepgw revoke` too: the user the daemon runs as
 * owns them (crl.h lcrl_own). */
static int
local_own_files(void *priv, uid_t uid, gid_t gid, int check, struct sgw_err *err)
{
	struct local *l = priv;
	struct sgw_err e = {{0}};
	int r;

	if (l->conf.state_dir == NULL)
		return 0;
	if ((r = lcrl_own(&l->paths, uid, gid, check, &e)) < 0)
		return sgw_err_set(err, -r, "%s: %s", l->path, e.msg);
	return 0;
}

const struct backend_ops backend_local = {
    .name = "local",
    .caps = BACKEND_CAP_REVOKE | BACKEND_CAP_CRL,
    .priv_size = sizeof(struct local),
    .configure = local_configure,
    .start = local_start,
    .submit = local_submit,
    .poll = NULL,
    .ca_chain = local_ca_chain,
    .revoke = local_revoke,
    .get_crl = local_get_crl,
    .stop = local_stop,
    .free = local_free,
    .own_files = local_own_files,
};
