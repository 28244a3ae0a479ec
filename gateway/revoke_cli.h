/* revoke_cli.h: `scepgw -c FILE revoke SERIAL [--reason R]` (revoke_cli.c). */
#ifndef SGW_REVOKE_CLI_H
#define SGW_REVOKE_CLI_H

/* The subcommand (argv[0] is SERIAL): marks the certificate revoked in its
 * CA backend (which publishes the CRL) and in the store, through
 * revoke_start().  Returns the process exit status. */
int revoke_command(const char *cfg_file, int argc, char **argv);

#endif
