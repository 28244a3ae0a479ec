/* revoke.c: revocation and CRLs of the local CA backend.
 *
 *   local-ca: { type: local, ..., crl_validity: 7d, state_dir: /var/lib/scepgw/local-ca }
 *
 * The revocations and the current CRL live in the gateway's store, shared by
 * every instance (core/ca_state.h, handed over in backend_env.ca_state): any
 * instance revokes, every instance serves the same CRL.  A CRL is made (CRL
 * number + 1, signed on a worker) after a revocation, when none is stored or
 * the stored one is past half its validity, and stored only as the
 * successor of the stored number: an instance that loses that race serves
 * the winner's, or makes the next one when the winner's lacks a revocation
 * it knows of.  get_crl() serves the CRL read from the store after checking
 * the stored number (ca_state crl_number, cheap), so a revocation made on
 * another instance is served at once; a store that cannot tell the number
 * alone is read again at most every LOCAL_CRL_RECHECK_MS.  A periodic job, run by
 * one instance of the cluster at a time (the lease "crl:<name>"), repairs a
 * CRL that misses a revocation (an instance that died between the two
 * commits) or nears its nextUpdate.  state_dir only holds the files of an
 * older version, imported once (crl.h).  Callbacks run on the loop thread,
 * always after the call returned. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "local_int.h"
#include "log.h"

#define CRL_VALIDITY_DEFAULT (7 * 86400)
#define LOCAL_CRL_RECHECK_MS 250 /* between two reads of the stored CRL */
#define LOCAL_CRL_PERIOD 60	 /* the periodic job, at most (crl_validity / 8 when shorter) */
#define LOCAL_CRL_ATTEMPTS 5	 /* CRLs made for one revocation when others win the race */

/* JOB_ANSWER does nothing on the worker: the contract wants the callback
 * later even when the answer is known at once. */
enum crl_job_kind { JOB_ANSWER, JOB_MAKE };

struct local_crl_job {
	LIST_ENTRY(local_crl_job) link; /* loop thread only */
	struct local *owner;		/* NULL once stopped */
	enum crl_job_kind kind;
	backend_op_cb op_cb; /* a revocation waits for its CRL */
	backend_crl_cb crl_cb;
	void *arg;
	int rc; /* JOB_ANSWER: for op_cb */
	int attempts;
	/* JOB_MAKE inputs (by value) */
	struct lcrl_list list;
	struct lcrl_issue in; /* in.issuer owned */
	int64_t number;
	int seed; /* the first CRL after an upgrade: ca_state crl_seed */
	time_t now;
	/* outputs (worker) */
	int made;
	uint8_t *der;
	size_t der_len;
	struct sgw_err err;
};

int
local_crl_configure(struct local *l, const struct cfg_node *node, struct sgw_err *err)
{
	struct stat sb;

	if (l->conf.crl_validity == 0)
		l->conf.crl_validity = CRL_VALIDITY_DEFAULT;
	if (l->conf.crl_validity < 60 || l->conf.crl_validity > 366 * 86400)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(node, "crl_validity"), l->path,
			       "crl_validity: must be between 1m and 366d");
	if (l->conf.state_dir == NULL)
		return 0;
	if (stat(l->conf.state_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return cfg_err(err, SGW_EINVAL, cfg_node_get(node, "state_dir"), l->path,
			       "state_dir: %s is not a directory", l->conf.state_dir);
	if (lcrl_paths_init(&l->paths, l->conf.state_dir, l->name) < 0)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(node, "state_dir"), l->path,
			       "state_dir: path too long");
	return 0;
}

/* ---- the CRL as stored -------------------------------------------------- */

/* Serve c (the store's) from now on. */
static int
crl_adopt(struct local *l, const struct ca_crl *c)
{
	const unsigned char *p = c->der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)c->der_len);

	if (crl == NULL) {
		log_err("%s: the stored CRL number %lld does not decode", l->path,
			(long long)c->number);
		return -SGW_EIO;
	}
	X509_CRL_free(l->crl);
	l->crl = crl;
	l->crl_number = c->number;
	l->crl_next = c->next_update;
	return 0;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read the stored CRL; adopt it when its number changed.  -SGW_ENOTFOUND
 * when none is stored. */
static int
crl_refresh(struct local *l)
{
	struct ca_crl c = {0};
	int r = l->st->ops->crl_get(l->st->priv, l->name, &c);

	if (r == 0 && (l->crl == NULL || c.number != l->crl_number))
		r = crl_adopt(l, &c);
	if (r == 0 || r == -SGW_ENOTFOUND)
		l->crl_checked = mono_ms();
	free(c.der);
	return r;
}

