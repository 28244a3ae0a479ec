/* p11_key.c: private keys on a token and their operations (p11_token.h). */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "log.h"
#include "p11_token_int.h"
#include "secret_file.h"

#define P11_MAX_PIN 256
#define P11_MAX_ATTR 1024

struct p11_key {
	struct p11_token *tok;
	char *name;
	uint8_t label[P11_URI_MAX_VALUE], id[P11_URI_MAX_VALUE];
	size_t label_len, id_len;
	int has_label, has_id;
	enum p11_key_type type;
	uint8_t *pub_a, *pub_b;
	size_t pub_a_len, pub_b_len;
	/* the object handle, valid while handle_gen == tok->gen (under tok->lock) */
	CK_OBJECT_HANDLE handle;
	unsigned handle_gen;
};

/* ---- keys ----------------------------------------------------------------- */

/* The one private key object with the URI's label and id. */
static CK_RV
key_find(const struct p11_key *k, CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
	 CK_OBJECT_HANDLE *ret)
{
	CK_ATTRIBUTE tmpl[3] = {{CKA_CLASS, &cls, sizeof(cls)}};
	CK_OBJECT_HANDLE h[2];
	CK_ULONG n = 0, nt = 1;
	CK_RV rv;

	if (k->has_label)
		tmpl[nt++] = (CK_ATTRIBUTE){CKA_LABEL, (void *)k->label, k->label_len};
	if (k->has_id)
		tmpl[nt++] = (CK_ATTRIBUTE){CKA_ID, (void *)k->id, k->id_len};
	if ((rv = f->C_FindObjectsInit(s, tmpl, nt)) != CKR_OK)
		return rv;
	rv = f->C_FindObjects(s, h, 2, &n);
	f->C_FindObjectsFinal(s);
	if (rv != CKR_OK)
		return rv;
	if (n != 1)
		return n == 0 ? CKR_OBJECT_HANDLE_INVALID : CKR_ARGUMENTS_BAD;
	*ret = h[0];
	return CKR_OK;
}

/* One variable-length attribute into a malloc'd buffer. */
static CK_RV
attr_get(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type,
	 uint8_t **ret, size_t *ret_len)
{
	CK_ATTRIBUTE a = {type, NULL, 0};
	CK_RV rv = f->C_GetAttributeValue(s, h, &a, 1);

	if (rv != CKR_OK)
		return rv;
	if (a.ulValueLen == 0 || a.ulValueLen > P11_MAX_ATTR)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if ((a.pValue = malloc(a.ulValueLen)) == NULL)
		return CKR_HOST_MEMORY;
	if ((rv = f->C_GetAttributeValue(s, h, &a, 1)) != CKR_OK) {
		free(a.pValue);
		return rv;
	}
	*ret = a.pValue;
	*ret_len = a.ulValueLen;
	return CKR_OK;
}

/* Type, the non-extractable check and the public half of a found key. */
static int
key_describe(struct p11_key *k, CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
	     const char *uri, struct sgw_err *err)
{
	CK_KEY_TYPE kt = 0;
	CK_BBOOL sensitive = CK_FALSE, extractable = CK_TRUE;
	CK_ATTRIBUTE a[3] = {{CKA_KEY_TYPE, &kt, sizeof(kt)},
			     {CKA_SENSITIVE, &sensitive, sizeof(sensitive)},
			     {CKA_EXTRACTABLE, &extractable, sizeof(extractable)}};
	CK_OBJECT_HANDLE pub;
	CK_RV rv = f->C_GetAttributeValue(s, h, a, 3);

	if (rv != CKR_OK)
		return sgw_err_set(err, SGW_EINVAL, "%s: cannot read the key's attributes: %s", uri,
				   p11_ckr_name(rv));
	if (extractable || !sensitive)
		return sgw_err_set(err, SGW_EINVAL,
				   "%s: the key can leave the token (CKA_EXTRACTABLE %s, "
				   "CKA_SENSITIVE %s): generate it on the token, or import it "
				   "as sensitive and non-extractable",
				   uri, extractable ? "true" : "false",
				   sensitive ? "true" : "false");
	if (kt == CKK_RSA) {
		k->type = P11_KEY_RSA;
		rv = attr_get(f, s, h, CKA_MODULUS, &k->pub_a, &k->pub_a_len);
		if (rv == CKR_OK)
			rv = attr_get(f, s, h, CKA_PUBLIC_EXPONENT, &k->pub_b, &k->pub_b_len);
	} else if (kt == CKK_EC) {
		k->type = P11_KEY_EC;
		rv = attr_get(f, s, h, CKA_EC_PARAMS, &k->pub_a, &k->pub_a_len);
		/* a private EC key has no point: the public key object beside it does */
		if (rv == CKR_OK && (rv = key_find(k, f, s, CKO_PUBLIC_KEY, &pub)) == CKR_OK)
			rv = attr_get(f, s, pub, CKA_EC_POINT, &k->pub_b, &k->pub_b_len);
	} else
		return sgw_err_set(err, SGW_EALG, "%s: not an RSA or EC key", uri);
	if (rv != CKR_OK)
		return sgw_err_set(err, SGW_EINVAL, "%s: cannot read the public key: %s", uri,
				   p11_ckr_name(rv));
	return 0;
}

