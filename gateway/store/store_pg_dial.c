/* store_pg_dial.c: one connection of the PostgreSQL store (store_pg_dial.h). */
#include <stdio.h>
#include <string.h>

#include "store_pg_dial.h"

/* Applied to every connection; the conninfo may override the libpq ones. */
#define PG_SESSION_SQL "SET statement_timeout = '10s'; SET lock_timeout = '10s'"

void
pg_msg(PGconn *pc, char *buf, size_t cap)
{
	size_t n;

	snprintf(buf, cap, "%s", pc != NULL ? PQerrorMessage(pc) : "out of memory");
	for (char *q = buf; *q != '\0'; q++)
		if (*q == '\n' || *q == '\r' || *q == '\t')
			*q = ' ';
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == ' ')
		buf[--n] = '\0';
}

/* Our defaults first, then the operator's conninfo (expanded in place of
 * dbname: it overrides them), then the password from its file. */
int
pg_dial(const char *conninfo, const char *password, PGconn **ret, struct sgw_err *err)
{
	const char *kw[] = {"connect_timeout",	"keepalives",
			    "keepalives_idle",	"keepalives_interval",
			    "keepalives_count", "tcp_user_timeout",
			    "application_name", "dbname",
			    "password",		NULL};
	const char *val[] = {"5", "1", "5", "2", "3", "10000", "scepgw", conninfo, password, NULL};
	char msg[384];
	PGconn *pc;
	int code;

	if (password == NULL)
		kw[8] = NULL;
	pc = PQconnectdbParams(kw, val, 1);
	if (pc != NULL && PQstatus(pc) == CONNECTION_OK) {
		*ret = pc;
		return 0;
	}
	pg_msg(pc, msg, sizeof(msg));
	/* the server asked for a password: it was reached, and said no */
	code = pc != NULL && (PQconnectionUsedPassword(pc) || PQconnectionNeedsPassword(pc))
		   ? SGW_EDENIED
		   : SGW_EUNAVAIL;
	PQfinish(pc);
	return sgw_err_set(err, code, "cannot connect: %s", msg);
}

int
pg_session(PGconn *pc, const char *const *sql, int n_sql, struct sgw_err *err)
{
	PGresult *res = PQexec(pc, PG_SESSION_SQL);
	char msg[256], name[16];
	int i;

	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg_msg(pc, msg, sizeof(msg));
		PQclear(res);
		return sgw_err_set(err, SGW_EUNAVAIL, "session settings: %s", msg);
	}
	PQclear(res);
	for (i = 0; i < n_sql; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		res = PQprepare(pc, name, sql[i], 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			pg_msg(pc, msg, sizeof(msg));
			PQclear(res);
			return sgw_err_set(err, SGW_EIO, "prepare %d: %s", i, msg);
		}
		PQclear(res);
	}
	return 0;
}
