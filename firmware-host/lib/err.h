/*
 * One small error type for the daemon: a stable code (the API's, listed in
 * docs/api.md) and a sentence a jeweller understands. A function that can
 * fail takes a struct err * and, failing, fills it with err_set() and
 * returns -1 (or NULL); its caller passes the same struct up or answers
 * with it. Replaces the (code, message, length) triples of before.
 */
#ifndef ATELIER_ERR_H
#define ATELIER_ERR_H

#include <stddef.h>

struct err {
	int code;
	char msg[800];
};

/* Sets the error (the sentence cut at a whole word if it is too long);
 * returns -1, for `return err_set(e, ...);`. */
int err_set(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same, returning NULL, for functions that return a pointer. */
void *err_null(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
