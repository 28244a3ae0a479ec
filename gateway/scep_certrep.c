/* scep_certrep.c: not written yet */
