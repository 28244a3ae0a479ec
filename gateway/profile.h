/* profile.h: runtime SCEP profiles built from the config: the RA identity
 * (certificates loaded, keys in keyop), the validator, the backend, and the
 * replies that never change (caps text, GetCACert), built once at startup. */
#ifndef SGW_PROFILE_H
#define SGW_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "backend.h"
#include "cfg.h"
#include "cfg_report.h"
#include "err.h"
#include "keyop.h"
#include "validator.h"

struct ra_identity {
	const struct cfg_ra_identity *cfg;
	X509 *sign_cert;
	X509 *enc_cert; /* == sign_cert when the same */
	const struct keyop_key *sign_key;
	const struct keyop_key *enc_key;
	STACK_OF(X509) * ca_chain; /* issuing CA first, root last */
};

struct profile_set;

struct profile {
	struct profile_set *set; /* the generation it belongs to */
	const struct cfg_scep_profile *cfg;
	const struct cfg_ra_profile *ra;
	struct ra_identity *id;
	struct backend *backend;
	struct validator *validator;
	char caps_text[256];
	uint8_t *getcacert; /* degenerate SignedData (or one DER cert), built once */
	size_t getcacert_len;
	const char *getcacert_type;  /* its Content-Type */
	struct ra_identity *next_id; /* rollover: next_ra_identity, or NULL */
	uint8_t *getnextcacert;	     /* GetNextCACert reply, signed once at startup */
	size_t getnextcacert_len;
	X509_STORE *trust;		/* the CA chain: renewal, GetCert, GetCRL signers */
	STACK_OF(X509) * certrep_chain; /* CA certs added to CertRep SUCCESS, or NULL */
	char issuer[512];		/* RFC 2253 name of the issuing CA (store key) */
};

/* One configuration generation: built at startup and on each reload
 * (SIGHUP).  Shared by reference: gw->profiles holds the current one, and
 * every request or background job holds the generation it started with
 * until it ends, so a reload never frees what is in use.  The last
 * profiles_unref() stops the backends and validators and frees it. */
struct profile_set {
	unsigned refs;
	unsigned generation;		   /* 0 at startup, +1 per reload */
	const struct cfg *cfg;		   /* the configuration it was built from */
	struct cfg *own_cfg;		   /* owned (a reload's), or NULL (main.c owns it) */
	struct keyop *own_keys;		   /* owned (a reload's), or NULL */
	int64_t loaded;			   /* when it was built (seconds since the epoch) */
	struct event_base *base;	   /* from profiles_start(): the last unref frees on it */
	struct profile_set *older, *newer; /* the generations still alive (profiles_retire) */
	struct ra_identity *ids;
	size_t n_ids;
	struct backend **backends;
	size_t n_backends;
	struct profile *v;
	size_t n;
};

/* Load certificates and keys, configure backends and validators.  Used by
 * `scepgw -n` too, so every config error surfaces before the daemon runs.
 * *ret holds one reference. */
int profiles_build(const struct cfg *c, struct keyop *keys, struct profile_set **ret,
		   struct sgw_err *err);
/* profiles_build(); with rep (`scepgw -n`), every error is collected in
 * rep instead, the RA identities, backends and profiles that fail are left
 * out, and *ret is the rest (0 returned but for memory). */
int profiles_build_report(const struct cfg *c, struct keyop *keys, struct cfg_report *rep,
			  struct profile_set **ret, struct sgw_err *err);
/* Start the backends, then each profile's validator with the loop, the HTTP
 * client, the open store and the profile's backend (struct validator_env). */
int profiles_start(struct profile_set *ps, const struct backend_env *env, struct store *store,
		   struct sgw_err *err);
struct profile *profiles_find(struct profile_set *ps, const char *name);
/* The backend of the first profile whose CA is `issuer` (the certificate's
 * issuer as stored), or NULL; ps is a const struct profile_set * (the shape
 * of revoke_op's backend_of). */
struct backend *profiles_backend_of(const void *ps, const char *issuer);
/* Take a reference (NULL accepted and returned). */
struct profile_set *profiles_ref(struct profile_set *ps);
/* Drop one; the last one frees the set and what it owns (cfg, keys), on
 * the next turn of the loop once started (the caller may be a callback of
 * one of its backends). */
void profiles_unref(struct profile_set *ps);
/* `next` replaces `old` (a reload): old stays alive, linked, while
 * requests hold it. */
void profiles_retire(struct profile_set *next, struct profile_set *old);
/* Shutdown: stop the backends and validators of ps and of every older
 * generation still alive (no callback after this); what references still
 * hold is freed by their last unref, at once. */
void profiles_stop_all(struct profile_set *ps);
/* Free now, whatever the count (the CLI, a set never shared). */
void profiles_free(struct profile_set *ps);

/* helpers shared with txn.c */
int x509_name_string(const X509_NAME *name, char *buf, size_t size);

#endif
