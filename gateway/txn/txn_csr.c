/* txn_csr.c: a request's CSR kept sealed in the store (txn_csr.h).  The
 * challengePassword is inside the CSR and covered by its signature, so the
 * CSR cannot be stored without it: it is stored encrypted to the RA, the way
 * devices send it, and dropped once the transaction is final (the store). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "scep_envelope.h"
#include "txn_csr.h"

/* ---- sealing (worker) ----------------------------------------------------- */

static json_t *
strlist_json(const struct cfg_strlist *l)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < l->n; i++)
		json_array_append_new(arr, json_string(l->v[i]));
	return arr;
}

/* {"key": {"type", "bits"}, "sans": {"dns", "ip", "email", "uri"}}: what the
 * admin API shows of a request; the SANs left out when they do not fit. */
static void
csr_info(const struct csr *c, char *buf, size_t cap)
{
	const char *type = c->key_type == CSR_KEY_RSA  ? "rsa"
			   : c->key_type == CSR_KEY_EC ? "ec"
						       : "other";
	json_t *o = json_pack("{s:{s:s,s:i}}", "key", "type", type, "bits", c->key_bits);
	size_t n;

	buf[0] = '\0';
	if (o == NULL)
		return;
	json_object_set_new(o, "sans",
			    json_pack("{s:o,s:o,s:o,s:o}", "dns", strlist_json(&c->san_dns), "ip",
				      strlist_json(&c->san_ip), "email",
				      strlist_json(&c->san_email), "uri",
				      strlist_json(&c->san_uri)));
	n = json_dumpb(o, buf, cap - 1, JSON_COMPACT);
	if (n == 0 || n > cap - 1) {
		json_object_del(o, "sans");
		json_object_set_new(o, "sans_truncated", json_true());
		n = json_dumpb(o, buf, cap - 1, JSON_COMPACT);
	}
	buf[n > 0 && n <= cap - 1 ? n : 0] = '\0';
	json_decref(o);
}

static int
id_add(EVP_MD_CTX *md, const void *p, size_t n)
{
	uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};

	return EVP_DigestUpdate(md, len, sizeof(len)) && EVP_DigestUpdate(md, p, n);
}

/* i2d of one ASN.1 value into the digest. */
#define ID_ADD_I2D(md, fn, v, ok)                                                                  \
	do {                                                                                       \
		unsigned char *der_ = NULL;                                                        \
		int n_ = fn(v, &der_);                                                             \
		ok = ok && n_ > 0 && id_add(md, der_, (size_t)n_);                                 \
		OPENSSL_free(der_);                                                                \
	} while (0)

/* The request's identity, what makes a re-sent request the same request:
 * what a CA issues from (subject, public key, requested extensions), not the
 * signature, nor a subjectKeyIdentifier (certmonger makes a random one each
 * time it generates the CSR again for the same key and subject), nor the
 * challenge (a hash of it would be a guessable secret at rest; the same
 * request, whatever its challenge, is answered with what it already got). */
static int
csr_identity(const struct csr *c, uint8_t ret[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(c->req);
	int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL);

	ID_ADD_I2D(md, i2d_X509_NAME, X509_REQ_get_subject_name(c->req), ok);
	ok = ok && id_add(md, c->key_sha256, sizeof(c->key_sha256));
	for (int i = 0; ok && i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);

		if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) != NID_subject_key_identifier)
			ID_ADD_I2D(md, i2d_X509_EXTENSION, e, ok);
	}
	ok = ok && EVP_DigestFinal_ex(md, ret, NULL);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	EVP_MD_CTX_free(md);
	return ok ? 0 : -SGW_ENOMEM;
}

/* What is kept in clear: the request's identity and the summary. */
static int
csr_digest(const struct csr *c, struct store_csr *ret)
{
	if (csr_identity(c, ret->sha256) < 0)
		return -SGW_ENOMEM;
	ret->hashed = 1;
	csr_info(c, ret->info, sizeof(ret->info));
	return 0;
}

int
txn_csr_seal(const struct ra_identity *id, const struct csr *c, struct store_csr *ret,
	     struct sgw_err *err)
{
	int r;

	memset(ret, 0, sizeof(*ret));
	r = scep_envelope_encrypt(c->der, c->der_len, id->enc_cert, NID_aes_256_cbc, &ret->sealed,
				  &ret->sealed_len, err);
	if (r == 0 && (r = csr_digest(c, ret)) < 0)
		sgw_err_set(err, -r, "out of memory");
	return r;
}

int
txn_csr_same(const struct store_txn *t, const struct store_csr *c)
{
	return t->csr.hashed && c->hashed &&
	       CRYPTO_memcmp(t->csr.sha256, c->sha256, sizeof(c->sha256)) == 0;
}

/* ---- opening (worker, then loop) ------------------------------------------ */

struct txn_csr_job {
	uint8_t *sealed;
	size_t sealed_len;
	uint8_t sha256[32];
	const struct keyop_key *key;
	X509 *cert; /* a reference */
	char profile[64], txid[129];
	txn_csr_cb cb;
	void *arg;
	int rc;
	struct sgw_err err;
	uint8_t *der; /* decrypted, until parsed */
	size_t len;
	struct csr *csr; /* parsed and checked: handed to cb */
	int dropped;	 /* the worker pool dropped it at shutdown: open_done never runs */
};

