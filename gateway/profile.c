/* profile.c: build runtime profiles from the config. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "pem_chain.h"
#include "profile.h"
#include "scep_caps.h"
#include "scep_certrep.h"
#include "scep_envelope.h"

/* Certificates in an RA identity's CA chain file, at most. */
#define PROFILE_MAX_CHAIN 16

int
x509_name_string(const X509_NAME *name, char *buf, size_t size)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int r = -SGW_ENOMEM;

	if (b == NULL)
		return r;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0) {
		n = BIO_get_mem_data(b, &p);
		if (n >= 0 && (size_t)n < size) {
			memcpy(buf, p, (size_t)n);
			buf[n] = '\0';
			r = 0;
		} else {
			r = -SGW_EINVAL;
		}
	}
	BIO_free(b);
	return r;
}

static int
load_cert(const char *path, X509 **ret, struct sgw_err *err)
{
	STACK_OF(X509) *sk = NULL;
	int r = pem_chain_load(path, PROFILE_MAX_CHAIN, &sk, err);

	if (r < 0)
		return r;
	*ret = sk_X509_shift(sk);
	sk_X509_pop_free(sk, X509_free);
	return 0;
}

static int
load_key(struct keyop *keys, const char *id, const char *path, X509 *cert,
	 const struct keyop_key **ret, struct sgw_err *err)
{
	const struct keyop_key *k;
	int r = keyop_load(keys, id, path, err);

	if (r < 0)
		return r;
	k = keyop_find(keys, id);
	if (!keyop_matches_cert(k, cert))
		return sgw_err_set(err, SGW_EINVAL, "%s: key does not match its certificate", path);
	*ret = k;
	return 0;
}

/* err's text, prefixed with where `key` (a dotted path under the RA
 * identity) is written: "file:line: ra_identities.NAME.KEY: ". */
static int
at_key(const struct cfg *cf, const struct cfg_ra_identity *c, const char *key, int r,
       struct sgw_err *err)
{
	char path[160], inner[sizeof(err->msg)];

	if (r >= 0 || err == NULL)
		return r;
	snprintf(inner, sizeof(inner), "%s", err->msg);
	snprintf(path, sizeof(path), "ra_identities.%s.%s", c->name, key);
	return cfg_err(err, -r, cfg_node_at(cf, "ra_identities", c->name, key), path, "%s", inner);
}

static int
identity_build(struct ra_identity *id, const struct cfg *cf, const struct cfg_ra_identity *c,
	       struct keyop *keys, struct sgw_err *err)
{
	char kid[160];
	int same, r;

	id->cfg = c;
	if ((r = load_cert(c->sign.cert, &id->sign_cert, err)) < 0)
		return at_key(cf, c, "sign.cert", r, err);
	snprintf(kid, sizeof(kid), "ra:%s:sign", c->name);
	if ((r = load_key(keys, kid, c->sign.key, id->sign_cert, &id->sign_key, err)) < 0)
		return at_key(cf, c, "sign.key", r, err);
	same =
	    strcmp(c->sign.cert, c->encrypt.cert) == 0 && strcmp(c->sign.key, c->encrypt.key) == 0;
	if (same) {
		id->enc_cert = id->sign_cert;
		X509_up_ref(id->enc_cert);
		id->enc_key = id->sign_key;
	} else {
		if ((r = load_cert(c->encrypt.cert, &id->enc_cert, err)) < 0)
			return at_key(cf, c, "encrypt.cert", r, err);
		snprintf(kid, sizeof(kid), "ra:%s:encrypt", c->name);
		r = load_key(keys, kid, c->encrypt.key, id->enc_cert, &id->enc_key, err);
		if (r < 0)
			return at_key(cf, c, "encrypt.key", r, err);
	}
	if (keyop_key_type(id->enc_key) != EVP_PKEY_RSA)
		return at_key(cf, c, same ? "sign.key" : "encrypt.key",
			      sgw_err_set(err, SGW_EINVAL,
					  "%s: the encryption key must be RSA (CMS key transport)",
					  same ? c->sign.key : c->encrypt.key),
			      err);
	if ((X509_get_key_usage(id->enc_cert) & KU_KEY_ENCIPHERMENT) == 0)
		log_warn("ra_identities.%s: encryption certificate lacks keyUsage keyEncipherment; "
			 "Cisco IOS and cryptlib clients will refuse it",
			 c->name);
	if ((X509_get_key_usage(id->sign_cert) & KU_DIGITAL_SIGNATURE) == 0)
		log_warn("ra_identities.%s: signing certificate lacks keyUsage digitalSignature; "
			 "Apple clients will refuse it",
			 c->name);
	return at_key(cf, c, "ca_chain",
		      pem_chain_load(c->ca_chain, PROFILE_MAX_CHAIN, &id->ca_chain, err), err);
}

