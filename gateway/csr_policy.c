/* csr_policy.c: not written yet */