static void
job_free(struct txn_csr_job *o)
{
	csr_free(o->csr);
	X509_free(o->cert);
	free(o->sealed);
	free(o);
}

static void
open_work(void *arg)
{
	struct txn_csr_job *o = arg;
	uint8_t h[SHA256_DIGEST_LENGTH];
	int nid = 0;

	o->rc = scep_envelope_decrypt(o->sealed, o->sealed_len, o->key, o->cert, 0, &o->der,
				      &o->len, &nid, &o->err);
	if (o->rc == 0 && csr_parse(o->der, o->len, &o->csr, &o->err) < 0)
		o->rc = -SGW_EAUTH;
	if (o->rc == 0 &&
	    (csr_identity(o->csr, h) < 0 || CRYPTO_memcmp(h, o->sha256, sizeof(h)) != 0))
		o->rc = sgw_err_set(&o->err, SGW_EAUTH, "not the CSR this transaction recorded");
	if (o->der != NULL) /* the CSR keeps its own copy; this one holds the challenge */
		OPENSSL_cleanse(o->der, o->len);
	free(o->der);
	o->der = NULL;
	if (o->rc < 0) {
		csr_free(o->csr);
		o->csr = NULL;
	}
}

static void
open_done(void *arg)
{
	struct txn_csr_job *o = arg;

	if (o->rc < 0)
		log_err("txn=%s profile=%s: cannot open the stored CSR: %s", o->txid, o->profile,
			o->err.msg);
	if (o->cb != NULL) {
		o->cb(o->arg, o->rc, o->csr); /* takes the CSR */
		o->csr = NULL;
	}
	job_free(o);
}

/* Shutdown: the pool dropped the job (or its done never ran).  Its owner
 * still holds it until txn_csr_cancel() unless it cancelled already: the
 * second of the two frees it. */
static void
open_drop(void *arg)
{
	struct txn_csr_job *o = arg;

	if (o->cb == NULL)
		job_free(o);
	else
		o->dropped = 1;
}

void
txn_csr_cancel(struct txn_csr_job *o)
{
	if (o == NULL)
		return;
	if (o->dropped)
		job_free(o);
	else
		o->cb = NULL;
}

int
txn_csr_open(struct gw *gw, const struct profile *prof, const struct store_txn *t, txn_csr_cb cb,
	     void *arg, struct txn_csr_job **ret_job)
{
	struct txn_csr_job *o;

	if (t->csr.sealed == NULL || !t->csr.hashed)
		return -SGW_ENOTFOUND;
	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    (o->sealed = malloc(t->csr.sealed_len)) == NULL) {
		free(o);
		return -SGW_ENOMEM;
	}
	memcpy(o->sealed, t->csr.sealed, t->csr.sealed_len);
	o->sealed_len = t->csr.sealed_len;
	memcpy(o->sha256, t->csr.sha256, sizeof(o->sha256));
	o->key = prof->id->enc_key;
	o->cert = prof->id->enc_cert;
	X509_up_ref(o->cert);
	memcpy(o->profile, t->profile, sizeof(o->profile));
	memcpy(o->txid, t->transaction_id, sizeof(o->txid));
	o->cb = cb;
	o->arg = arg;
	if (worker_pool_submit_drop(gw->workers, open_work, open_done, open_drop, o) < 0) {
		X509_free(o->cert);
		free(o->sealed);
		free(o);
		return -SGW_EAGAIN;
	}
	*ret_job = o;
	return 0;
}

/* ---- the CSRs an older version stored in clear ------------------------------ */

static int
legacy_one(void *arg, struct store_txn *t, const uint8_t *der, size_t len)
{
	const struct profile_set *ps = arg;
	const struct profile *prof = NULL;
	struct sgw_err err = {{0}};
	struct csr *c = NULL;
	int r = 0;

	for (size_t i = 0; i < ps->n; i++)
		if (strcmp(ps->v[i].cfg->name, t->profile) == 0)
			prof = &ps->v[i];
	if (csr_parse(der, len, &c, &err) < 0) {
		log_warn("txn=%s profile=%s: stored CSR unreadable (%s): dropped",
			 t->transaction_id, t->profile, err.msg);
		return -SGW_EPARSE;
	}
	/* final, or no profile to open it with again: the hash and summary only */
	if (TXN_STATE_FINAL(t->state) || prof == NULL)
		r = csr_digest(c, &t->csr);
	else if ((r = txn_csr_seal(prof->id, c, &t->csr, &err)) < 0)
		log_warn("txn=%s profile=%s: stored CSR not sealed (%s): dropped",
			 t->transaction_id, t->profile, err.msg);
	if (r == 0 && !TXN_STATE_FINAL(t->state) && prof == NULL)
		log_warn("txn=%s profile=%s: profile no longer configured: stored CSR dropped",
			 t->transaction_id, t->profile);
	csr_free(c);
	return r;
}

int
txn_csr_migrate(struct store *s, const struct profile_set *ps, struct sgw_err *err)
{
	int n = store_txn_legacy_csr(s, legacy_one, (void *)ps, err);

	return n < 0 ? n : 0;
}
