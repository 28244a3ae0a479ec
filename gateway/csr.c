/* csr.c: not written yet */
