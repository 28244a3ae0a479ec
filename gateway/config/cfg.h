/* cfg.h: the daemon's configuration schema.  Table-driven section parsers
 * (cfg_schema.c and the files it calls) turn core's node tree (cfg_node.h)
 * into the typed structs below.  Unknown keys are errors.  Error text reads
 *   profiles/scepgw.yaml:42: scep_profiles.ios.ra_identity: unknown ra_identity 'x'
 *
 * Ownership: struct cfg owns every string, array and the node tree; cfg_free()
 * releases all of it.  Backends and validators keep a borrowed
 * `const struct cfg_node *` (cfg_backend.node, cfg_challenge.node) and parse
 * their own keys with cfg_parse_map() when they are configured. */
#ifndef SGW_CFG_H
#define SGW_CFG_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "cfg_node.h"
#include "cidr.h"
#include "err.h"

/* ---- typed configuration (cfg_schema.c) -------------------------------- */

enum scep_cap {
	SCEP_CAP_POSTPKIOPERATION = 1u << 0,
	SCEP_CAP_SHA1 = 1u << 1,
	SCEP_CAP_SHA256 = 1u << 2,
	SCEP_CAP_SHA512 = 1u << 3,
	SCEP_CAP_AES = 1u << 4,
	SCEP_CAP_DES3 = 1u << 5,
	SCEP_CAP_RENEWAL = 1u << 6,
	SCEP_CAP_SCEPSTANDARD = 1u << 7,
	SCEP_CAP_GETNEXTCACERT = 1u << 8,
	SCEP_CAP_SHA224 = 1u << 9,
	SCEP_CAP_SHA384 = 1u << 10,
	SCEP_CAP_MAX = 1u << 11
};

struct cfg_tls {
	char *cert; /* PEM certificate (chain) file */
	char *key;  /* PEM private key file, owner-only mode */
};

struct cfg_listen {
	char *address; /* "host:port", IPv6 as "[::1]:8080" */
	int tls;       /* 1 when the tls: block is present */
	struct cfg_tls tls_files;
	int proxy_protocol; /* every connection begins with a PROXY header (v1 or v2) from a
			       trusted_proxies address; default false */
};

struct cfg_limits {
	size_t max_body;	  /* bytes; default 64k */
	size_t max_headers;	  /* bytes; default 8k */
	int timeout;		  /* seconds per connection read/write and idle; default 60 */
	int max_connections;	  /* SCEP requests in flight; default 1024 */
	int max_sockets;	  /* open connections per listener; default 4096 */
	int max_sockets_per_peer; /* open connections from one address; default 256, 0: none */
	int request_timeout;	  /* seconds to a complete request; default 30 */
};

struct cfg_store {
	char *type;	     /* "sqlite" (default) or "postgresql" */
	char *path;	     /* sqlite database file */
	char *conninfo;	     /* postgresql: libpq connection string or URI */
	char *password_file; /* postgresql: the password, a secret file (optional) */
	int pool;	     /* postgresql: connections and store threads; default 4 */
	int nonce_ttl;	     /* seconds a senderNonce is remembered; default 86400 */
	char *synchronous;   /* "full" (default: replies wait for the group commit's flush) or
				"normal" (no wait: survives a crash of the process, may lose the
				last commits on power loss) */
	int offload;	     /* diagnostic/test: run SQLite's request steps on one store thread */
};

struct cfg_keypair {
	char *cert;
	char *key;
};

struct cfg_ra_identity {
	char *name;
	struct cfg_keypair sign;    /* keyUsage digitalSignature */
	struct cfg_keypair encrypt; /* keyUsage keyEncipherment, RSA; defaults to sign */
	char *ca_chain;		    /* PEM: issuing CA first, then up to the root */
};

/* challenge: the validator's mapping.  profile.c hands it to validator_new(),
 * which looks `type` up in the validator registry (validator.c); the validator
 * parses the rest of the keys itself. */
struct cfg_challenge {
	char *type;		     /* registry key: "none", "static", "otp", "webhook", ... */
	const struct cfg_node *node; /* the whole mapping (borrowed from the tree) */
	char *path;		     /* "scep_profiles.<name>.challenge" */
};

enum csr_key_type { CSR_KEY_RSA = 1u << 0, CSR_KEY_EC = 1u << 1 };

/* Deny by default: a subjectAltName of a kind that no key below allows is
 * refused (otherName other than UPN, directoryName, registeredID,
 * x400Address and ediPartyName always are).  Limits of 0 take the
 * CSR_POLICY_DEFAULT_* values (csr_policy.c): they are always on. */
