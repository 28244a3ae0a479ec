/* revoke.h: `scepgw -c FILE revoke SERIAL [--reason R]` and the CRLReason
 * names (RFC 5280 5.3.1) shared with the admin API. */
#ifndef SGW_REVOKE_H
#define SGW_REVOKE_H

#include <stddef.h>

/* "keyCompromise" (any case) or a decimal code -> the code; -1 if unknown,
 * unused (7) or removeFromCRL (8, delta CRLs only). */
int revoke_reason_parse(const char *name);
const char *revoke_reason_name(int code);

/* Serial as typed (hex, optional 0x and colons, any case) -> the store's
 * form (BN_bn2hex lowercased: whole octets, no leading zero octet; "0" for
 * zero); -1 if not hex or too long. */
int revoke_serial_normalize(const char *in, char *out, size_t size);

/* The subcommand: marks the certificate revoked in the store and in its CA
 * backend (which publishes the CRL).  Returns the process exit status. */
int revoke_command(const char *cfg_file, int argc, char **argv);

#endif
