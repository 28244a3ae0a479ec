/* p11_token_int.h: what p11_key.c (keys and their operations) uses of
 * p11_token.c (modules, tokens, sessions); private to the two. */
#ifndef SGW_P11_TOKEN_INT_H
#define SGW_P11_TOKEN_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <p11-kit/pkcs11.h>

#include "p11_token.h"
#include "p11_uri.h"

#define P11_POOL 64 /* idle sessions kept per token */

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

const char *p11_ckr_name(CK_RV rv);
/* Errors after which the sessions (or the login) are gone. */
int p11_ckr_reset(CK_RV rv);
/* C_Finalize + C_Initialize when the token is gone (rate-limited). */
void p11_module_reinit(struct p11_module *m);
/* The token of (module, the URI's token attributes), new or shared; takes
 * over `pin` (the secure heap; freed on failure). */
int p11_token_get(const char *module, const struct p11_uri *u, char *pin, struct p11_token **ret,
		  struct sgw_err *err);
void p11_token_unref(struct p11_token *t);
/* A logged-in session of the token (callers hold t->mod->rw for reading):
 * 0, or -1 with the CKR_ code in *ret_rv; *ret_gen is the token's session
 * generation, for p11_session_put(). */
int p11_session_get(struct p11_token *t, CK_SESSION_HANDLE *ret, unsigned *ret_gen, CK_RV *ret_rv);
/* Back to the pool after an operation that returned rv (a reset error
 * closes every session of the token). */
void p11_session_put(struct p11_token *t, CK_SESSION_HANDLE s, unsigned gen, CK_RV rv);

#endif
