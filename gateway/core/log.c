/* log.c: leveled, printf-checked logging to stderr. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

int log_verbosity = LOG_LVL_INFO;
static const char *log_ident = "scepgw";

static unsigned log_forks; /* fork() children seen: a new pid */

static void
log_after_fork(void)
{
	log_forks++;
}

static void
log_atfork_install(void)
{
	(void)pthread_atfork(NULL, NULL, log_after_fork);
}

static const char *const level_names[LOG_LVL_MAX] = {"error", "warn", "info", "debug"};

void
log_init(int level, const char *ident)
{
	log_verbosity = level;
	if (ident != NULL)
		log_ident = ident;
}

int
log_level_parse(const char *name)
{
	for (int i = 0; i < LOG_LVL_MAX; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

/* The time up to the second and the pid, remembered per thread for the
 * second it names: strftime and getpid (a system call) once a second rather
 * than once a line, and again after a fork. */
struct log_stamp {
	time_t sec;
	unsigned forks;
	pid_t pid;
	char ts[32];
};

static const struct log_stamp *
log_stamp(time_t sec)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	static __thread struct log_stamp st = {.sec = -1};
	struct tm tm;

	pthread_once(&once, log_atfork_install);
	if (st.sec != sec || st.forks != log_forks) {
		gmtime_r(&sec, &tm);
		strftime(st.ts, sizeof(st.ts), "%Y-%m-%dT%H:%M:%S", &tm);
		st.pid = getpid();
		st.forks = log_forks;
		st.sec = sec;
	}
	return &st;
}

void
log_vmsg(int level, const char *fmt, va_list ap)
{
	const struct log_stamp *st;
	char line[2048];
	struct timespec now;
	int n;

	if (level > log_verbosity)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	st = log_stamp(now.tv_sec);
	n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%d] %s: ", st->ts, now.tv_nsec / 1000000,
		     log_ident, (int)st->pid, level_names[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	/* one write per line so concurrent threads never interleave */
	n = (int)strlen(line);
	if ((size_t)n + 1 < sizeof(line)) {
		line[n++] = '\n';
		line[n] = '\0';
	} else {
		line[sizeof(line) - 2] = '\n';
		n = (int)sizeof(line) - 1;
	}
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
}

void
log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LVL_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}
