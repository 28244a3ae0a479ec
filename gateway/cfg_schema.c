/* cfg_schema.c: not written yet */
