/* scep_req.h: one SCEP HTTP request in flight (the nginx request pool idea):
 * everything it owns hangs off this struct and is freed in exactly one
 * place, after the reply is sent and the log line written.  A request has
 * one way to end: req_end(). */
#ifndef SGW_SCEP_REQ_H
#define SGW_SCEP_REQ_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/http.h>
#include <openssl/x509.h>

#include "backend_result.h"
#include "csr.h"
#include "err.h"
#include "gw.h"
#include "scep_fail.h"
#include "scep_msg.h"
#include "store.h"

/* What txn_pkiop.c's decode job worked out on a worker thread for a PKIOperation
 * (the pkiMessage, then the envelope and the CSR in it).  The loop thread
 * takes each result at the point of the flow where it used to do the work
 * itself, so the outcomes and reasons stay in the same order. */
struct http_origin; /* http_conn.h */

struct req_decoded {
	int msg_rc; /* scep_msg_decode: 0 or -SGW_E*, the reason in msg_err */
	struct sgw_err msg_err;
	int cipher_nid; /* scep_envelope_cipher of the envelope, 0 when unreadable */
	int decrypt_rc; /* scep_envelope_decrypt */
	struct sgw_err decrypt_err;
	uint8_t *content; /* decrypted messageData: owned until taken */
	size_t content_len;
	int content_cipher_nid;
	int csr_rc; /* csr_parse (PKCSReq, RenewalReq) */
	struct sgw_err csr_err;
	struct csr *csr; /* owned until taken */
	int seal_rc;	 /* txn_csr_seal of the CSR (txn_csr.h) */
	struct sgw_err seal_err;
	struct store_csr sealed; /* owned until taken */
};

struct req_ctx {
	struct gw *gw;
	LIST_ENTRY(req_ctx) link;    /* gw->reqs */
	struct profile_set *ps;	     /* the configuration generation it started with: a reference */
	struct profile *prof;	     /* NULL, or one of ps */
	struct evhttp_request *http; /* replied to exactly once, through req_end */
	char peer[64];	     /* the client: the TCP peer, or what a trusted proxy forwarded */
	char via[64];	     /* the trusted proxy it came through, or "" */
	char user_agent[96]; /* the User-Agent header, made safe for the log ("" if none) */
	const char *method;
	const char *op; /* for the log: GetCACaps, PKCSReq, CertPoll, ... */
	struct timespec start;

	/* PKIOperation */
	uint8_t *body;
	size_t body_len;
	struct scep_msg *msg; /* set by the decode job (txn_pkiop.c) */
	struct req_decoded pre;
	int cipher_nid;
	uint8_t *content; /* decrypted messageData */
	size_t content_len;
	struct csr *csr;
	struct store_txn txn;
	int have_txn;
	int prefound;		    /* the lookup was made with the nonce check: its code + 1 */
	int attempts;		    /* backend submissions (serial collisions) */
	struct timespec backend_t0; /* the last backend call (metrics_backend) */
	int renewal;		    /* signed by a certificate of the profile's CA (renewal.c) */
	char renewal_refused[176];  /* why that certificate did not authorize it, or "" */
	const char *auth;	 /* what authorized the request (the log): a validator, "renewal" */
	X509_CRL *crl;		 /* GetCRL SUCCESS: owned */
	const char *crl_backend; /* /crl/<name>.crl: the backend's name (for the metrics) */
	X509 *new_cert;		 /* the certificate this request just had issued: owned */
	struct store_owed owed;	 /* the validator notification it owes (txn_owed.c) */

	/* outcome and reply */
	enum scep_outcome outcome;
	char reason[256];
	STACK_OF(X509) * issued; /* SUCCESS: certificate first, then chain */
	char serial[80];
	uint8_t *reply;
	size_t reply_len;
	const char *reply_type;
	int reply_status; /* with r->reply: the HTTP status instead of the outcome's (304), or 0 */
	int rc;		  /* worker result */
	struct sgw_err werr;

	/* A store step in flight (txn_step(): its work may run on a store
	 * thread and touches only r and the store; done reads the results). */
	struct {
		int rc;		    /* the step's store result */
		int rc2;	    /* a second lookup's, or a flag */
		int64_t now;	    /* txn_now() when the step was started */
		int64_t seen;	    /* txn_accept: the row's `updated` as it was read */
		int64_t wall;	    /* txn_accept: time() */
		struct sgw_err err; /* the reason with rc */
		char serial[80];    /* a serial the step works on */
		void (*next)(struct req_ctx *r); /* where the flow goes on after it */
		struct store_cert cert;		 /* a certificate read: owned */
		struct backend_result res;	 /* the backend result being stored: owned */
	} st;
};

/* origin: the client a PROXY protocol header named (http_conn.h), or NULL:
 * the TCP peer, or whom X-Forwarded-For names behind a trusted proxy. */
struct req_ctx *req_new(struct gw *gw, struct evhttp_request *http,
			const struct http_origin *origin, const char *op);

/* The request's one terminal: record the outcome (and a reason, fmt may be
 * NULL, for the log line and failInfoText), then, when r carries a
 * pkiMessage and the outcome is a pkiStatus, build the CertRep on a worker
 * (SUCCESS carries r->issued or r->crl); send it (or r->reply as set, or
 * the outcome's HTTP error), log the one line, count it, free r.  r is gone
 * when this returns, or soon after. */
void req_end(struct req_ctx *r, enum scep_outcome out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Shutdown, once nothing can call back into a request any more (the worker
 * pool and the store threads stopped, the backends and validators stopped,
 * the loop no longer runs): free the requests still in flight, which the
 * drain deadline or a second signal left unanswered (their connections are
 * closed with the listeners).  Logs how many; returns the count. */
unsigned req_drop_all(struct gw *gw);

#endif
