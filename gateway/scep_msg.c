/* scep_msg.c: not written yet */
