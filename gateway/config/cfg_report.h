/* cfg_report.h: what one `scepgw -n` run found: every error and warning, in
 * order, each a line an operator reads (file:line: key path: reason). */
#ifndef SGW_CFG_REPORT_H
#define SGW_CFG_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "err.h"

#define CFG_REPORT_MAX 128 /* lines kept; more are counted */

struct cfg_report {
	char *line[CFG_REPORT_MAX];
	int is_error[CFG_REPORT_MAX];
	size_t n, n_err, n_warn, dropped;
};

void cfg_report_add(struct cfg_report *r, int is_error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A check's result: rc 0, or -SGW_E* with its text in err.  With r, an
 * error is recorded and 0 returned (the caller goes on); without r, rc is
 * returned as is. */
int cfg_report_take(struct cfg_report *r, int rc, const struct sgw_err *err);
/* "error: ..." and "warning: ..." lines, then a count of the errors. */
void cfg_report_print(const struct cfg_report *r, FILE *f);
void cfg_report_clear(struct cfg_report *r);

#endif
