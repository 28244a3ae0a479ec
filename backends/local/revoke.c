/* revoke.c: revocation and CRLs of the local CA backend.
 *
 *   local-ca: { type: local, ..., state_dir: /var/lib/scepgw/local-ca, crl_validity: 7d }
 *
 * The revocation list and the CRL number live in state_dir (crl.h), shared
 * with `scepgw revoke`, which runs in another process.  get_crl() serves the
 * last CRL while the revocation file is unchanged (same inode, size and
 * mtime) and the CRL is younger than half its validity; otherwise a worker
 * makes a new one.  Both operations do their file I/O and signing on the
 * worker pool; the callback runs on the loop thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "local_int.h"

#define CRL_VALIDITY_DEFAULT (7 * 86400)

/* JOB_CACHED does nothing on the worker: the contract wants the callback
 * later even when the answer (the cached CRL) is known at once. */
enum crl_job_kind { JOB_REVOKE, JOB_CRL, JOB_CACHED };

struct local_crl_job {
	LIST_ENTRY(local_crl_job) link; /* loop thread only */
	struct local *owner;		/* NULL once stopped */
	enum crl_job_kind kind;
	backend_op_cb op_cb;
	backend_crl_cb crl_cb;
	void *arg;
	/* inputs (by value) */
	struct lcrl_paths paths;
	char serial[LCRL_SERIAL_MAX + 1];
	int reason;
	struct lcrl_issue in; /* in.issuer owned */
	time_t now;
	/* outputs (worker) */
	int rc;
	X509_CRL *crl;
	struct lcrl_stamp stamp;
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

static void
crl_job_free(struct local_crl_job *j)
{
	X509_NAME_free(j->in.issuer);
	X509_CRL_free(j->crl);
	free(j);
}

static void
crl_job_work(void *arg)
{
	struct local_crl_job *j = arg;

	if (j->kind == JOB_REVOKE)
		j->rc = lcrl_revoke(&j->paths, j->serial, j->reason, (int64_t)j->now, &j->err);
	else if (j->kind == JOB_CRL)
		j->rc = lcrl_generate(&j->paths, &j->in, j->now, &j->crl, &j->stamp, &j->err);
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
	if (j->kind == JOB_REVOKE) {
		j->op_cb(j->arg, j->rc, j->rc < 0 ? j->err.msg : NULL);
	} else if (j->kind == JOB_CACHED && l->crl == NULL) {
		j->crl_cb(j->arg, NULL, "no CRL");
	} else if (j->kind == JOB_CACHED) {
		j->crl_cb(j->arg, l->crl, NULL);
	} else if (j->rc < 0) {
		j->crl_cb(j->arg, NULL, j->err.msg[0] ? j->err.msg : sgw_strerror(j->rc));
	} else {
		X509_CRL_free(l->crl);
		l->crl = j->crl;
		j->crl = NULL;
		l->crl_stamp = j->stamp;
		l->crl_made = j->now;
		j->crl_cb(j->arg, l->crl, NULL);
	}
	crl_job_free(j);
}

static struct local_crl_job *
crl_job_new(struct local *l, enum crl_job_kind kind, void *arg)
{
	struct local_crl_job *j;

	if (!l->running || l->conf.state_dir == NULL)
		return NULL;
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return NULL;
	j->owner = l;
	j->kind = kind;
	j->arg = arg;
	j->paths = l->paths;
	j->now = time(NULL);
	return j;
}

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

int
local_revoke(void *priv, const char *serial_hex, int reason, backend_op_cb cb, void *arg)
{
	struct local *l = priv;
	struct local_crl_job *j;

	if (cb == NULL || serial_hex == NULL || strlen(serial_hex) > LCRL_SERIAL_MAX)
		return -SGW_EINVAL;
	if ((j = crl_job_new(l, JOB_REVOKE, arg)) == NULL)
		return l->conf.state_dir == NULL || !l->running ? -SGW_EINVAL : -SGW_ENOMEM;
	j->op_cb = cb;
	snprintf(j->serial, sizeof(j->serial), "%s", serial_hex);
	j->reason = reason;
	return crl_job_submit(l, j);
}

/* The cached CRL is current: same revocation file, not past half its life. */
static int
crl_fresh(const struct local *l, time_t now)
{
	struct lcrl_stamp st;

	if (l->crl == NULL || now - l->crl_made >= l->conf.crl_validity / 2 || now < l->crl_made)
		return 0;
	return lcrl_stamp(&l->paths, &st) == 0 && lcrl_stamp_equal(&st, &l->crl_stamp);
}

int
local_get_crl(void *priv, backend_crl_cb cb, void *arg)
{
	struct local *l = priv;
	struct local_crl_job *j;

	if (cb == NULL || !l->running || l->conf.state_dir == NULL)
		return -SGW_EINVAL;
	if (crl_fresh(l, time(NULL))) {
		if ((j = crl_job_new(l, JOB_CACHED, arg)) == NULL)
			return -SGW_ENOMEM;
		j->crl_cb = cb;
		return crl_job_submit(l, j);
	}
	if ((j = crl_job_new(l, JOB_CRL, arg)) == NULL)
		return -SGW_ENOMEM;
	j->crl_cb = cb;
	j->in.issuer = X509_NAME_dup(X509_get_subject_name(l->ca));
	memcpy(j->in.aki, l->aki, l->aki_len);
	j->in.aki_len = l->aki_len;
	j->in.validity = l->conf.crl_validity;
	j->in.key = l->key;
	j->in.md = l->md;
	if (j->in.issuer == NULL) {
		crl_job_free(j);
		return -SGW_ENOMEM;
	}
	return crl_job_submit(l, j);
}

void
local_crl_stop(struct local *l)
{
	struct local_crl_job *j;

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
