/* scep_envelope.c: not written yet */
