/* log.h: the one logger.  One line per message on stderr, in one of three
 * formats (log_set_format): text (`TIME ident[pid] level: message
 * instance=NAME`), journal (`<priority>level: message instance=NAME`:
 * journald reads the syslog priority from the prefix and adds the time and
 * pid itself), or json (one object per line, for SIEMs, with an "instance"
 * key).  The instance (log_set_instance) tells a cluster's gateways apart.  Secrets (challenges,
 * keys, tokens, passwords) must never be passed to these functions: log a digest prefix or nothing.
 */
#ifndef SGW_LOG_H
#define SGW_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG, LOG_LVL_MAX };

extern int log_verbosity; /* one of the only mutable globals (docs/conventions.md 17) */

enum log_format { LOG_FMT_TEXT, LOG_FMT_JOURNAL, LOG_FMT_JSON, LOG_FMT_AUTO, LOG_FMT_MAX };

#define LOG_INSTANCE_MAX 63

void log_init(int level, const char *ident);
/* The gateway's instance name on every line from now on.  The first name
 * set stays (a reload cannot change it while threads log); NULL clears it
 * (tests).  Call before the threads start. */
void log_set_instance(const char *name);
/* LOG_FMT_AUTO: journal when stderr is the journal's stream (systemd sets
 * JOURNAL_STREAM to its device:inode), else text. */
void log_set_format(int format);
int log_format_parse(const char *name); /* -1 when unknown */
extern const char *const log_format_names[LOG_FMT_MAX];
int log_level_parse(const char *name); /* -1 when unknown */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/* Client data quoted in a log line ("..."), made safe in place: control
 * characters, quotes and backslashes become '?', so the line stays one
 * parseable line. */
void log_safe(char *s);

void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