static int
read_pin(const char *pin_file, char **ret, struct sgw_err *err)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	if (pin_file == NULL)
		return sgw_err_set(err, SGW_EINVAL, "a pkcs11: key needs pkcs11.pin_file");
	r = secret_file_read_as("PKCS#11 PIN file", pin_file, P11_MAX_PIN, SECRET_FILE_TRIM, &buf,
				&len, err);
	if (r < 0)
		return r;
	if ((*ret = OPENSSL_secure_malloc(len + 1)) == NULL) {
		secret_file_free(buf, len);
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	}
	memcpy(*ret, buf, len + 1);
	secret_file_free(buf, len);
	return 0;
}

static int
key_select(struct p11_key *k, const struct p11_uri *u)
{
	if (u->object != NULL) {
		k->label_len = strlen(u->object);
		memcpy(k->label, u->object, k->label_len);
		k->has_label = 1;
	}
	if (u->has_id) {
		memcpy(k->id, u->id, u->id_len);
		k->id_len = u->id_len;
		k->has_id = 1;
	}
	return 0;
}

static int
key_load_locked(struct p11_key *k, struct p11_token *t, const char *uri, struct sgw_err *err)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE h = 0;
	unsigned gen;
	CK_RV rv;
	int r;

	if (p11_session_get(t, &s, &gen, &rv) < 0) {
		if (rv == CKR_TOKEN_NOT_PRESENT)
			return sgw_err_set(err, SGW_EUNAVAIL,
					   "%s: no such token in PKCS#11 module %s", uri,
					   t->mod->path);
		if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_PIN_LEN_RANGE)
			return sgw_err_set(err, SGW_EAUTH,
					   "%s: the token refused the PIN of pkcs11.pin_file (%s)",
					   uri, p11_ckr_name(rv));
		return sgw_err_set(err, SGW_EUNAVAIL, "%s: PKCS#11 module %s: %s", uri,
				   t->mod->path, p11_ckr_name(rv));
	}
	rv = key_find(k, t->mod->f, s, CKO_PRIVATE_KEY, &h);
	if (rv != CKR_OK)
		r = sgw_err_set(err, SGW_ENOTFOUND,
				rv == CKR_ARGUMENTS_BAD ? "%s: more than one private key matches"
							: "%s: no private key object matches (%s)",
				uri, p11_ckr_name(rv));
	else
		r = key_describe(k, t->mod->f, s, h, uri, err);
	pthread_mutex_lock(&t->lock);
	k->handle = h;
	k->handle_gen = gen;
	pthread_mutex_unlock(&t->lock);
	/* a key that is not there leaves the session usable */
	p11_session_put(t, s, gen,
			rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_ARGUMENTS_BAD ? CKR_OK : rv);
	return r;
}

/* With a session: find and describe the key. */
static int
key_load(struct p11_key *k, const char *uri, struct sgw_err *err)
{
	struct p11_token *t = k->tok;
	int r;

	pthread_rwlock_rdlock(&t->mod->rw);
	r = key_load_locked(k, t, uri, err);
	pthread_rwlock_unlock(&t->mod->rw);
	return r;
}

int
p11_key_open(const char *module, const char *pin_file, const char *uri, const char *name,
	     struct p11_key **ret, struct sgw_err *err)
{
	struct p11_uri u;
	struct p11_key *k = NULL;
	char *pin = NULL;
	int r;

	if (module == NULL)
		return sgw_err_set(err, SGW_EINVAL, "a pkcs11: key needs pkcs11.module");
	if ((r = p11_uri_parse((const uint8_t *)uri, strlen(uri), &u, err)) < 0)
		return r;
	if ((r = read_pin(pin_file, &pin, err)) < 0)
		goto out;
	r = sgw_err_set(err, SGW_ENOMEM, "out of memory");
	if ((k = calloc(1, sizeof(*k))) == NULL || (k->name = strdup(name)) == NULL)
		goto out;
	key_select(k, &u);
	r = p11_token_get(module, &u, pin, &k->tok, err);
	pin = NULL; /* the token's now, or freed */
	if (r < 0)
		goto out;
	if ((r = key_load(k, uri, err)) < 0)
		goto out;
	*ret = k;
	k = NULL;
	r = 0;
out:
	if (pin != NULL)
		OPENSSL_secure_clear_free(pin, strlen(pin) + 1);
	p11_key_free(k);
	p11_uri_clear(&u);
	return r;
}

