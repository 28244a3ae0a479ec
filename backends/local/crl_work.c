/* crl_work.c: the local CA's CRL jobs and their work off the loop (see
 * crl_work.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crl_work.h"

void
lcrl_job_free(struct local_crl_job *j)
{
	X509_NAME_free(j->in.issuer);
	lcrl_list_clear(&j->list);
	X509_CRL_free(j->got_crl);
	free(j->got.der);
	free(j->der);
	free(j->ca);
	free(j);
}

struct local_crl_job *
lcrl_job_new(struct local *l, enum crl_job_kind kind)
{
	struct local_crl_job *j = calloc(1, sizeof(*j));

	if (j == NULL || (j->ca = strdup(l->name)) == NULL) {
		free(j);
		return NULL;
	}
	j->owner = l;
	j->kind = kind;
	j->st = l->st;
	j->now = time(NULL);
	return j;
}

/* j->got (the stored CRL, or what was just stored) decoded. */
static void
got_decode(struct local_crl_job *j)
{
	const unsigned char *p = j->got.der;

	X509_CRL_free(j->got_crl);
	j->got_crl = d2i_X509_CRL(NULL, &p, (long)j->got.der_len);
	if (j->got_crl == NULL)
		j->read_rc = -SGW_EIO;
}

static void
read_crl(struct local_crl_job *j)
{
	free(j->got.der);
	j->got = (struct ca_crl){0};
	j->read_rc = j->st->ops->crl_get(j->st->priv, j->ca, &j->got);
	if (j->read_rc == 0)
		got_decode(j);
}

static int
collect(void *arg, const struct ca_revoked *r)
{
	return lcrl_list_add(arg, r->serial, r->reason, r->when) == -SGW_ENOMEM ? -1 : 0;
}

/* JOB_MAKE's first step: the revocation or the lease, then what the next
 * CRL is made from. */
void
lcrl_read_work(void *arg)
{
	struct local_crl_job *j = arg;
	const struct ca_state *st = j->st;

	if (j->revoke && (j->rc = st->ops->revoke(st->priv, j->ca, &j->rv)) < 0)
		return;
	if (j->lease_job[0] != '\0' &&
	    (st->ops->lease(st->priv, j->lease_job, j->lease_ttl, &j->held) < 0 || !j->held))
		return;
	read_crl(j);
	if (j->read_rc == 0 || j->read_rc == -SGW_ENOTFOUND)
		j->list_rc = st->ops->revoked_list(st->priv, j->ca, collect, &j->list);
}

/* JOB_MAKE's last step: the CRL built stored, or the winner's read. */
void
lcrl_put_work(void *arg)
{
	struct local_crl_job *j = arg;
	const struct ca_state *st = j->st;
	struct ca_crl c = {j->number, (int64_t)j->now + j->in.validity, j->der, j->der_len};

	j->put_rc = (j->seed ? st->ops->crl_seed : st->ops->crl_put)(st->priv, j->ca, &c);
	if (j->put_rc == -SGW_EEXIST) {
		read_crl(j); /* theirs */
		return;
	}
	if (j->put_rc < 0)
		return;
	free(j->got.der);
	j->got = c; /* ours: j->der moves over */
	j->der = NULL;
	j->read_rc = 0;
	got_decode(j);
}

/* JOB_CHECK: the stored number when the store tells it alone, else the
 * CRL when the one held is older than revoke.c's LOCAL_CRL_RECHECK_MS. */
void
lcrl_check_work(void *arg)
{
	struct local_crl_job *j = arg;
	const struct ca_state *st = j->st;
	int64_t n = 0;
	int r = -SGW_EINVAL;

	if (st->ops->crl_number != NULL)
		r = st->ops->crl_number(st->priv, j->ca, &n);
	j->read_rc = 1; /* unchanged */
	if (r == 0 && n == j->known)
		return;
	if (r == -SGW_EINVAL && j->fresh) {
		j->read_rc = 2; /* read less than LOCAL_CRL_RECHECK_MS (revoke.c) ago */
		return;
	}
	if (r == 0 || r == -SGW_EINVAL)
		read_crl(j);
	else
		j->read_rc = r; /* none stored, or the store failed: serve what is held */
}

void
lcrl_import_work(void *arg)
{
	struct local_crl_job *j = arg;
	const struct ca_state *st = j->st;
	struct ca_crl c = {0};
	int r;

	r = st->ops->crl_get(st->priv, j->ca, &c);
	free(c.der);
	if (r != -SGW_ENOTFOUND) {
		j->rc = r < 0 ? sgw_err_set(&j->err, -r, "the store: %s", sgw_strerror(r)) : 0;
		return;
	}
	r = lcrl_import_read(&j->paths, &j->list, &j->import_number, &j->found, &j->err);
	for (size_t i = 0; r == 0 && j->found && i < j->list.n; i++) {
		struct ca_revoked rv = {.reason = j->list.v[i].reason, .when = j->list.v[i].when};

		snprintf(rv.serial, sizeof(rv.serial), "%s", j->list.v[i].serial);
		r = st->ops->revoke(st->priv, j->ca, &rv);
		j->added += r == 0;
		if (r < 0 && r != -SGW_EEXIST)
			r = sgw_err_set(&j->err, -r, "importing %s: %s", j->paths.revoked,
					sgw_strerror(r));
		else
			r = 0;
	}
	j->rc = r;
}

/* A worker job: JOB_MAKE builds, JOB_ANSWER only comes back later. */
void
lcrl_build_work(void *arg)
{
	struct local_crl_job *j = arg;

	if (j->kind == JOB_MAKE)
		j->made =
		    lcrl_build(&j->in, &j->list, j->number, j->now, &j->der, &j->der_len, &j->err);
}
