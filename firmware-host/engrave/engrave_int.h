/*
 * Internal interface between the engraving files: the text layout (fonts,
 * shaping, Hershey) used by engrave.c, and the meter that the loops of the
 * SVG reader, hatching and ordering consult to keep within the budget. Not
 * for other subsystems.
 */
#ifndef ATELIER_ENGRAVE_INT_H
#define ATELIER_ENGRAVE_INT_H

#include "engrave/engrave.h"

/*
 * The budget while it is being spent. Loops call engrave_meter_tick with
 * the work of a step (points, edges, paths visited); every
 * ENGRAVE_CHECK_EVERY units it reads the clock and the cancel flag, which
 * keeps the checks to a fraction of a percent of the work and a stop to
 * well under a millisecond late. Once stopped it stays stopped, and every
 * loop that sees it returns at once. A NULL meter never stops.
 */
#define ENGRAVE_CHECK_EVERY 4096

struct engrave_meter {
	struct engrave_budget b;    /* with the defaults filled in */
	struct engrave_work *work;  /* counters and the limit reached, in the result */
	double started;             /* now_mono() */
	double deadline;            /* 0 = none */
	size_t spent, next_check;   /* units of work */
	enum engrave_limit stop;    /* TIME or CANCEL once stopped */
};

/* Starts m for the budget b (NULL: the defaults) at now, counting into work
 * (not NULL), and makes the first check. Returns true when already stopped
 * (a deadline past, the cancel flag set). */
bool engrave_meter_start(struct engrave_meter *m, const struct engrave_budget *b,
    struct engrave_work *work);
/* Reads the clock and the cancel flag now; returns true when stopped. */
bool engrave_meter_check(struct engrave_meter *m);

static inline bool
engrave_meter_tick(struct engrave_meter *m, size_t work)
{
	if (!m)
		return false;
	m->spent += work;
	if (m->spent < m->next_check)
		return m->stop != ENGRAVE_LIMIT_NONE;
	return engrave_meter_check(m);
}

/* engrave_svg_read within m's budget (points, <use> depth, time, cancel;
 * m may be NULL for the defaults). A refusal for a limit sets *limit (else
 * ENGRAVE_LIMIT_NONE), records its numbers in m->work and writes a
 * jeweller's sentence in err; a stop by time or cancel leaves the sentence
 * to the caller, who knows the budget. */
int engrave_svg_read_m(const char *data, size_t len, double tol_rel, struct engrave_paths *out,
    char *err, size_t err_len, struct engrave_meter *m, enum engrave_limit *limit);
/* engrave_hatch checking m: also returns SIZE_MAX when m stops it. */
size_t engrave_hatch_m(const struct engrave_paths *src, double interval, double angle_deg,
    bool even_odd, size_t max_lines, struct engrave_paths *dst, struct engrave_meter *m);
/* engrave_order checking m; when m stops it, the paths are all kept, in an
 * order only partly improved (the caller refuses the layout). */
double engrave_order_m(struct engrave_paths *p, struct engrave_meter *m);

/* Replaces the closed contours of p by the boundary of their nonzero fill
 * (engrave_union.c, through GEOS): outer rings clockwise, holes
 * counter-clockwise; open paths are kept, after them. Returns 0, 1 when m
 * stopped it (p unchanged), or -1 when GEOS could not join them (p
 * unchanged). */
int engrave_union_nonzero(struct engrave_paths *p, struct engrave_meter *m);

/* Writes n with thousands separators ("1,840,000") into buf; returns buf. */
const char *engrave_count_str(char *buf, size_t len, double n);

/* One laid-out line in em units: baseline at y = 0, pen from x = 0 to
 * advance. Outline fonts give closed contours, Hershey open strokes. */
struct engrave_line {
	struct engrave_paths paths;
	double advance;
	size_t *visual;             /* the line's characters (index from its start) as drawn,
	                             * left to right: the bidi algorithm's order */
	size_t n_visual;
	uint32_t *glyphs;           /* the shaped glyph ids, left to right (outline fonts) */
	size_t n_glyphs;
};

/* The default fallback chains (engrave_fonts.c), terminated by key == NULL. */
extern const struct engrave_font_chain engrave_default_fonts[];

/*
 * Lays out text (UTF-8, lines split at '\n') in em units, flattening curves
 * to tol_em. hershey selects the single-stroke font. On failure returns a
 * status with res->error set (and res->missing for characters no font has).
 */
enum engrave_status engrave_text_layout(const struct engrave_settings *s, const char *text,
    const char *lang, bool hershey, double tol_em, struct engrave_line **lines,
    size_t *n_lines, struct engrave_result *res);
void engrave_lines_free(struct engrave_line *lines, size_t n);

/*
 * The single-stroke font (engrave_hershey.c), in the same em units as the
 * lines. engrave_hershey_load reads a JHF file (cached while the path is
 * the same); returns 0, or -1 when it cannot be read or is not a font.
 */
int engrave_hershey_load(const char *path);
void engrave_hershey_clear(void);
/* Whether cp is a combining mark, drawn with the character before it. */
bool engrave_hershey_is_mark(uint32_t cp);
/* For a cluster (cps[0] a character, cps[1..n) the combining marks after
 * it), sets drawable[i] for each code point the loaded font can draw
 * there; returns true when all can. */
bool engrave_hershey_check(const uint32_t *cps, size_t n, bool *drawable);
/* Draws a cluster that passed engrave_hershey_check with the pen at x,
 * appending its strokes to out; returns the pen's x after it. */
double engrave_hershey_draw(const uint32_t *cps, size_t n, double x, struct engrave_paths *out);

/* Sets res->status and res->error (printf-style); returns the status. */
enum engrave_status engrave_fail(struct engrave_result *res, enum engrave_status st,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Decodes one UTF-8 sequence strictly (no overlongs, surrogates or values
 * beyond U+10FFFF); returns its length, or 0 when invalid. */
size_t engrave_utf8_decode(const unsigned char *p, size_t left, uint32_t *cp);

#endif
