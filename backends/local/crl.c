/* crl.c: the local CA's CRLs and the upgrade from its files (see crl.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "crl.h"

#define LCRL_MAX_FILE (8 * 1024 * 1024)

int
lcrl_paths_init(struct lcrl_paths *p, const char *dir, const char *name)
{
	int bad = 0;

	bad |= (size_t)snprintf(p->dir, sizeof(p->dir), "%s", dir) >= sizeof(p->dir);
	bad |= (size_t)snprintf(p->revoked, sizeof(p->revoked), "%s/%s.revoked", dir, name) >=
	       sizeof(p->revoked);
	bad |= (size_t)snprintf(p->number, sizeof(p->number), "%s/%s.crlnumber", dir, name) >=
	       sizeof(p->number);
	bad |= (size_t)snprintf(p->crl, sizeof(p->crl), "%s/%s.crl", dir, name) >= sizeof(p->crl);
	bad |=
	    (size_t)snprintf(p->lock, sizeof(p->lock), "%s/%s.lock", dir, name) >= sizeof(p->lock);
	return bad ? -SGW_EINVAL : 0;
}

int
lcrl_valid_serial(const char *s)
{
	size_t n = strlen(s);

	/* the store's form: whole octets, no leading zero octet, or "0" */
	if (n == 0 || n > LCRL_SERIAL_MAX ||
	    (n > 1 && (n % 2 != 0 || (s[0] == '0' && s[1] == '0'))))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* RFC 5280 CRLReason; 7 is unused and removeFromCRL (8) belongs to delta CRLs. */
int
lcrl_valid_reason(int r)
{
	return r >= 0 && r <= 10 && r != 7 && r != 8;
}

/* ---- ownership (before the privilege drop) ------------------------------- */

static int
writable_by(const struct stat *sb, uid_t uid, gid_t gid)
{
	if (sb->st_uid == uid)
		return (sb->st_mode & S_IWUSR) != 0;
	if (sb->st_gid == gid)
		return (sb->st_mode & S_IWGRP) != 0;
	return (sb->st_mode & S_IWOTH) != 0;
}

/* One state file: created (the lock) or opened without following a
 * symlink, then handed over when root owns it. */
static int
own_file(const char *path, int create, uid_t uid, gid_t gid, int check, struct sgw_err *err)
{
	int fd, r = 0;
	struct stat sb;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (create && !check ? O_CREAT : 0), 0600);
	if (fd < 0)
		return errno == ENOENT ? 0
				       : sgw_err_set(err, SGW_EIO, "%s: %s", path, strerror(errno));
	if (fstat(fd, &sb) != 0)
		r = sgw_err_set(err, SGW_EIO, "%s: %s", path, strerror(errno));
	else if (sb.st_uid != uid && sb.st_uid != 0)
		r = sgw_err_set(err, SGW_EINVAL, "%s: owned by uid %u, not by the user (uid %u)",
				path, (unsigned)sb.st_uid, (unsigned)uid);
	else if (sb.st_uid != uid && !check && fchown(fd, uid, gid) != 0)
		r = sgw_err_set(err, SGW_EIO, "%s: chown: %s", path, strerror(errno));
	close(fd);
	return r;
}