static size_t
crl_entries(const X509_CRL *crl)
{
	int n = crl != NULL ? sk_X509_REVOKED_num(X509_CRL_get_REVOKED((X509_CRL *)crl)) : 0;

	return n > 0 ? (size_t)n : 0;
}

/* Past half its validity: time for the next one. */
static int
crl_due(const struct local *l, time_t now)
{
	return l->crl == NULL || (int64_t)now >= l->crl_next - l->conf.crl_validity / 2;
}

/* ---- jobs ----------------------------------------------------------------- */

static void
crl_job_free(struct local_crl_job *j)
{
	X509_NAME_free(j->in.issuer);
	lcrl_list_clear(&j->list);
	free(j->der);
	free(j);
}

static void
crl_job_work(void *arg)
{
	struct local_crl_job *j = arg;

	if (j->kind == JOB_MAKE)
		j->made =
		    lcrl_build(&j->in, &j->list, j->number, j->now, &j->der, &j->der_len, &j->err);
}

static struct local_crl_job *
crl_job_new(struct local *l, enum crl_job_kind kind)
{
	struct local_crl_job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	j->owner = l;
	j->kind = kind;
	j->now = time(NULL);
	return j;
}

static void crl_job_done(void *arg);

static int
crl_job_submit(struct local *l, struct local_crl_job *j)
{
	int r = worker_pool_submit(l->workers, crl_job_work, crl_job_done, j);

	if (r < 0) {
		crl_job_free(j);
		return r;
	}
	LIST_INSERT_HEAD(&l->crl_jobs, j, link);
	return 0;
}

static int
collect(void *arg, const struct ca_revoked *r)
{
	return lcrl_list_add(arg, r->serial, r->reason, r->when) == -SGW_ENOMEM ? -1 : 0;
}

/* Start making the next CRL from the store's revocations; the callbacks of
 * j (a JOB_MAKE) follow when it is stored or lost. */
static int
crl_make(struct local *l, struct local_crl_job *j)
{
	int r = crl_refresh(l);

	if (r < 0 && r != -SGW_ENOTFOUND)
		goto fail;
	j->seed = r == -SGW_ENOTFOUND && l->import_number > 0;
	j->number = r == -SGW_ENOTFOUND ? l->import_number + 1 : l->crl_number + 1;
	if ((r = l->st->ops->revoked_list(l->st->priv, l->name, collect, &j->list)) < 0)
		goto fail;
	j->in.issuer = X509_NAME_dup(X509_get_subject_name(l->ca));
	memcpy(j->in.aki, l->aki, l->aki_len);
	j->in.aki_len = l->aki_len;
	j->in.validity = l->conf.crl_validity;
	j->in.key = l->key;
	j->in.md = l->md;
	if (j->in.issuer == NULL) {
		r = -SGW_ENOMEM;
		goto fail;
	}
	return crl_job_submit(l, j);
fail:
	crl_job_free(j);
	return r;
}

static int
crl_make_new(struct local *l, backend_op_cb op_cb, backend_crl_cb crl_cb, void *arg, int attempts)
{
	struct local_crl_job *j = crl_job_new(l, JOB_MAKE);

	if (j == NULL)
		return -SGW_ENOMEM;
	j->op_cb = op_cb;
	j->crl_cb = crl_cb;
	j->arg = arg;
	j->attempts = attempts;
	return crl_make(l, j);
}

static void
crl_answer(struct local *l, struct local_crl_job *j, int rc, const char *why)
{
	if (j->op_cb != NULL)
		j->op_cb(j->arg, rc, rc < 0 ? why : NULL);
	else if (j->crl_cb != NULL && l->crl != NULL)
		j->crl_cb(j->arg, l->crl, NULL);
	else if (j->crl_cb != NULL)
		j->crl_cb(j->arg, NULL, why != NULL ? why : "no CRL");
}

