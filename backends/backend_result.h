/* backend_result.h: what a backend hands back for one submit() or poll()
 * (backend.h has the contract around it).  backend_result.c holds the one
 * function on it, below the registry: every backend calls it, and backend.c
 * names every backend. */
#ifndef SGW_BACKEND_RESULT_H
#define SGW_BACKEND_RESULT_H

#include <openssl/x509.h>

enum backend_status {
	BACKEND_ISSUED,	   /* cert (+ chain) present */
	BACKEND_PENDING,   /* handle present; poll later */
	BACKEND_REJECTED,  /* the CA said no; reason for the device */
	BACKEND_FAIL_TEMP, /* try again later (CA offline, timeout) */
	BACKEND_FAIL_PERM, /* will not work (bad CSR for this CA, misconfiguration) */
	BACKEND_STATUS_MAX
};

struct backend_result {
	enum backend_status status;
	/* owned by the result; ISSUED.  The local backend's is built in memory
	 * with the CSR's SubjectPublicKeyInfo bytes and no decoded key:
	 * X509_get0_pubkey() on it gives NULL (its DER, once decoded, has it). */
	X509 *cert;
	STACK_OF(X509) * chain; /* owned; may be NULL */
	char handle[256];	/* PENDING */
	char reason[256];	/* REJECTED / FAIL_*: shown to the device and logged */
};

/* Frees what the result owns and zeroes it; accepts NULL. */
void backend_result_clear(struct backend_result *r);

#endif
