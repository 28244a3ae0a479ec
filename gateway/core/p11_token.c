/* p11_token.c: PKCS#11 modules, tokens, sessions and key operations
 * (p11_token.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <p11-kit/pkcs11.h>

#include "log.h"
#include "p11_token.h"
#include "p11_uri.h"
#include "secret_file.h"

#define P11_MAX_PIN 256
#define P11_POOL 64 /* idle sessions kept per token */
#define P11_MAX_ATTR 1024
#define P11_REINIT_S 2 /* at most one C_Finalize + C_Initialize per module this often */

/* One loaded module: process-wide because C_Initialize is (see p11_token.h);
 * the list and the counts are guarded by `registry`. */
struct p11_module {
	struct p11_module *next;
	char *path;
	void *dl;
	CK_FUNCTION_LIST *f;
	int refs;
	/* Every call into the module holds `rw` for reading; re-initialising
	 * it (when a token is gone: some modules, SoftHSM2 among them, see a
	 * token again only after C_Initialize) holds it for writing and bumps
	 * `epoch`, which tells each token that its sessions are gone. */
	pthread_rwlock_t rw;
	unsigned epoch;
	time_t last_reinit;
};

/* One token of a module, as a URI selects it; shared by its keys. */
struct p11_token {
	struct p11_token *next;
	struct p11_module *mod;
	char *label, *manufacturer, *model, *serial; /* the URI's selection */
	unsigned long slot_id;
	int has_slot_id;
	int refs;
	pthread_mutex_t lock; /* the fields below */
	char *pin;	      /* secure heap */
	int up;		      /* slot found, logged in */
	unsigned epoch;	      /* the module's when `up` was set */
	atomic_int down;      /* the last operation could not reach the token */
	CK_SLOT_ID slot;
	unsigned gen; /* bumped when every session is closed */
	CK_SESSION_HANDLE pool[P11_POOL];
	size_t n_pool;
};

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

static pthread_mutex_t registry = PTHREAD_MUTEX_INITIALIZER;
static struct p11_module *modules;
static struct p11_token *tokens;

/* ---- names of the return values an operator meets ------------------------ */

static const char *
ckr_name(CK_RV rv)
{
	switch (rv) {
	case CKR_OK:
		return "CKR_OK";
	case CKR_GENERAL_ERROR:
		return "CKR_GENERAL_ERROR";
	case CKR_DEVICE_ERROR:
		return "CKR_DEVICE_ERROR";
	case CKR_DEVICE_REMOVED:
		return "CKR_DEVICE_REMOVED";
	case CKR_TOKEN_NOT_PRESENT:
		return "CKR_TOKEN_NOT_PRESENT";
	case CKR_TOKEN_NOT_RECOGNIZED:
		return "CKR_TOKEN_NOT_RECOGNIZED";
	case CKR_SESSION_HANDLE_INVALID:
		return "CKR_SESSION_HANDLE_INVALID";
	case CKR_SESSION_CLOSED:
		return "CKR_SESSION_CLOSED";
	case CKR_USER_NOT_LOGGED_IN:
		return "CKR_USER_NOT_LOGGED_IN";
	case CKR_PIN_INCORRECT:
		return "CKR_PIN_INCORRECT";
	case CKR_PIN_LOCKED:
		return "CKR_PIN_LOCKED";
	case CKR_OBJECT_HANDLE_INVALID:
		return "CKR_OBJECT_HANDLE_INVALID";
	case CKR_KEY_HANDLE_INVALID:
		return "CKR_KEY_HANDLE_INVALID";
	case CKR_MECHANISM_INVALID:
		return "CKR_MECHANISM_INVALID";
	case CKR_KEY_FUNCTION_NOT_PERMITTED:
		return "CKR_KEY_FUNCTION_NOT_PERMITTED";
	case CKR_KEY_TYPE_INCONSISTENT:
		return "CKR_KEY_TYPE_INCONSISTENT";
	case CKR_ENCRYPTED_DATA_INVALID:
		return "CKR_ENCRYPTED_DATA_INVALID";
	case CKR_ENCRYPTED_DATA_LEN_RANGE:
		return "CKR_ENCRYPTED_DATA_LEN_RANGE";
	case CKR_DATA_LEN_RANGE:
		return "CKR_DATA_LEN_RANGE";
	case CKR_BUFFER_TOO_SMALL:
		return "CKR_BUFFER_TOO_SMALL";
	case CKR_CRYPTOKI_NOT_INITIALIZED:
		return "CKR_CRYPTOKI_NOT_INITIALIZED";
	default:
		return "CKR_?";
	}
}