/* A made CRL on the loop: store it, or take the one that won. */
static void
crl_made(struct local *l, struct local_crl_job *j)
{
	struct ca_crl c = {j->number, (int64_t)j->now + l->conf.crl_validity, j->der, j->der_len};
	int r;

	if (j->made < 0) {
		log_err("%s: cannot make CRL number %lld: %s", l->path, (long long)j->number,
			j->err.msg[0] ? j->err.msg : sgw_strerror(j->made));
		crl_answer(l, j, 0, j->err.msg); /* the revocation itself is stored */
		return;
	}
	r = (j->seed ? l->st->ops->crl_seed : l->st->ops->crl_put)(l->st->priv, l->name, &c);
	if (r == 0) {
		(void)crl_adopt(l, &c);
		l->crl_checked = mono_ms();
		log_info("%s: CRL number %lld stored (%zu revoked)", l->path, (long long)j->number,
			 j->list.n);
	} else if (r == -SGW_EEXIST) {
		/* another instance stored this number first: theirs, unless it
		 * lacks a revocation this one listed (revocations only grow) */
		(void)crl_refresh(l);
		if (crl_entries(l->crl) < j->list.n && j->attempts + 1 < LOCAL_CRL_ATTEMPTS &&
		    crl_make_new(l, j->op_cb, j->crl_cb, j->arg, j->attempts + 1) == 0)
			return; /* the next job answers */
	} else {
		log_err("%s: cannot store CRL number %lld: %s", l->path, (long long)j->number,
			sgw_strerror(r));
	}
	crl_answer(l, j, 0, NULL);
}

static void
crl_job_done(void *arg)
{
	struct local_crl_job *j = arg;
	struct local *l = j->owner;

	if (l == NULL) { /* stopped meanwhile: no callback */
		crl_job_free(j);
		return;
	}
	LIST_REMOVE(j, link);
	if (j->kind == JOB_MAKE)
		crl_made(l, j);
	else
		crl_answer(l, j, j->rc, j->err.msg);
	crl_job_free(j);
}

/* ---- the backend's operations ------------------------------------------ */

static int
answer_later(struct local *l, int rc, const char *why, backend_op_cb op_cb, backend_crl_cb crl_cb,
	     void *arg)
{
	struct local_crl_job *j = crl_job_new(l, JOB_ANSWER);

	if (j == NULL)
		return -SGW_ENOMEM;
	j->rc = rc;
	snprintf(j->err.msg, sizeof(j->err.msg), "%s", why != NULL ? why : "");
	j->op_cb = op_cb;
	j->crl_cb = crl_cb;
	j->arg = arg;
	return crl_job_submit(l, j);
}

int
local_revoke(void *priv, const char *serial_hex, int reason, const uint8_t *der, size_t der_len,
	     backend_op_cb cb, void *arg)
{
	struct local *l = priv;
	struct ca_revoked rv = {.reason = reason, .when = (int64_t)time(NULL)};
	int r;

	(void)der; /* the serial is enough: the CRL is ours */
	(void)der_len;
	if (cb == NULL || serial_hex == NULL || strlen(serial_hex) > LCRL_SERIAL_MAX)
		return -SGW_EINVAL;
	if (!l->running || l->st == NULL)
		return -SGW_EINVAL;
	if (!lcrl_valid_serial(serial_hex) || !lcrl_valid_reason(reason))
		return answer_later(l, -SGW_EINVAL, "bad serial or reason", cb, NULL, arg);
	snprintf(rv.serial, sizeof(rv.serial), "%s", serial_hex);
	r = l->st->ops->revoke(l->st->priv, l->name, &rv);
	if (r < 0)
		return answer_later(l, r, r == -SGW_EEXIST ? "revoked already" : sgw_strerror(r),
				    cb, NULL, arg);
	log_info("%s: revoked serial %s (reason %d)", l->path, serial_hex, reason);
	if (crl_make_new(l, cb, NULL, arg, 0) == 0)
		return 0; /* cb once the CRL with it is stored */
	return answer_later(l, 0, NULL, cb, NULL, arg);
}

/* Is the CRL held here older than the store's?  The stored number when the
 * store tells it alone, else a read every LOCAL_CRL_RECHECK_MS. */
static int
crl_stale(const struct local *l, int64_t ms)
{
	int64_t n = 0;
	int r = -SGW_EINVAL;

	if (l->crl == NULL)
		return 1;
	if (l->st->ops->crl_number != NULL)
		r = l->st->ops->crl_number(l->st->priv, l->name, &n);
	if (r == 0)
		return n != l->crl_number;
	if (r != -SGW_EINVAL)
		return 0; /* none stored, or the store failed: serve what is held */
	return ms - l->crl_checked >= LOCAL_CRL_RECHECK_MS;
}

