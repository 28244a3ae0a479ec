/* txn.c: not written yet */
