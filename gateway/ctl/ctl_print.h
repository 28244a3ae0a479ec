/* ctl_print.h: scepgwctl's human-readable output (ctl_print.c). */
#ifndef SGW_CTL_PRINT_H
#define SGW_CTL_PRINT_H

#include <jansson.h>

/* o's string member k, or "" */
const char *ctl_js(const json_t *o, const char *k);
/* The reply o of command cmd, for a person, on stdout. */
void ctl_print_human(const char *cmd, const json_t *o);
/* The rows of GET /api/v1/certificates, gathered over several pages. */
void ctl_print_certs(const json_t *arr);

#endif
