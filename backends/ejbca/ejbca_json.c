/* ejbca_json.c: EJBCA REST request bodies and reply parsing (pure). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "b64.h"
#include "ejbca_json.h"

/* ---- base64 -------------------------------------------------------------- */

int
ejbca_b64_decode(const char *s, size_t slen, uint8_t **ret, size_t *ret_len)
{
	if (s == NULL || slen == 0 || slen > EJBCA_MAX_BODY)
		return -SGW_EPARSE;
	return b64_decode(s, slen, B64_STD, B64_STRICT, ret, ret_len);
}

/* ---- building ------------------------------------------------------------ */

static int
set_str(json_t *o, const char *key, const char *val)
{
	json_t *s;

	if (val == NULL)
		return -SGW_EINVAL;
	s = json_string(val); /* NULL for invalid UTF-8 */
	if (s == NULL || json_object_set_new(o, key, s) < 0)
		return -SGW_EINVAL;
	return 0;
}

static int
dump(json_t *o, int r, char **ret)
{
	char *s = NULL;

	if (r == 0) {
		s = json_dumps(o, JSON_COMPACT);
		r = s != NULL ? 0 : -SGW_ENOMEM;
	}
	json_decref(o);
	if (r == 0)
		*ret = s;
	return r;
}

int
ejbca_json_enroll(const struct ejbca_enroll *e, char **ret)
{
	json_t *o = json_object();
	int r = o != NULL ? 0 : -SGW_ENOMEM;

	if (r == 0)
		r = set_str(o, "certificate_request", e->csr_pem);
	if (r == 0)
		r = set_str(o, "certificate_profile_name", e->certificate_profile);
	if (r == 0)
		r = set_str(o, "end_entity_profile_name", e->end_entity_profile);
	if (r == 0)
		r = set_str(o, "certificate_authority_name", e->ca_name);
	if (r == 0)
		r = set_str(o, "username", e->username);
	if (r == 0)
		r = set_str(o, "password", e->password);
	if (r == 0 && e->email != NULL)
		r = set_str(o, "email", e->email);
	if (r == 0)
		r = set_str(o, "response_format", "DER");
	if (r == 0 && json_object_set_new(o, "include_chain", json_boolean(e->include_chain)) < 0)
		r = -SGW_ENOMEM;
	return dump(o, r, ret);
}

int
ejbca_json_finalize(const char *password, char **ret)
{
	json_t *o = json_object();
	int r = o != NULL ? 0 : -SGW_ENOMEM;

	if (r == 0)
		r = set_str(o, "response_format", "DER");
	if (r == 0)
		r = set_str(o, "password", password);
	return dump(o, r, ret);
}

/* ---- parsing ------------------------------------------------------------- */

