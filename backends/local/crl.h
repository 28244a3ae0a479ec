/* crl.h: the local CA's CRLs (private to backends/local/).  The revocations
 * and the current CRL live in the gateway's store, shared by every instance
 * (core/ca_state.h; revoke.c's jobs read and write them in store steps,
 * crl_work.c).  Here: the CRL built and signed from a list of revocations
 * (on a worker), and the upgrade from the files an older version kept in
 * the backend's state_dir:
 *   <name>.revoked    one line per revocation: "<serial hex> <reason> <unix time>"
 *   <name>.crlnumber  the number of the last CRL issued (decimal)
 *   <name>.crl        the last CRL (DER); <name>.lock: flock(2)
 * imported into the store once, at the first start, and not read after. */
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

int lcrl_paths_init(struct lcrl_paths *p, const char *dir, const char *name);

/* Before the privilege drop, as root: the directory and the files above
 * become uid:gid's (the lock file is created), so the daemon can still
 * read them once it runs as that user.  Only what root owns is handed
 * over; a directory or file of another user that uid cannot write is an
 * error.  check: change nothing, report only that error. */
int lcrl_own(const struct lcrl_paths *p, uid_t uid, gid_t gid, int check, struct sgw_err *err);

/* The store's form of a serial (whole octets, no leading zero octet, or
 * "0"; at most LCRL_SERIAL_MAX digits) and a CRLReason a CRL may carry. */
int lcrl_valid_serial(const char *s);
int lcrl_valid_reason(int r);

struct lcrl_entry {
	char serial[LCRL_SERIAL_MAX + 1];
	int reason;
	int64_t when;
};

struct lcrl_list {
	struct lcrl_entry *v;
	size_t n, cap;
};

/* -SGW_EINVAL for a bad serial or reason, or past LCRL_MAX_ENTRIES. */
int lcrl_list_add(struct lcrl_list *l, const char *serial, int reason, int64_t when);
void lcrl_list_clear(struct lcrl_list *l);

/* The upgrade: the revocations and the last CRL number of the files above
 * (blocking I/O, at start).  *ret_found = 0 when neither file exists;
 * *ret_number 0 when there is no number. */
int lcrl_import_read(const struct lcrl_paths *p, struct lcrl_list *ret, int64_t *ret_number,
		     int *ret_found, struct sgw_err *err);

struct lcrl_issue {
	X509_NAME *issuer; /* owned by the caller */
	uint8_t aki[TMPL_MAX_KEYID];
	size_t aki_len;
	int validity; /* seconds to nextUpdate */
	const struct keyop_key *key;
	const EVP_MD *md;
};

/* Build and sign CRL `number` listing l, thisUpdate now: its DER (malloc'd)
 * in *ret_der.  A worker job: no I/O. */
int lcrl_build(const struct lcrl_issue *in, const struct lcrl_list *l, int64_t number, time_t now,
	       uint8_t **ret_der, size_t *ret_len, struct sgw_err *err);

#endif
