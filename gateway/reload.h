/* reload.h: a configuration generation built from its file exactly as at
 * startup (what `scepgw -n` checks), and the reload (SIGHUP) that puts a
 * new one in service while the requests in flight finish on the old one. */
#ifndef SGW_RELOAD_H
#define SGW_RELOAD_H

#include "backend.h"
#include "err.h"
#include "gw.h"
#include "profile.h"

/* The configuration at `file`, the secret files it names, the RA
 * identities (certificates, keys), the backends and validators configured:
 * a set holding one reference that owns its cfg (ps->own_cfg) and keys
 * (ps->own_keys).  Applies log_level unless `-v` (keep_debug).  With rep
 * (`scepgw -n`): every error past the parse is collected there instead and
 * *ret holds what could be built (0 returned, rep->n_err says). */
int reload_build(const char *file, int keep_debug, struct cfg_report *rep, struct profile_set **ret,
		 struct sgw_err *err);

/* The certificate checks of `scepgw -n` (check.c) as log warnings: at
 * startup and after a reload, an expired or expiring certificate shows. */
void reload_log_checks(const struct profile_set *ps);

/* SIGHUP: build the configuration at `file` again and start its backends
 * and validators (env without keys: the new set's own); on success it
 * becomes gw->profiles and the old one is released when its last request
 * ends.  Logs what changed and what needs a restart (listeners, store,
 * user, workers, limits, admin).  On failure nothing changes and err says
 * why. */
int reload_apply(struct gw *gw, const char *file, int keep_debug, const struct backend_env *env,
		 struct sgw_err *err);

#endif
