/* acme_op.h: one ACME operation's life and its outcome (acme_op.c). */
#ifndef SGW_ACME_OP_H
#define SGW_ACME_OP_H

#include "acme_int.h"

struct acme_op *acme_op_new(struct acme *a, enum acme_op_kind kind, const char *txn);
void acme_op_free(struct acme_op *op); /* no callback */
/* Run step(op, NULL) after `seconds` on the loop. */
int acme_op_later(struct acme_op *op, int seconds, acme_step step);

/* dns-01: run the hook's "del" for op's record (when it has one), then
 * then(op, NULL).  Every outcome below does this before its callback, and
 * acme_op_free does it synchronously (stop). */
void acme_op_txt_del(struct acme_op *op, acme_step then);

/* Each of these ends the op with its one callback and frees it. */
void acme_op_result(struct acme_op *op, enum backend_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void acme_op_issued(struct acme_op *op, X509 *cert, STACK_OF(X509) * chain);
void acme_op_pending(struct acme_op *op);
/* Map a failed response (problem document or transport error) to a result. */
void acme_op_fail_resp(struct acme_op *op, const char *what, const struct acme_resp *r);

/* state_dir/[sub/]name into buf; -SGW_EINVAL when it does not fit. */
int acme_state_path(const struct acme *a, const char *sub, const char *name, char *buf,
		    size_t size);

#endif
