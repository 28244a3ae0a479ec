/* admin_read.h: the admin API's reads of the store (GET /api/v1/transactions,
 * /transactions/ID, /certificates, and /metrics' counts), each one store step (store_exec()): on a
 * store thread when the store may block (PostgreSQL), inline with SQLite.
 * Under admin_api.c, over admin_reply.c. */
#ifndef SGW_ADMIN_READ_H
#define SGW_ADMIN_READ_H

#include <stdint.h>

#include <event2/http.h>
#include <jansson.h>

#include "admin_cert.h"
#include "admin_int.h"
#include "gw.h"

/* A transaction as the API shows it (key and SANs from the stored summary). */
json_t *admin_txn_json(const struct store_txn *t);
/* A positive decimal id: 0, or -1. */
int admin_id_parse(const char *s, int64_t *ret);
/* The store's form of a serial (txn_cert_serial: lowercase, whole bytes)
 * from what an operator pastes ("0A:1B", "0a1b"); "" if not hex. */
void admin_serial_norm(const char *in, char *out, size_t n);

/* Each replies (and audits) once the store answered: ?state=&limit= */
void admin_read_txns(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
		     const struct evkeyvalq *q);
void admin_read_txn(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
		    int64_t id);
/* POST /transactions/ID/approve or /reject (verb): txn_approve() or
 * txn_reject(), then the transaction as decided, or 404 / 409 / 500. */
void admin_read_decide(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
		       int64_t id, const char *verb, const char *reason);
/* ?subject=&serial=&limit=&before= */
void admin_read_certs(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
		      const struct evkeyvalq *q);
/* The revocation check a client certificate is owed (admin_cert_revoked()),
 * then cont(a, req, p); or the refusal: 403 (revoked), 503 (the store cannot
 * say). */
typedef void (*admin_authed_fn)(struct admin *a, struct evhttp_request *req,
				const struct admin_principal *p);
void admin_read_cert_check(struct admin *a, struct evhttp_request *req,
			   const struct admin_principal *p, const struct admin_cert_ref *ref,
			   admin_authed_fn cont);
/* GET /metrics: the page, once the store gave its counts (metrics.h). */
void admin_read_metrics(struct admin *a, struct evhttp_request *req,
			const struct admin_principal *p);
/* Shutdown, after store_drain(): the reads the store threads dropped. */
void admin_reads_free(struct admin *a);

#endif