static int
is_self_signed(X509 *x)
{
	return X509_check_issued(x, x) == X509_V_OK;
}

/* An identity's RA certificate(s), its issuing CA, and per profile the other
 * intermediates and the root (borrowed references). */
static STACK_OF(X509) * identity_certs(const struct profile *p, const struct ra_identity *id)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	STACK_OF(X509) *chain = id->ca_chain;

	if (sk == NULL || !sk_X509_push(sk, id->sign_cert) ||
	    (id->enc_cert != id->sign_cert && !sk_X509_push(sk, id->enc_cert)))
		goto fail;
	for (int i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);
		int root = is_self_signed(x);

		if (i > 0 && root && !p->cfg->getcacert_include_root)
			continue;
		if (i > 0 && !root && !p->cfg->getcacert_include_chain)
			continue;
		if (!sk_X509_push(sk, x))
			goto fail;
	}
	return sk;
fail:
	sk_X509_free(sk);
	return NULL;
}

/* GetCACert: the RA mode chain, or (mode: single) the DER RA certificate
 * alone for clients that cannot parse a chain. */
static int
build_getcacert(struct profile *p, struct sgw_err *err)
{
	STACK_OF(X509) * sk;
	unsigned char *der = NULL;
	int n, r;

	if (p->cfg->getcacert_single) {
		if (p->id->enc_cert != p->id->sign_cert)
			return sgw_err_set(err, SGW_EINVAL,
					   "scep_profiles.%s.getcacert.mode: single needs one RA "
					   "certificate for signing and encryption",
					   p->cfg->name);
		p->getcacert_type = "application/x-x509-ca-cert";
		n = i2d_X509(p->id->sign_cert, &der);
		p->getcacert = n > 0 ? malloc((size_t)n) : NULL;
		if (p->getcacert != NULL)
			memcpy(p->getcacert, der, (size_t)n);
		p->getcacert_len = p->getcacert != NULL ? (size_t)n : 0;
		OPENSSL_free(der);
		return p->getcacert != NULL ? 0 : sgw_err_set(err, SGW_ENOMEM, "out of memory");
	}
	p->getcacert_type = "application/x-x509-ca-ra-cert";
	if ((sk = identity_certs(p, p->id)) == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	r = scep_certs_only(sk, NULL, &p->getcacert, &p->getcacert_len);
	if (r < 0)
		sgw_err_set(err, r, "scep_profiles.%s: cannot build GetCACert", p->cfg->name);
	sk_X509_free(sk); /* certificates are borrowed */
	return r;
}

/* GetNextCACert: the next identity's certificates, signed by the current RA. */
static int
build_getnextcacert(struct profile *p, struct sgw_err *err)
{
	STACK_OF(X509) * sk;
	int r;

	if (p->next_id == NULL)
		return 0;
	if ((sk = identity_certs(p, p->next_id)) == NULL)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	r = scep_nextca_build(sk, p->id->sign_cert, p->id->sign_key, &p->getnextcacert,
			      &p->getnextcacert_len, err);
	sk_X509_free(sk);
	return r;
}

/* Every certificate of the CA chain is a trust anchor (PARTIAL_CHAIN), and
 * nothing else (no system roots); renewal.c then requires the issuing CA
 * itself as the signer's issuer in the verified path. */
static int
build_trust(struct profile *p)
{
	STACK_OF(X509) *chain = p->id->ca_chain;

	p->trust = X509_STORE_new();
	if (p->trust == NULL || !X509_STORE_set_flags(p->trust, X509_V_FLAG_PARTIAL_CHAIN))
		return -SGW_ENOMEM;
	for (int i = 0; i < sk_X509_num(chain); i++)
		if (!X509_STORE_add_cert(p->trust, sk_X509_value(chain, i)))
			return -SGW_ENOMEM;
	return 0;
}

static int
build_certrep_chain(struct profile *p)
{
	STACK_OF(X509) *chain = p->id->ca_chain;

	if (!p->cfg->certrep_include_ca)
		return 0;
	p->certrep_chain = sk_X509_new_null();
	if (p->certrep_chain == NULL)
		return -SGW_ENOMEM;
	for (int i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);

		if (i > 0 && is_self_signed(x))
			continue;
		if (!sk_X509_push(p->certrep_chain, x))
			return -SGW_ENOMEM;
	}
	return 0;
}

