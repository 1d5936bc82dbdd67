/*
 * One logging module for every Atelier program: messages go to stderr when
 * in the foreground, to the systemd journal (through stderr with level
 * prefixes) under systemd. Every function keeps errno as it found it, so a
 * caller can log and then return -1 with the original error.
 */
#ifndef ATELIER_LOG_H
#define ATELIER_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Names the program in every line; level is the most verbose one printed. */
void log_init(const char *progname, enum log_level level);
void log_set_level(enum log_level level);
/* Parses "error", "warn", "info", "debug"; returns 0, or -1 if unknown. */
int log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);

void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Like log_err with ": strerror(errno)" appended. */
void log_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs at error level and exits with status 1. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
