/* acme_account.c: what every ACME operation needs first: the directory
 * (fetched once) and the account (registered on first use, with external
 * account binding when configured; its URL kept in state_dir/account.url).
 * With account_key_file (a key the instances of a cluster share) the URL is
 * asked from the CA by the key instead (RFC 8555 7.3.1 onlyReturnExisting),
 * and the account registered only when the CA knows none for it: every
 * instance then signs as the one account, which owns every order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acme_account.h"
#include "acme_jws.h"
#include "acme_op.h"
#include "log.h"

int
acme_account_load_url(struct acme *a)
{
	char p[1100], buf[ACME_MAX_URL + 2];
	FILE *f;
	size_t n;

	if (acme_state_path(a, NULL, "account.url", p, sizeof(p)) < 0 ||
	    (f = fopen(p, "re")) == NULL)
		return 0; /* registered on first use */
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	if (n > 0 && n <= ACME_MAX_URL && strchr(buf, '\n') == NULL)
		a->kid = strdup(buf);
	return 0;
}

static void
save_account_url(struct acme *a)
{
	char p[1100], tmp[1110];
	FILE *f;

	if (acme_state_path(a, NULL, "account.url", p, sizeof(p)) < 0)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", p);
	if ((f = fopen(tmp, "we")) == NULL)
		return;
	if (fprintf(f, "%s\n", a->kid) < 0 || fclose(f) != 0 || rename(tmp, p) != 0) {
		log_warn("acme %s: cannot save %s: %s", a->name, p, strerror(errno));
		unlink(tmp);
	}
}

static void
account_done(struct acme_op *op, struct acme_resp *r)
{
	struct acme *a = op->a;
	struct acme_account acct;

	if (r->err != 0 || (r->status != 200 && r->status != 201) || r->location == NULL) {
		acme_op_fail_resp(op, "newAccount", r);
		return;
	}
	if (acme_account_parse(r->body, r->len, &acct) < 0 || acct.status != ACME_ST_VALID) {
		acme_op_result(op, BACKEND_FAIL_PERM, "ACME newAccount: account is not valid");
		return;
	}
	free(a->kid);
	a->kid = r->location;
	r->location = NULL;
	log_info("acme %s: account %s (%s)", a->name, a->kid,
		 r->status == 201 ? "created" : "existing");
	if (!a->shared_key)
		save_account_url(a);
	op->after_ready(op, NULL);
}

static void
account_register(struct acme_op *op)
{
	struct acme *a = op->a;
	json_t *p = json_pack("{s:b}", "termsOfServiceAgreed", 1), *eab = NULL, *contact;
	char *payload = NULL;

	if (p == NULL)
		goto fail;
	if (a->conf.contact.n > 0) {
		contact = json_array();
		for (size_t i = 0; contact != NULL && i < a->conf.contact.n; i++)
			json_array_append_new(contact, json_string(a->conf.contact.v[i]));
		json_object_set_new(p, "contact", contact);
	}
	if (a->eab_mac != NULL) {
		if (acme_eab_new(a->eab.kid, a->eab_mac, a->eab_mac_len, a->dir.new_account, a->jwk,
				 &eab) < 0)
			goto fail;
		json_object_set_new(p, "externalAccountBinding", eab);
	}
	payload = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	p = NULL;
	if (payload == NULL || acme_post(op, a->dir.new_account, payload, 1, account_done) < 0)
		goto fail;
	free(payload);
	return;
fail:
	json_decref(p);
	free(payload);
	acme_op_result(op, BACKEND_FAIL_TEMP, "ACME newAccount: cannot build the request");
}

/* account_key_file: the account of this key, if the CA has one. */
static void
lookup_done(struct acme_op *op, struct acme_resp *r)
{
	if (r->err == 0 && r->has_problem &&
	    strcmp(acme_problem_short(&r->prob), "accountDoesNotExist") == 0) {
		log_info("acme %s: no account for the shared key yet: registering", op->a->name);
		account_register(op);
		return;
	}
	account_done(op, r);
}

static void
account_lookup(struct acme_op *op)
{
	if (acme_post(op, op->a->dir.new_account, "{\"onlyReturnExisting\":true}", 1, lookup_done) <
	    0)
		acme_op_result(op, BACKEND_FAIL_TEMP, "ACME newAccount: cannot build the request");
}

static void
dir_done(struct acme_op *op, struct acme_resp *r)
{
	struct acme *a = op->a;

	if (r->err != 0 || r->status != 200) {
		acme_op_fail_resp(op, "directory", r);
		return;
	}
	if (!a->have_dir) {
		if (acme_dir_parse(r->body, r->len, &a->dir) < 0) {
			acme_op_result(op, BACKEND_FAIL_TEMP, "ACME directory: does not parse");
			return;
		}
		a->have_dir = 1;
		if (a->dir.eab_required && a->eab_mac == NULL)
			log_warn("acme %s: the CA requires external account binding and no eab: "
				 "is configured",
				 a->name);
	}
	acme_account_ready(op);
}

void
acme_account_ready(struct acme_op *op)
{
	struct acme *a = op->a;

	if (!a->have_dir) {
		if (acme_get(op, a->conf.directory, dir_done) < 0)
			acme_op_result(op, BACKEND_FAIL_TEMP, "ACME directory: cannot start");
		return;
	}
	if (a->kid == NULL) {
		if (a->shared_key)
			account_lookup(op);
		else
			account_register(op);
		return;
	}
	op->after_ready(op, NULL);
}

void
acme_account_ready_step(struct acme_op *op, struct acme_resp *r)
{
	(void)r;
	acme_account_ready(op);
}