static struct ra_identity *
find_identity(struct profile_set *ps, const char *name)
{
	for (size_t i = 0; i < ps->n_ids; i++)
		if (strcmp(ps->ids[i].cfg->name, name) == 0)
			return &ps->ids[i];
	return NULL;
}

static struct backend *
find_backend(struct profile_set *ps, const char *name)
{
	for (size_t i = 0; i < ps->n_backends; i++)
		if (ps->backends[i] != NULL && strcmp(backend_name(ps->backends[i]), name) == 0)
			return ps->backends[i];
	return NULL;
}

static int
profile_build(struct profile_set *ps, struct profile *p, const struct cfg *c,
	      const struct cfg_scep_profile *pc, struct sgw_err *err)
{
	X509 *issuing;
	int r;

	p->set = ps;
	p->cfg = pc;
	p->ra = cfg_ra_profile_find(c, pc->ra_profile);
	p->id = find_identity(ps, pc->ra_identity);
	p->backend = p->ra != NULL ? find_backend(ps, p->ra->backend) : NULL;
	if (pc->next_ra_identity != NULL &&
	    (p->next_id = find_identity(ps, pc->next_ra_identity)) == NULL)
		return sgw_err_set(err, SGW_EINVAL, "scep_profiles.%s: dangling reference",
				   pc->name);
	if (p->ra == NULL || p->id == NULL || p->backend == NULL)
		return sgw_err_set(err, SGW_EINVAL, "scep_profiles.%s: dangling reference",
				   pc->name);
	if ((r = validator_new(pc->challenge.type, pc->challenge.node, pc->challenge.path,
			       &p->validator, err)) < 0)
		return r;
	if (scep_caps_text(pc->caps, p->caps_text, sizeof(p->caps_text)) < 0)
		return sgw_err_set(err, SGW_EINVAL, "scep_profiles.%s: capabilities", pc->name);
	issuing = sk_X509_value(p->id->ca_chain, 0);
	if (x509_name_string(X509_get_subject_name(issuing), p->issuer, sizeof(p->issuer)) < 0)
		return sgw_err_set(err, SGW_EINVAL, "scep_profiles.%s: issuer name", pc->name);
	if ((r = build_getcacert(p, err)) < 0 || (r = build_getnextcacert(p, err)) < 0)
		return r;
	if (build_trust(p) < 0)
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	if ((r = build_certrep_chain(p)) < 0)
		return sgw_err_set(err, r, "out of memory");
	if (pc->allow_single_des) {
		log_warn("scep_profiles.%s: single DES allowed (allow_single_des); "
			 "for legacy clients and development only",
			 pc->name);
		if (scep_envelope_enable_legacy() < 0)
			return sgw_err_set(err, SGW_EINVAL,
					   "cannot load the OpenSSL legacy provider");
	}
	return 0;
}

static struct profile_set *set_new(const struct cfg *c, struct keyop *keys);

static void
profile_clear(struct profile *p)
{
	validator_free(p->validator);
	free(p->getcacert);
	free(p->getnextcacert);
	X509_STORE_free(p->trust);
	sk_X509_free(p->certrep_chain);
	memset(p, 0, sizeof(*p));
}

