/* keyop_p11.h: an EVP_PKEY whose private-key operations run on a PKCS#11
 * token (p11_token.h), for keyop.  OpenSSL signs and decrypts with it as
 * with a file key (CMS, X509_sign, X509_CRL_sign, EVP_DigestSign); the key
 * itself never leaves the token. */
#ifndef SGW_KEYOP_P11_H
#define SGW_KEYOP_P11_H

#include <openssl/evp.h>

#include "p11_token.h"

/* The EVP_PKEY borrows k, which must outlive it; NULL on failure. */
EVP_PKEY *keyop_p11_pkey(struct p11_key *k);

#endif
