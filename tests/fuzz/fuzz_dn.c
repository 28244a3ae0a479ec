/* fuzz_dn.c: gateway/config/cfg_dn.c.  The input is parsed from an exact-size
 * copy (ASan sees any overread); a name that parses prints (RFC 2253) to a
 * text that, when it parses again, is the same name (OpenSSL prints a value
 * that is just "#" unescaped, which RFC 4514 reads as hex: refused). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/x509.h>

#include "cfg_dn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
round_trip(X509_NAME *n)
{
	BIO *b = BIO_new(BIO_s_mem());
	X509_NAME *again = NULL;
	char *p;
	long len;

	if (b == NULL || X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) < 0)
		abort();
	len = BIO_get_mem_data(b, &p);
	if (len > 0 && len <= CFG_DN_MAX && cfg_dn_parse(p, (size_t)len, &again) == 0 &&
	    X509_NAME_cmp(n, again) != 0)
		abort();
	X509_NAME_free(again);
	BIO_free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size > 0 ? size : 1);
	X509_NAME *n = NULL;

	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	if (cfg_dn_parse(in, size, &n) == 0)
		round_trip(n);
	X509_NAME_free(n);
	free(in);
	return 0;
}
