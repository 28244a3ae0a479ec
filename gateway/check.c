/* check.c: what `scepgw -n` checks beyond building the configuration. */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/asn1.h>

#include "check.h"
#include "keyop.h"
#include "pem_chain.h"

#define MAX_GROUPS 64

/* "file:line: path: " of a node, into buf. */
static const char *
where(const struct cfg_node *n, const char *path, char *buf, size_t size)
{
	snprintf(buf, size, "%s:%d: %s", n != NULL ? cfg_node_file(n) : "?",
		 n != NULL ? cfg_node_line(n) : 0, path);
	return buf;
}

static int
asn1_epoch(const ASN1_TIME *t, int64_t *ret)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*ret = (int64_t)timegm(&tm);
	return 0;
}

/* One certificate's validity against now and the warning threshold. */
static void
check_validity(X509 *x, const char *at, const char *what, int64_t now, int warn_s,
	       struct cfg_report *rep)
{
	int64_t nb, na;
	char sub[256] = "?";

	if (asn1_epoch(X509_get0_notBefore(x), &nb) < 0 ||
	    asn1_epoch(X509_get0_notAfter(x), &na) < 0) {
		cfg_report_add(rep, 1, "%s: %s: unreadable validity dates", at, what);
		return;
	}
	X509_NAME_oneline(X509_get_subject_name(x), sub, sizeof(sub));
	if (na <= now)
		cfg_report_add(rep, 1, "%s: %s %s expired %lld day(s) ago", at, what, sub,
			       (long long)((now - na) / 86400));
	else if (nb > now)
		cfg_report_add(rep, 1, "%s: %s %s is not valid before %lld day(s) from now", at,
			       what, sub, (long long)((nb - now + 86399) / 86400));
	else if (na - now < warn_s)
		cfg_report_add(rep, 0, "%s: %s %s expires in %lld day(s)", at, what, sub,
			       (long long)((na - now) / 86400));
}

static void
check_identity(const struct cfg *c, const struct ra_identity *id, int64_t now,
	       struct cfg_report *rep)
{
	const char *name = id->cfg->name;
	char path[160], at[400];
	int found = 0;

	snprintf(path, sizeof(path), "ra_identities.%s.sign.cert", name);
	where(cfg_node_at(c, "ra_identities", name, "sign.cert"), path, at, sizeof(at));
	check_validity(id->sign_cert, at, "RA certificate", now, c->expiry_warning, rep);
	if (id->enc_cert != id->sign_cert) {
		snprintf(path, sizeof(path), "ra_identities.%s.encrypt.cert", name);
		where(cfg_node_at(c, "ra_identities", name, "encrypt.cert"), path, at, sizeof(at));
		check_validity(id->enc_cert, at, "RA encryption certificate", now,
			       c->expiry_warning, rep);
	}
	snprintf(path, sizeof(path), "ra_identities.%s.ca_chain", name);
	where(cfg_node_at(c, "ra_identities", name, "ca_chain"), path, at, sizeof(at));
	for (int i = 0; i < sk_X509_num(id->ca_chain); i++) {
		X509 *ca = sk_X509_value(id->ca_chain, i);

		check_validity(ca, at, "CA certificate", now, c->expiry_warning, rep);
		found |= X509_check_issued(ca, id->sign_cert) == X509_V_OK;
	}
	if (!found) {
		char iss[256] = "?";

		X509_NAME_oneline(X509_get_issuer_name(id->sign_cert), iss, sizeof(iss));
		/* a warning: an RA certificate from another CA than the one
		 * that issues to devices works with clients that do not verify it */
		cfg_report_add(rep, 0,
			       "%s: %s holds no certificate that issued the RA certificate "
			       "(issuer %s): clients that verify it cannot build its chain",
			       at, id->cfg->ca_chain, iss);
	}
}

void
check_certs(const struct profile_set *ps, int64_t now, struct cfg_report *rep)
{
	const struct cfg *c = ps->cfg;
	char path[160], at[400];

	for (size_t i = 0; i < ps->n_ids; i++)
		check_identity(c, &ps->ids[i], now, rep);
	for (size_t i = 0; i < ps->n_backends; i++) {
		STACK_OF(X509) *chain = backend_ca_chain(ps->backends[i]);
		const char *name = backend_name(ps->backends[i]);

		snprintf(path, sizeof(path), "backends.%s", name);
		where(cfg_node_at(c, "backends", name, NULL), path, at, sizeof(at));
		for (int k = 0; k < sk_X509_num(chain); k++)
			check_validity(sk_X509_value(chain, k), at, "CA certificate", now,
				       c->expiry_warning, rep);
	}
}

/* The port of "host:port" / "[v6]:port", and whether host is a wildcard. */
static const char *
port_of(const char *addr, int *wildcard)
{
	const char *p = strrchr(addr, ':');
	size_t hl = p != NULL ? (size_t)(p - addr) : 0;

	*wildcard = hl == 0 || (hl == 7 && strncmp(addr, "0.0.0.0", 7) == 0) ||
		    (hl == 4 && strncmp(addr, "[::]", 4) == 0) || (hl == 1 && addr[0] == '*');
	return p != NULL ? p + 1 : addr;
}

static int
same_socket(const char *a, const char *b)
{
	int wa, wb;
	const char *pa = port_of(a, &wa), *pb = port_of(b, &wb);

	return strcmp(a, b) == 0 || (strcmp(pa, pb) == 0 && (wa || wb));
}

