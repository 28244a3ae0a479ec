/* cfg.c: not written yet */
