/* scep_http.h: the SCEP HTTP surface: routes a request to a profile and an
 * operation (GetCACaps, GetCACert, PKIOperation by GET or POST). */
#ifndef SGW_SCEP_HTTP_H
#define SGW_SCEP_HTTP_H

#include <stddef.h>

#include <event2/http.h>

#include "gw.h"

struct http_origin; /* http_conn.h */

/* The SCEP listeners' handler (http_listen.h); arg is the struct gw. */
void scep_http_handle(struct evhttp_request *req, const struct http_origin *origin, void *arg);

/* Path -> profile name: /scep/<p>/pkiclient.exe, /scep/<p>, /scep/<p>/,
 * /cgi-bin/pkiclient.exe (the default profile), and Microsoft NDES's device
 * URL /certsrv/mscep/mscep.dll with or without /pkiclient.exe, in any case
 * as IIS serves it (the ndes_profile; NULL: none).  Pure.  Returns 0, or
 * -SGW_ENOTFOUND for any other path. */
int scep_http_route(const char *path, const char *default_profile, const char *ndes_profile,
		    char *name, size_t size);

#endif
