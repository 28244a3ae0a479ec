/* acme_json.c: parsers for the ACME objects the backend reads (RFC 8555
 * 7.1.1 directory, 7.1.2 account, 7.1.3 order, 7.1.4 authorization, 8
 * challenges, 6.7 problem documents), Retry-After and the PEM chain.  Pure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acme_json.h"
#include "err.h"
#include "pem_chain.h"

#define ACME_MAX_CHAIN 16

static const char b64u_set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const char *const status_names[ACME_ST_MAX] = {
    [ACME_ST_UNKNOWN] = "unknown",
    [ACME_ST_PENDING] = "pending",
    [ACME_ST_READY] = "ready",
    [ACME_ST_PROCESSING] = "processing",
    [ACME_ST_VALID] = "valid",
    [ACME_ST_INVALID] = "invalid",
    [ACME_ST_DEACTIVATED] = "deactivated",
    [ACME_ST_EXPIRED] = "expired",
    [ACME_ST_REVOKED] = "revoked",
};

enum acme_status
acme_status_parse(const char *s)
{
	for (int i = 1; s != NULL && i < ACME_ST_MAX; i++)
		if (strcmp(s, status_names[i]) == 0)
			return (enum acme_status)i;
	return ACME_ST_UNKNOWN;
}

const char *
acme_status_name(enum acme_status st)
{
	return st < ACME_ST_MAX ? status_names[st] : "unknown";
}

static json_t *
load(const uint8_t *buf, size_t len)
{
	json_t *j;

	if (buf == NULL || len == 0 || len > ACME_MAX_JSON)
		return NULL;
	j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* A string member of at most `max` bytes without NULs; absent is 0 with *ret
 * NULL unless required; anything else is -SGW_EPARSE. */
static int
get_str(json_t *o, const char *key, size_t max, int required, char **ret)
{
	json_t *v = json_object_get(o, key);
	size_t n;

	*ret = NULL;
	if (v == NULL || json_is_null(v))
		return required ? -SGW_EPARSE : 0;
	if (!json_is_string(v))
		return -SGW_EPARSE;
	n = json_string_length(v);
	if (n == 0 || n > max || memchr(json_string_value(v), '\0', n) != NULL)
		return -SGW_EPARSE;
	*ret = strndup(json_string_value(v), n);
	return *ret != NULL ? 0 : -SGW_ENOMEM;
}

static int
get_status(json_t *o, int required, enum acme_status *ret)
{
	json_t *v = json_object_get(o, "status");

	if (v == NULL)
		return required ? -SGW_EPARSE : 0;
	if (!json_is_string(v))
		return -SGW_EPARSE;
	*ret = acme_status_parse(json_string_value(v));
	return *ret == ACME_ST_UNKNOWN ? -SGW_EPARSE : 0;
}

/* Copy a string member into a fixed buffer, truncating; non-strings skip. */
static void
copy_str(json_t *o, const char *key, char *buf, size_t size)
{
	json_t *v = json_object_get(o, key);
	const char *s = json_string_value(v);
	size_t n;

	buf[0] = '\0';
	if (s == NULL)
		return;
	n = strnlen(s, json_string_length(v));
	snprintf(buf, size, "%.*s", (int)(n < size ? n : size - 1), s);
	for (char *c = buf; *c; c++) /* printable only: this text reaches logs */
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
}

static int
problem_from(json_t *o, struct acme_problem *out)
{
	json_t *st = json_object_get(o, "status");

	memset(out, 0, sizeof(*out));
	if (!json_is_object(o))
		return -SGW_EPARSE;
	copy_str(o, "type", out->type, sizeof(out->type));
	copy_str(o, "detail", out->detail, sizeof(out->detail));
	if (json_is_integer(st) && json_integer_value(st) >= 100 && json_integer_value(st) < 600)
		out->status = (int)json_integer_value(st);
	return out->type[0] != '\0' || out->detail[0] != '\0' ? 0 : -SGW_EPARSE;
}

