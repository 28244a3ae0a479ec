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
 * it knows of.  get_crl() serves the CRL held (the one last read from the
 * store) once a step checked the stored number (ca_state crl_number, cheap),
 * so a revocation made on another instance is served at once; a store that
 * cannot tell the number alone is read again at most every
 * LOCAL_CRL_RECHECK_MS.  A periodic job, run by one instance of the cluster
 * at a time (the lease "crl:<name>"), repairs a CRL that misses a revocation
 * (an instance that died between the two commits) or nears its nextUpdate.
 * state_dir only holds the files of an older version, imported once (crl.h);
 * when the store is unavailable at start the import is pending, retried by
 * the periodic job, and until it ran no CRL is served or made and no
 * revocation taken (the CRL number would not continue).
 *
 * Threads: once serving, every ca_state call runs in a step's work
 * (ca_state step(): a store thread with PostgreSQL, inline with SQLite),
 * which reads only its job; the signing runs on a worker; the loop thread
 * only moves jobs along and never waits for the store.  Callbacks run on
 * the loop thread, always after the call returned. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crl_work.h"
#include "log.h"

#define CRL_VALIDITY_DEFAULT (7 * 86400)
#define LOCAL_CRL_RECHECK_MS 250 /* between two reads of the stored CRL */
#define LOCAL_CRL_PERIOD 60	 /* the periodic job, at most (crl_validity / 8 when shorter) */
#define LOCAL_CRL_ATTEMPTS 5	 /* CRLs made for one revocation when others win the race */
#define IMPORT_PENDING "the import of state_dir waits for the store (unavailable); retried"

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

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

/* ---- jobs on the loop ------------------------------------------------------ */

/* What a step found, on the loop: the stored CRL is served from now on
 * when it is not the one held. */
static void
crl_take(struct local *l, struct local_crl_job *j)
{
	if (j->read_rc == -SGW_EIO)
		log_err("%s: the stored CRL does not decode", l->path);
	if (j->read_rc == 0 && (l->crl == NULL || j->got.number != l->crl_number)) {
		X509_CRL_free(l->crl);
		l->crl = j->got_crl;
		j->got_crl = NULL;
		l->crl_number = j->got.number;
		l->crl_next = j->got.next_update;
	}
	if (j->read_rc == 0 || j->read_rc == 1 || j->read_rc == -SGW_ENOTFOUND)
		l->crl_checked = mono_ms();
}

static void crl_job_done(void *arg);

static int
crl_job_submit(struct local *l, struct local_crl_job *j)
{
	int r = worker_pool_submit(l->workers, lcrl_build_work, crl_job_done, j);

	if (r < 0) {
		lcrl_job_free(j);
		return r;
	}
	LIST_INSERT_HEAD(&l->crl_jobs, j, link);
	return 0;
}

/* A step of j (the store's executor, core/ca_state.h); on l->crl_jobs
 * before it runs, since done may run at once (inline).  < 0: neither ran,
 * j is the caller's again. */
static int
crl_step(struct local *l, struct local_crl_job *j, ca_step_fn work, ca_step_fn done)
{
	int r;

	LIST_INSERT_HEAD(&l->crl_jobs, j, link);
	if ((r = l->st->ops->step(l->st->priv, work, done, j)) < 0)
		LIST_REMOVE(j, link);
	return r;
}

/* The end of a step on the loop: the job's owner, or NULL when the backend
 * stopped meanwhile (the job is freed). */
static struct local *
step_end(struct local_crl_job *j)
{
	struct local *l = j->owner;

	if (l == NULL) {
		lcrl_job_free(j);
		return NULL;
	}
	LIST_REMOVE(j, link);
	return l;
}

static void
crl_answer(struct local *l, struct local_crl_job *j, int rc, const char *why)
{
	if (j->op_cb != NULL)
		j->op_cb(j->arg, rc, rc < 0 ? why : NULL);
	else if (j->crl_cb != NULL && rc == 0 && l->crl != NULL)
		j->crl_cb(j->arg, l->crl, NULL);
	else if (j->crl_cb != NULL)
		j->crl_cb(j->arg, NULL, why != NULL ? why : "no CRL");
}

/* j's callback (if any), later: as a JOB_ANSWER on the worker pool.  When
 * even that fails (shutting down), at once. */
static void
crl_reply(struct local *l, struct local_crl_job *j, int rc, const char *why)
{
	if (j->op_cb == NULL && j->crl_cb == NULL) {
		lcrl_job_free(j);
		return;
	}
	j->kind = JOB_ANSWER;
	j->rc = rc;
	snprintf(j->err.msg, sizeof(j->err.msg), "%s", why != NULL ? why : "");
	if (worker_pool_submit(l->workers, lcrl_build_work, crl_job_done, j) < 0) {
		crl_answer(l, j, rc, why);
		lcrl_job_free(j);
		return;
	}
	LIST_INSERT_HEAD(&l->crl_jobs, j, link);
}

