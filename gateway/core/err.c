/* err.c: error codes to text. */
#include <stdarg.h>
#include <stdio.h>

#include "err.h"

static const char *const names[SGW_ERRNO_MAX] = {
    [SGW_OK] = "success",
    [SGW_ENOMEM] = "out of memory",
    [SGW_EINVAL] = "invalid argument",
    [SGW_EPARSE] = "parse error",
    [SGW_EAUTH] = "authentication failed",
    [SGW_EDENIED] = "denied by policy",
    [SGW_EBACKEND] = "backend failure",
    [SGW_EIO] = "I/O error",
    [SGW_EAGAIN] = "in progress",
    [SGW_ENOTFOUND] = "not found",
    [SGW_EEXIST] = "already exists",
    [SGW_EALG] = "algorithm not supported",
    [SGW_EUNAVAIL] = "temporarily unavailable",
    [SGW_EBUSY] = "held by another request",
};

const char *
sgw_strerror(int code)
{
	if (code < 0)
		code = -code;
	if (code >= SGW_ERRNO_MAX)
		return "unknown error";
	return names[code];
}

int
sgw_err_set(struct sgw_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code > 0 ? -code : code;
}
