/* secret_file.h: the one reader of secret files (private keys, static
 * challenges, client secrets, admin token lists).  A secret file must be a
 * regular file (no symlink followed), not accessible by group or others
 * (mode & 077 == 0) and owned by the effective uid or root; the checks run
 * on the open descriptor, so nothing can swap the file between check and
 * read.  Contents live in OpenSSL's secure heap and are wiped when freed. */
#ifndef SGW_SECRET_FILE_H
#define SGW_SECRET_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Every message names the file and its kind, the words an operator reads
 * ("static challenge secret file", "admin tokens file", "private key"):
 *   /etc/scepgw/x: admin tokens file is accessible by group or others ...
 * The calls without a kind say "secret file". */

/* Owner and mode checks on `path` without reading it (for files a library
 * opens itself, such as the TLS key given to OpenSSL). */
int secret_file_check_as(const char *kind, const char *path, struct sgw_err *err);
int secret_file_check(const char *path, struct sgw_err *err);

/* The whole file (1 to max bytes) into *ret_buf, NUL-terminated (the NUL is
 * not counted in *ret_len).  With SECRET_FILE_TRIM, trailing CR and LF are
 * dropped and what remains must not be empty.  Free with secret_file_free(). */
#define SECRET_FILE_TRIM 1u
int secret_file_read_as(const char *kind, const char *path, size_t max, unsigned flags,
			uint8_t **ret_buf, size_t *ret_len, struct sgw_err *err);
int secret_file_read(const char *path, size_t max, unsigned flags, uint8_t **ret_buf,
		     size_t *ret_len, struct sgw_err *err);
/* NULL-safe; wipes and frees what secret_file_read() returned (len is its
 * *ret_len: the bytes trimmed past it are zero already). */
void secret_file_free(uint8_t *buf, size_t len);

#endif
