/* csr_fast.h: PKCS#10 decoding without OpenSSL 3.0's key decoder, for the
 * common case (an RSA key); csr.c falls back to d2i_X509_REQ otherwise. */
#ifndef SGW_CSR_FAST_H
#define SGW_CSR_FAST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

/* The X509_REQ in DER (len bytes, all of them) when its key is RSA and the
 * request rebuilt from its parts encodes to exactly those bytes: 0 and *ret
 * (the caller's).  Otherwise -SGW_EPARSE or -SGW_ENOMEM and *ret NULL: the
 * caller decodes with d2i_X509_REQ, which has the last word.  The signature
 * is not checked here.  Pure: no logging, no I/O, no globals; may leave
 * entries in OpenSSL's error queue. */
int csr_fast_d2i(const uint8_t *der, size_t len, X509_REQ **ret);

#endif
