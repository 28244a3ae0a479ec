/* acme_ident.c: order identifiers from the device's CSR (pure). */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "acme_ident.h"
#include "err.h"

#define ACME_MAX_CSR (64 * 1024)

static int deny(char *reason, size_t size, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
deny(char *reason, size_t size, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, size, fmt, ap);
	va_end(ap);
	return -code;
}

int
acme_cn_mode_parse(const char *s, enum acme_cn_mode *ret)
{
	static const char *const names[ACME_CN_MODE_MAX] = {"reject", "dns", "suffix"};

	for (int i = 0; s != NULL && i < ACME_CN_MODE_MAX; i++)
		if (strcmp(s, names[i]) == 0) {
			*ret = (enum acme_cn_mode)i;
			return 0;
		}
	return -SGW_EINVAL;
}

int
acme_dns_name_ok(const char *name)
{
	size_t len = strlen(name), label = 0, labels = 1;

	if (len == 0 || len > 253)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (c == '.') {
			if (label == 0 || name[i - 1] == '-')
				return 0;
			label = 0;
			labels++;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && label > 0)))
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && name[len - 1] != '-' && labels >= 2;
}

static int
add_ident(struct acme_ident *out, size_t *n, const char *type, const char *value)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(out[i].type, type) == 0 && strcmp(out[i].value, value) == 0)
			return 0; /* duplicates are harmless: drop them */
	if (*n == ACME_MAX_IDENTS)
		return -SGW_EDENIED;
	snprintf(out[*n].type, sizeof(out[*n].type), "%s", type);
	snprintf(out[*n].value, sizeof(out[*n].value), "%s", value);
	(*n)++;
	return 0;
}

static void
lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static int
san_ident(const GENERAL_NAME *gn, struct acme_ident *out, size_t *n, char *reason, size_t size)
{
	char buf[256];
	int len;

	if (gn->type == GEN_DNS) {
		len = ASN1_STRING_length(gn->d.dNSName);
		if (len <= 0 || len >= (int)sizeof(buf))
			return deny(reason, size, SGW_EDENIED, "a DNS SAN is empty or too long");
		memcpy(buf, ASN1_STRING_get0_data(gn->d.dNSName), (size_t)len);
		buf[len] = '\0';
		lower(buf);
		if (strlen(buf) != (size_t)len ||
		    !acme_dns_name_ok(buf[0] == '*' && buf[1] == '.' ? buf + 2 : buf))
			return deny(reason, size, SGW_EDENIED,
				    "DNS SAN '%.64s' is not a host name ACME can order", buf);
		return add_ident(out, n, "dns", buf);
	}
	if (gn->type == GEN_IPADD) {
		len = ASN1_STRING_length(gn->d.iPAddress);
		if (len != 4 && len != 16)
			return deny(reason, size, SGW_EDENIED, "an IP SAN has a bad length");
		if (inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(gn->d.iPAddress),
			      buf, sizeof(buf)) == NULL)
			return deny(reason, size, SGW_EDENIED, "an IP SAN does not convert");
		return add_ident(out, n, "ip", buf);
	}
	return 0; /* email, URI, ...: not ACME identifiers; the upstream decides */
}

static int
cn_ident(X509_REQ *req, const struct acme_ident_rule *rule, struct acme_ident *out, size_t *n,
	 char *reason, size_t size)
{
	X509_NAME *subj = X509_REQ_get_subject_name(req);
	int idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	char cn[256], name[256];
	int len;

	if (idx < 0)
		return deny(reason, size, SGW_EDENIED,
			    "the CSR has no DNS or IP SAN and no CN: nothing to order");
	len = X509_NAME_get_text_by_NID(subj, NID_commonName, cn, sizeof(cn));
	if (len <= 0 || (size_t)len != strlen(cn))
		return deny(reason, size, SGW_EDENIED, "the CSR's CN is empty or too long");
	lower(cn);
	switch (rule->cn_mode) {
	case ACME_CN_DNS:
		snprintf(name, sizeof(name), "%s", cn);
		break;
	case ACME_CN_SUFFIX:
		if (snprintf(name, sizeof(name), "%s.%s", cn, rule->suffix) >= (int)sizeof(name))
			return deny(reason, size, SGW_EDENIED, "CN '%.64s' is too long", cn);
		break;
	default:
		return deny(reason, size, SGW_EDENIED,
			    "the CSR has no DNS or IP SAN and this profile does not map a CN "
			    "to a DNS name");
	}
	if (!acme_dns_name_ok(name))
		return deny(reason, size, SGW_EDENIED,
			    "CN '%.64s' does not map to a DNS name ACME can order", cn);
	if (rule->cn_mode == ACME_CN_DNS && rule->n_cn_domains > 0) {
		size_t i, nl = strlen(name);
		for (i = 0; i < rule->n_cn_domains; i++) {
			size_t dl = strlen(rule->cn_domains[i]);
			if (nl > dl + 1 && name[nl - dl - 1] == '.' &&
			    strcmp(name + nl - dl, rule->cn_domains[i]) == 0)
				break;
		}
		if (i == rule->n_cn_domains)
			return deny(reason, size, SGW_EDENIED,
				    "CN '%.64s' is not under a domain this profile maps", cn);
	}
	return add_ident(out, n, "dns", name);
}

int
acme_idents_from_csr(const uint8_t *der, size_t len, const struct acme_ident_rule *rule,
		     struct acme_ident *out, size_t *ret_n, char *reason, size_t reason_size)
{
	const unsigned char *p = der;
	X509_REQ *req = NULL;
	STACK_OF(GENERAL_NAME) *sans = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	size_t n = 0;
	int r;

	if (der == NULL || len == 0 || len > ACME_MAX_CSR ||
	    (req = d2i_X509_REQ(NULL, &p, (long)len)) == NULL || p != der + len) {
		r = deny(reason, reason_size, SGW_EPARSE, "the CSR does not parse");
		goto out;
	}
	exts = X509_REQ_get_extensions(req);
	sans = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	r = 0;
	for (int i = 0; r == 0 && i < sk_GENERAL_NAME_num(sans); i++)
		r = san_ident(sk_GENERAL_NAME_value(sans, i), out, &n, reason, reason_size);
	if (r == -SGW_EDENIED && reason[0] == '\0')
		r = deny(reason, reason_size, SGW_EDENIED, "more than %d names in the CSR",
			 ACME_MAX_IDENTS);
	if (r == 0 && n == 0)
		r = cn_ident(req, rule, out, &n, reason, reason_size);
	if (r == 0)
		*ret_n = n;
out:
	ERR_clear_error();
	sk_GENERAL_NAME_pop_free(sans, GENERAL_NAME_free);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	return r;
}

int
acme_idents_payload(const struct acme_ident *ids, size_t n, char **ret)
{
	json_t *arr = json_array(), *o;
	char *s = NULL;

	if (arr == NULL)
		return -SGW_ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, json_pack("{s:s, s:s}", "type", ids[i].type, "value",
							 ids[i].value)) != 0)
			goto out;
	o = json_pack("{s:O}", "identifiers", arr);
	if (o != NULL) {
		s = json_dumps(o, JSON_COMPACT);
		json_decref(o);
	}
out:
	json_decref(arr);
	if (s == NULL)
		return -SGW_ENOMEM;
	*ret = s;
	return 0;
}
