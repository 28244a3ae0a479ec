/* ejbca_int.h: state shared by the EJBCA backend's files.
 *
 *   ejbca.c       configuration, start/stop, the backend_ops vtable
 *   ejbca_req.c   submit, poll, revoke, get_crl: what each request sends
 *   ejbca_flow.c  the REST calls and their outcomes
 *   ejbca_user.c  template lookup and usernames (ejbca_user.h)
 *   ejbca_cert.c  certificates from DER and PEM, issuing CA first (ejbca_cert.h)
 *   ejbca_json.c  the JSON bodies (ejbca_json.h)
 *
 * Each file calls only the files listed below it. */
#ifndef SGW_EJBCA_INT_H
#define SGW_EJBCA_INT_H

#include <sys/queue.h>

#include <openssl/x509.h>

#include "backend.h"
#include "ejbca_json.h"
#include "http_client.h"
#include "http_trust.h"

#define EJBCA_MAX_CSR (64 * 1024)
#define EJBCA_MAX_USERNAME 128
#define EJBCA_CODE_BYTES 16

enum ejbca_user_from {
	EJBCA_USER_CN,
	EJBCA_USER_SAN_DNS,
	EJBCA_USER_SAN_EMAIL,
	EJBCA_USER_TXID,
	EJBCA_USER_FROM_MAX
};

/* what pkcs10enroll sends for one RA profile template */
struct ejbca_tmpl {
	char *name;
	char *certificate_profile;
	char *end_entity_profile;
	enum ejbca_user_from user_from;
	char *user_prefix; /* never NULL after configure */
	char *user_suffix;
};

struct ejbca_conf {
	char *type;
	char *url; /* base, e.g. https://ca:8443/ejbca/ejbca-rest-api (no trailing /) */
	char *client_cert;
	char *client_key;
	struct http_trust trust; /* ca_bundle, pin_sha256 */
	char *ca_name;
	char *ca_dn;	/* EJBCA's spelling; else discovered with GET v1/ca */
	char *ca_chain; /* PEM file; else downloaded at start */
	char *certificate_profile;
	char *end_entity_profile;
	const struct cfg_node *username;
	const struct cfg_node *templates;
	int include_chain;
	int connect_timeout; /* seconds */
	int timeout;
	int retries;
	int retry_backoff;
	size_t max_response;
	int max_connections;
};

struct ejbca {
	char *name;
	char *path;
	struct ejbca_conf conf;
	struct ejbca_tmpl dflt; /* the top-level profile names and username scheme */
	struct ejbca_tmpl *tmpls;
	size_t n_tmpls;
	char dn[512];		/* issuing CA DN, "" until known */
	STACK_OF(X509) * chain; /* issuing CA first; NULL until known */
	struct event_base *evbase;
	struct http_client *hc;
	int running;
	LIST_HEAD(, ejbca_op) ops;
};

/* one backend operation (ejbca_flow.c) */
enum op_kind { OP_INIT, OP_ENROLL, OP_FINALIZE, OP_REVOKE, OP_CRL, OP_KIND_MAX };
enum op_step { ST_CA_LIST, ST_CHAIN, ST_MAIN };

struct ejbca_op {
	LIST_ENTRY(ejbca_op) link;
	struct ejbca *e;
	enum op_kind kind;
	enum op_step step;
	int dn_tried, chain_tried;
	struct http_call *call;
	struct event *defer; /* outcome known at submit: delivered from a timer */
	enum backend_status decided;
	backend_cb cb;
	backend_op_cb op_cb;
	backend_crl_cb crl_cb;
	void *arg;
	char *body; /* JSON; holds the enrolment code */
	char handle[256];
	char code[2 * EJBCA_CODE_BYTES + 1];
	char txid[80];
	char user[EJBCA_MAX_USERNAME];
	char serial[80];
	int reason;
	char why[256];
	X509 *cert;
	STACK_OF(X509) * chain;
};

/* ejbca_flow.c */
struct ejbca_op *ejbca_op_new(struct ejbca *e, enum op_kind kind, const char *txid);
void ejbca_op_free(struct ejbca_op *op); /* unlinks, cancels, wipes */
/* deliver `st` from a zero timer: an outcome known at submit time */
int ejbca_op_decide(struct ejbca_op *op, enum backend_status st, const char *why);
int ejbca_op_send_main(struct ejbca_op *op); /* the call itself; no callback if < 0 */
/* the first request (the CA list when the DN is needed); no callback if < 0 */
int ejbca_op_start(struct ejbca_op *op);
void ejbca_op_advance(struct ejbca_op *op); /* next request, or the outcome */
const char *ejbca_reason_name(int reason);  /* CRLReason code -> EJBCA name, or NULL */
/* ejbca_req.c */
void ejbca_flow_init(struct ejbca *e); /* start: find the CA DN and chain in the background */
void ejbca_flow_stop(struct ejbca *e); /* cancel every operation, no callbacks */
int ejbca_submit(void *priv, const struct backend_request *req, backend_cb cb, void *arg);
/* req is ignored: the handle alone finds the request (no BACKEND_CAP_POLL_CSR) */
int ejbca_poll(void *priv, const char *handle, const struct backend_request *req, backend_cb cb,
	       void *arg);
int ejbca_revoke(void *priv, const char *serial_hex, int reason, const uint8_t *der, size_t der_len,
		 backend_op_cb cb, void *arg);
int ejbca_get_crl(void *priv, backend_crl_cb cb, void *arg);

#endif
