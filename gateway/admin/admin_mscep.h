/* admin_mscep.h: GET /certsrv/mscep_admin/, the NDES one-time challenge page. */
#ifndef SGW_ADMIN_MSCEP_H
#define SGW_ADMIN_MSCEP_H

#include <event2/http.h>

#include "admin_int.h"

void admin_mscep(struct admin *a, struct evhttp_request *req, const struct admin_principal *p);

#endif
