/* bench_args.h: command-line parsing shared by the bench tools. */
#ifndef SGW_BENCH_ARGS_H
#define SGW_BENCH_ARGS_H

/* The decimal number in S, in lo..hi; otherwise a message naming PROG and
 * exit(2). */
long bench_num_arg(const char *prog, const char *s, long lo, long hi);

#endif