int
acme_problem_parse(const uint8_t *buf, size_t len, struct acme_problem *out)
{
	json_t *j = load(buf, len);
	int r;

	memset(out, 0, sizeof(*out));
	if (j == NULL)
		return -SGW_EPARSE;
	r = problem_from(j, out);
	json_decref(j);
	return r;
}

const char *
acme_problem_short(const struct acme_problem *p)
{
	size_t n = strlen(ACME_PROBLEM_PREFIX);

	if (strncmp(p->type, ACME_PROBLEM_PREFIX, n) == 0)
		return p->type + n;
	return p->type;
}

void
acme_dir_clear(struct acme_dir *d)
{
	free(d->new_nonce);
	free(d->new_account);
	free(d->new_order);
	free(d->revoke_cert);
	free(d->key_change);
	memset(d, 0, sizeof(*d));
}

int
acme_dir_parse(const uint8_t *buf, size_t len, struct acme_dir *out)
{
	json_t *j = load(buf, len), *meta;
	int r = -SGW_EPARSE;

	memset(out, 0, sizeof(*out));
	if (j == NULL)
		return r;
	if ((r = get_str(j, "newNonce", ACME_MAX_URL, 1, &out->new_nonce)) < 0 ||
	    (r = get_str(j, "newAccount", ACME_MAX_URL, 1, &out->new_account)) < 0 ||
	    (r = get_str(j, "newOrder", ACME_MAX_URL, 1, &out->new_order)) < 0 ||
	    (r = get_str(j, "revokeCert", ACME_MAX_URL, 0, &out->revoke_cert)) < 0 ||
	    (r = get_str(j, "keyChange", ACME_MAX_URL, 0, &out->key_change)) < 0)
		goto out;
	meta = json_object_get(j, "meta");
	if (meta != NULL && json_is_object(meta))
		out->eab_required = json_is_true(json_object_get(meta, "externalAccountRequired"));
	r = 0;
out:
	if (r < 0)
		acme_dir_clear(out);
	json_decref(j);
	return r;
}

void
acme_order_clear(struct acme_order *o)
{
	for (size_t i = 0; i < o->n_authz; i++)
		free(o->authz[i]);
	free(o->finalize);
	free(o->certificate);
	memset(o, 0, sizeof(*o));
}

static int
order_authz(json_t *arr, struct acme_order *out)
{
	size_t i;
	json_t *v;
	int r;

	if (!json_is_array(arr) || json_array_size(arr) > ACME_MAX_AUTHZ)
		return -SGW_EPARSE;
	json_array_foreach(arr, i, v)
	{
		json_t *wrap = json_pack("{s:O}", "u", v);
		if (wrap == NULL)
			return -SGW_ENOMEM;
		r = get_str(wrap, "u", ACME_MAX_URL, 1, &out->authz[out->n_authz]);
		json_decref(wrap);
		if (r < 0)
			return r;
		out->n_authz++;
	}
	return 0;
}

int
acme_order_parse(const uint8_t *buf, size_t len, struct acme_order *out)
{
	json_t *j = load(buf, len), *err;
	int r = -SGW_EPARSE;

	memset(out, 0, sizeof(*out));
	if (j == NULL)
		return r;
	if ((r = get_status(j, 1, &out->status)) < 0 ||
	    (r = order_authz(json_object_get(j, "authorizations"), out)) < 0 ||
	    (r = get_str(j, "finalize", ACME_MAX_URL, 1, &out->finalize)) < 0 ||
	    (r = get_str(j, "certificate", ACME_MAX_URL, 0, &out->certificate)) < 0)
		goto out;
	err = json_object_get(j, "error");
	if (err != NULL && problem_from(err, &out->error) == 0)
		out->has_error = 1;
	r = -SGW_EPARSE;
	if (out->status == ACME_ST_VALID && out->certificate == NULL)
		goto out;
	r = 0;
out:
	if (r < 0)
		acme_order_clear(out);
	json_decref(j);
	return r;
}

void
acme_authz_clear(struct acme_authz *a)
{
	for (size_t i = 0; i < a->n_chall; i++) {
		free(a->chall[i].type);
		free(a->chall[i].url);
		free(a->chall[i].token);
	}
	free(a->id_type);
	free(a->id_value);
	memset(a, 0, sizeof(*a));
}

