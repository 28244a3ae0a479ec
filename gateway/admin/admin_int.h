/* admin_int.h: the types the admin_*.c files share: the listener's state
 * (struct admin), tokens, roles and who is calling.  Functions are declared
 * beside the file that defines them (admin_reply.h, admin_auth.h,
 * admin_api.h, admin_mscep.h). */
#ifndef SGW_ADMIN_INT_H
#define SGW_ADMIN_INT_H

#include "admin.h"

#define ADMIN_NAME_MAX 64
#define ADMIN_MAX_TOKENS 1024
#define ADMIN_LIST_MAX 1000 /* rows per list reply */
#define ADMIN_MAX_BODY (64 * 1024)

enum admin_role {
	ADMIN_ROLE_NONE = 0,
	ADMIN_ROLE_CHALLENGE = 1u << 0, /* issue one-time challenges (an MDM) */
	ADMIN_ROLE_READ = 1u << 1,	/* GET routes */
	ADMIN_ROLE_ADMIN = 0xffu,	/* everything */
};

struct admin_token {
	char name[ADMIN_NAME_MAX];
	uint8_t sha256[32];
	unsigned role;
};

struct admin_principal {
	char name[ADMIN_NAME_MAX + 8]; /* "token:alice", "cert:ops-laptop" */
	unsigned role;
};

struct admin_revoke_job;
struct admin_read;
struct admin_otp;
struct http_listener;

struct admin {
	struct gw *gw;
	struct txn_admin *ta;
	const struct cfg_admin *cfg;
	struct http_listener *listener;
	struct admin_token *tokens;
	size_t n_tokens;
	struct admin_revoke_job *revokes; /* waiting for a backend */
	struct admin_read *reads;	  /* waiting for a store step (admin_read.c) */
	struct admin_otp *otps;		  /* waiting for a store step (admin_otp.c) */
};

#endif