void
p11_key_free(struct p11_key *k)
{
	if (k == NULL)
		return;
	if (k->tok != NULL)
		p11_token_unref(k->tok);
	free(k->pub_a);
	free(k->pub_b);
	free(k->name);
	free(k);
}

enum p11_key_type
p11_key_type(const struct p11_key *k)
{
	return k->type;
}

void
p11_key_public(const struct p11_key *k, const uint8_t **a, size_t *a_len, const uint8_t **b,
	       size_t *b_len)
{
	*a = k->pub_a;
	*a_len = k->pub_a_len;
	*b = k->pub_b;
	*b_len = k->pub_b_len;
}

/* One attempt: a session, the key's handle (found again after a reset), the
 * operation. */
static CK_RV
op_once(struct p11_key *k, CK_MECHANISM *m, int decrypt, const uint8_t *in, size_t in_len,
	uint8_t *out, size_t *out_len)
{
	struct p11_token *t = k->tok;
	CK_FUNCTION_LIST *f = t->mod->f;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE h = 0;
	CK_ULONG n = *out_len;
	unsigned gen;
	int fresh;
	CK_RV rv;

	if (p11_session_get(t, &s, &gen, &rv) < 0)
		return rv;
	pthread_mutex_lock(&t->lock);
	fresh = k->handle_gen == gen;
	h = k->handle;
	pthread_mutex_unlock(&t->lock);
	rv = fresh ? CKR_OK : key_find(k, f, s, CKO_PRIVATE_KEY, &h);
	if (rv == CKR_OK && !fresh) {
		pthread_mutex_lock(&t->lock);
		k->handle = h;
		k->handle_gen = gen;
		pthread_mutex_unlock(&t->lock);
	}
	if (rv == CKR_OK && decrypt && (rv = f->C_DecryptInit(s, m, h)) == CKR_OK)
		rv = f->C_Decrypt(s, (CK_BYTE *)in, in_len, out, &n);
	else if (rv == CKR_OK && !decrypt && (rv = f->C_SignInit(s, m, h)) == CKR_OK)
		rv = f->C_Sign(s, (CK_BYTE *)in, in_len, out, &n);
	if (rv == CKR_OK)
		*out_len = n;
	p11_session_put(t, s, gen, rv);
	return rv;
}

static CK_RV
op_locked(struct p11_key *k, CK_MECHANISM *m, int decrypt, const uint8_t *in, size_t in_len,
	  uint8_t *out, size_t *out_len)
{
	CK_RV rv;

	pthread_rwlock_rdlock(&k->tok->mod->rw);
	rv = op_once(k, m, decrypt, in, in_len, out, out_len);
	pthread_rwlock_unlock(&k->tok->mod->rw);
	return rv;
}

int
p11_key_unavailable(const struct p11_key *k)
{
	return atomic_load(&k->tok->down);
}

int
p11_key_op(struct p11_key *k, enum p11_mech mech, const uint8_t *in, size_t in_len, uint8_t *out,
	   size_t *out_len)
{
	CK_RSA_PKCS_OAEP_PARAMS oaep = {CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0};
	CK_MECHANISM m = {0, NULL, 0};
	int decrypt = mech >= P11_DECRYPT_RSA_PKCS;
	CK_RV rv;

	switch (mech) {
	case P11_SIGN_RSA_PKCS:
		m.mechanism = CKM_RSA_PKCS;
		break;
	case P11_SIGN_ECDSA:
		m.mechanism = CKM_ECDSA;
		break;
	case P11_DECRYPT_RSA_PKCS:
		m.mechanism = CKM_RSA_PKCS;
		break;
	case P11_DECRYPT_RSA_X509:
		m.mechanism = CKM_RSA_X_509;
		break;
	case P11_DECRYPT_RSA_OAEP:
		m = (CK_MECHANISM){CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep)};
		break;
	}
	rv = op_locked(k, &m, decrypt, in, in_len, out, out_len);
	if (p11_ckr_reset(rv)) /* the sessions were closed: once more, with new ones */
		rv = op_locked(k, &m, decrypt, in, in_len, out, out_len);
	if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_TOKEN_NOT_RECOGNIZED ||
	    rv == CKR_DEVICE_REMOVED || rv == CKR_CRYPTOKI_NOT_INITIALIZED) {
		p11_module_reinit(k->tok->mod);
		rv = op_locked(k, &m, decrypt, in, in_len, out, out_len);
	}
	atomic_store(&k->tok->down, rv != CKR_OK && (p11_ckr_reset(rv) || rv == CKR_PIN_INCORRECT));
	if (rv == CKR_OK)
		return 0;
	log_warn("pkcs11: key %s: %s failed on token %s: %s (0x%lx)", k->name,
		 decrypt ? "C_Decrypt" : "C_Sign", k->tok->label != NULL ? k->tok->label : "?",
		 p11_ckr_name(rv), (unsigned long)rv);
	return atomic_load(&k->tok->down) ? -SGW_EUNAVAIL : -SGW_EAUTH;
}
