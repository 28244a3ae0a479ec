/* http_trust.c: the trust keys of an outbound HTTPS peer (http_trust.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "b64.h"
#include "http_trust.h"
#include "pem_chain.h"

#define BUNDLE_MAX_CERTS 512

int
http_trust_pins(const struct cfg_strlist *pins, char *out, size_t size)
{
	size_t o = 0;

	if (size == 0)
		return -SGW_EINVAL;
	out[0] = '\0';
	if (pins->n > HTTP_TRUST_MAX_PINS)
		return -SGW_EPARSE;
	for (size_t i = 0; i < pins->n; i++) {
		const char *p = pins->v[i];
		uint8_t *raw = NULL;
		size_t len = 0;
		int n;

		if (strncmp(p, "sha256//", 8) == 0)
			p += 8;
		if (strlen(p) != 44 || b64_decode(p, 44, B64_STD, B64_STRICT, &raw, &len) < 0) {
			free(raw);
			return -SGW_EPARSE;
		}
		free(raw);
		if (len != 32)
			return -SGW_EPARSE;
		n = snprintf(out + o, size - o, "%ssha256//%s", i > 0 ? ";" : "", p);
		if (n < 0 || (size_t)n >= size - o)
			return -SGW_EINVAL;
		o += (size_t)n;
	}
	return 0;
}

int
http_trust_check(struct http_trust *t, const struct cfg_node *n, const char *path,
		 struct sgw_err *err)
{
	STACK_OF(X509) *chain = NULL;
	struct sgw_err e = {{0}};
	int r;

	if (t->ca_bundle != NULL) {
		if ((r = pem_chain_load(t->ca_bundle, BUNDLE_MAX_CERTS, &chain, &e)) < 0)
			return cfg_err(err, -r, cfg_node_get(n, "ca_bundle"), path, "ca_bundle: %s",
				       e.msg);
		sk_X509_pop_free(chain, X509_free);
	}
	if (http_trust_pins(&t->pin_sha256, t->pinned, sizeof(t->pinned)) < 0)
		return cfg_err(err, SGW_EINVAL, cfg_node_get(n, "pin_sha256"), path,
			       "pin_sha256: expected 1 to %d base64 SHA-256 digests of a "
			       "SubjectPublicKeyInfo (44 characters each)",
			       HTTP_TRUST_MAX_PINS);
	return 0;
}

void
http_trust_apply(const struct http_trust *t, struct http_request *req)
{
	req->ca_bundle = t->ca_bundle;
	req->pinned_pubkey = t->pinned[0] != '\0' ? t->pinned : NULL;
}
