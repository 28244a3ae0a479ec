/* ejbca_cert.h: decoding the certificates EJBCA sends (ejbca_cert.c). */
#ifndef SGW_EJBCA_CERT_H
#define SGW_EJBCA_CERT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "err.h"

/* PEM text (1 to EJBCA_MAX_CHAIN certificates) -> stack, issuing CA first;
 * -SGW_EPARSE for none or too many. */
int ejbca_chain_from_pem(const uint8_t *pem, size_t len, STACK_OF(X509) * *ret);
/* The same from a file (ca_chain:), the path in err's text. */
int ejbca_chain_load(const char *path, STACK_OF(X509) * *ret, struct sgw_err *err);
/* DER -> X509 with all input consumed */
X509 *ejbca_x509_from_der(const uint8_t *der, size_t len);

#endif
