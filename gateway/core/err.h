/* err.h: the one error convention of scepgw.
 *
 * Functions return int: 0 on success or a negative SGW_E* code.  Constructors
 * return a pointer or NULL.  Lookups that find nothing return -SGW_ENOTFOUND.
 * Out-parameters named ret_* come last and are written only on success.
 *
 * Functions that can fail for a reason worth showing to an operator also take
 * a `struct sgw_err *` and fill its text (never a secret). */
#ifndef SGW_ERR_H
#define SGW_ERR_H

#include <stddef.h>

enum sgw_errno {
	SGW_OK = 0,
	SGW_ENOMEM,    /* allocation failed */
	SGW_EINVAL,    /* bad argument or configuration */
	SGW_EPARSE,    /* input could not be parsed */
	SGW_EAUTH,     /* signature, MAC or credential check failed */
	SGW_EDENIED,   /* policy said no */
	SGW_EBACKEND,  /* a CA backend failed */
	SGW_EIO,       /* file, socket or database error */
	SGW_EAGAIN,    /* not done yet: a callback follows */
	SGW_ENOTFOUND, /* lookup found nothing */
	SGW_EEXIST,    /* unique key already present */
	SGW_EALG,      /* algorithm not supported or not allowed */
	SGW_EUNAVAIL,  /* a service we depend on (database, token) is unreachable now: try later
			  (HTTP 503) */
	SGW_EBUSY,     /* another request in progress holds it (a renewal of the same
			  certificate) */
	SGW_ERRNO_MAX
};

/* Human-readable reason that travels with an error code. */
struct sgw_err {
	char msg[512];
};

const char *sgw_strerror(int code); /* accepts positive or negative codes */

/* printf into err->msg; err may be NULL.  Returns -code so that callers can
 * write `return sgw_err_set(err, SGW_EPARSE, "...")`. */
int sgw_err_set(struct sgw_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