struct cfg_csr_policy {
	unsigned key_types;	    /* CSR_KEY_* bits; default RSA|EC */
	int min_rsa_bits;	    /* default 2048 */
	struct cfg_strlist san_dns; /* allowed DNS SAN patterns ("*.example.com"); empty = any */
	int allow_san_ip;	    /* default 1 */
	int allow_san_email;	    /* default 1; also an emailAddress in the subject */
	struct cfg_strlist san_uri; /* URI SANs: exact, or a prefix ending in '*'; empty = none */
	int allow_upn;		    /* UPN otherName SANs (Intune); default 0 */
	struct cfg_strlist san_upn; /* with allow_upn: "user@domain" or "*@domain"; empty = any */
	int require_cn;		    /* default 1 */
	char *cn_pattern;	    /* fnmatch(3) on every CN, whole value, no case; NULL = any */
	int max_sans;		    /* subjectAltNames per CSR; default 50 */
	int max_cn_length;	    /* characters per CN; default 64 (RFC 5280 ub-common-name) */
	int max_attr_length;	    /* characters per other subject attribute; default 255 */
	int max_subject_length;	    /* bytes of the DER subject; default 1024 */
	int max_name_length;	    /* characters per DNS, e-mail or UPN name; default 255 */
	int max_uri_length;	    /* characters per URI; default 1024 */
};

/* Renewal: RenewalReq, or a PKCSReq signed by a certificate of the profile's CA. */
struct cfg_renewal {
	int enabled;	       /* default 0; the Renewal capability follows it */
	int window_percent;    /* only in the last N% of the validity; default 100 (any time) */
	int same_subject;      /* the CSR keeps the signer's subject; default 1 */
	int allow_key_reuse;   /* the CSR may carry the signer's key; default 0 */
	int require_challenge; /* the challenge is checked too; default 0 */
	/* the signer certificate was issued through this gateway for this
	 * profile (a row in the store); default 1 */
	int require_issued_here;
	/* the CSR may name what the signer does not (subject attributes, SANs);
	 * default 0 */
	int allow_new_names;
	/* once a renewal is issued, revoke the signer's certificate with reason
	 * superseded (4) through the profile's backend; default 0 (it is only
	 * marked superseded in the store) */
	int revoke_superseded;
};

struct cfg_scep_profile {
	char *name;
	char *ra_identity;	     /* name in ra_identities */
	char *ra_profile;	     /* name in ra_profiles */
	unsigned caps;		     /* SCEP_CAP_* bits, from the capabilities list */
	int allow_single_des;	     /* DES-CBC (legacy provider); default 0 */
	int allow_md5;		     /* MD5 digests; default 0 */
	int getcacert_include_root;  /* default 1 */
	int getcacert_include_chain; /* intermediates; default 1 */
	int certrep_include_ca;	     /* CA chain inside CertRep SUCCESS; default 0 */
	int getcacert_single;	     /* GetCACert = the DER RA certificate alone; default 0 */
	int signing_time_skew;	     /* seconds; 0 = do not check; default 0 */
	int getcert;		     /* GetCert (21) answered; default 0 */
	int getcrl;		     /* GetCRL (22) answered; default 0 */
	char *next_ra_identity;	     /* rollover: GetNextCACert offers it; NULL = none */
	struct cfg_renewal renewal;
	struct cfg_challenge challenge;
	struct cfg_csr_policy csr_policy;
};

/* approval: rules: manual unless every condition given here holds. */
struct cfg_subject_match {
	int nid;       /* the attribute (OBJ_txt2nid of the key: CN, O, OU, ...) */
	char *attr;    /* the key as written, for messages */
	char *pattern; /* fnmatch(3) on the whole value of every such attribute, no case */
};

struct cfg_approval_rule {
	struct cfg_subject_match *subject_matches; /* all must hold; none = any subject */
	size_t n_subject_matches;
	struct cfg_strlist san_dns; /* every DNS SAN (at least one) matches one of these */
	unsigned key_types;	    /* CSR_KEY_* bits; 0 = any */
	int min_rsa_bits;	    /* 0 = any */
};

struct cfg_ra_profile {
	char *name;
	char *backend;			  /* name in backends */
	char *template;			  /* backend-specific template name; default "default" */
	char *approval;			  /* "auto", "manual" or "rules" (approval.c) */
	struct cfg_approval_rule auto_if; /* "rules" */
	int pending_ttl;		  /* seconds a request may await approval; default 7 d */
};

/* What an admin.clients entry pins (cfg_admin_client.has). */
enum cfg_admin_pin {
	CFG_ADMIN_CERT_SHA256 = 1u << 0, /* SHA-256 of the certificate's DER */
	CFG_ADMIN_SPKI_SHA256 = 1u << 1, /* SHA-256 of its SubjectPublicKeyInfo DER */
	CFG_ADMIN_SUBJECT = 1u << 2,	 /* subject and issuer, both */
	CFG_ADMIN_PIN_MAX
};