int
lcrl_own(const struct lcrl_paths *p, uid_t uid, gid_t gid, int check, struct sgw_err *err)
{
	const char *files[] = {p->revoked, p->number, p->crl, p->lock};
	struct stat sb;
	int r;

	if (stat(p->dir, &sb) != 0)
		return sgw_err_set(err, SGW_EIO, "state_dir %s: %s", p->dir, strerror(errno));
	if (!writable_by(&sb, uid, gid)) {
		/* root's directory becomes the user's; another user's stays */
		if (sb.st_uid != 0 || !(sb.st_mode & S_IWUSR))
			return sgw_err_set(err, SGW_EINVAL,
					   "state_dir %s: not writable by the user (uid %u; owner "
					   "uid %u, mode %04o)",
					   p->dir, (unsigned)uid, (unsigned)sb.st_uid,
					   (unsigned)(sb.st_mode & 07777));
		if (!check && chown(p->dir, uid, gid) != 0)
			return sgw_err_set(err, SGW_EIO, "state_dir %s: chown: %s", p->dir,
					   strerror(errno));
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if ((r = own_file(files[i], files[i] == p->lock, uid, gid, check, err)) < 0)
			return r;
	return 0;
}

/* ---- the upgrade from the files of an older version ----------------------- */

/* Whole small file into a NUL-terminated buffer; a missing file is empty. */
static int
read_all(const char *path, char **ret, struct stat *ret_sb, struct sgw_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	char *buf;
	ssize_t n;

	memset(ret_sb, 0, sizeof(*ret_sb));
	if (fd < 0 && errno == ENOENT) {
		*ret = calloc(1, 1);
		return *ret != NULL ? 0 : -SGW_ENOMEM;
	}
	if (fd < 0 || fstat(fd, &sb) != 0 || sb.st_size > LCRL_MAX_FILE) {
		if (fd >= 0)
			close(fd);
		return sgw_err_set(err, SGW_EIO, "%s: cannot read", path);
	}
	buf = malloc((size_t)sb.st_size + 1);
	n = buf != NULL ? read(fd, buf, (size_t)sb.st_size) : -1;
	close(fd);
	if (n != (ssize_t)sb.st_size) {
		free(buf);
		return sgw_err_set(err, SGW_EIO, "%s: short read", path);
	}
	buf[n] = '\0';
	*ret = buf;
	*ret_sb = sb;
	return 0;
}

int
lcrl_list_add(struct lcrl_list *l, const char *serial, int reason, int64_t when)
{
	struct lcrl_entry *e;

	if (serial == NULL || !lcrl_valid_serial(serial) || !lcrl_valid_reason(reason) ||
	    l->n >= LCRL_MAX_ENTRIES)
		return -SGW_EINVAL;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct lcrl_entry *v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return -SGW_ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	e = &l->v[l->n++];
	memcpy(e->serial, serial, strlen(serial) + 1); /* lcrl_valid_serial: <= 40 */
	e->reason = reason;
	e->when = when;
	return 0;
}

void
lcrl_list_clear(struct lcrl_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* <name>.revoked: one line per revocation, "<serial hex> <reason> <unix time>" */
static int
list_parse(const char *path, char *text, struct lcrl_list *l, struct sgw_err *err)
{
	char *save = NULL, *line;
	int lineno = 0, r;

	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		long long when;
		char serial[64];
		int reason;

		lineno++;
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (l->n >= LCRL_MAX_ENTRIES)
			return sgw_err_set(err, SGW_EINVAL, "%s: too many revocations", path);
		if (sscanf(line, "%63s %d %lld", serial, &reason, &when) != 3 ||
		    (r = lcrl_list_add(l, serial, reason, when)) == -SGW_EINVAL)
			return sgw_err_set(err, SGW_EPARSE, "%s:%d: bad revocation line", path,
					   lineno);
		if (r < 0)
			return r;
	}
	return 0;
}

int
lcrl_import_read(const struct lcrl_paths *p, struct lcrl_list *ret, int64_t *ret_number,
		 int *ret_found, struct sgw_err *err)
{
	struct stat sb_rev, sb_num;
	char *text = NULL, *num = NULL;
	long long n = 0;
	int r;

	*ret_found = 0;
	*ret_number = 0;
	r = read_all(p->revoked, &text, &sb_rev, err);
	if (r == 0)
		r = read_all(p->number, &num, &sb_num, err);
	if (r == 0)
		r = list_parse(p->revoked, text, ret, err);
	if (r == 0 && num[0] != '\0' && (sscanf(num, "%lld", &n) != 1 || n < 0))
		r = sgw_err_set(err, SGW_EPARSE, "%s: not a number", p->number);
	if (r == 0) {
		*ret_found = sb_rev.st_ino != 0 || sb_num.st_ino != 0;
		*ret_number = n;
	}
	free(text);
	free(num);
	return r;
}

/* ---- CRLs ---------------------------------------------------------------- */

static int
add_entry(X509_CRL *crl, const struct lcrl_entry *e)
{
	X509_REVOKED *rv = X509_REVOKED_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)e->when);
	ASN1_ENUMERATED *reason = ASN1_ENUMERATED_new();
	ASN1_INTEGER *serial = NULL;
	BIGNUM *bn = NULL;
	int ok = 0;

	if (rv == NULL || t == NULL || reason == NULL || !BN_hex2bn(&bn, e->serial) ||
	    (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL)
		goto out;
	if (!X509_REVOKED_set_serialNumber(rv, serial) || !X509_REVOKED_set_revocationDate(rv, t))
		goto out;
	/* reason unspecified (0) is left out (RFC 5280 5.3.1) */
	if (e->reason != 0 && (!ASN1_ENUMERATED_set(reason, e->reason) ||
			       !X509_REVOKED_add1_ext_i2d(rv, NID_crl_reason, reason, 0, 0)))
		goto out;
	ok = X509_CRL_add0_revoked(crl, rv);
	if (ok)
		rv = NULL;
out:
	X509_REVOKED_free(rv);
	ASN1_TIME_free(t);
	ASN1_ENUMERATED_free(reason);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return ok ? 0 : -SGW_ENOMEM;
}

