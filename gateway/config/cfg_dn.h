/* cfg_dn.h: a distinguished name written in the configuration, in the form
 * `openssl x509 -noout -subject -nameopt RFC2253` prints ("CN=alice,O=Example
 * Corp"), parsed into an X509_NAME so that it is compared as a name
 * (X509_NAME_cmp: canonical encoding, case and spaces folded), never as a
 * string. */
#ifndef SGW_CFG_DN_H
#define SGW_CFG_DN_H

#include <stddef.h>

#include <openssl/x509.h>

#include "err.h"

#define CFG_DN_MAX 1024 /* characters of the written name */
#define CFG_DN_MAX_RDNS 32

/* RFC 4514: RDNs separated by ',', most specific first (the reverse of the
 * DER order); each `type=value` with a short name (CN, O, OU, C, L, ST...),
 * a long name or a dotted OID as type; a value escapes , + " \ < > ; = # and
 * spaces with a backslash, any byte as \XX, and is UTF-8.  Refused: empty
 * values, multi-valued RDNs ('+'), #hex values, quotes, unknown types.
 * Pure: 0 with *ret (the caller frees it), or -SGW_EPARSE. */
int cfg_dn_parse(const char *s, size_t len, X509_NAME **ret);

#endif
