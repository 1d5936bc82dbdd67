/*
 * Internal interface between the engraving files: the text layout (fonts,
 * shaping, Hershey) used by engrave.c. Not for other subsystems.
 */
#ifndef ATELIER_ENGRAVE_INT_H
#define ATELIER_ENGRAVE_INT_H

#include "engrave/engrave.h"

/* One laid-out line in em units: baseline at y = 0, pen from x = 0 to
 * advance. Outline fonts give closed contours, Hershey open strokes. */
struct engrave_line {
	struct engrave_paths paths;
	double advance;
};

/*
 * Lays out text (UTF-8, lines split at '\n') in em units, flattening curves
 * to tol_em. hershey selects the single-stroke font. On failure returns a
 * status with res->error set (and res->missing for characters no font has).
 */
enum engrave_status engrave_text_layout(const struct engrave_settings *s, const char *text,
    const char *lang, bool hershey, double tol_em, struct engrave_line **lines,
    size_t *n_lines, struct engrave_result *res);
void engrave_lines_free(struct engrave_line *lines, size_t n);

/* Sets res->status and res->error (printf-style); returns the status. */
enum engrave_status engrave_fail(struct engrave_result *res, enum engrave_status st,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Decodes one UTF-8 sequence strictly (no overlongs, surrogates or values
 * beyond U+10FFFF); returns its length, or 0 when invalid. */
size_t engrave_utf8_decode(const unsigned char *p, size_t left, uint32_t *cp);

#endif