static int
authz_chall(json_t *arr, struct acme_authz *out)
{
	struct acme_chall *c;
	size_t i;
	json_t *v;
	int r;

	if (!json_is_array(arr))
		return -SGW_EPARSE;
	json_array_foreach(arr, i, v)
	{
		if (!json_is_object(v))
			return -SGW_EPARSE;
		if (out->n_chall == ACME_MAX_CHALL)
			break; /* more than we would ever try */
		c = &out->chall[out->n_chall++];
		if ((r = get_str(v, "type", 64, 1, &c->type)) < 0 ||
		    (r = get_str(v, "url", ACME_MAX_URL, 1, &c->url)) < 0 ||
		    (r = get_str(v, "token", 256, 0, &c->token)) < 0 ||
		    (r = get_status(v, 1, &c->status)) < 0)
			return r;
		c->has_error = problem_from(json_object_get(v, "error"), &c->error) == 0;
		/* the token goes into a TXT value and a hook's argv: base64url only */
		for (const char *t = c->token; t != NULL && *t; t++)
			if (strchr(b64u_set, *t) == NULL)
				return -SGW_EPARSE;
	}
	return 0;
}

int
acme_authz_parse(const uint8_t *buf, size_t len, struct acme_authz *out)
{
	json_t *j = load(buf, len), *id;
	int r = -SGW_EPARSE;

	memset(out, 0, sizeof(*out));
	if (j == NULL)
		return r;
	id = json_object_get(j, "identifier");
	if (!json_is_object(id))
		goto out;
	if ((r = get_status(j, 1, &out->status)) < 0 ||
	    (r = get_str(id, "type", 16, 1, &out->id_type)) < 0 ||
	    (r = get_str(id, "value", 255, 1, &out->id_value)) < 0 ||
	    (r = authz_chall(json_object_get(j, "challenges"), out)) < 0)
		goto out;
	out->wildcard = json_is_true(json_object_get(j, "wildcard"));
	r = 0;
out:
	if (r < 0)
		acme_authz_clear(out);
	json_decref(j);
	return r;
}

int
acme_account_parse(const uint8_t *buf, size_t len, struct acme_account *out)
{
	json_t *j = load(buf, len);
	int r;

	memset(out, 0, sizeof(*out));
	if (j == NULL)
		return -SGW_EPARSE;
	r = get_status(j, 1, &out->status);
	json_decref(j);
	return r;
}

/* ---- Retry-After --------------------------------------------------------- */

int
acme_retry_after(const char *value, time_t now, int max, int *ret_seconds)
{
	struct tm tm;
	const char *end;
	long long v = 0;
	time_t t;

	if (value == NULL || max < 0)
		return -SGW_EPARSE;
	while (*value == ' ' || *value == '\t')
		value++;
	if (*value >= '0' && *value <= '9') {
		for (end = value; *end >= '0' && *end <= '9'; end++)
			if ((v = v * 10 + (*end - '0')) > max)
				v = max;
		while (*end == ' ' || *end == '\t')
			end++;
		if (*end != '\0')
			return -SGW_EPARSE;
		*ret_seconds = (int)v;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
	end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL || *end != '\0')
		return -SGW_EPARSE;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -SGW_EPARSE;
	v = t <= now ? 0 : (long long)(t - now);
	*ret_seconds = v > max ? max : (int)v;
	return 0;
}

/* ---- the certificate chain ----------------------------------------------- */

int
acme_chain_parse(const uint8_t *buf, size_t len, X509 **ret_cert, STACK_OF(X509) * *ret_chain)
{
	STACK_OF(X509) *sk = NULL;
	int r;

	if (buf == NULL || len == 0 || len > ACME_MAX_JSON)
		return -SGW_EPARSE;
	if ((r = pem_chain_from_mem(buf, len, ACME_MAX_CHAIN, &sk)) < 0)
		return r;
	*ret_cert = sk_X509_shift(sk); /* the leaf comes first; the rest stays */
	*ret_chain = sk;
	return 0;
}
