/* p11_token.c: PKCS#11 modules, tokens and sessions (p11_token.h); the keys
 * and their operations are p11_key.c. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "log.h"
#include "p11_token_int.h"
#include "secret_file.h"

#define P11_REINIT_S 2 /* at most one C_Finalize + C_Initialize per module this often */

static pthread_mutex_t registry = PTHREAD_MUTEX_INITIALIZER;
static struct p11_module *modules;
static struct p11_token *tokens;

/* ---- names of the return values an operator meets ------------------------ */

const char *
p11_ckr_name(CK_RV rv)
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
int
p11_ckr_reset(CK_RV rv)
{
	return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED ||
	       rv == CKR_USER_NOT_LOGGED_IN || rv == CKR_TOKEN_NOT_PRESENT ||
	       rv == CKR_TOKEN_NOT_RECOGNIZED || rv == CKR_DEVICE_REMOVED ||
	       rv == CKR_DEVICE_ERROR || rv == CKR_OBJECT_HANDLE_INVALID ||
	       rv == CKR_KEY_HANDLE_INVALID || rv == CKR_SESSION_COUNT ||
	       rv == CKR_CRYPTOKI_NOT_INITIALIZED;
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
			    p11_ckr_name(rv), (unsigned long)rv);
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
void
p11_module_reinit(struct p11_module *m)
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
		p11_ckr_name(rv));
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

void
p11_token_unref(struct p11_token *t)
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
int
p11_token_get(const char *module, const struct p11_uri *u, char *pin, struct p11_token **ret,
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

/* Under t->lock: the next operation starts over (finds the slot, logs in).
 * Only the idle sessions are closed here: one another thread is using is
 * closed when it comes back (closing a session under a running C_Sign is
 * more than some modules survive). */
static void
token_down(struct p11_token *t)
{
	if (t->up && t->epoch == t->mod->epoch)
		for (size_t i = 0; i < t->n_pool; i++)
			t->mod->f->C_CloseSession(t->pool[i]);
	t->n_pool = 0;
	t->up = 0;
	t->gen++;
}

/* A session to use (from the pool, or a new one), logged in. */
int
p11_session_get(struct p11_token *t, CK_SESSION_HANDLE *ret, unsigned *ret_gen, CK_RV *ret_rv)
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
	if (r < 0 && p11_ckr_reset(*ret_rv))
		token_down(t);
	pthread_mutex_unlock(&t->lock);
	return r;
}

/* Give a session back after an operation that returned rv. */
void
p11_session_put(struct p11_token *t, CK_SESSION_HANDLE s, unsigned gen, CK_RV rv)
{
	pthread_mutex_lock(&t->lock);
	/* the module cannot have been re-initialised since s was taken (the
	 * caller holds mod->rw), so s is still this epoch's handle */
	if (gen != t->gen || p11_ckr_reset(rv)) {
		t->mod->f->C_CloseSession(s);
		if (gen == t->gen)
			token_down(t);
	} else if (t->n_pool < P11_POOL)
		t->pool[t->n_pool++] = s;
	else
		t->mod->f->C_CloseSession(s);
	pthread_mutex_unlock(&t->lock);
}
