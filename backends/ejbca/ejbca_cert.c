/* ejbca_cert.c: certificates as EJBCA sends them: DER (the JSON replies'
 * base64 members) and PEM chains (the CA chain download, a ca_chain: file),
 * issuing CA first. */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ejbca_cert.h"
#include "ejbca_json.h"

X509 *
ejbca_x509_from_der(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x = len > 0 && len < EJBCA_MAX_BODY ? d2i_X509(NULL, &p, (long)len) : NULL;

	if (x != NULL && p != der + len) {
		X509_free(x);
		x = NULL;
	}
	ERR_clear_error();
	return x;
}

int
ejbca_chain_from_pem(const uint8_t *pem, size_t len, STACK_OF(X509) * *ret)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	STACK_OF(X509) *sk = sk_X509_new_null();
	X509 *x;
	int r = -SGW_ENOMEM, n;

	if (b == NULL || sk == NULL || len > EJBCA_MAX_BODY)
		goto out;
	while (sk_X509_num(sk) < EJBCA_MAX_CHAIN && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			goto out;
		}
	ERR_clear_error();
	r = -SGW_EPARSE;
	n = sk_X509_num(sk);
	if (n == 0)
		goto out;
	/* some versions list the root first: issuing CA first, as everywhere here */
	if (n > 1 && X509_check_issued(sk_X509_value(sk, 0), sk_X509_value(sk, 0)) == X509_V_OK)
		for (int i = 0; i < n / 2; i++) {
			X509 *t = sk_X509_value(sk, i);
			sk_X509_set(sk, i, sk_X509_value(sk, n - 1 - i));
			sk_X509_set(sk, n - 1 - i, t);
		}
	*ret = sk;
	sk = NULL;
	r = 0;
out:
	sk_X509_pop_free(sk, X509_free);
	BIO_free(b);
	return r;
}
