/* scep_ias.h: the two small messageData bodies of SCEP (RFC 8894 3.3.3,
 * 3.3.4): IssuerAndSerialNumber (GetCert, GetCRL) and IssuerAndSubject
 * (CertPoll / GetCertInitial).  Pure: bytes in, struct out; no logging. */
#ifndef SGW_SCEP_IAS_H
#define SGW_SCEP_IAS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "err.h"

#define SCEP_IAS_MAX_DER 8192	  /* larger input is refused unparsed */
#define SCEP_SERIAL_MAX_OCTETS 20 /* RFC 5280 4.1.2.2 */

struct scep_ias {
	X509_NAME *issuer;			     /* owned */
	char serial[2 * SCEP_SERIAL_MAX_OCTETS + 1]; /* as the store: "0ab2c3", "0" */
};

struct scep_ias_subject {
	X509_NAME *issuer;  /* owned */
	X509_NAME *subject; /* owned */
};

/* IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber INTEGER }.
 * -SGW_EPARSE for anything else (trailing bytes, a negative or over-long
 * serial). */
int scep_ias_parse(const uint8_t *der, size_t len, struct scep_ias *ret);
void scep_ias_clear(struct scep_ias *ias);

/* IssuerAndSubject ::= SEQUENCE { issuer Name, subject Name }. */
int scep_ias_subject_parse(const uint8_t *der, size_t len, struct scep_ias_subject *ret);
void scep_ias_subject_clear(struct scep_ias_subject *ias);

#endif
