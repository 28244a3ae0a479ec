/* secret_file.c: the one reader of secret files (secret_file.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "secret_file.h"

#define KIND(k) ((k) != NULL ? (k) : "secret file")

static int
check_stat(const char *kind, const char *path, const struct stat *st, struct sgw_err *err)
{
	if (!S_ISREG(st->st_mode))
		return sgw_err_set(err, SGW_EINVAL, "%s: %s is not a regular file", path,
				   KIND(kind));
	if ((st->st_mode & 077) != 0)
		return sgw_err_set(err, SGW_EDENIED,
				   "%s: %s is accessible by group or others (mode %04o); "
				   "chmod 600 it",
				   path, KIND(kind), (unsigned)(st->st_mode & 07777));
	if (st->st_uid != geteuid() && st->st_uid != 0)
		return sgw_err_set(err, SGW_EDENIED,
				   "%s: %s is owned by uid %u, not by uid %u or root", path,
				   KIND(kind), (unsigned)st->st_uid, (unsigned)geteuid());
	return 0;
}

int
secret_file_check_as(const char *kind, const char *path, struct sgw_err *err)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return sgw_err_set(err, SGW_EIO, "%s: %s", path, strerror(errno));
	return check_stat(kind, path, &st, err);
}

int
secret_file_check(const char *path, struct sgw_err *err)
{
	return secret_file_check_as(NULL, path, err);
}

static int
read_all(int fd, const char *path, uint8_t *buf, size_t size, struct sgw_err *err)
{
	size_t len = 0;
	ssize_t n;

	while (len < size) {
		n = read(fd, buf + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return sgw_err_set(err, SGW_EIO, "%s: short read", path);
		len += (size_t)n;
	}
	return 0;
}

int
secret_file_read_as(const char *kind, const char *path, size_t max, unsigned flags,
		    uint8_t **ret_buf, size_t *ret_len, struct sgw_err *err)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t len = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return sgw_err_set(err, SGW_EIO, "%s: %s", path, strerror(errno));
	r = fstat(fd, &st) != 0 ? sgw_err_set(err, SGW_EIO, "%s: %s", path, strerror(errno))
				: check_stat(kind, path, &st, err);
	if (r < 0)
		goto out;
	r = sgw_err_set(err, SGW_EINVAL, "%s: %s is empty, or larger than %zu bytes", path,
			KIND(kind), max);
	if (st.st_size <= 0 || (size_t)st.st_size > max)
		goto out;
	r = sgw_err_set(err, SGW_ENOMEM, "out of memory");
	len = (size_t)st.st_size;
	if ((buf = OPENSSL_secure_zalloc(len + 1)) == NULL)
		goto out;
	if ((r = read_all(fd, path, buf, len, err)) < 0)
		goto out;
	if (flags & SECRET_FILE_TRIM) {
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = '\0';
		r = sgw_err_set(err, SGW_EINVAL, "%s: %s is empty", path, KIND(kind));
		if (len == 0)
			goto out;
	}
	*ret_buf = buf;
	*ret_len = len;
	buf = NULL;
	r = 0;
out:
	if (buf != NULL)
		OPENSSL_secure_clear_free(buf, (size_t)st.st_size + 1);
	close(fd);
	return r;
}

int
secret_file_read(const char *path, size_t max, unsigned flags, uint8_t **ret_buf, size_t *ret_len,
		 struct sgw_err *err)
{
	return secret_file_read_as(NULL, path, max, flags, ret_buf, ret_len, err);
}

void
secret_file_free(uint8_t *buf, size_t len)
{
	if (buf != NULL)
		OPENSSL_secure_clear_free(buf, len + 1);
}