/* The CRLs served to those waiting (l->crl_waiters), once the check they
 * asked for is done and there is one to serve or none is being made. */
static void
crl_release(struct local *l)
{
	struct local_crl_job *w;

	if (l->crl_reading)
		return; /* they wait for the check they asked for */
	if ((l->crl == NULL || (int64_t)time(NULL) >= l->crl_next) && l->crl_making > 0)
		return; /* none, or expired: the one being made */
	while ((w = LIST_FIRST(&l->crl_waiters)) != NULL) {
		LIST_REMOVE(w, link);
		crl_reply(l, w, 0, NULL);
	}
}

static void make_read_done(void *arg);

/* A JOB_MAKE: its first step; the callbacks of j follow when the CRL is
 * stored or lost. */
static int
crl_make_new(struct local *l, backend_op_cb op_cb, backend_crl_cb crl_cb, void *arg, int attempts,
	     const struct ca_revoked *rv)
{
	struct local_crl_job *j = lcrl_job_new(l, JOB_MAKE);
	int r;

	if (j == NULL)
		return -SGW_ENOMEM;
	j->op_cb = op_cb;
	j->crl_cb = crl_cb;
	j->arg = arg;
	j->attempts = attempts;
	j->counted = 1;
	if (rv != NULL) {
		j->revoke = 1;
		j->rv = *rv;
	}
	l->crl_making++;
	if ((r = crl_step(l, j, lcrl_read_work, make_read_done)) < 0) {
		l->crl_making--;
		lcrl_job_free(j);
	}
	return r;
}

/* The end of a JOB_MAKE (or of a periodic job that made nothing). */
static void
make_end(struct local *l, struct local_crl_job *j, int rc, const char *why)
{
	if (j->counted)
		l->crl_making--;
	if (j->tick)
		l->crl_ticking = 0;
	crl_reply(l, j, rc, why);
	crl_release(l);
}

static void
make_read_done(void *arg)
{
	struct local_crl_job *j = arg;
	struct local *l = step_end(j);

	if (l == NULL)
		return;
	if (j->revoke && j->rc < 0) {
		make_end(l, j, j->rc,
			 j->rc == -SGW_EEXIST ? "revoked already" : sgw_strerror(j->rc));
		return;
	}
	if (j->revoke)
		log_info("%s: revoked serial %s (reason %d)", l->path, j->rv.serial, j->rv.reason);
	if (j->tick && !j->held) {
		make_end(l, j, 0, NULL); /* another instance runs the job */
		return;
	}
	crl_take(l, j);
	if ((j->read_rc < 0 && j->read_rc != -SGW_ENOTFOUND) || j->list_rc < 0) {
		make_end(l, j, 0, NULL); /* the revocation itself is stored */
		return;
	}
	if (j->tick && !crl_due(l, j->now) && j->list.n <= crl_entries(l->crl)) {
		make_end(l, j, 0, NULL); /* nothing to do */
		return;
	}
	if (!j->counted) {
		j->counted = 1;
		l->crl_making++;
	}
	j->seed = j->read_rc == -SGW_ENOTFOUND && l->import_number > 0;
	j->number = j->read_rc == -SGW_ENOTFOUND ? l->import_number + 1 : l->crl_number + 1;
	j->in.issuer = X509_NAME_dup(X509_get_subject_name(l->ca));
	memcpy(j->in.aki, l->aki, l->aki_len);
	j->in.aki_len = l->aki_len;
	j->in.validity = l->conf.crl_validity;
	j->in.key = l->key;
	j->in.md = l->md;
	if (j->in.issuer == NULL) {
		make_end(l, j, 0, NULL);
		return;
	}
	j->now = time(NULL);
	if (worker_pool_submit(l->workers, lcrl_build_work, crl_job_done, j) < 0) {
		make_end(l, j, 0, NULL);
		return;
	}
	LIST_INSERT_HEAD(&l->crl_jobs, j, link);
}

static void
make_put_done(void *arg)
{
	struct local_crl_job *j = arg;
	struct local *l = step_end(j);

	if (l == NULL)
		return;
	if (j->put_rc == 0) {
		crl_take(l, j);
		log_info("%s: CRL number %lld stored (%zu revoked)", l->path, (long long)j->number,
			 j->list.n);
	} else if (j->put_rc == -SGW_EEXIST) {
		/* another instance stored this number first: theirs, unless it
		 * lacks a revocation this one listed (revocations only grow) */
		crl_take(l, j);
		if (crl_entries(l->crl) < j->list.n && j->attempts + 1 < LOCAL_CRL_ATTEMPTS &&
		    crl_make_new(l, j->op_cb, j->crl_cb, j->arg, j->attempts + 1, NULL) == 0) {
			j->op_cb = NULL; /* the next job answers */
			j->crl_cb = NULL;
		}
	} else {
		log_err("%s: cannot store CRL number %lld: %s", l->path, (long long)j->number,
			sgw_strerror(j->put_rc));
	}
	make_end(l, j, 0, NULL);
}

