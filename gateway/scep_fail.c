/* scep_fail.c: not written yet */
