/* scep_caps.c: not written yet */