/* Errors after which the sessions (or the login) are gone: close them all.
 * Not CKR_GENERAL_ERROR: SoftHSM2 answers a bad OAEP ciphertext with it, and
 * a client's bad input must not look like a token that went away. */
static int
ckr_reset(CK_RV rv)
{
	return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED ||
	       rv == CKR_USER_NOT_LOGGED_IN || rv == CKR_TOKEN_NOT_PRESENT ||
	       rv == CKR_TOKEN_NOT_RECOGNIZED || rv == CKR_DEVICE_REMOVED ||
	       rv == CKR_DEVICE_ERROR ||
	       rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_KEY_HANDLE_INVALID ||
	       rv == CKR_SESSION_COUNT || rv == CKR_CRYPTOKI_NOT_INITIALIZED;
}

/* ---- modules -------------------------------------------------------------- */

static void
module_unref(struct p11_module *m)
{
	struct p11_module **pp;

	if (m == NULL || --m->refs > 0)
		return;
	for (pp = &modules; *pp != m; pp = &(*pp)->next)
		;
	*pp = m->next;
	m->f->C_Finalize(NULL);
	pthread_rwlock_destroy(&m->rw);
	dlclose(m->dl);
	free(m->path);
	free(m);
}

/* Under `registry`. */
static int
module_get(const char *path, struct p11_module **ret, struct sgw_err *err)
{
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
	CK_C_GetFunctionList get;
	struct p11_module *m;
	CK_RV rv;

	for (m = modules; m != NULL; m = m->next)
		if (strcmp(m->path, path) == 0) {
			m->refs++;
			*ret = m;
			return 0;
		}
	if ((m = calloc(1, sizeof(*m))) == NULL || (m->path = strdup(path)) == NULL) {
		free(m);
		return sgw_err_set(err, SGW_ENOMEM, "out of memory");
	}
	if ((m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		sgw_err_set(err, SGW_EINVAL, "PKCS#11 module %s cannot be loaded: %s", path,
			    dlerror());
		goto fail;
	}
	*(void **)&get = dlsym(m->dl, "C_GetFunctionList");
	if (get == NULL || get(&m->f) != CKR_OK || m->f == NULL) {
		sgw_err_set(err, SGW_EINVAL, "%s: not a PKCS#11 module (no C_GetFunctionList)",
			    path);
		goto fail;
	}
	rv = m->f->C_Initialize(&args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		sgw_err_set(err, SGW_EINVAL, "PKCS#11 module %s: C_Initialize: %s (0x%lx)", path,
			    ckr_name(rv), (unsigned long)rv);
		goto fail;
	}
	m->refs = 1;
	pthread_rwlock_init(&m->rw, NULL);
	m->next = modules;
	modules = m;
	*ret = m;
	return 0;
fail:
	if (m->dl != NULL)
		dlclose(m->dl);
	free(m->path);
	free(m);
	return -SGW_EINVAL;
}

/* C_Finalize + C_Initialize, when no call is inside the module, at most
 * every P11_REINIT_S seconds. */
static void
module_reinit(struct p11_module *m)
{
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
	struct timespec now;
	CK_RV rv;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_rwlock_wrlock(&m->rw);
	if (m->last_reinit != 0 && now.tv_sec - m->last_reinit < P11_REINIT_S) {
		pthread_rwlock_unlock(&m->rw);
		return;
	}
	m->last_reinit = now.tv_sec;
	m->f->C_Finalize(NULL);
	rv = m->f->C_Initialize(&args);
	m->epoch++;
	pthread_rwlock_unlock(&m->rw);
	log_msg(rv == CKR_OK ? LOG_LVL_INFO : LOG_LVL_ERR,
		"pkcs11: module %s re-initialised to find its token again: %s", m->path,
		ckr_name(rv));
}

/* ---- tokens --------------------------------------------------------------- */

static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
token_free(struct p11_token *t)
{
	free(t->label);
	free(t->manufacturer);
	free(t->model);
	free(t->serial);
	if (t->pin != NULL)
		OPENSSL_secure_clear_free(t->pin, strlen(t->pin) + 1);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static void
token_unref(struct p11_token *t)
{
	struct p11_token **pp;

	pthread_mutex_lock(&registry);
	if (--t->refs > 0) {
		pthread_mutex_unlock(&registry);
		return;
	}
	for (pp = &tokens; *pp != t; pp = &(*pp)->next)
		;
	*pp = t->next;
	pthread_rwlock_rdlock(&t->mod->rw);
	if (t->up && t->epoch == t->mod->epoch)
		t->mod->f->C_CloseAllSessions(t->slot);
	pthread_rwlock_unlock(&t->mod->rw);
	module_unref(t->mod);
	pthread_mutex_unlock(&registry);
	token_free(t);
}

/* The token of (module, the URI's token attributes), new or shared; its PIN
 * replaced by `pin` (a reload may bring a new PIN file), which it takes over
 * (freed on failure). */
static int
token_get(const char *module, const struct p11_uri *u, char *pin, struct p11_token **ret,
	  struct sgw_err *err)
{
	struct p11_token *t;
	int r = 0;

	pthread_mutex_lock(&registry);
	for (t = tokens; t != NULL; t = t->next)
		if (strcmp(t->mod->path, module) == 0 && same(t->label, u->token) &&
		    same(t->manufacturer, u->manufacturer) && same(t->model, u->model) &&
		    same(t->serial, u->serial) && t->has_slot_id == u->has_slot_id &&
		    t->slot_id == u->slot_id)
			break;
	if (t != NULL) {
		t->refs++;
		pthread_mutex_lock(&t->lock);
		OPENSSL_secure_clear_free(t->pin, strlen(t->pin) + 1);
		t->pin = pin;
		pthread_mutex_unlock(&t->lock);
		goto out;
	}
	r = sgw_err_set(err, SGW_ENOMEM, "out of memory");
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		OPENSSL_secure_clear_free(pin, strlen(pin) + 1);
		goto out;
	}
	pthread_mutex_init(&t->lock, NULL);
	t->pin = pin;
	if ((u->token != NULL && (t->label = strdup(u->token)) == NULL) ||
	    (u->manufacturer != NULL && (t->manufacturer = strdup(u->manufacturer)) == NULL) ||
	    (u->model != NULL && (t->model = strdup(u->model)) == NULL) ||
	    (u->serial != NULL && (t->serial = strdup(u->serial)) == NULL) ||
	    (r = module_get(module, &t->mod, err)) < 0) {
		token_free(t);
		t = NULL;
		goto out;
	}
	t->slot_id = u->slot_id;
	t->has_slot_id = u->has_slot_id;
	t->refs = 1;
	t->next = tokens;
	tokens = t;
	r = 0;
out:
	pthread_mutex_unlock(&registry);
	if (r < 0)
		return r;
	*ret = t;
	return 0;
}

/* A space-padded CK_UTF8CHAR field against a selection (NULL matches all). */
static int
field_is(const CK_UTF8CHAR *f, size_t size, const char *want)
{
	size_t n = size;

	if (want == NULL)
		return 1;
	while (n > 0 && f[n - 1] == ' ')
		n--;
	return strlen(want) == n && memcmp(f, want, n) == 0;
}

/* Under t->lock: find the slot, log in.  0, or a CKR_ code in *ret_rv. */
static int
token_up(struct p11_token *t, CK_RV *ret_rv)
{
	CK_FUNCTION_LIST *f = t->mod->f;
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64;
	CK_SESSION_HANDLE s;
	CK_RV rv;

	*ret_rv = f->C_GetSlotList(CK_TRUE, slots, &n);
	if (*ret_rv != CKR_OK)
		return -1;
	*ret_rv = CKR_TOKEN_NOT_PRESENT;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;

		if ((t->has_slot_id && slots[i] != t->slot_id) ||
		    f->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
		    !field_is(ti.label, sizeof(ti.label), t->label) ||
		    !field_is(ti.manufacturerID, sizeof(ti.manufacturerID), t->manufacturer) ||
		    !field_is(ti.model, sizeof(ti.model), t->model) ||
		    !field_is(ti.serialNumber, sizeof(ti.serialNumber), t->serial))
			continue;
		t->slot = slots[i];
		*ret_rv = CKR_OK;
		break;
	}
	if (*ret_rv != CKR_OK)
		return -1;
	if ((*ret_rv = f->C_OpenSession(t->slot, CKF_SERIAL_SESSION, NULL, NULL, &s)) != CKR_OK)
		return -1;
	rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)t->pin, (CK_ULONG)strlen(t->pin));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		f->C_CloseSession(s);
		*ret_rv = rv;
		return -1;
	}
	t->pool[t->n_pool++] = s;
	t->up = 1;
	t->epoch = t->mod->epoch;
	return 0;
}

