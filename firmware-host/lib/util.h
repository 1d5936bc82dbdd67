/*
 * Small helpers shared by every Atelier program: allocation that aborts on
 * out-of-memory (so callers never carry half-made objects), monotonic time,
 * a growable byte buffer and string helpers.
 */
#ifndef ATELIER_UTIL_H
#define ATELIER_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Monotonic clock in seconds, nanoseconds, and wall clock in seconds. */
double now_mono(void);
uint64_t now_mono_ns(void);
double now_wall(void);

/* Growable byte buffer; data is always NUL-terminated for convenience. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};
void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drops the first n bytes. */
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);

/* The whole file (at most max bytes; 0: no limit), NUL-terminated, in a
 * new string; its length in *len (may be NULL). NULL with errno when it
 * cannot be read. */
char *file_read(const char *path, size_t max, size_t *len);

/* Levenshtein distance, for "did you mean" suggestions. */
size_t str_distance(const char *a, const char *b);

/*
 * Joins n names with ", " into out (len bytes): as many whole names as
 * fit, then " and N more", so that a list in a message is never cut
 * inside a name. Returns out.
 */
char *str_join_fit(char *out, size_t len, const char *const *names, size_t n);
/*
 * For a text that vsnprintf wrote into buf (cap bytes) and wanted n bytes
 * for: when it was cut (n >= cap), cuts it back to the end of its last
 * whole word and ends it with "...", so that no message ends mid-word.
 */
void str_cut_words(char *buf, size_t cap, int n);
/* Writes a message into err (len bytes) and returns -1: for the functions
 * that answer -1 with a sentence in a caller's buffer,
 * `return fail_msg(err, len, "...", ...);`. */
int fail_msg(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Sets O_NONBLOCK and FD_CLOEXEC; returns 0 or -1 with errno. */
int fd_set_nonblock(int fd);

/* A listening Unix stream socket at path (an old one is replaced),
 * non-blocking; returns the descriptor, or -1 with errno. */
int unix_listen(const char *path, int backlog);
/* A blocking connection to the Unix stream socket at path; -1 with errno. */
int unix_connect(const char *path);

/* Writes all of p, retrying on EINTR and short writes on a blocking fd;
 * returns 0 or -1 with errno. */
int write_all(int fd, const void *p, size_t n);

#endif
