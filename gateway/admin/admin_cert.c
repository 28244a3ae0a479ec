/* admin_cert.c: a client certificate (mTLS) names an administrator only
 * through an admin.clients entry: the SHA-256 of the certificate or of its
 * public key, or its subject and issuer compared as names, all of which a
 * device cannot choose once admin.client_ca holds no CA that issues to
 * devices (admin_trust.c).  A certificate the store has as revoked (same
 * issuer and serial) is refused: admin_cert_revoked(), a store step. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "admin_cert.h"
#include "log.h"
#include "profile.h"
#include "store.h"
#include "txn_result.h"

int
admin_role_parse(const char *s, unsigned *ret)
{
	if (s == NULL || strcmp(s, "admin") == 0)
		*ret = ADMIN_ROLE_ADMIN;
	else if (strcmp(s, "read") == 0)
		*ret = ADMIN_ROLE_READ;
	else if (strcmp(s, "challenge") == 0)
		*ret = ADMIN_ROLE_CHALLENGE;
	else
		return -SGW_EINVAL;
	return 0;
}

struct peer_id {
	X509 *x;
	uint8_t cert_sha256[SHA256_DIGEST_LENGTH];
	uint8_t spki_sha256[SHA256_DIGEST_LENGTH];
	char subject[512], issuer[512], fp[2 * SHA256_DIGEST_LENGTH + 1];
};

static int
peer_id_init(struct peer_id *id, X509 *x)
{
	unsigned char *der = NULL;
	unsigned int n = 0;
	int len;

	id->x = x;
	if (X509_digest(x, EVP_sha256(), id->cert_sha256, &n) != 1 || n != SHA256_DIGEST_LENGTH)
		return -SGW_EINVAL;
	if ((len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der)) <= 0)
		return -SGW_EINVAL;
	SHA256(der, (size_t)len, id->spki_sha256);
	OPENSSL_free(der);
	for (unsigned i = 0; i < n; i++)
		snprintf(id->fp + 2 * i, 3, "%02x", id->cert_sha256[i]);
	if (x509_name_string(X509_get_subject_name(x), id->subject, sizeof(id->subject)) < 0)
		snprintf(id->subject, sizeof(id->subject), "(too long)");
	if (x509_name_string(X509_get_issuer_name(x), id->issuer, sizeof(id->issuer)) < 0)
		return -SGW_EINVAL; /* the store could not hold it either */
	return 0;
}

/* Every identifier the entry gives must match. */
static int
client_match(const struct cfg_admin_client *c, const struct peer_id *id)
{
	if ((c->has & CFG_ADMIN_CERT_SHA256) &&
	    CRYPTO_memcmp(c->cert_sha256, id->cert_sha256, sizeof(id->cert_sha256)) != 0)
		return 0;
	if ((c->has & CFG_ADMIN_SPKI_SHA256) &&
	    CRYPTO_memcmp(c->spki_sha256, id->spki_sha256, sizeof(id->spki_sha256)) != 0)
		return 0;
	if ((c->has & CFG_ADMIN_SUBJECT) &&
	    (X509_NAME_cmp(c->subject, X509_get_subject_name(id->x)) != 0 ||
	     X509_NAME_cmp(c->issuer, X509_get_issuer_name(id->x)) != 0))
		return 0;
	return c->has != 0;
}

int
admin_cert_revoked(struct store *s, const struct admin_cert_ref *ref)
{
	struct store_cert c = {0};
	int r = store_cert_get(s, ref->issuer, ref->serial, &c);

	if (r == -SGW_ENOTFOUND)
		return 0;
	if (r < 0) {
		log_err("admin: client certificate sha256=%s: the store cannot say whether it is "
			"revoked: refused",
			ref->fp);
		return -SGW_EIO;
	}
	r = c.revoked ? -SGW_EDENIED : 0;
	if (r < 0)
		log_warn("admin: client certificate refused: revoked (issuer=%s serial=%s "
			 "sha256=%s)",
			 ref->issuer, ref->serial, ref->fp);
	store_cert_clear(&c);
	return r;
}

static int
peer_auth(struct admin *a, const struct peer_id *id, struct admin_principal *p,
	  struct admin_cert_ref *ref)
{
	const struct cfg_admin_client *found = NULL;

	for (size_t i = 0; found == NULL && i < a->cfg->n_clients; i++)
		if (client_match(&a->cfg->clients[i], id))
			found = &a->cfg->clients[i];
	if (found == NULL) {
		log_warn("admin: client certificate refused: no admin.clients entry matches "
			 "(subject=%s issuer=%s sha256=%s)",
			 id->subject, id->issuer, id->fp);
		return -SGW_EAUTH;
	}
	_Static_assert(sizeof(ref->issuer) == sizeof(id->issuer), "the issuer fits");
	_Static_assert(sizeof(ref->fp) == sizeof(id->fp), "the fingerprint fits");
	if (txn_cert_serial(id->x, ref->serial, sizeof(ref->serial)) < 0)
		return -SGW_EAUTH; /* the store could not hold it either */
	memcpy(ref->issuer, id->issuer, sizeof(ref->issuer));
	memcpy(ref->fp, id->fp, sizeof(ref->fp));
	snprintf(p->name, sizeof(p->name), "cert:%s", found->name);
	return admin_role_parse(found->role, &p->role) < 0 ? -SGW_EAUTH : 0;
}

int
admin_cert_auth(struct admin *a, SSL *ssl, struct admin_principal *p, struct admin_cert_ref *ref)
{
	struct peer_id id;
	X509 *peer;
	long v;
	int r = -SGW_EAUTH;

	if (ssl == NULL || a->cfg->client_ca == NULL ||
	    (peer = SSL_get1_peer_certificate(ssl)) == NULL)
		return r;
	if ((v = SSL_get_verify_result(ssl)) != X509_V_OK)
		log_warn("admin: client certificate refused: it does not verify against "
			 "admin.client_ca (%s)",
			 X509_verify_cert_error_string(v));
	else if (peer_id_init(&id, peer) < 0)
		log_warn("admin: client certificate refused: unreadable");
	else
		r = peer_auth(a, &id, p, ref);
	X509_free(peer);
	return r;
}
