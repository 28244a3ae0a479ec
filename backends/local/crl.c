/* crl.c: the local CA's revocation file and CRL generation (see crl.h). */
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

struct entry {
	char serial[LCRL_SERIAL_MAX + 1];
	int reason;
	int64_t when;
};

struct list {
	struct entry *v;
	size_t n, cap;
};

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

static int
valid_serial(const char *s)
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
static int
valid_reason(int r)
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

/* ---- revocations and CRLs ------------------------------------------------ */

static int
lock_open(const struct lcrl_paths *p, struct sgw_err *err)
{
	int fd = open(p->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return sgw_err_set(err, SGW_EIO, "%s: %s", p->lock, strerror(errno));
	if (flock(fd, LOCK_EX) != 0) {
		close(fd);
		return sgw_err_set(err, SGW_EIO, "%s: lock: %s", p->lock, strerror(errno));
	}
	return fd;
}

/* Replace `path` with `data` durably. */
static int
write_atomic(const struct lcrl_paths *p, const char *path, const void *data, size_t len,
	     struct sgw_err *err)
{
	char tmp[600];
	int fd, dfd, ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return sgw_err_set(err, SGW_EIO, "%s: %s", tmp, strerror(errno));
	ok = write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return sgw_err_set(err, SGW_EIO, "%s: %s", path, strerror(errno));
	}
	dfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

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

static int
list_parse(const char *path, char *text, struct list *l, struct sgw_err *err)
{
	char *save = NULL, *line;
	int lineno = 0;

	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		struct entry e = {{0}};
		long long when;
		char serial[64];

		lineno++;
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (sscanf(line, "%63s %d %lld", serial, &e.reason, &when) != 3 ||
		    !valid_serial(serial) || !valid_reason(e.reason))
			return sgw_err_set(err, SGW_EPARSE, "%s:%d: bad revocation line", path,
					   lineno);
		if (l->n >= LCRL_MAX_ENTRIES)
			return sgw_err_set(err, SGW_EINVAL, "%s: too many revocations", path);
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 64;
			struct entry *v = realloc(l->v, cap * sizeof(*v));

			if (v == NULL)
				return -SGW_ENOMEM;
			l->v = v;
			l->cap = cap;
		}
		memcpy(e.serial, serial, strlen(serial) + 1); /* valid_serial: <= 40 */
		e.when = when;
		l->v[l->n++] = e;
	}
	return 0;
}

static int
list_read(const struct lcrl_paths *p, struct list *l, struct stat *ret_sb, struct sgw_err *err)
{
	char *text = NULL;
	int r = read_all(p->revoked, &text, ret_sb, err);

	if (r == 0)
		r = list_parse(p->revoked, text, l, err);
	free(text);
	return r;
}

int
lcrl_revoke(const struct lcrl_paths *p, const char *serial_hex, int reason, int64_t when,
	    struct sgw_err *err)
{
	struct list l = {0};
	struct stat sb;
	char *text = NULL, *more;
	size_t len;
	int fd, r;

	if (serial_hex == NULL || !valid_serial(serial_hex) || !valid_reason(reason))
		return sgw_err_set(err, SGW_EINVAL, "bad serial or reason");
	if ((fd = lock_open(p, err)) < 0)
		return fd;
	r = read_all(p->revoked, &text, &sb, err);
	if (r == 0 && (more = strdup(text)) == NULL)
		r = -SGW_ENOMEM;
	if (r == 0) {
		r = list_parse(p->revoked, more, &l, err);
		free(more);
	}
	for (size_t i = 0; r == 0 && i < l.n; i++)
		if (strcmp(l.v[i].serial, serial_hex) == 0)
			r = -SGW_EEXIST;
	len = text != NULL ? strlen(text) : 0;
	if (r == 0 && (more = malloc(len + 128)) == NULL)
		r = -SGW_ENOMEM;
	if (r == 0) {
		int n = snprintf(more, len + 128, "%s%s%s %d %" PRId64 "\n", text,
				 len > 0 && text[len - 1] != '\n' ? "\n" : "", serial_hex, reason,
				 when);

		r = write_atomic(p, p->revoked, more, (size_t)n, err);
		free(more);
	}
	free(text);
	free(l.v);
	close(fd); /* releases the lock */
	return r;
}

int
lcrl_stamp(const struct lcrl_paths *p, struct lcrl_stamp *ret)
{
	struct stat sb;

	memset(ret, 0, sizeof(*ret));
	if (stat(p->revoked, &sb) != 0)
		return errno == ENOENT ? 0 : -SGW_EIO;
	ret->exists = 1;
	ret->ino = sb.st_ino;
	ret->size = sb.st_size;
	ret->mtime = sb.st_mtim;
	return 0;
}

int
lcrl_stamp_equal(const struct lcrl_stamp *a, const struct lcrl_stamp *b)
{
	if (a->exists != b->exists)
		return 0;
	return !a->exists ||
	       (a->ino == b->ino && a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
		a->mtime.tv_nsec == b->mtime.tv_nsec);
}

static int
next_number(const struct lcrl_paths *p, long long *ret, struct sgw_err *err)
{
	char *text = NULL, buf[32];
	struct stat sb;
	long long n = 0;
	int r = read_all(p->number, &text, &sb, err);

	if (r < 0)
		return r;
	if (text[0] != '\0' && (sscanf(text, "%lld", &n) != 1 || n < 0))
		r = sgw_err_set(err, SGW_EPARSE, "%s: not a number", p->number);
	free(text);
	if (r < 0)
		return r;
	n++;
	snprintf(buf, sizeof(buf), "%lld\n", n);
	if ((r = write_atomic(p, p->number, buf, strlen(buf), err)) == 0)
		*ret = n;
	return r;
}

static int
add_entry(X509_CRL *crl, const struct entry *e)
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
add_crl_exts(X509_CRL *crl, const struct lcrl_issue *in, long long number)
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

static int
build(const struct lcrl_issue *in, const struct list *l, long long number, time_t now,
      X509_CRL **ret, struct sgw_err *err)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *lu = ASN1_TIME_set(NULL, now), *nu = ASN1_TIME_set(NULL, now + in->validity);
	int r = -SGW_ENOMEM;

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
	*ret = crl;
	crl = NULL;
	r = 0;
out:
	if (r == -SGW_ENOMEM)
		sgw_err_set(err, r, "out of memory");
	X509_CRL_free(crl);
	ASN1_TIME_free(lu);
	ASN1_TIME_free(nu);
	ERR_clear_error();
	return r;
}

int
lcrl_generate(const struct lcrl_paths *p, const struct lcrl_issue *in, time_t now, X509_CRL **ret,
	      struct lcrl_stamp *ret_stamp, struct sgw_err *err)
{
	struct list l = {0};
	struct stat sb;
	X509_CRL *crl = NULL;
	unsigned char *der = NULL;
	long long number = 0;
	int fd, n, r;

	if ((fd = lock_open(p, err)) < 0)
		return fd;
	r = list_read(p, &l, &sb, err);
	if (r == 0)
		r = next_number(p, &number, err);
	if (r == 0)
		r = build(in, &l, number, now, &crl, err);
	if (r == 0 && (n = i2d_X509_CRL(crl, &der)) > 0)
		r = write_atomic(p, p->crl, der, (size_t)n, err);
	if (r == 0)
		r = lcrl_stamp(p, ret_stamp);
	close(fd);
	OPENSSL_free(der);
	free(l.v);
	if (r < 0) {
		X509_CRL_free(crl);
		return r;
	}
	*ret = crl;
	return 0;
}
