/* intune_json.c: parse the Entra ID token answer, the Graph service
 * discovery answer and the ScepActions result (pure). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "err.h"
#include "intune_json.h"

static json_t *
load(const uint8_t *buf, size_t len)
{
	json_t *o = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL);

	if (o != NULL && !json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* An object whose "value" member is an array (Graph and Intune lists):
 * *ret_obj owns it, *ret_value borrows the array.  -SGW_EPARSE otherwise. */
static int
load_value_array(const uint8_t *buf, size_t len, json_t **ret_obj, json_t **ret_value)
{
	json_t *o = load(buf, len), *v;

	if (o == NULL)
		return -SGW_EPARSE;
	v = json_object_get(o, "value");
	if (!json_is_array(v)) {
		json_decref(o);
		return -SGW_EPARSE;
	}
	*ret_obj = o;
	*ret_value = v;
	return 0;
}

int
intune_json_token(const uint8_t *buf, size_t len, char *tok, size_t size, long *ret_expires_in)
{
	json_t *o = load(buf, len), *t, *e;
	long exp = 0;
	int r = -SGW_EPARSE;

	if (o == NULL)
		return r;
	t = json_object_get(o, "access_token");
	e = json_object_get(o, "expires_in");
	if (json_is_integer(e))
		exp = (long)json_integer_value(e);
	else if (json_is_string(e) &&
		 strspn(json_string_value(e), "0123456789") == strlen(json_string_value(e)) &&
		 strlen(json_string_value(e)) > 0 && strlen(json_string_value(e)) < 10)
		exp = strtol(json_string_value(e), NULL, 10);
	if (!json_is_string(t) || json_string_length(t) == 0 || json_string_length(t) >= size ||
	    exp < 1 || exp > 86400L * 365)
		goto out;
	memcpy(tok, json_string_value(t), json_string_length(t) + 1);
	*ret_expires_in = exp;
	r = 0;
out:
	json_decref(o);
	return r;
}

int
intune_json_discovery(const uint8_t *buf, size_t len, const char *provider, char *uri, size_t size)
{
	json_t *o, *v, *it;
	size_t i, n;
	int r;

	if ((r = load_value_array(buf, len, &o, &v)) < 0)
		return r;
	r = -SGW_ENOTFOUND;
	json_array_foreach(v, i, it)
	{
		const char *p = json_string_value(json_object_get(it, "providerName"));
		const char *u = json_string_value(json_object_get(it, "uri"));

		if (p == NULL || u == NULL || strcasecmp(p, provider) != 0)
			continue;
		n = strlen(u);
		while (n > 0 && u[n - 1] == '/')
			n--;
		if (n == 0 || n >= size || strncmp(u, "http", 4) != 0) {
			r = -SGW_EPARSE;
			break;
		}
		memcpy(uri, u, n);
		uri[n] = '\0';
		r = 0;
		break;
	}
	json_decref(o);
	return r;
}

int
intune_json_result(const uint8_t *buf, size_t len, char *code, size_t code_size, char *desc,
		   size_t desc_size)
{
	json_t *o = load(buf, len), *c, *d;
	int r = -SGW_EPARSE;

	if (o == NULL)
		return r;
	c = json_object_get(o, "code");
	d = json_object_get(o, "errorDescription");
	if (json_is_string(c) && json_string_length(c) > 0 &&
	    (d == NULL || json_is_string(d) || json_is_null(d))) {
		snprintf(code, code_size, "%s", json_string_value(c));
		snprintf(desc, desc_size, "%s", json_is_string(d) ? json_string_value(d) : "");
		r = 0;
	}
	json_decref(o);
	return r;
}

static int
copy_str(json_t *o, const char *key, char *out, size_t size, int required)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v)) {
		out[0] = '\0';
		return required ? -SGW_EPARSE : 0;
	}
	if (!json_is_string(v) || json_string_length(v) >= size ||
	    (required && json_string_length(v) == 0))
		return -SGW_EPARSE;
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

int
intune_json_revocations(const uint8_t *buf, size_t len, struct intune_revocation *out, size_t max,
			size_t *ret_n)
{
	json_t *o, *v, *it;
	size_t i, n = 0;
	int r;

	if ((r = load_value_array(buf, len, &o, &v)) < 0)
		return r;
	r = -SGW_EPARSE;
	json_array_foreach(v, i, it)
	{
		if (n == max)
			break;
		if (!json_is_object(it) ||
		    copy_str(it, "requestContext", out[n].context, sizeof(out[n].context), 1) < 0 ||
		    copy_str(it, "serialNumber", out[n].serial, sizeof(out[n].serial), 1) < 0 ||
		    copy_str(it, "issuerName", out[n].issuer, sizeof(out[n].issuer), 0) < 0)
			goto out;
		n++;
	}
	*ret_n = n;
	r = 0;
out:
	json_decref(o);
	return r;
}
