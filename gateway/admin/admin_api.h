/* admin_api.h: the JSON routes under /api/v1/. */
#ifndef SGW_ADMIN_API_H
#define SGW_ADMIN_API_H

#include <event2/http.h>

#include "admin_int.h"

/* segs are the path segments after /api/v1/ */
void admin_api(struct admin *a, struct evhttp_request *req, const struct admin_principal *p,
	       char **segs, int nseg, const struct evkeyvalq *query);
void admin_api_free(struct admin *a); /* drops the revocations waiting for a backend */

#endif
