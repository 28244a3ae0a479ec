/* ejbca_user.c: which EJBCA end entity a request becomes: the template an
 * RA profile names, and the username built from the CSR (its CN, a DNS or
 * e-mail subjectAltName, or the transactionID) with the template's prefix
 * and suffix. */
#include <stdio.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "ejbca_user.h"

const struct ejbca_tmpl *
ejbca_tmpl_find(const struct ejbca *e, const char *name)
{
	if (name == NULL)
		name = "default";
	for (size_t i = 0; i < e->n_tmpls; i++)
		if (strcmp(e->tmpls[i].name, name) == 0)
			return &e->tmpls[i];
	return strcmp(name, "default") == 0 ? &e->dflt : NULL;
}

static int
name_cn(X509_REQ *req, char *out, size_t size)
{
	const X509_NAME *nm = X509_REQ_get_subject_name(req);
	int i = X509_NAME_get_index_by_NID(nm, NID_commonName, -1);
	unsigned char *utf8 = NULL;
	int len;

	if (i < 0)
		return -SGW_ENOTFOUND;
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i)));
	if (len < 0)
		return -SGW_EPARSE;
	snprintf(out, size, "%.*s", len, (const char *)utf8);
	OPENSSL_free(utf8);
	return 0;
}

static int
name_san(X509_REQ *req, int type, char *out, size_t size)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES *gns =
	    exts != NULL ? X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL) : NULL;
	int r = -SGW_ENOTFOUND;

	for (int i = 0; i < sk_GENERAL_NAME_num(gns) && r < 0; i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gns, i);
		if (g->type != type)
			continue;
		snprintf(out, size, "%.*s", ASN1_STRING_length(g->d.ia5),
			 (const char *)ASN1_STRING_get0_data(g->d.ia5));
		r = 0;
	}
	GENERAL_NAMES_free(gns);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return r;
}

/* EJBCA accepts most characters; keep a conservative set, the rest -> '_' */
static void
sanitize(char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("-_.@+", *s) != NULL))
			*s = '_';
}

int
ejbca_username(const struct ejbca_tmpl *t, X509_REQ *req, const char *txid, char *out, size_t size)
{
	char v[EJBCA_MAX_USERNAME];
	int r = -SGW_ENOTFOUND;

	v[0] = '\0';
	switch (t->user_from) {
	case EJBCA_USER_CN:
		r = name_cn(req, v, sizeof(v));
		break;
	case EJBCA_USER_SAN_DNS:
		r = name_san(req, GEN_DNS, v, sizeof(v));
		break;
	case EJBCA_USER_SAN_EMAIL:
		r = name_san(req, GEN_EMAIL, v, sizeof(v));
		break;
	default:
		r = txid != NULL && txid[0] ? 0 : -SGW_ENOTFOUND;
		snprintf(v, sizeof(v), "%s", txid != NULL ? txid : "");
		break;
	}
	if (r == 0 && v[0] == '\0')
		r = -SGW_ENOTFOUND;
	if (r < 0)
		return r;
	if ((size_t)snprintf(out, size, "%s%s%s", t->user_prefix, v, t->user_suffix) >= size)
		return -SGW_EINVAL;
	sanitize(out);
	return 0;
}
