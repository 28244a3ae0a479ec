/* worker.c: not written yet */