static void
identity_clear(struct ra_identity *id)
{
	X509_free(id->sign_cert);
	X509_free(id->enc_cert);
	sk_X509_pop_free(id->ca_chain, X509_free);
	memset(id, 0, sizeof(*id));
}

/* A profile whose RA identity or backend failed (and was reported). */
static int
depends_on_failed(struct profile_set *ps, const struct cfg *c, const struct cfg_scep_profile *pc)
{
	const struct cfg_ra_profile *ra = cfg_ra_profile_find(c, pc->ra_profile);

	return (cfg_ra_identity_find(c, pc->ra_identity) != NULL &&
		find_identity(ps, pc->ra_identity) == NULL) ||
	       (pc->next_ra_identity != NULL &&
		cfg_ra_identity_find(c, pc->next_ra_identity) != NULL &&
		find_identity(ps, pc->next_ra_identity) == NULL) ||
	       (ra != NULL && cfg_backend_find(c, ra->backend) != NULL &&
		find_backend(ps, ra->backend) == NULL);
}

/* Collect mode (`scepgw -n`): each RA identity, backend and profile is
 * built on its own; one that fails is reported and left out, so every
 * error shows in one run. */
static int
build_collect(struct profile_set *ps, const struct cfg *c, struct keyop *keys,
	      struct cfg_report *rep)
{
	struct sgw_err e = {{0}};

	for (size_t i = 0; i < c->n_ra_identities; i++) {
		if (cfg_report_take(
			rep, identity_build(&ps->ids[ps->n_ids], c, &c->ra_identities[i], keys, &e),
			&e) == 0 &&
		    ps->ids[ps->n_ids].ca_chain != NULL)
			ps->n_ids++;
		else
			identity_clear(&ps->ids[ps->n_ids]);
	}
	for (size_t i = 0; i < c->n_backends; i++) {
		const struct cfg_backend *cb = &c->backends[i];

		if (cfg_report_take(rep,
				    backend_new(cb->name, cb->type, cb->node, cb->path,
						&ps->backends[ps->n_backends], &e),
				    &e) == 0 &&
		    ps->backends[ps->n_backends] != NULL)
			ps->n_backends++;
	}
	for (size_t i = 0; i < c->n_scep_profiles; i++) {
		const struct cfg_scep_profile *pc = &c->scep_profiles[i];
		struct profile *p = &ps->v[ps->n];

		if (depends_on_failed(ps, c, pc))
			continue;
		if (cfg_report_take(rep, profile_build(ps, p, c, pc, &e), &e) == 0 &&
		    p->trust != NULL)
			ps->n++;
		else
			profile_clear(p);
	}
	return 0;
}

int
profiles_build_report(const struct cfg *c, struct keyop *keys, struct cfg_report *rep,
		      struct profile_set **ret, struct sgw_err *err)
{
	struct profile_set *ps;

	if (rep == NULL)
		return profiles_build(c, keys, ret, err);
	if ((ps = set_new(c, keys)) == NULL)
		return -SGW_ENOMEM;
	build_collect(ps, c, keys, rep);
	*ret = ps;
	return 0;
}

/* A new set; the key table learns the pkcs11 section first. */
static struct profile_set *
set_new(const struct cfg *c, struct keyop *keys)
{
	struct profile_set *ps;

	if (keyop_set_pkcs11(keys, c->pkcs11.module, c->pkcs11.pin_file) < 0 ||
	    (ps = calloc(1, sizeof(*ps))) == NULL)
		return NULL;
	ps->refs = 1;
	ps->cfg = c;
	ps->loaded = (int64_t)time(NULL);
	ps->ids = calloc(c->n_ra_identities + 1, sizeof(*ps->ids));
	ps->backends = calloc(c->n_backends + 1, sizeof(*ps->backends));
	ps->v = calloc(c->n_scep_profiles + 1, sizeof(*ps->v));
	if (ps->ids == NULL || ps->backends == NULL || ps->v == NULL) {
		profiles_free(ps);
		return NULL;
	}
	return ps;
}

int
profiles_build(const struct cfg *c, struct keyop *keys, struct profile_set **ret,
	       struct sgw_err *err)
{
	struct profile_set *ps = set_new(c, keys);
	int r = -SGW_ENOMEM;

