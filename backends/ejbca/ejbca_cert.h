/* ejbca_cert.h: decoding the certificates EJBCA sends (ejbca_cert.c). */
#ifndef SGW_EJBCA_CERT_H
#define SGW_EJBCA_CERT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "err.h"

/* PEM text (one or more certificates) -> stack, issuing CA first */
int ejbca_chain_from_pem(const uint8_t *pem, size_t len, STACK_OF(X509) * *ret);
/* DER -> X509 with all input consumed */
X509 *ejbca_x509_from_der(const uint8_t *der, size_t len);

#endif
