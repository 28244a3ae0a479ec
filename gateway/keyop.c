/* keyop.c: not written yet */
