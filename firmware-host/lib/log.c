/*
 * Logging for every Atelier program. Under systemd (JOURNAL_STREAM set) each
 * line carries a "<N>" syslog priority prefix that journald understands;
 * otherwise lines read "prog: level: message".
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *log_prog = "atelier";
static enum log_level log_max = LOG_LVL_INFO;
static int log_journal;

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const int level_syslog[] = { 3, 4, 6, 7 };

void
log_init(const char *progname, enum log_level level)
{
	log_prog = progname;
	log_max = level;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void
log_set_level(enum log_level level)
{
	log_max = level;
}

int
log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *
log_level_name(enum log_level level)
{
	return level_names[level];
}

static void log_emit(enum log_level level, const char *suffix, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void
log_emit(enum log_level level, const char *suffix, const char *fmt, va_list ap)
{
	int saved = errno;
	char msg[1024];

	if (level > log_max) {
		errno = saved;
		return;
	}
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (log_journal)
		fprintf(stderr, "<%d>%s%s%s\n", level_syslog[level], msg,
		    suffix ? ": " : "", suffix ? suffix : "");
	else
		fprintf(stderr, "%s: %s: %s%s%s\n", log_prog, level_names[level],
		    msg, suffix ? ": " : "", suffix ? suffix : "");
	errno = saved;
}

#define LOG_FN(name, level)                        \
	void name(const char *fmt, ...)            \
	{                                          \
		va_list ap;                        \
		va_start(ap, fmt);                 \
		log_emit(level, NULL, fmt, ap);    \
		va_end(ap);                        \
	}
LOG_FN(log_err, LOG_LVL_ERR)
LOG_FN(log_warn, LOG_LVL_WARN)
LOG_FN(log_info, LOG_LVL_INFO)
LOG_FN(log_debug, LOG_LVL_DEBUG)

void
log_errno(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_emit(LOG_LVL_ERR, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LVL_ERR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
