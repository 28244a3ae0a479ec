/* admin_trust.c: admin.client_ca must hold no CA that a profile issues from
 * or trusts (its RA identity's ca_chain, the next identity's, its backend's
 * chain), and no CA that such a chain verifies against: a certificate such
 * a CA signs for a device would verify as an administrator's.  Certificates
 * are compared as certificates: the same certificate, or the same public key
 * (a CA re-issued with its key).  Run by `scepgw -n` and at start, after
 * the profiles are built. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "admin_trust.h"
#include "pem_chain.h"

#define CLIENT_CA_MAX 256

static int
same_ca(X509 *a, X509 *b)
{
	EVP_PKEY *ka = X509_get0_pubkey(a), *kb = X509_get0_pubkey(b);

	return X509_cmp(a, b) == 0 || (ka != NULL && kb != NULL && EVP_PKEY_eq(ka, kb) == 1);
}

/* The first certificate of chain that is also in admin_cas, or NULL; *ret_admin: its match. */
static X509 *
shared(STACK_OF(X509) * admin_cas, STACK_OF(X509) * chain, X509 **ret_admin)
{
	for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++)
		for (int j = 0; j < sk_X509_num(admin_cas); j++)
			if (same_ca(sk_X509_value(chain, i), sk_X509_value(admin_cas, j))) {
				*ret_admin = sk_X509_value(admin_cas, j);
				return sk_X509_value(chain, i);
			}
	return NULL;
}

static int
refuse(const char *file, const struct profile *p, X509 *admin, X509 *ca, const char *where,
       const char *name, struct sgw_err *err)
{
	char as[256] = "?", cs[256] = "?";

	x509_name_string(X509_get_subject_name(admin), as, sizeof(as));
	x509_name_string(X509_get_subject_name(ca), cs, sizeof(cs));
	return sgw_err_set(err, SGW_EINVAL,
			   "admin.client_ca: %s holds the CA '%s', which scep_profiles.%s issues "
			   "from or trusts (%s%s: '%s', %s): a certificate it signs for a device "
			   "would verify as an administrator's; give administrators a CA of their "
			   "own",
			   file, as, p->cfg->name, where, name, cs,
			   X509_cmp(admin, ca) == 0 ? "the same certificate" : "the same key");
}

/* Whether chain's first certificate verifies against admin_cas (their
 * anchors, chain's others as intermediates): then so would every
 * certificate it issues, even when no certificate is shared (client_ca
 * holding a root above a ca_chain that stops short of it). */
static int
chains_to(STACK_OF(X509) * admin_cas, STACK_OF(X509) * chain)
{
	X509_STORE *st;
	X509_STORE_CTX *ctx = NULL;
	int ok = 0;

	if (chain == NULL || sk_X509_num(chain) == 0)
		return 0;
	if ((st = X509_STORE_new()) == NULL || (ctx = X509_STORE_CTX_new()) == NULL)
		goto out;
	for (int i = 0; i < sk_X509_num(admin_cas); i++)
		if (!X509_STORE_add_cert(st, sk_X509_value(admin_cas, i)))
			goto out;
	if (X509_STORE_CTX_init(ctx, st, sk_X509_value(chain, 0), chain) == 1)
		ok = X509_verify_cert(ctx) == 1;
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	ERR_clear_error();
	return ok;
}

static int
refuse_chain(const char *file, const struct profile *p, const char *where, const char *name,
	     struct sgw_err *err)
{
	return sgw_err_set(err, SGW_EINVAL,
			   "admin.client_ca: the CA that scep_profiles.%s issues from (%s%s) "
			   "verifies against %s: a certificate it signs for a device would verify "
			   "as an administrator's; give administrators a CA of their own",
			   p->cfg->name, where, name, file);
}

int
admin_trust_check(const struct cfg_admin *c, const struct profile_set *ps, struct sgw_err *err)
{
	STACK_OF(X509) *cas = NULL;
	X509 *x, *ax = NULL;
	int r;

	if (!c->enabled || c->client_ca == NULL)
		return 0;
	if ((r = pem_chain_load(c->client_ca, CLIENT_CA_MAX, &cas, err)) < 0)
		return r;
	for (size_t i = 0; r == 0 && i < ps->n; i++) {
		const struct profile *p = &ps->v[i];

		if ((x = shared(cas, p->id->ca_chain, &ax)) != NULL)
			r = refuse(c->client_ca, p, ax, x, "ra_identities.", p->id->cfg->name, err);
		else if (p->next_id != NULL && (x = shared(cas, p->next_id->ca_chain, &ax)) != NULL)
			r = refuse(c->client_ca, p, ax, x, "ra_identities.", p->next_id->cfg->name,
				   err);
		else if ((x = shared(cas, backend_ca_chain(p->backend), &ax)) != NULL)
			r = refuse(c->client_ca, p, ax, x, "backends.", p->ra->backend, err);
		else if (chains_to(cas, p->id->ca_chain))
			r = refuse_chain(c->client_ca, p, "ra_identities.", p->id->cfg->name, err);
		else if (chains_to(cas, backend_ca_chain(p->backend)))
			r = refuse_chain(c->client_ca, p, "backends.", p->ra->backend, err);
	}
	sk_X509_pop_free(cas, X509_free);
	return r;
}
