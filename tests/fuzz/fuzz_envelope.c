/* fuzz_envelope.c: scep_envelope_cipher and scep_envelope_decrypt
 * (gateway/scep/scep_envelope.c) on arbitrary bytes.  The decryption key is an
 * RSA key made once; inputs are not encrypted to it, so this exercises the
 * parsing and recipient matching, not the plaintext handling. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "scep_envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The key and its certificate, made on the first call (kept until exit). */
static const struct keyop_key *
fuzz_key(X509 **ret_cert)
{
	static struct keyop *kop;
	static X509 *cert;
	char path[] = "/tmp/fuzz_envelope_XXXXXX";
	EVP_PKEY *pkey;
	FILE *f;
	int fd;

	if (kop == NULL && (fd = mkstemp(path)) >= 0 && (f = fdopen(fd, "w")) != NULL) {
		pkey = EVP_RSA_gen(1024);
		cert = X509_new();
		X509_set_pubkey(cert, pkey);
		X509_sign(cert, pkey, EVP_sha256());
		PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL);
		fclose(f);
		kop = keyop_new();
		keyop_load(kop, "fuzz", path, NULL);
		unlink(path);
		EVP_PKEY_free(pkey);
	}
	*ret_cert = cert;
	return kop != NULL ? keyop_find(kop, "fuzz") : NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct keyop_key *key;
	uint8_t *plain = NULL;
	size_t len;
	X509 *cert;
	int nid;

	if (scep_envelope_cipher(data, size, &nid) == 0)
		(void)scep_envelope_cipher_allowed(nid, 0);
	key = fuzz_key(&cert);
	if (key != NULL &&
	    scep_envelope_decrypt(data, size, key, cert, 0, &plain, &len, &nid, NULL) == 0)
		free(plain);
	return 0;
}
