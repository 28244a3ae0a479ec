/* log.c: leveled, printf-checked logging to stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

int log_verbosity = LOG_LVL_INFO;
static const char *log_ident = "scepgw";

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

void
log_vmsg(int level, const char *fmt, va_list ap)
{
	char line[2048];
	char ts[32];
	struct timespec now;
	struct tm tm;
	int n;

	if (level > log_verbosity)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%d] %s: ", ts, now.tv_nsec / 1000000,
		     log_ident, (int)getpid(), level_names[level]);
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
	fwrite(line, 1, (size_t)n, stderr);
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