/* A made CRL on the loop: stored in a step. */
static void
crl_made(struct local *l, struct local_crl_job *j)
{
	if (j->made < 0) {
		log_err("%s: cannot make CRL number %lld: %s", l->path, (long long)j->number,
			j->err.msg[0] ? j->err.msg : sgw_strerror(j->made));
		make_end(l, j, 0, j->err.msg); /* the revocation itself is stored */
		return;
	}
	if (crl_step(l, j, lcrl_put_work, make_put_done) < 0)
		make_end(l, j, 0, NULL); /* shutting down */
}

static void
crl_job_done(void *arg)
{
	struct local_crl_job *j = arg;
	struct local *l = j->owner;

	if (l == NULL) { /* stopped meanwhile: no callback */
		lcrl_job_free(j);
		return;
	}
	LIST_REMOVE(j, link);
	if (j->kind == JOB_MAKE) {
		crl_made(l, j);
		return;
	}
	crl_answer(l, j, j->rc, j->err.msg);
	lcrl_job_free(j);
}

static void
check_done(void *arg)
{
	struct local_crl_job *j = arg;
	struct local *l = step_end(j);

	if (l == NULL)
		return;
	l->crl_reading = 0;
	crl_take(l, j);
	lcrl_job_free(j);
	if (crl_due(l, time(NULL)) && l->crl_making == 0)
		(void)crl_make_new(l, NULL, NULL, NULL, 0, NULL);
	crl_release(l);
}

/* ---- the backend's operations ------------------------------------------ */

static int
answer_later(struct local *l, int rc, const char *why, backend_op_cb op_cb, void *arg)
{
	struct local_crl_job *j = lcrl_job_new(l, JOB_ANSWER);

	if (j == NULL)
		return -SGW_ENOMEM;
	j->rc = rc;
	snprintf(j->err.msg, sizeof(j->err.msg), "%s", why != NULL ? why : "");
	j->op_cb = op_cb;
	j->arg = arg;
	return crl_job_submit(l, j);
}

int
local_revoke(void *priv, const char *serial_hex, int reason, const uint8_t *der, size_t der_len,
	     backend_op_cb cb, void *arg)
{
	struct local *l = priv;
	struct ca_revoked rv = {.reason = reason, .when = (int64_t)time(NULL)};

	(void)der; /* the serial is enough: the CRL is ours */
	(void)der_len;
	if (cb == NULL || serial_hex == NULL || strlen(serial_hex) > LCRL_SERIAL_MAX)
		return -SGW_EINVAL;
	if (!l->running || l->st == NULL)
		return -SGW_EINVAL;
	if (!lcrl_valid_serial(serial_hex) || !lcrl_valid_reason(reason))
		return answer_later(l, -SGW_EINVAL, "bad serial or reason", cb, arg);
	snprintf(rv.serial, sizeof(rv.serial), "%s", serial_hex);
	if (l->import_pending) {
		log_warn("%s: revocation of serial %s refused: %s", l->path, serial_hex,
			 IMPORT_PENDING);
		return answer_later(l, -SGW_EUNAVAIL, IMPORT_PENDING, cb, arg);
	}
	/* cb once the revocation and the CRL with it are stored */
	return crl_make_new(l, cb, NULL, arg, 0, &rv);
}

/* The CRL held, once a step checked it is the stored one (JOB_CHECK, one
 * at a time: those asking meanwhile wait for it on l->crl_waiters). */
int
local_get_crl(void *priv, backend_crl_cb cb, void *arg)
{
	struct local *l = priv;
	struct local_crl_job *w, *c;
	int r;

	if (cb == NULL || !l->running || l->st == NULL)
		return -SGW_EINVAL;
	if ((w = lcrl_job_new(l, JOB_ANSWER)) == NULL)
		return -SGW_ENOMEM;
	w->crl_cb = cb;
	w->arg = arg;
	if (l->import_pending) {
		log_warn("%s: no CRL: %s", l->path, IMPORT_PENDING);
		crl_reply(l, w, -SGW_EUNAVAIL, IMPORT_PENDING);
		return 0;
	}
	LIST_INSERT_HEAD(&l->crl_waiters, w, link);
	if (l->crl_reading)
		return 0;
	if ((c = lcrl_job_new(l, JOB_CHECK)) == NULL) {
		r = -SGW_ENOMEM;
		goto fail;
	}
	c->known = l->crl != NULL ? l->crl_number : -1;
	c->fresh = l->crl != NULL && mono_ms() - l->crl_checked < LOCAL_CRL_RECHECK_MS;
	l->crl_reading = 1;
	if ((r = crl_step(l, c, lcrl_check_work, check_done)) == 0)
		return 0;
	l->crl_reading = 0;
	lcrl_job_free(c);
fail:
	LIST_REMOVE(w, link);
	lcrl_job_free(w);
	return r;
}

