/* validator.c: not written yet */