void
check_listeners(const struct cfg *c, struct cfg_report *rep)
{
	const struct cfg_node *seq = cfg_node_get(c->root, "listen");
	size_t n = c->n_listen + (c->admin.enabled && c->admin.listen != NULL);
	char at[400], path[64];

	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			const char *a = c->listen[i].address;
			const char *b = j < c->n_listen ? c->listen[j].address : c->admin.listen;
			const struct cfg_node *nb;

			if (a == NULL || b == NULL || !same_socket(a, b))
				continue;
			if (j < c->n_listen) {
				snprintf(path, sizeof(path), "listen[%zu].address", j);
				nb = cfg_node_get(cfg_node_item(seq, j), "address");
			} else {
				snprintf(path, sizeof(path), "admin.listen");
				nb = cfg_node_get(cfg_node_get(c->root, "admin"), "listen");
			}
			cfg_report_add(rep, 1,
				       "%s: %s is also listen[%zu] (%s): the second bind fails",
				       where(nb, path, at, sizeof(at)), b, i, a);
		}
}

struct who {
	const char *name;
	uid_t uid;
	gid_t groups[MAX_GROUPS];
	int n_groups;
};

static int
may(const struct who *w, const struct stat *st, mode_t usr, mode_t grp, mode_t oth)
{
	if (w->uid == 0)
		return 1;
	if (st->st_uid == w->uid)
		return (st->st_mode & usr) != 0;
	for (int i = 0; i < w->n_groups; i++)
		if (st->st_gid == w->groups[i])
			return (st->st_mode & grp) != 0;
	return (st->st_mode & oth) != 0;
}

/* Why `w` cannot read the regular file at path, or NULL when it can (or
 * path names no regular file: its loader says so). */
static const char *
unreadable(const struct who *w, const char *path, char *why, size_t size)
{
	struct stat st;
	char dir[1024];
	char *slash;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return NULL;
	if (!may(w, &st, S_IRUSR, S_IRGRP, S_IROTH)) {
		snprintf(why, size, "owner uid %u, mode %04o", (unsigned)st.st_uid,
			 (unsigned)(st.st_mode & 07777));
		return why;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	while ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (stat(dir, &st) == 0 && !may(w, &st, S_IXUSR, S_IXGRP, S_IXOTH)) {
			snprintf(why, size, "directory %s cannot be entered (mode %04o)", dir,
				 (unsigned)(st.st_mode & 07777));
			return why;
		}
	}
	return NULL;
}

/* Every scalar of the tree that is an absolute path to a regular file. */
static void
walk(const struct who *w, const struct cfg_node *n, const char *path, struct cfg_report *rep)
{
	char sub[256], why[1200], at[400];
	const char *s = cfg_node_scalar(n);

	if (s != NULL) {
		if (s[0] == '/' && unreadable(w, s, why, sizeof(why)) != NULL)
			cfg_report_add(rep, 0,
				       "%s: %s is not readable by user '%s' (%s): a reload after "
				       "the privilege drop cannot read it",
				       where(n, path, at, sizeof(at)), s, w->name, why);
		return;
	}
	for (size_t i = 0; i < cfg_node_count(n); i++) {
		if (cfg_node_type(n) == CFG_NODE_MAP)
			snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "",
				 cfg_node_key(n, i));
		else
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		walk(w, cfg_node_item(n, i), sub, rep);
	}
}

void
check_readable(const struct cfg *c, struct cfg_report *rep)
{
	struct who w = {.name = c->user, .n_groups = MAX_GROUPS};
	struct passwd *pw;

	if (c->user == NULL || c->user[0] == '\0' || (pw = getpwnam(c->user)) == NULL)
		return; /* daemon_own_files() reports a user that does not exist */
	w.uid = pw->pw_uid;
	if (getgrouplist(c->user, pw->pw_gid, w.groups, &w.n_groups) < 0) {
		w.groups[0] = pw->pw_gid;
		w.n_groups = 1;
	}
	walk(&w, c->root, "", rep);
}

/* One local CA: ca_cert loads and is valid, ca_key loads and matches it. */
static void
check_one_local_ca(const struct cfg *c, const struct cfg_backend *b, struct keyop *keys,
		   int64_t now, struct cfg_report *rep)
{
	const char *cert = cfg_node_scalar(cfg_node_get(b->node, "ca_cert"));
	const char *key = cfg_node_scalar(cfg_node_get(b->node, "ca_key"));
	STACK_OF(X509) *chain = NULL;
	struct sgw_err err = {{0}};
	char path[160], at[400], id[300];

	if (cert == NULL || key == NULL) /* the backend's own parse reported it */
		return;
	snprintf(path, sizeof(path), "%s.ca_cert", b->path);
	where(cfg_node_at(c, "backends", b->name, "ca_cert"), path, at, sizeof(at));
	if (pem_chain_load(cert, 1, &chain, &err) < 0) {
		cfg_report_add(rep, 1, "%s: %s", at, err.msg);
		return;
	}
	check_validity(sk_X509_value(chain, 0), at, "CA certificate", now, c->expiry_warning, rep);
	snprintf(path, sizeof(path), "%s.ca_key", b->path);
	where(cfg_node_at(c, "backends", b->name, "ca_key"), path, at, sizeof(at));
	snprintf(id, sizeof(id), "check:ca:%s", b->name);
	if (keyop_load(keys, id, key, &err) < 0)
		cfg_report_add(rep, 1, "%s: %s", at, err.msg);
	else if (!keyop_matches_cert(keyop_find(keys, id), sk_X509_value(chain, 0)))
		cfg_report_add(rep, 1, "%s: %s does not match the CA certificate %s", at, key,
			       cert);
	sk_X509_pop_free(chain, X509_free);
}

void
check_local_ca(const struct cfg *c, struct keyop *keys, int64_t now, struct cfg_report *rep)
{
	for (size_t i = 0; i < c->n_backends; i++)
		if (strcmp(c->backends[i].type, "local") == 0)
			check_one_local_ca(c, &c->backends[i], keys, now, rep);
}