/* ---- the periodic job and the upgrade ----------------------------------- */

static void import_tick(struct local *l);

/* The holder of the lease crl:<name> makes the next CRL when the stored one
 * nears its nextUpdate or misses a revocation: a JOB_MAKE whose first step
 * takes the lease. */
static void
crl_tick(evutil_socket_t fd, short what, void *arg)
{
	struct local *l = arg;
	struct local_crl_job *j;

	(void)fd;
	(void)what;
	if (!l->running || l->crl_ticking)
		return;
	if (l->import_pending) {
		import_tick(l);
		return;
	}
	if ((j = lcrl_job_new(l, JOB_MAKE)) == NULL)
		return;
	j->tick = 1;
	snprintf(j->lease_job, sizeof(j->lease_job), "crl:%s", l->name);
	j->lease_ttl = 3 * l->crl_period;
	l->crl_ticking = 1;
	if (crl_step(l, j, lcrl_read_work, make_read_done) < 0) {
		l->crl_ticking = 0;
		lcrl_job_free(j);
	}
}

/* Once: the revocations and the CRL number of an older version's files go
 * into the store while it holds no CRL of this CA (the number continues).
 * While the store is unavailable the import is pending (l->import_pending):
 * the periodic job retries it, and meanwhile no CRL is made (its number
 * would not continue) and no revocation taken. */
static struct local_crl_job *
import_job(struct local *l)
{
	struct local_crl_job *j = lcrl_job_new(l, JOB_IMPORT);

	if (j != NULL)
		j->paths = l->paths;
	return j;
}

/* What a JOB_IMPORT did, on the loop: its rc (j->err says why). */
static int
import_end(struct local *l, struct local_crl_job *j)
{
	if (j->rc < 0)
		return j->rc;
	l->import_pending = 0;
	if (j->found) {
		l->import_number = j->import_number;
		log_warn(
		    "%s: imported %zu revocation(s) and CRL number %lld from %s into the store; "
		    "the files there are not read any more",
		    l->path, j->added, (long long)j->import_number, l->conf.state_dir);
	}
	return 0;
}

static void
import_done(void *arg)
{
	struct local_crl_job *j = arg;
	struct local *l = step_end(j);

	if (l == NULL)
		return;
	l->crl_ticking = 0;
	if (import_end(l, j) < 0 && j->rc != -SGW_EUNAVAIL)
		log_err("%s: the import of %s failed (retried): %s", l->path, l->conf.state_dir,
			j->err.msg);
	else if (!l->import_pending)
		log_info("%s: the import of %s is done: CRLs and revocations resume", l->path,
			 l->conf.state_dir);
	lcrl_job_free(j);
}

/* The periodic job while the import is pending: the import, in a step. */
static void
import_tick(struct local *l)
{
	struct local_crl_job *j = import_job(l);

	if (j == NULL)
		return;
	l->crl_ticking = 1;
	if (crl_step(l, j, lcrl_import_work, import_done) < 0) {
		l->crl_ticking = 0;
		lcrl_job_free(j);
	}
}

/* At start: the import directly (core/ca_state.h); pending when the store
 * is unavailable. */
static int
crl_import(struct local *l, struct sgw_err *err)
{
	struct local_crl_job *j;
	int r;

	if (l->conf.state_dir == NULL)
		return 0;
	if ((j = import_job(l)) == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "%s: out of memory", l->path);
	lcrl_import_work(j);
	if ((r = import_end(l, j)) == -SGW_EUNAVAIL) {
		l->import_pending = 1;
		log_warn("%s: the store is unavailable, the import/CRL check of %s is retried; "
			 "until it ran no CRL is served and revocations are refused (%s)",
			 l->path, l->conf.state_dir, j->err.msg);
		r = 0;
	} else if (r < 0) {
		r = sgw_err_set(err, -r, "%s: %s", l->path, j->err.msg);
	}
	lcrl_job_free(j);
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
	while ((j = LIST_FIRST(&l->crl_waiters)) != NULL) { /* no callback after stop */
		LIST_REMOVE(j, link);
		lcrl_job_free(j);
	}
	l->crl_reading = l->crl_ticking = 0;
	l->crl_making = 0;
}

void
local_crl_free(struct local *l)
{
	X509_CRL_free(l->crl);
	l->crl = NULL;
}
