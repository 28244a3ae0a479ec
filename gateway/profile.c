/* profile.c: not written yet */
