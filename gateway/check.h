/* check.h: the outage checks of `scepgw -n` beyond building the
 * configuration (reload.c): certificate validity and expiry, each RA's
 * issuer in its ca_chain, listeners on one address, files the service user
 * cannot read.  Each finding is an error (cannot work) or a warning (will
 * expire, will fail on reload) in a cfg_report; every one is reported. */
#ifndef SGW_CHECK_H
#define SGW_CHECK_H

#include <stdint.h>

#include "cfg.h"
#include "cfg_report.h"
#include "profile.h"

/* The RA identities' certificates (signing, encryption, ca_chain) and the
 * backends' CA certificates: expired or not yet valid (error), expiring
 * within cfg.expiry_warning (warning, days left), an RA certificate whose
 * issuer is not in its ca_chain (warning: an RA certificate of another CA
 * works with clients that do not verify it).  now: seconds since the epoch. */
void check_certs(const struct profile_set *ps, int64_t now, struct cfg_report *rep);
/* The local CA backends' ca_cert and ca_key, which only the backend's start
 * reads: a certificate that cannot be read (missing, unreadable, not PEM), a
 * key that cannot be loaded (missing, unreadable, mode, not a key) or does
 * not match the certificate: error; the certificate's validity as
 * check_certs (error, or a warning within expiry_warning).  Keys are loaded
 * into `keys`, the daemon's table, so a pkcs11: key is opened on its token. */
struct keyop;
void check_local_ca(const struct cfg *c, struct keyop *keys, int64_t now, struct cfg_report *rep);
/* Two listeners (listen, admin.listen) on one address: error. */
void check_listeners(const struct cfg *c, struct cfg_report *rep);
/* With `user:`, every file the configuration names that this user could
 * not read (mode, owner, a directory it cannot enter): warning. */
void check_readable(const struct cfg *c, struct cfg_report *rep);

#endif
