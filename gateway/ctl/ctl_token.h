/* ctl_token.h: `scepgwctl token new NAME [--role R]`: a new admin API bearer
 * token, and the line of the gateway's tokens_file that admits it. */
#ifndef SGW_CTL_TOKEN_H
#define SGW_CTL_TOKEN_H

/* Print a fresh random token (stdout, first line: shown once, never stored
 * by scepgwctl) and its "name:sha256hex[:role]" line (stdout, second line);
 * role NULL or "admin" writes no role.  Returns the exit status: 0, 2 for a
 * bad name or role (said on stderr), 1 when no random bytes could be had. */
int ctl_token_new(const char *name, const char *role);

#endif
