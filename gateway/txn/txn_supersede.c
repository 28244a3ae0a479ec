/* txn_supersede.c: a renewal supersedes its signer's certificate: the store
 * records the successor (certificates.superseded_by, migration 6) and, where
 * the profile says so (renewal.revoke_superseded), the CA revokes the old
 * certificate with reason superseded (RFC 5280 5.3.1: 4) through revoke.c,
 * as `scepgw revoke` would.  The reply waits for that revocation, so the
 * request owns it and a shutdown drains it like any request in flight. */
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "revoke.h"
#include "txn.h"
#include "txn_result.h"
#include "txn_supersede.h"

#define CRL_REASON_SUPERSEDED 4

struct supersede_job {
	struct revoke_op op;
	struct req_ctx *r;
	void (*done)(struct req_ctx *r);
};

static void
revoked(void *arg, struct revoke_op *op)
{
	struct supersede_job *j = arg;
	struct req_ctx *r = j->r;
	void (*done)(struct req_ctx *) = j->done;

	if (op->backend_rc < 0 && op->backend_rc != -SGW_EEXIST)
		log_warn("txn=%s profile=%s: renewal: superseded certificate %s not revoked: %s",
			 r->msg->transaction_id, r->prof->cfg->name, op->serial,
			 op->backend_why[0] ? op->backend_why : sgw_strerror(op->backend_rc));
	else if (op->store_rc < 0 && op->store_rc != -SGW_EEXIST)
		log_warn("txn=%s profile=%s: renewal: superseded certificate %s revoked by the CA "
			 "but not marked in the store: %s",
			 r->msg->transaction_id, r->prof->cfg->name, op->serial,
			 sgw_strerror(op->store_rc));
	else
		log_info("txn=%s profile=%s: renewal: certificate %s revoked (superseded by %s)",
			 r->msg->transaction_id, r->prof->cfg->name, op->serial,
			 r->txn.cert_serial);
	free(j);
	done(r);
}

/* Shutdown: the revocation's store step was dropped; the request is freed
 * with the others (req_drop_all()), the job here. */
static void
revoke_dropped(void *arg, struct revoke_op *op)
{
	(void)op;
	free(arg);
}

static int
revoke_old(struct req_ctx *r, const char *serial, void (*done)(struct req_ctx *r))
{
	struct supersede_job *j = calloc(1, sizeof(*j));
	struct sgw_err err = {{0}};
	int ret;

	if (j == NULL) {
		log_warn("txn=%s: renewal: superseded certificate %s not revoked: out of memory",
			 r->msg->transaction_id, serial);
		return 0;
	}
	*j = (struct supersede_job){.r = r, .done = done};
	j->op = (struct revoke_op){.store = r->gw->store,
				   .backend = r->prof->backend,
				   .reason = CRL_REASON_SUPERSEDED,
				   .cb = revoked,
				   .drop = revoke_dropped,
				   .arg = j};
	snprintf(j->op.serial, sizeof(j->op.serial), "%s", serial);
	if ((ret = revoke_start(&j->op, &err)) == 0)
		return -SGW_EAGAIN;
	log_warn("txn=%s profile=%s: renewal: superseded certificate %s not revoked: %s",
		 r->msg->transaction_id, r->prof->cfg->name, serial,
		 err.msg[0] ? err.msg : sgw_strerror(ret));
	free(j);
	return 0;
}

/* Store step: mark the signer's certificate (r->st.serial) superseded. */
static void
supersede_work(void *arg)
{
	struct req_ctx *r = arg;

	r->st.rc =
	    store_cert_supersede(r->gw->store, r->prof->issuer, r->st.serial, r->txn.cert_serial);
}

static void
supersede_done(void *arg)
{
	struct req_ctx *r = arg;
	const char *old = r->st.serial;
	int ret = r->st.rc;

	if (ret < 0 && ret != -SGW_ENOTFOUND)
		log_warn("txn=%s profile=%s: renewal: cannot mark certificate %s superseded: %s",
			 r->msg->transaction_id, r->prof->cfg->name, old, sgw_strerror(ret));
	else if (ret == 0)
		log_info("txn=%s profile=%s: renewal: certificate %s superseded by %s",
			 r->msg->transaction_id, r->prof->cfg->name, old, r->txn.cert_serial);
	if (!r->prof->cfg->renewal.revoke_superseded || revoke_old(r, old, r->st.next) == 0)
		r->st.next(r);
}

void
txn_supersede(struct req_ctx *r, void (*done)(struct req_ctx *r))
{
	if (!r->renewal || r->txn.state != TXN_ISSUED || r->msg->signer == NULL ||
	    txn_cert_serial(r->msg->signer, r->st.serial, sizeof(r->st.serial)) < 0) {
		done(r);
		return;
	}
	r->st.next = done;
	txn_step(r, supersede_work, supersede_done);
}