/* Under t->lock: close everything; the next operation starts over. */
static void
token_down(struct p11_token *t)
{
	if (t->up && t->epoch == t->mod->epoch)
		t->mod->f->C_CloseAllSessions(t->slot);
	t->n_pool = 0;
	t->up = 0;
	t->gen++;
}

/* A session to use (from the pool, or a new one), logged in. */
static int
session_get(struct p11_token *t, CK_SESSION_HANDLE *ret, unsigned *ret_gen, CK_RV *ret_rv)
{
	int r = 0;

	pthread_mutex_lock(&t->lock);
	*ret_rv = CKR_OK;
	if (t->up && t->epoch != t->mod->epoch) {
		/* the module was re-initialised: these sessions are gone */
		t->up = 0;
		t->n_pool = 0;
		t->gen++;
	}
	if (!t->up && token_up(t, ret_rv) < 0)
		r = -1;
	else if (t->n_pool > 0)
		*ret = t->pool[--t->n_pool];
	else if ((*ret_rv = t->mod->f->C_OpenSession(t->slot, CKF_SERIAL_SESSION, NULL, NULL,
						     ret)) != CKR_OK)
		r = -1;
	*ret_gen = t->gen;
	if (r < 0 && ckr_reset(*ret_rv))
		token_down(t);
	pthread_mutex_unlock(&t->lock);
	return r;
}

