/* acme_account.h: the directory and the account every operation needs
 * first (acme_account.c). */
#ifndef SGW_ACME_ACCOUNT_H
#define SGW_ACME_ACCOUNT_H

#include "acme_int.h"

/* Ensure directory and account, then run op->after_ready. */
void acme_account_ready(struct acme_op *op);
/* The same as an acme_step, for acme_op_later(). */
void acme_account_ready_step(struct acme_op *op, struct acme_resp *unused);
/* start(): the account URL a previous run saved, if any (else registered on
 * first use). */
int acme_account_load_url(struct acme *a);

#endif
