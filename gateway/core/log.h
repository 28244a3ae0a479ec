/* log.h: the one logger.  Lines go to stderr (journald adds the time when run
 * under systemd) as `LEVEL message`.  Secrets (challenges, keys, tokens,
 * passwords) must never be passed to these functions: log a digest prefix or
 * nothing. */
#ifndef SGW_LOG_H
#define SGW_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG, LOG_LVL_MAX };

extern int log_verbosity; /* one of the only mutable globals (docs/conventions.md 17) */

void log_init(int level, const char *ident);
int log_level_parse(const char *name); /* -1 when unknown */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