	if (ps == NULL)
		return r;
	for (; ps->n_ids < c->n_ra_identities; ps->n_ids++)
		if ((r = identity_build(&ps->ids[ps->n_ids], c, &c->ra_identities[ps->n_ids], keys,
					err)) < 0) {
			ps->n_ids++;
			goto fail;
		}
	for (; ps->n_backends < c->n_backends; ps->n_backends++) {
		const struct cfg_backend *cb = &c->backends[ps->n_backends];

		if ((r = backend_new(cb->name, cb->type, cb->node, cb->path,
				     &ps->backends[ps->n_backends], err)) < 0)
			goto fail;
	}
	for (; ps->n < c->n_scep_profiles; ps->n++)
		if ((r = profile_build(ps, &ps->v[ps->n], c, &c->scep_profiles[ps->n], err)) < 0) {
			ps->n++;
			goto fail;
		}
	*ret = ps;
	return 0;
fail:
	profiles_free(ps);
	return r;
}

int
profiles_start(struct profile_set *ps, const struct backend_env *env, struct store *store,
	       struct sgw_err *err)
{
	struct sgw_err verr = {{0}};
	int r;

	ps->base = env->base;
	for (size_t i = 0; i < ps->n_backends; i++)
		if ((r = backend_start(ps->backends[i], env, err)) < 0)
			return r;
	for (size_t i = 0; i < ps->n; i++) {
		struct validator_env venv = {.base = env->base,
					     .http = env->http,
					     .store = store,
					     .backend = ps->v[i].backend};

		if ((r = validator_start(ps->v[i].validator, &venv, &verr)) < 0)
			return sgw_err_set(err, -r, "profile %s: %s", ps->v[i].cfg->name, verr.msg);
	}
	return 0;
}

struct profile *
profiles_find(struct profile_set *ps, const char *name)
{
	for (size_t i = 0; i < ps->n; i++)
		if (strcmp(ps->v[i].cfg->name, name) == 0)
			return &ps->v[i];
	return NULL;
}

struct backend *
profiles_backend_of(const void *ps, const char *issuer)
{
	const struct profile_set *set = ps;

	for (size_t i = 0; set != NULL && i < set->n; i++)
		if (strcmp(set->v[i].issuer, issuer) == 0)
			return set->v[i].backend;
	return NULL;
}

struct profile_set *
profiles_ref(struct profile_set *ps)
{
	if (ps != NULL)
		ps->refs++;
	return ps;
}

static void
free_later(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	profiles_free(arg);
}

void
profiles_unref(struct profile_set *ps)
{
	struct timeval now = {0, 0};

	if (ps == NULL || --ps->refs > 0)
		return;
	if (ps->base == NULL ||
	    event_base_once(ps->base, -1, EV_TIMEOUT, free_later, ps, &now) != 0)
		profiles_free(ps);
}

void
profiles_retire(struct profile_set *next, struct profile_set *old)
{
	next->older = old;
	old->newer = next;
}

static void
stop_one(struct profile_set *ps)
{
	ps->base = NULL;
	for (size_t i = 0; i < ps->n; i++) {
		validator_free(ps->v[i].validator);
		ps->v[i].validator = NULL;
	}
	for (size_t i = 0; i < ps->n_backends; i++) {
		backend_free(ps->backends[i]);
		ps->backends[i] = NULL;
	}
}

void
profiles_stop_all(struct profile_set *ps)
{
	for (; ps != NULL; ps = ps->older)
		stop_one(ps);
}

void
profiles_free(struct profile_set *ps)
{
	if (ps == NULL)
		return;
	if (ps->newer != NULL)
		ps->newer->older = ps->older;
	if (ps->older != NULL)
		ps->older->newer = ps->newer;
	stop_one(ps);
	for (size_t i = 0; i < ps->n; i++)
		profile_clear(&ps->v[i]);
	for (size_t i = 0; i < ps->n_ids; i++)
		identity_clear(&ps->ids[i]);
	free(ps->v);
	free(ps->backends);
	free(ps->ids);
	keyop_free(ps->own_keys); /* after the backends that use its keys */
	cfg_free(ps->own_cfg);
	free(ps);
}