int
local_get_crl(void *priv, backend_crl_cb cb, void *arg)
{
	struct local *l = priv;
	int64_t ms = mono_ms();

	if (cb == NULL || !l->running || l->st == NULL)
		return -SGW_EINVAL;
	if (crl_stale(l, ms))
		(void)crl_refresh(l);
	if (!crl_due(l, time(NULL)) || crl_make_new(l, NULL, cb, arg, 0) < 0)
		return answer_later(l, 0, NULL, NULL, cb, arg); /* the current one, if any */
	return 0;
}

/* ---- the periodic job and the upgrade ----------------------------------- */

static int
count_one(void *arg, const struct ca_revoked *r)
{
	(void)r;
	(*(size_t *)arg)++;
	return 0;
}

static void
crl_tick(evutil_socket_t fd, short what, void *arg)
{
	struct local *l = arg;
	char job[300];
	size_t n = 0;
	time_t now = time(NULL);
	int held = 0, r;

	(void)fd;
	(void)what;
	snprintf(job, sizeof(job), "crl:%s", l->name);
	if (!l->running || l->st->ops->lease(l->st->priv, job, 3 * l->crl_period, &held) < 0 ||
	    !held)
		return;
	if ((r = crl_refresh(l)) < 0 && r != -SGW_ENOTFOUND)
		return;
	if (l->st->ops->revoked_list(l->st->priv, l->name, count_one, &n) < 0)
		return;
	if (crl_due(l, now) || n > crl_entries(l->crl))
		(void)crl_make_new(l, NULL, NULL, NULL, 0);
}

/* Once: the revocations and the CRL number of an older version's files go
 * into the store while it holds no CRL of this CA (the number continues). */
static int
crl_import(struct local *l, struct sgw_err *err)
{
	struct lcrl_list list = {0};
	struct ca_crl c = {0};
	int64_t number = 0;
	size_t added = 0;
	int found = 0, r;

	if (l->conf.state_dir == NULL)
		return 0;
	r = l->st->ops->crl_get(l->st->priv, l->name, &c);
	free(c.der);
	if (r != -SGW_ENOTFOUND)
		return r < 0 ? sgw_err_set(err, -r, "%s: the store: %s", l->path, sgw_strerror(r))
			     : 0;
	if ((r = lcrl_import_read(&l->paths, &list, &number, &found, err)) < 0 || !found)
		goto out;
	for (size_t i = 0; i < list.n && r == 0; i++) {
		struct ca_revoked rv = {.reason = list.v[i].reason, .when = list.v[i].when};

		snprintf(rv.serial, sizeof(rv.serial), "%s", list.v[i].serial);
		r = l->st->ops->revoke(l->st->priv, l->name, &rv);
		added += r == 0;
		r = r == -SGW_EEXIST ? 0 : r;
	}
	if (r < 0) {
		r = sgw_err_set(err, -r, "%s: importing %s: %s", l->path, l->paths.revoked,
				sgw_strerror(r));
		goto out;
	}
	l->import_number = number;
	log_warn("%s: imported %zu revocation(s) and CRL number %lld from %s into the store; "
		 "the files there are not read any more",
		 l->path, added, (long long)number, l->conf.state_dir);
out:
	lcrl_list_clear(&list);
	return r;
}

int
local_crl_start(struct local *l, const struct backend_env *env, struct sgw_err *err)
{
	struct timeval tv;
	int r;

	l->st = env->ca_state;
	if (l->st == NULL)
		return 0; /* no revocation, no CRL */
	if ((r = crl_import(l, err)) < 0)
		return r;
	l->crl_period = l->conf.crl_validity / 8 < LOCAL_CRL_PERIOD ? l->conf.crl_validity / 8
								    : LOCAL_CRL_PERIOD;
	tv = (struct timeval){l->crl_period, 0};
	if (env->base == NULL)
		return 0;
	l->crl_timer = event_new(env->base, -1, EV_PERSIST, crl_tick, l);
	if (l->crl_timer == NULL || event_add(l->crl_timer, &tv) != 0)
		return sgw_err_set(err, SGW_ENOMEM, "%s: cannot start the CRL timer", l->path);
	return 0;
}

void
local_crl_stop(struct local *l)
{
	struct local_crl_job *j;

	if (l->crl_timer != NULL)
		event_free(l->crl_timer);
	l->crl_timer = NULL;
	while ((j = LIST_FIRST(&l->crl_jobs)) != NULL) {
		LIST_REMOVE(j, link);
		j->owner = NULL;
	}
}

void
local_crl_free(struct local *l)
{
	X509_CRL_free(l->crl);
	l->crl = NULL;
}
