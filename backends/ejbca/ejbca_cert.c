/* ejbca_cert.c: certificates as EJBCA sends them: DER (the JSON replies'
 * base64 members) and PEM chains (the CA chain download, a ca_chain: file),
 * issuing CA first. */
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ejbca_cert.h"
#include "ejbca_json.h"
#include "pem_chain.h"

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

/* Some versions list the root first: issuing CA first, as everywhere here. */
static void
chain_order(STACK_OF(X509) * sk)
{
	int n = sk_X509_num(sk);

	if (n > 1 && X509_check_issued(sk_X509_value(sk, 0), sk_X509_value(sk, 0)) == X509_V_OK)
		for (int i = 0; i < n / 2; i++) {
			X509 *t = sk_X509_value(sk, i);
			sk_X509_set(sk, i, sk_X509_value(sk, n - 1 - i));
			sk_X509_set(sk, n - 1 - i, t);
		}
}

int
ejbca_chain_from_pem(const uint8_t *pem, size_t len, STACK_OF(X509) * *ret)
{
	STACK_OF(X509) *sk = NULL;
	int r;

	if (len > EJBCA_MAX_BODY)
		return -SGW_EPARSE;
	if ((r = pem_chain_from_mem(pem, len, EJBCA_MAX_CHAIN, &sk)) < 0)
		return r;
	chain_order(sk);
	*ret = sk;
	return 0;
}

int
ejbca_chain_load(const char *path, STACK_OF(X509) * *ret, struct sgw_err *err)
{
	STACK_OF(X509) *sk = NULL;
	int r;

	if ((r = pem_chain_load(path, EJBCA_MAX_CHAIN, &sk, err)) < 0)
		return r;
	chain_order(sk);
	*ret = sk;
	return 0;
}
