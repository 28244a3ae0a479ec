/* bench_args.c: command-line parsing shared by the bench tools. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_args.h"

long
bench_num_arg(const char *prog, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "%s: bad number '%s' (%ld..%ld)\n", prog, s, lo, hi);
		exit(2);
	}
	return v;
}
