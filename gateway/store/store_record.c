/* store_record.c: the helpers of the store's records (store_record.h):
 * transaction state names, and freeing what a record owns. */
#include <stdlib.h>

#include "store_record.h"

static const char *const txn_state_names[TXN_STATE_MAX] = {
    [TXN_RECEIVED] = "RECEIVED",
    [TXN_AUTHORIZED] = "AUTHORIZED",
    [TXN_AWAITING_APPROVAL] = "AWAITING_APPROVAL",
    [TXN_SUBMITTED] = "SUBMITTED",
    [TXN_BACKEND_PENDING] = "BACKEND_PENDING",
    [TXN_ISSUED] = "ISSUED",
    [TXN_REJECTED] = "REJECTED",
    [TXN_FAILED] = "FAILED",
    [TXN_EXPIRED] = "EXPIRED",
};

const char *
txn_state_name(int state)
{
	if (state < 0 || state >= TXN_STATE_MAX)
		return "UNKNOWN";
	return txn_state_names[state];
}

void
store_txn_clear(struct store_txn *t)
{
	if (t == NULL)
		return;
	free(t->csr.sealed);
	t->csr.sealed = NULL;
	t->csr.sealed_len = 0;
}

void
store_cert_clear(struct store_cert *c)
{
	if (c == NULL)
		return;
	free(c->der);
	c->der = NULL;
	c->der_len = 0;
}