/* An administrator who authenticates by client certificate: a verified
 * certificate is this administrator when every identifier given matches.
 * The name (audit lines say "cert:<name>") comes from here, never from the
 * certificate. */
struct cfg_admin_client {
	char *name;
	char *role; /* admin (default), read, challenge */
	unsigned has;
	uint8_t cert_sha256[32];
	uint8_t spki_sha256[32];
	X509_NAME *subject, *issuer; /* compared with X509_NAME_cmp */
};

/* The admin API listener (admin_http.c); enabled when `admin:` is present. */
struct cfg_admin {
	int enabled;
	char *listen; /* "127.0.0.1:8444" */
	int tls;      /* 1 when tls: is present */
	struct cfg_tls tls_files;
	char *client_ca; /* PEM CA file: client certificates (mTLS); none of a profile's CAs */
	struct cfg_admin_client *clients; /* who a verified certificate may be; none = nobody */
	size_t n_clients;
	char *tokens_file;   /* lines "name:sha256hex[:role]" */
	char *mscep_profile; /* profile of /certsrv/mscep_admin/; default_profile */
};

struct cfg_backend {
	char *name;
	char *type;		     /* registry key: "local", ... */
	const struct cfg_node *node; /* the whole mapping, for backend configure() */
	char *path;		     /* "backends.<name>" */
};

#define CFG_TRUSTED_PROXIES_MAX 64

/* instance: (cfg_schema.c) */
#define CFG_INSTANCE_MAX 63
#define CFG_INSTANCE_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

/* pkcs11: the module and PIN for keys given as "pkcs11:" URIs (docs/config.md) */
struct cfg_pkcs11 {
	char *module;	/* path of the PKCS#11 module (.so); NULL when the section is absent */
	char *pin_file; /* the user PIN, a secret file */
};

struct cfg {
	char *file;
	struct cfg_node *root;
	char *instance;	       /* this gateway's name in a cluster; default the host name */
	char *log_level;       /* error|warn|info|debug; default info */
	char *log_format;      /* auto|text|journal|json; default auto (log.h) */
	char *user;	       /* drop privileges to this user after binding; default none */
	char *default_profile; /* profile for /cgi-bin/pkiclient.exe; default none */
	char *ndes_profile;    /* profile for NDES's /certsrv/mscep/mscep.dll; default none */
	/* proxies whose X-Forwarded-For names the client (SCEP listeners); none */
	struct cidr *trusted_proxies;
	size_t n_trusted_proxies;
	int workers;	    /* 0 = one per core */
	int expiry_warning; /* seconds: `-n` warns of a certificate expiring sooner; 30d */
	struct cfg_limits limits;
	struct cfg_listen *listen;
	size_t n_listen;
	struct cfg_store store;
	struct cfg_ra_identity *ra_identities;
	size_t n_ra_identities;
	struct cfg_scep_profile *scep_profiles;
	size_t n_scep_profiles;
	struct cfg_ra_profile *ra_profiles;
	size_t n_ra_profiles;
	struct cfg_backend *backends;
	size_t n_backends;
	struct cfg_admin admin;
	struct cfg_pkcs11 pkcs11;
};

/* Parse a whole config from memory or a file.  Cross references
 * (profile -> ra_identity, ra_profile -> backend, default_profile) are
 * checked here; file existence and key modes are checked by their loaders,
 * a backend's and a validator's own keys when they are configured (so
 * cfg_parse() reads no file).  cfg_parse_map() frees and NULLs its
 * strings/lists on failure. */
int cfg_parse(const char *file, const uint8_t *buf, size_t len, struct cfg **ret,
	      struct sgw_err *err);
int cfg_load(const char *path, struct cfg **ret, struct sgw_err *err);
void cfg_free(struct cfg *c);

/* Lookups by name (cfg_find.c); NULL when absent. */
const struct cfg_scep_profile *cfg_scep_profile_find(const struct cfg *c, const char *name);
const struct cfg_ra_profile *cfg_ra_profile_find(const struct cfg *c, const char *name);
const struct cfg_ra_identity *cfg_ra_identity_find(const struct cfg *c, const char *name);
const struct cfg_backend *cfg_backend_find(const struct cfg *c, const char *name);
/* The node of section.name.keys (keys dotted: "sign.cert"; name is not
 * split), or the nearest that exists, for file:line in messages. */
const struct cfg_node *cfg_node_at(const struct cfg *c, const char *section, const char *name,
				   const char *keys);

/* "POSTPKIOperation" -> SCEP_CAP_POSTPKIOPERATION; 0 when unknown (cfg_profile.c). */
unsigned cfg_cap_parse(const char *name);
const char *cfg_cap_name(unsigned cap_bit);

#endif
