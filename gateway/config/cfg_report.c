/* cfg_report.c: the errors and warnings of one configuration check. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_report.h"

void
cfg_report_add(struct cfg_report *r, int is_error, const char *fmt, ...)
{
	char buf[640];
	va_list ap;

	if (is_error)
		r->n_err++;
	else
		r->n_warn++;
	if (r->n == CFG_REPORT_MAX) {
		r->dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if ((r->line[r->n] = strdup(buf)) == NULL) {
		r->dropped++;
		return;
	}
	r->is_error[r->n++] = is_error;
}

int
cfg_report_take(struct cfg_report *r, int rc, const struct sgw_err *err)
{
	if (rc >= 0 || r == NULL)
		return rc;
	cfg_report_add(r, 1, "%s", err != NULL && err->msg[0] ? err->msg : sgw_strerror(rc));
	return 0;
}

void
cfg_report_print(const struct cfg_report *r, FILE *f)
{
	for (size_t i = 0; i < r->n; i++)
		fprintf(f, "%s: %s\n", r->is_error[i] ? "error" : "warning", r->line[i]);
	if (r->dropped > 0)
		fprintf(f, "(%zu more not shown)\n", r->dropped);
	if (r->n_err > 0)
		fprintf(f, "%zu error(s), %zu warning(s)\n", r->n_err, r->n_warn);
}

void
cfg_report_clear(struct cfg_report *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->line[i]);
	memset(r, 0, sizeof(*r));
}
