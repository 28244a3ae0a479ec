/* store_pg_dial.h: one connection of the PostgreSQL store (store_pg_dial.c):
 * connecting with the store's defaults, telling a server that cannot be
 * reached now from one that refuses the login, and the session settings
 * and prepared statements of a pooled connection.  Blocking: called by the
 * pool's scepgw-pg thread and by `scepgw -n`, never on the event loop. */
#ifndef SGW_STORE_PG_DIAL_H
#define SGW_STORE_PG_DIAL_H

#include <stddef.h>

#include <libpq-fe.h>

#include "err.h"

/* libpq's last message on pc on one line (NULL pc: out of memory). */
void pg_msg(PGconn *pc, char *buf, size_t cap);

/* Connect: our defaults (timeouts, keepalives, application_name), then the
 * operator's conninfo, then the password (NULL: none).  0 and *ret; else
 * err says "cannot connect: ..." and the code is -SGW_EDENIED when the
 * server answered and refused the login (a wrong or missing password:
 * retrying will not help until someone fixes it), -SGW_EUNAVAIL otherwise
 * (not reachable, starting up, too many clients, ...). */
int pg_dial(const char *conninfo, const char *password, PGconn **ret, struct sgw_err *err);

/* The session settings (statement and lock timeouts) and every statement
 * of sql prepared as "s<i>": what a pooled connection needs. */
int pg_session(PGconn *pc, const char *const *sql, int n_sql, struct sgw_err *err);

#endif