static int
add_crl_exts(X509_CRL *crl, const struct lcrl_issue *in, int64_t number)
{
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	int ok = num != NULL && akid != NULL && ASN1_INTEGER_set_int64(num, number) &&
		 X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0);

	if (ok && in->aki_len > 0) {
		akid->keyid = ASN1_OCTET_STRING_new();
		ok = akid->keyid != NULL &&
		     ASN1_OCTET_STRING_set(akid->keyid, in->aki, (int)in->aki_len) &&
		     X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, akid, 0, 0);
	}
	ASN1_INTEGER_free(num);
	AUTHORITY_KEYID_free(akid);
	return ok ? 0 : -SGW_ENOMEM;
}

int
lcrl_build(const struct lcrl_issue *in, const struct lcrl_list *l, int64_t number, time_t now,
	   uint8_t **ret_der, size_t *ret_len, struct sgw_err *err)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *lu = ASN1_TIME_set(NULL, now), *nu = ASN1_TIME_set(NULL, now + in->validity);
	unsigned char *der = NULL;
	int n, r = -SGW_ENOMEM;

	if (crl == NULL || lu == NULL || nu == NULL ||
	    !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, in->issuer) || !X509_CRL_set1_lastUpdate(crl, lu) ||
	    !X509_CRL_set1_nextUpdate(crl, nu))
		goto out;
	for (size_t i = 0; i < l->n; i++)
		if (add_entry(crl, &l->v[i]) < 0)
			goto out;
	if (!X509_CRL_sort(crl) || add_crl_exts(crl, in, number) < 0)
		goto out;
	if ((r = keyop_crl_sign(in->key, crl, in->md)) < 0) {
		sgw_err_set(err, r, "cannot sign the CRL");
		goto out;
	}
	r = -SGW_ENOMEM;
	if ((n = i2d_X509_CRL(crl, &der)) <= 0 || (*ret_der = malloc((size_t)n)) == NULL)
		goto out;
	memcpy(*ret_der, der, (size_t)n); /* freed with free(), not OPENSSL_free() */
	*ret_len = (size_t)n;
	r = 0;
out:
	if (r == -SGW_ENOMEM)
		sgw_err_set(err, r, "out of memory");
	OPENSSL_free(der);
	X509_CRL_free(crl);
	ASN1_TIME_free(lu);
	ASN1_TIME_free(nu);
	ERR_clear_error();
	return r;
}
