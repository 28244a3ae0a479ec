/* pem_chain.h: the one loader of PEM certificate chains (the RA's CA chain,
 * a CA certificate, an EJBCA or ACME response).  Certificates come out in
 * file order; a caller that needs another order sorts them itself. */
#ifndef SGW_PEM_CHAIN_H
#define SGW_PEM_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "err.h"

/* Every PEM certificate in [pem, pem+len), at least one and at most max.
 * -SGW_EPARSE for none or more than max, -SGW_ENOMEM. */
int pem_chain_from_mem(const uint8_t *pem, size_t len, size_t max, STACK_OF(X509) * *ret_chain);
/* The same from a file, with the path in err's text. */
int pem_chain_load(const char *path, size_t max, STACK_OF(X509) * *ret_chain, struct sgw_err *err);

#endif
