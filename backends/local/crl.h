/* crl.h: the local CA's revocation state and CRLs (private to
 * backends/local/).  The state lives in the backend's state_dir, never in
 * the gateway's store (backends do not touch it):
 *   <name>.revoked    one line per revocation: "<serial hex> <reason> <unix time>"
 *   <name>.crlnumber  the number of the last CRL issued (decimal)
 *   <name>.crl        the last CRL (DER), for a look from the shell
 *   <name>.lock       flock(2) serializes the daemon and `scepgw revoke`
 * Every file is replaced atomically (temporary file, fsync, rename, fsync of
 * the directory).  These functions do blocking I/O: run them on a worker. */
#ifndef SGW_LOCAL_CRL_H
#define SGW_LOCAL_CRL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/x509.h>

#include "err.h"
#include "keyop.h"
#include "template.h"

#define LCRL_MAX_ENTRIES 100000
#define LCRL_SERIAL_MAX 40 /* hex digits: 20 octets */

struct lcrl_paths {
	char revoked[512], number[512], crl[512], lock[512], dir[512];
};

/* What identifies one version of the revocation file (changes on every write). */
struct lcrl_stamp {
	ino_t ino;
	off_t size;
	struct timespec mtime;
	int exists;
};

int lcrl_paths_init(struct lcrl_paths *p, const char *dir, const char *name);

/* Before the privilege drop, as root: the directory and the files above
 * become uid:gid's (the lock file is created), so the daemon can still
 * revoke and issue CRLs once it runs as that user.  Only what root owns is
 * handed over; a directory or file of another user that uid cannot write
 * is an error.  check: change nothing, report only that error. */
int lcrl_own(const struct lcrl_paths *p, uid_t uid, gid_t gid, int check, struct sgw_err *err);

/* Record a revocation; -SGW_EEXIST if the serial is already listed (nothing
 * changes), -SGW_EINVAL for a bad serial or reason. */
int lcrl_revoke(const struct lcrl_paths *p, const char *serial_hex, int reason, int64_t when,
		struct sgw_err *err);

/* The stamp of the revocation file now (exists = 0 when there is none). */
int lcrl_stamp(const struct lcrl_paths *p, struct lcrl_stamp *ret);
int lcrl_stamp_equal(const struct lcrl_stamp *a, const struct lcrl_stamp *b);

struct lcrl_issue {
	X509_NAME *issuer; /* owned by the caller */
	uint8_t aki[TMPL_MAX_KEYID];
	size_t aki_len;
	int validity; /* seconds to nextUpdate */
	const struct keyop_key *key;
	const EVP_MD *md;
};

/* Under the lock: read the revocations, take the next CRL number, build and
 * sign the CRL, store the number and the CRL.  ret_stamp is the revocation
 * file the CRL was made from. */
int lcrl_generate(const struct lcrl_paths *p, const struct lcrl_issue *in, time_t now,
		  X509_CRL **ret, struct lcrl_stamp *ret_stamp, struct sgw_err *err);

#endif
