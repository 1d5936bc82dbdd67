/*
 * The daemon's error type (see err.h).
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

#include "util.h"

__attribute__((format(printf, 3, 0))) static void
vset(struct err *e, int code, const char *fmt, va_list ap)
{
	e->code = code;
	int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	str_cut_words(e->msg, sizeof e->msg, n);
}

int
err_set(struct err *e, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(e, code, fmt, ap);
	va_end(ap);
	return -1;
}

void *
err_null(struct err *e, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(e, code, fmt, ap);
	va_end(ap);
	return NULL;
}
