/* crl_work.h: the jobs of the local CA's revocations and CRLs (revoke.c)
 * and their work off the loop (crl_work.c): a step's store calls, through
 * core/ca_state.h (a store thread with PostgreSQL, inline with SQLite), and
 * the CRL's signing (a worker).  The work functions touch only their job.
 * Private to backends/local/. */
#ifndef SGW_LOCAL_CRL_WORK_H
#define SGW_LOCAL_CRL_WORK_H

#include "local_int.h"

/* A job of revoke.c, one kind at a time (job->kind):
 *   JOB_CHECK   a step: is the stored CRL newer than the one held? (read it)
 *   JOB_MAKE    a step reads [revokes | takes the lease], the stored CRL and
 *               the revocations; a worker builds and signs the next CRL; a
 *               step stores it (compare-and-set) or reads the winner's
 *   JOB_ANSWER  a worker job doing nothing: the callback, always later
 *   JOB_IMPORT  a step: the one-time import of an older version's state_dir
 *               files (at start directly, or retried from the periodic job
 *               while the store is unavailable)
 * A job in flight (a step or a worker job) is on l->crl_jobs; stop() sets
 * its owner to NULL and its done frees it. */
enum crl_job_kind { JOB_ANSWER, JOB_MAKE, JOB_CHECK, JOB_IMPORT };

struct local_crl_job {
	LIST_ENTRY(local_crl_job) link; /* loop thread only */
	struct local *owner;		/* NULL once stopped */
	enum crl_job_kind kind;
	backend_op_cb op_cb; /* a revocation waits for its CRL */
	backend_crl_cb crl_cb;
	void *arg;
	int rc; /* JOB_ANSWER: for op_cb */
	int attempts;
	int counted; /* in l->crl_making */
	int tick;    /* the periodic job's */
	/* what a step's work reads (copied: the backend may go meanwhile) */
	const struct ca_state *st;
	char *ca; /* l->name */
	int revoke;
	struct ca_revoked rv;
	char lease_job[300];
	int lease_ttl;
	int64_t known; /* JOB_CHECK: the number held, -1 when none */
	int fresh;     /* JOB_CHECK: read less than LOCAL_CRL_RECHECK_MS (revoke.c) ago */
	/* what a step's work found */
	int held;	   /* the lease */
	int read_rc;	   /* the stored CRL: 0 read, 1 same number, 2 not asked, or -SGW_E* */
	struct ca_crl got; /* got.der owned */
	X509_CRL *got_crl; /* got, decoded */
	int list_rc;
	int put_rc;
	/* JOB_IMPORT: the files (copied), what was imported (rc, err: why not) */
	struct lcrl_paths paths;
	int64_t import_number; /* the files' last CRL number */
	size_t added;	       /* revocations new to the store */
	int found;	       /* 0: the store holds a CRL already, or no file */
	/* JOB_MAKE: the build's inputs (by value) */
	struct lcrl_list list;
	struct lcrl_issue in; /* in.issuer owned */
	int64_t number;
	int seed; /* the first CRL after an upgrade: ca_state crl_seed */
	time_t now;
	/* the build's outputs (worker) */
	int made;
	uint8_t *der;
	size_t der_len;
	struct sgw_err err;
};

/* A job of l (its name copied, its state borrowed: l->st outlives it). */
struct local_crl_job *lcrl_job_new(struct local *l, enum crl_job_kind kind);
void lcrl_job_free(struct local_crl_job *j);

/* Step work: JOB_MAKE's first step (the revocation or the lease, then the
 * stored CRL and the revocations), its last (the CRL built stored, or the
 * winner's read), and JOB_CHECK (the stored number, or the CRL when the one
 * held is older than LOCAL_CRL_RECHECK_MS). */
void lcrl_read_work(void *arg);
void lcrl_put_work(void *arg);
void lcrl_check_work(void *arg);
/* JOB_IMPORT: while the store holds no CRL of this CA, the files'
 * revocations into it (blocking file I/O: rare, and small files). */
void lcrl_import_work(void *arg);
/* Worker work: JOB_MAKE builds and signs the CRL; JOB_ANSWER does nothing. */
void lcrl_build_work(void *arg);

#endif
