/* scep_http.c: not written yet */