/* Give a session back after an operation that returned rv. */
static void
session_put(struct p11_token *t, CK_SESSION_HANDLE s, unsigned gen, CK_RV rv)
{
	pthread_mutex_lock(&t->lock);
	if (gen != t->gen)
		; /* closed by token_down() already */
	else if (ckr_reset(rv))
		token_down(t);
	else if (t->n_pool < P11_POOL)
		t->pool[t->n_pool++] = s;
	else
		t->mod->f->C_CloseSession(s);
	pthread_mutex_unlock(&t->lock);
}

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
				   ckr_name(rv));
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
				   ckr_name(rv));
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

	if (session_get(t, &s, &gen, &rv) < 0) {
		if (rv == CKR_TOKEN_NOT_PRESENT)
			return sgw_err_set(err, SGW_EUNAVAIL,
					   "%s: no such token in PKCS#11 module %s", uri,
					   t->mod->path);
		if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_PIN_LEN_RANGE)
			return sgw_err_set(err, SGW_EAUTH,
					   "%s: the token refused the PIN of pkcs11.pin_file (%s)",
					   uri, ckr_name(rv));
		return sgw_err_set(err, SGW_EUNAVAIL, "%s: PKCS#11 module %s: %s", uri,
				   t->mod->path, ckr_name(rv));
	}
	rv = key_find(k, t->mod->f, s, CKO_PRIVATE_KEY, &h);
	if (rv != CKR_OK)
		r = sgw_err_set(err, SGW_ENOTFOUND,
				rv == CKR_ARGUMENTS_BAD ? "%s: more than one private key matches"
							: "%s: no private key object matches (%s)",
				uri, ckr_name(rv));
	else
		r = key_describe(k, t->mod->f, s, h, uri, err);
	pthread_mutex_lock(&t->lock);
	k->handle = h;
	k->handle_gen = gen;
	pthread_mutex_unlock(&t->lock);
	/* a key that is not there leaves the session usable */
	session_put(t, s, gen,
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
	r = token_get(module, &u, pin, &k->tok, err);
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
		token_unref(k->tok);
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

	if (session_get(t, &s, &gen, &rv) < 0)
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
	session_put(t, s, gen, rv);
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
	if (ckr_reset(rv)) /* the sessions were closed: once more, with new ones */
		rv = op_locked(k, &m, decrypt, in, in_len, out, out_len);
	if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_TOKEN_NOT_RECOGNIZED ||
	    rv == CKR_DEVICE_REMOVED || rv == CKR_CRYPTOKI_NOT_INITIALIZED) {
		module_reinit(k->tok->mod);
		rv = op_locked(k, &m, decrypt, in, in_len, out, out_len);
	}
	atomic_store(&k->tok->down, rv != CKR_OK && (ckr_reset(rv) || rv == CKR_PIN_INCORRECT));
	if (rv == CKR_OK)
		return 0;
	log_warn("pkcs11: key %s: %s failed on token %s: %s (0x%lx)", k->name,
		 decrypt ? "C_Decrypt" : "C_Sign", k->tok->label != NULL ? k->tok->label : "?",
		 ckr_name(rv), (unsigned long)rv);
	return atomic_load(&k->tok->down) ? -SGW_EUNAVAIL : -SGW_EAUTH;
}
