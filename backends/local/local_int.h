/* local_int.h: the local CA backend's state, shared by local.c (issuance)
 * and revoke.c (revocation and CRLs).  Private to backends/local/. */
#ifndef SGW_LOCAL_INT_H
#define SGW_LOCAL_INT_H

#include <sys/queue.h>
#include <time.h>

#include "backend.h"
#include "crl.h"
#include "template.h"

#define LOCAL_MAX_CSR (64 * 1024)
#define LOCAL_MAX_CHAIN 16

struct local_conf {
	char *type;
	char *ca_cert;
	char *ca_chain;
	char *ca_key;
	char *digest;
	const struct cfg_node *templates;
	char *state_dir;  /* an older version's revocation files, imported once */
	int crl_validity; /* seconds from thisUpdate to nextUpdate; default 7 d */
};

struct local_job;
struct local_crl_job;

struct local {
	char *name;
	char *path; /* "backends.<name>", for messages */
	struct local_conf conf;
	struct tmpl_set tmpls;
	const EVP_MD *md;
	/* set by start() */
	struct worker_pool *workers;
	const struct keyop_key *key;
	X509 *ca;
	STACK_OF(X509) * chain; /* issuing CA first */
	uint8_t aki[TMPL_MAX_KEYID];
	size_t aki_len;
	time_t ca_not_after;
	int running;
	LIST_HEAD(, local_job) jobs;
	/* revoke.c, loop thread only (the store through st in steps) */
	const struct ca_state *st; /* the store's (backend_env); NULL: no revoke / CRL */
	struct lcrl_paths paths;
	LIST_HEAD(, local_crl_job) crl_jobs;	/* in a step or on a worker */
	LIST_HEAD(, local_crl_job) crl_waiters; /* get_crl()s waiting for a check */
	int crl_reading;			/* a check (JOB_CHECK) in flight */
	int crl_making;				/* CRLs being made (JOB_MAKE) */
	int crl_ticking;			/* the periodic job in flight */
	struct event *crl_timer;		/* the periodic CRL job */
	int crl_period;				/* its period, seconds */
	X509_CRL *crl; /* the current CRL as last read from the store, or NULL */
	int64_t crl_number;
	int64_t crl_next;      /* its nextUpdate */
	int64_t crl_checked;   /* when the store was last read (monotonic ms) */
	int64_t import_number; /* an older version's last CRL number (0: none) */
	int import_pending;    /* that import waits for the store: no CRL, no revocation */
};

/* revoke.c */
int local_revoke(void *priv, const char *serial_hex, int reason, const uint8_t *der, size_t der_len,
		 backend_op_cb cb, void *arg);
int local_get_crl(void *priv, backend_crl_cb cb, void *arg);
int local_crl_configure(struct local *l, const struct cfg_node *node, struct sgw_err *err);
/* At start: the store's state (env->ca_state), the upgrade, the periodic job. */
int local_crl_start(struct local *l, const struct backend_env *env, struct sgw_err *err);
void local_crl_stop(struct local *l);
void local_crl_free(struct local *l);

#endif
