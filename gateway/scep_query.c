/* scep_query.c: not written yet */