static json_t *
load(const uint8_t *body, size_t len)
{
	json_error_t jerr;
	json_t *j;

	if (body == NULL || len == 0 || len > EJBCA_MAX_BODY)
		return NULL;
	j = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* printable ASCII only: the text reaches logs and failInfoText */
static void
copy_text(const char *in, char *out, size_t size)
{
	size_t o = 0;

	if (size == 0)
		return;
	for (; in != NULL && *in && o + 1 < size; in++)
		out[o++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
	out[o] = '\0';
}

static const char *
get_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int
get_der(const json_t *v, struct ejbca_der *d)
{
	if (!json_is_string(v))
		return -SGW_EPARSE;
	return ejbca_b64_decode(json_string_value(v), json_string_length(v), &d->der, &d->len);
}

static int
parse_cert(const json_t *o, struct ejbca_reply *r)
{
	const json_t *chain = json_object_get(o, "certificate_chain");
	const char *fmt = get_str(o, "response_format");
	const char *serial = get_str(o, "serial_number");
	size_t i;
	const json_t *v;
	int ret;

	if (fmt != NULL && strcmp(fmt, "DER") != 0)
		return -SGW_EPARSE;
	if ((ret = get_der(json_object_get(o, "certificate"), &r->cert)) < 0)
		return ret;
	copy_text(serial, r->serial, sizeof(r->serial));
	if (chain == NULL || json_is_null(chain))
		return 0;
	if (!json_is_array(chain) || json_array_size(chain) > EJBCA_MAX_CHAIN)
		return -SGW_EPARSE;
	json_array_foreach(chain, i, v)
	{
		if ((ret = get_der(v, &r->chain[i])) < 0)
			return ret;
		r->n_chain = i + 1;
	}
	return 0;
}

int
ejbca_link_request_id(const char *link, char *out, size_t size)
{
	const char *end, *p;

	if (link == NULL || (end = strstr(link, "/finalize")) == NULL)
		return -SGW_EPARSE;
	for (p = end; p > link && p[-1] >= '0' && p[-1] <= '9'; p--)
		;
	if (p == end || (size_t)(end - p) >= size || (p > link && p[-1] != '/'))
		return -SGW_EPARSE;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	return 0;
}

static int
parse_pending(const json_t *o, struct ejbca_reply *r)
{
	const json_t *id = json_object_get(o, "request_id");
	const char *s = json_string_value(id);
	size_t n;

	copy_text(get_str(o, "info_message"), r->message, sizeof(r->message));
	if (json_is_integer(id) && json_integer_value(id) >= 0) {
		snprintf(r->request_id, sizeof(r->request_id), "%lld",
			 (long long)json_integer_value(id));
		return 0;
	}
	if (s == NULL && id != NULL && !json_is_null(id))
		return -SGW_EPARSE; /* negative, fractional, an object... */
	if (s != NULL) {
		n = strlen(s);
		if (n == 0 || n >= sizeof(r->request_id) || strspn(s, "0123456789") != n)
			return -SGW_EPARSE;
		memcpy(r->request_id, s, n + 1);
		return 0;
	}
	/* older versions: only the (mangled) link, ".../<id>/finalize"; finalize's
	 * own 202 ("still waiting") may carry neither: request_id stays "" */
	if (get_str(o, "link") == NULL)
		return 0;
	return ejbca_link_request_id(get_str(o, "link"), r->request_id, sizeof(r->request_id));
}

int
ejbca_json_parse_reply(long status, const uint8_t *body, size_t len, struct ejbca_reply *ret)
{
	json_t *o;
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	ret->status = status;
	o = load(body, len);
	if (status == 201 || status == 202) {
		if (o == NULL)
			return -SGW_EPARSE;
		ret->kind = status == 201 ? EJBCA_CERT : EJBCA_PENDING;
		r = status == 201 ? parse_cert(o, ret) : parse_pending(o, ret);
	} else {
		ret->kind = EJBCA_ERROR;
		if (o != NULL && get_str(o, "error_message") != NULL)
			copy_text(get_str(o, "error_message"), ret->message, sizeof(ret->message));
		else if (o != NULL)
			copy_text(get_str(o, "info_message"), ret->message, sizeof(ret->message));
	}
	json_decref(o);
	if (r < 0)
		ejbca_reply_clear(ret);
	return r;
}

void
ejbca_reply_clear(struct ejbca_reply *r)
{
	if (r == NULL)
		return;
	free(r->cert.der);
	for (size_t i = 0; i < r->n_chain && i < EJBCA_MAX_CHAIN; i++)
		free(r->chain[i].der);
	memset(r, 0, sizeof(*r));
}

int
ejbca_json_ca_dn(const uint8_t *body, size_t len, const char *name, char *dn, size_t size)
{
	json_t *o = load(body, len);
	const json_t *cas = json_object_get(o, "certificate_authorities"), *ca;
	int r = o == NULL || !json_is_array(cas) ? -SGW_EPARSE : -SGW_ENOTFOUND;
	size_t i;

	if (r == -SGW_ENOTFOUND)
		json_array_foreach(cas, i, ca)
		{
			const char *n = get_str(ca, "name"), *d = get_str(ca, "subject_dn");
			if (n == NULL || name == NULL || strcmp(n, name) != 0)
				continue;
			r = d == NULL || d[0] == '\0' || strlen(d) >= size ? -SGW_EPARSE : 0;
			if (r == 0)
				memcpy(dn, d, strlen(d) + 1);
			break;
		}
	json_decref(o);
	return r;
}

int
ejbca_json_crl(const uint8_t *body, size_t len, struct ejbca_der *ret)
{
	json_t *o = load(body, len);
	const char *fmt = get_str(o, "response_format");
	struct ejbca_der d = {0};
	int r = -SGW_EPARSE;

	if (o != NULL && (fmt == NULL || strcmp(fmt, "DER") == 0))
		r = get_der(json_object_get(o, "crl"), &d);
	json_decref(o);
	if (r == 0)
		*ret = d;
	return r;
}

void
ejbca_json_message(const uint8_t *body, size_t len, char *out, size_t size)
{
	json_t *o = load(body, len);

	if (size > 0)
		out[0] = '\0';
	if (o != NULL)
		copy_text(get_str(o, "error_message"), out, size);
	json_decref(o);
}
