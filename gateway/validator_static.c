/* validator_static.c: not written yet */
