/* log.c: leveled, printf-checked logging to stderr, as text, journal or JSON
 * lines. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

int log_verbosity = LOG_LVL_INFO;
static const char *log_ident = "scepgw";
static int log_format = LOG_FMT_TEXT; /* set before the threads start */
/* " instance=NAME" (text, journal) and the JSON key, set once before the
 * threads start (log_set_instance); "" while none */
static char log_instance_kv[LOG_INSTANCE_MAX + 16];
static char log_instance_json[LOG_INSTANCE_MAX + 16];

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
/* syslog priorities (sd-daemon(3) prefixes): err, warning, info, debug */
static const char level_prio[LOG_LVL_MAX] = {'3', '4', '6', '7'};
const char *const log_format_names[LOG_FMT_MAX] = {"text", "journal", "json", "auto"};

void
log_init(int level, const char *ident)
{
	log_verbosity = level;
	if (ident != NULL)
		log_ident = ident;
	log_set_format(LOG_FMT_AUTO); /* until the configuration says otherwise */
}

int
log_format_parse(const char *name)
{
	for (int i = 0; i < LOG_FMT_MAX; i++)
		if (strcmp(name, log_format_names[i]) == 0)
			return i;
	return -1;
}

/* 1 when stderr is the stream systemd connected to the journal. */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat sb;

	return js != NULL && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
	       fstat(STDERR_FILENO, &sb) == 0 && (unsigned long long)sb.st_dev == dev &&
	       (unsigned long long)sb.st_ino == ino;
}

void
log_set_format(int format)
{
	if (format == LOG_FMT_AUTO)
		format = stderr_is_journal() ? LOG_FMT_JOURNAL : LOG_FMT_TEXT;
	if (format >= 0 && format < LOG_FMT_AUTO)
		log_format = format;
}

void
log_set_instance(const char *name)
{
	char safe[LOG_INSTANCE_MAX + 1];

	if (name != NULL && log_instance_kv[0] != '\0')
		return; /* the first one stays: threads may be logging now */
	snprintf(safe, sizeof(safe), "%s", name != NULL ? name : "");
	log_safe(safe);
	log_instance_kv[0] = log_instance_json[0] = '\0';
	if (safe[0] == '\0')
		return;
	snprintf(log_instance_kv, sizeof(log_instance_kv), " instance=%s", safe);
	snprintf(log_instance_json, sizeof(log_instance_json), "\"instance\":\"%s\",", safe);
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

/* `s` as the inside of a JSON string into line[n..cap): quotes, backslashes
 * and control characters escaped, other bytes (UTF-8) as they are, cut
 * before the first character that does not fit (never inside an escape or a
 * UTF-8 sequence).  Returns the new length. */
static size_t
json_escape(char *line, size_t n, size_t cap, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		size_t need = c == '"' || c == '\\' ? 2 : c < 0x20 || c == 0x7f ? 6 : 1;

		if (n + need > cap) {
			if ((c & 0xc0) != 0x80)
				return n; /* cut between two characters */
			/* inside a UTF-8 sequence: drop what was written of it */
			while (n > 0 && ((unsigned char)line[n - 1] & 0xc0) == 0x80)
				n--;
			return n > 0 && ((unsigned char)line[n - 1] & 0xc0) == 0xc0 ? n - 1 : n;
		}
		if (need == 2) {
			line[n++] = '\\';
			line[n++] = (char)c;
		} else if (need == 6) {
			memcpy(line + n, "\\u00", 4);
			line[n + 4] = hex[c >> 4];
			line[n + 5] = hex[c & 15];
			n += 6;
		} else {
			line[n++] = (char)c;
		}
	}
	return n;
}

/* The start of a line (up to where the message goes); its length, or -1. */
static int
log_prefix(int level, char *line, size_t cap)
{
	const struct log_stamp *st;
	struct timespec now;

	if (log_format == LOG_FMT_JOURNAL)
		return snprintf(line, cap, "<%c>%s: ", level_prio[level], level_names[level]);
	clock_gettime(CLOCK_REALTIME, &now);
	st = log_stamp(now.tv_sec);
	if (log_format == LOG_FMT_JSON)
		return snprintf(line, cap,
				"{\"time\":\"%s.%03ldZ\",\"ident\":\"%s\",\"pid\":%d,%s"
				"\"level\":\"%s\",\"priority\":%c,\"msg\":\"",
				st->ts, now.tv_nsec / 1000000, log_ident, (int)st->pid,
				log_instance_json, level_names[level], level_prio[level]);
	return snprintf(line, cap, "%s.%03ldZ %s[%d] %s: ", st->ts, now.tv_nsec / 1000000,
			log_ident, (int)st->pid, level_names[level]);
}

void
log_vmsg(int level, const char *fmt, va_list ap)
{
	char line[2048], msg[2048];
	size_t cap = sizeof(line) - 1; /* room for the newline */
	size_t n;
	int p;

	if (level > log_verbosity)
		return;
	p = log_prefix(level, line, cap);
	if (p < 0 || (size_t)p >= cap)
		return;
	n = (size_t)p;
	if (log_format == LOG_FMT_JSON) {
		/* the message cut where it no longer fits, the object closed */
		vsnprintf(msg, sizeof(msg), fmt, ap);
		n = json_escape(line, n, cap - 2, msg);
		line[n++] = '"';
		line[n++] = '}';
	} else {
		/* the message cut where it no longer fits, the instance after it */
		size_t tail = strlen(log_instance_kv), room = cap - tail;

		p = vsnprintf(line + n, room - n, fmt, ap);
		n = p < 0 ? n : (size_t)p >= room - n ? room - 1 : n + (size_t)p;
		memcpy(line + n, log_instance_kv, tail);
		n += tail;
	}
	/* one write per line so concurrent threads never interleave */
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
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
log_safe(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '"' || *s == '\\')
			*s = '?';
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
