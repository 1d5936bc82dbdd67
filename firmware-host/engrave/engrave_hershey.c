/*
 * The single-stroke font (--fill stroke): a Hershey font read from its JHF
 * file (hershey-fonts-data), whose glyphs are open strokes the laser
 * follows once instead of outlines it fills. The font is ASCII, so the
 * accented Latin of clients' names is composed here: a letter's canonical
 * decomposition (HarfBuzz's Unicode functions) gives its base letter and
 * combining marks, and each mark is a small stroke drawn once in a table
 * below, centred over or under the base letter; letters with no
 * decomposition (o with a slash, l with a bar, the ligatures, sharp s,
 * thorn, eth, eng, ...) are built from the font's glyphs by a rule each.
 * docs/engraving.md lists what is composed how and what is refused.
 *
 * The layout asks here which characters can be drawn and draws them, a
 * letter and the combining marks that follow it at a time. The font is
 * loaded once and cached, for one thread like the outline fonts of
 * engrave_text.c.
 */
#include "engrave/engrave_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hb.h>

#include "util.h"

/* Hershey units per em: capitals are 21 units, so 0.7 em, like the outline
 * fonts' capitals. Baseline at Hershey y = 9 (y grows downwards). */
#define HERSHEY_EM 30.0
#define HERSHEY_BASE 9.0

struct hershey_glyph {
	double left, right;            /* em: the pen moves -left, draws, moves right */
	struct engrave_paths strokes;  /* em, baseline at y = 0, y up */
};

static struct {
	char *path;
	struct hershey_glyph *g;       /* ASCII 32.., in the file's order */
	size_t n;
} font;

void
engrave_hershey_clear(void)
{
	for (size_t i = 0; i < font.n; i++)
		engrave_paths_free(&font.g[i].strokes);
	free(font.g);
	font.g = NULL;
	font.n = 0;
	free(font.path);
	font.path = NULL;
}

int
engrave_hershey_load(const char *path)
{
	if (font.path && strcmp(font.path, path) == 0)
		return 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	struct buf all;
	buf_init(&all);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&all, chunk, n);
	fclose(f);
	engrave_hershey_clear();
	/* JHF: 5 columns of glyph number, 3 of vertex count, then count pairs
	 * of letters (value - 'R'); the first pair is the left and right
	 * bearing, " R" lifts the pen. Long glyphs wrap onto more lines. */
	const char *p = all.data ? all.data : "", *end = p + all.len;
	while (p < end) {
		while (p < end && (*p == '\n' || *p == '\r'))
			p++;
		if (end - p < 8)
			break;
		char num[4] = { p[5], p[6], p[7], 0 };
		int count = atoi(num);
		p += 8;
		if (count < 1)
			break;
		char *pairs = xmalloc((size_t)count * 2 + 1);
		size_t got = 0;
		while (got < (size_t)count * 2 && p < end) {
			if (*p == '\n' || *p == '\r') {
				p++;
				continue;
			}
			pairs[got++] = *p++;
		}
		if (got < (size_t)count * 2) {
			free(pairs);
			break;
		}
		font.g = xrealloc(font.g, (font.n + 1) * sizeof(*font.g));
		struct hershey_glyph *g = &font.g[font.n++];
		g->left = (pairs[0] - 'R') / HERSHEY_EM;
		g->right = (pairs[1] - 'R') / HERSHEY_EM;
		engrave_paths_init(&g->strokes);
		struct engrave_poly *cur = NULL;
		for (int i = 1; i < count; i++) {
			char a = pairs[2 * i], b = pairs[2 * i + 1];
			if (a == ' ' && b == 'R') {
				cur = NULL;
				continue;
			}
			if (!cur)
				cur = engrave_paths_new_poly(&g->strokes);
			engrave_poly_add(cur, (a - 'R') / HERSHEY_EM, (HERSHEY_BASE - (b - 'R')) / HERSHEY_EM);
		}
		free(pairs);
	}
	buf_free(&all);
	if (font.n < 95) {
		engrave_hershey_clear();
		return -1;
	}
	font.path = xstrdup(path);
	return 0;
}

/* The font's glyph for cp, or NULL. */
static const struct hershey_glyph *
glyph(uint32_t cp)
{
	if (cp < 32 || cp > 126 || cp - 32 >= font.n)
		return NULL;
	return &font.g[cp - 32];
}

/* ---- composing ------------------------------------------------------------ */

/* The font's vertical metrics in em (Hershey y = -12, -5 and 16), as every
 * Hershey roman font has them. */
#define CAP 0.7
#define XHEIGHT (14 / HERSHEY_EM)
#define DESCENT (-7 / HERSHEY_EM)
/* A composed letter stays within these, so that lines 1.25 em apart (the
 * default line_spacing) never touch: the font's own glyphs reach 0.833
 * (parentheses) and -0.233 (descenders); two marks over a capital reach
 * 0.98. A mark that would go further is refused, not squeezed. */
#define LINE_TOP 1.0
#define LINE_BOTTOM (-0.25)
/* Ink kept clear of the neighbours when a mark or a construction reaches
 * past the glyph's bearings (the font's own gap is 1 to 3 units). */
#define CLEAR (1 / HERSHEY_EM)
/* Between a mark and the capital or ascender under it, and between two
 * marks stacked; over x-height letters each mark says its own. */
#define TALL_GAP 0.05
#define STACK_GAP 0.033
/* A letter's decomposition nests at most this deep (U+01D7: U, diaeresis,
 * acute) and gives at most this many marks. */
#define MAX_DEPTH 4
#define MAX_DECOMP 4

/* Strokes as points in em, a PEN_UP point between two strokes. */
#define PEN_UP { 1e9, 1e9 }
struct shape {
	const struct engrave_pt *pt;
	size_t n;
};
#define SHAPE(a) { a, ARRAY_LEN(a) }

/* Marks above the letter stand on (0, 0), those below hang from it. */
static const struct engrave_pt acute[] = { { -0.05, 0 }, { 0.07, 0.13 } };
static const struct engrave_pt grave[] = { { 0.05, 0 }, { -0.07, 0.13 } };
static const struct engrave_pt circumflex[] = { { -0.1, 0 }, { 0, 0.11 }, { 0.1, 0 } };
static const struct engrave_pt caron[] = { { -0.1, 0.11 }, { 0, 0 }, { 0.1, 0.11 } };
static const struct engrave_pt tilde[] = { { -0.12, 0.01 }, { -0.1, 0.06 }, { -0.07, 0.08 },
	{ -0.04, 0.07 }, { 0.04, 0.02 }, { 0.07, 0.01 }, { 0.1, 0.03 }, { 0.12, 0.08 } };
static const struct engrave_pt macron[] = { { -0.11, 0.01 }, { 0.11, 0.01 } };
static const struct engrave_pt breve[] = { { -0.1, 0.1 }, { -0.08, 0.04 }, { -0.04, 0.01 },
	{ 0.04, 0.01 }, { 0.08, 0.04 }, { 0.1, 0.1 } };
/* The dot of the font's i and j, so that an i and an İ or ż match. */
static const struct engrave_pt dot[] = { { -0.033, 0.033 }, { 0, 0.067 }, { 0.033, 0.033 },
	{ 0, 0 }, { -0.033, 0.033 } };
static const struct engrave_pt diaeresis[] = { { -0.113, 0.033 }, { -0.08, 0.067 },
	{ -0.047, 0.033 }, { -0.08, 0 }, { -0.113, 0.033 }, PEN_UP, { 0.047, 0.033 },
	{ 0.08, 0.067 }, { 0.113, 0.033 }, { 0.08, 0 }, { 0.047, 0.033 } };
static const struct engrave_pt ring[] = { { 0, 0 }, { 0.035, 0.015 }, { 0.05, 0.05 },
	{ 0.035, 0.085 }, { 0, 0.1 }, { -0.035, 0.085 }, { -0.05, 0.05 }, { -0.035, 0.015 },
	{ 0, 0 } };
static const struct engrave_pt double_acute[] = { { -0.1, 0 }, { -0.03, 0.13 }, PEN_UP,
	{ 0.03, 0 }, { 0.1, 0.13 } };
/* The caron of ď ľ ť Ľ, beside the ascender rather than over the letter. */
static const struct engrave_pt caron_beside[] = { { 0.02, 0.13 }, { 0.02, 0.07 }, { -0.01, 0 } };
/* The cedilla of ģ, turned and put above since the g's tail is below. */
static const struct engrave_pt comma_turned[] = { { 0.03, 0.13 }, { 0, 0.07 }, { 0, 0 } };
static const struct engrave_pt cedilla[] = { { 0, 0 }, { 0, -0.06 }, { 0.05, -0.07 },
	{ 0.08, -0.1 }, { 0.07, -0.14 }, { 0.03, -0.16 }, { -0.04, -0.16 } };
static const struct engrave_pt ogonek[] = { { 0, 0 }, { -0.05, -0.05 }, { -0.06, -0.1 },
	{ -0.03, -0.14 }, { 0.02, -0.15 } };
static const struct engrave_pt comma_below[] = { { 0.01, 0 }, { 0.01, -0.06 }, { -0.02, -0.13 } };
static const struct engrave_pt dot_below[] = { { -0.033, -0.033 }, { 0, 0 }, { 0.033, -0.033 },
	{ 0, -0.067 }, { -0.033, -0.033 } };
static const struct engrave_pt macron_below[] = { { -0.11, -0.01 }, { 0.11, -0.01 } };

enum anchor {
	AT_CENTRE,      /* centred on the letter's ink */
	AT_RIGHT_FOOT,  /* from the rightmost point of the letter's bottom (ogonek) */
	AT_STEM_TOP,    /* beside the letter's highest point, its top level with it */
};

struct mark {
	uint32_t cp;
	int side;                   /* 1 above, -1 below */
	bool flattens;              /* drawn 3/4 as tall over capitals and ascenders */
	double gap;                 /* em from the letter; 0 touches it */
	enum anchor anchor;
	struct shape shape;
};

static const struct mark marks[] = {
	{ 0x0300, 1, true, 0.067, AT_CENTRE, SHAPE(grave) },
	{ 0x0301, 1, true, 0.067, AT_CENTRE, SHAPE(acute) },
	{ 0x0302, 1, true, 0.067, AT_CENTRE, SHAPE(circumflex) },
	{ 0x0303, 1, true, 0.067, AT_CENTRE, SHAPE(tilde) },
	{ 0x0304, 1, false, 0.067, AT_CENTRE, SHAPE(macron) },
	{ 0x0306, 1, true, 0.067, AT_CENTRE, SHAPE(breve) },
	{ 0x0307, 1, false, 0.067, AT_CENTRE, SHAPE(dot) },
	{ 0x0308, 1, false, 0.067, AT_CENTRE, SHAPE(diaeresis) },
	{ 0x030A, 1, false, 0.05, AT_CENTRE, SHAPE(ring) },
	{ 0x030B, 1, true, 0.067, AT_CENTRE, SHAPE(double_acute) },
	{ 0x030C, 1, true, 0.067, AT_CENTRE, SHAPE(caron) },
	{ 0x0323, -1, false, 0.05, AT_CENTRE, SHAPE(dot_below) },
	{ 0x0326, -1, false, 0.05, AT_CENTRE, SHAPE(comma_below) },
	{ 0x0327, -1, false, 0, AT_CENTRE, SHAPE(cedilla) },
	{ 0x0328, -1, false, 0, AT_RIGHT_FOOT, SHAPE(ogonek) },
	{ 0x0331, -1, false, 0.05, AT_CENTRE, SHAPE(macron_below) },
};
/* Marks some letters take in another form (Czech and Slovak, Latvian). */
static const struct mark mark_caron_beside = { 0x030C, 1, false, 0, AT_STEM_TOP,
	SHAPE(caron_beside) };
static const struct mark mark_comma_below = { 0x0327, -1, false, 0.05, AT_CENTRE,
	SHAPE(comma_below) };
static const struct mark mark_comma_turned = { 0x0327, 1, false, 0.067, AT_CENTRE,
	SHAPE(comma_turned) };

/* Letters the font lacks that have no canonical decomposition, and a few
 * signs of Latin-1, each built from the font's glyphs by one rule. */
enum build {
	B_SAME,         /* glyph a as it is (no-break space, apostrophes) */
	B_NO_DOT,       /* a without the strokes above its x-height: ı ȷ */
	B_NO_BAR,       /* a without its horizontal strokes: ſ from f */
	B_XHEIGHT,      /* a with what rises above the x-height cut to it: ĸ from k */
	B_STEM_BAR,     /* a and a bar from (stem + v0, v1) to (stem + v2, v3) */
	B_BOX_BAR,      /* a and a bar from (ink left + v0, v1) to (ink right + v2, v3) */
	B_SLASH,        /* a and its ink box's diagonal, v0 beyond it: ø */
	B_STEM_UP,      /* a with its stem raised to the capitals' height: þ from p */
	B_BOWL_DOWN,    /* a with all but its stem lowered by v0: Þ from P */
	B_HOOK,         /* a with a descending hook under its right stem: ŋ from n */
	B_CLOSE,        /* a and b drawn close, their ink touching: æ œ */
	B_PAIR,         /* a and b as the font sets them: ĳ ŉ */
	B_DOT,          /* a and the dot at (ink right + v0, v1) */
	B_MIRROR,       /* a mirrored, and the shape: ð from 6 */
	B_TURN,         /* a turned half round, hanging to the descender: ¡ ¿ */
	B_SHAPE,        /* the shape alone, bearings v0 and v1 */
};

/* Sharp s: the stem rises into the upper bowl, which runs into the lower. */
static const struct engrave_pt sharp_s[] = { { -0.167, 0 }, { -0.167, 0.5 }, { -0.133, 0.633 },
	{ -0.067, 0.7 }, { 0.033, 0.7 }, { 0.1, 0.667 }, { 0.133, 0.6 }, { 0.133, 0.533 },
	{ 0.1, 0.467 }, { 0, 0.433 }, { 0.1, 0.4 }, { 0.167, 0.333 }, { 0.2, 0.233 },
	{ 0.2, 0.167 }, { 0.167, 0.067 }, { 0.1, 0.033 }, { 0.033, 0 }, { -0.033, 0 } };
/* Eth's bar across the mirrored 6's rising back. */
static const struct engrave_pt eth_bar[] = { { 0.067, 0.5 }, { 0.267, 0.633 } };
static const struct engrave_pt guillemet_left[] = { { 0, 0.383 }, { -0.1, 0.233 },
	{ 0, 0.083 }, PEN_UP, { 0.1, 0.383 }, { 0, 0.233 }, { 0.1, 0.083 } };
static const struct engrave_pt guillemet_right[] = { { -0.1, 0.383 }, { 0, 0.233 },
	{ -0.1, 0.083 }, PEN_UP, { 0, 0.383 }, { 0.1, 0.233 }, { 0, 0.083 } };
static const struct engrave_pt degree[] = { { 0, 0.533 }, { 0.047, 0.553 }, { 0.067, 0.6 },
	{ 0.047, 0.647 }, { 0, 0.667 }, { -0.047, 0.647 }, { -0.067, 0.6 }, { -0.047, 0.553 },
	{ 0, 0.533 } };
static const struct engrave_pt middle_dot[] = { { -0.033, 0.233 }, { 0, 0.267 }, { 0.033, 0.233 },
	{ 0, 0.2 }, { -0.033, 0.233 } };

static const struct built {
	uint32_t cp;
	enum build how;
	char a, b;
	double v[4];
	struct shape shape;
} builds[] = {
	{ 0x00A0, B_SAME, ' ', 0, { 0 }, { NULL, 0 } },                       /* no-break space */
	{ 0x00A1, B_TURN, '!', 0, { 0 }, { NULL, 0 } },                       /* ¡ */
	{ 0x00AB, B_SHAPE, 0, 0, { -0.2, 0.2 }, SHAPE(guillemet_left) },      /* « */
	{ 0x00B0, B_SHAPE, 0, 0, { -0.167, 0.167 }, SHAPE(degree) },          /* ° */
	{ 0x00B7, B_SHAPE, 0, 0, { -0.1, 0.1 }, SHAPE(middle_dot) },          /* · */
	{ 0x00BB, B_SHAPE, 0, 0, { -0.2, 0.2 }, SHAPE(guillemet_right) },     /* » */
	{ 0x00BF, B_TURN, '?', 0, { 0 }, { NULL, 0 } },                       /* ¿ */
	{ 0x00C6, B_CLOSE, 'A', 'E', { 0 }, { NULL, 0 } },                    /* Æ */
	{ 0x00D0, B_STEM_BAR, 'D', 0, { -0.1, 0.35, 0.13, 0.35 }, { NULL, 0 } },  /* Ð */
	{ 0x00D8, B_SLASH, 'O', 0, { 0.033 }, { NULL, 0 } },                  /* Ø */
	{ 0x00DE, B_BOWL_DOWN, 'P', 0, { 0.133 }, { NULL, 0 } },              /* Þ */
	{ 0x00DF, B_SHAPE, 0, 0, { -0.3, 0.333 }, SHAPE(sharp_s) },           /* ß */
	{ 0x00E6, B_CLOSE, 'a', 'e', { 0 }, { NULL, 0 } },                    /* æ */
	{ 0x00F0, B_MIRROR, '6', 0, { 0 }, SHAPE(eth_bar) },                  /* ð */
	{ 0x00F8, B_SLASH, 'o', 0, { 0.033 }, { NULL, 0 } },                  /* ø */
	{ 0x00FE, B_STEM_UP, 'p', 0, { 0 }, { NULL, 0 } },                    /* þ */
	{ 0x0110, B_STEM_BAR, 'D', 0, { -0.1, 0.35, 0.13, 0.35 }, { NULL, 0 } },  /* Đ */
	{ 0x0111, B_STEM_BAR, 'd', 0, { -0.13, 0.6, 0.1, 0.6 }, { NULL, 0 } },    /* đ */
	{ 0x0126, B_BOX_BAR, 'H', 0, { -0.067, 0.55, 0.067, 0.55 }, { NULL, 0 } },  /* Ħ */
	{ 0x0127, B_STEM_BAR, 'h', 0, { -0.1, 0.6, 0.13, 0.6 }, { NULL, 0 } },    /* ħ */
	{ 0x0131, B_NO_DOT, 'i', 0, { 0 }, { NULL, 0 } },                     /* ı */
	{ 0x0132, B_PAIR, 'I', 'J', { 0 }, { NULL, 0 } },                     /* Ĳ */
	{ 0x0133, B_PAIR, 'i', 'j', { 0 }, { NULL, 0 } },                     /* ĳ */
	{ 0x0138, B_XHEIGHT, 'k', 0, { 0 }, { NULL, 0 } },                    /* ĸ */
	{ 0x013F, B_DOT, 'L', 0, { -0.2, 0.3 }, { NULL, 0 } },                /* Ŀ */
	{ 0x0140, B_DOT, 'l', 0, { 0.1, 0.233 }, { NULL, 0 } },               /* ŀ */
	{ 0x0141, B_STEM_BAR, 'L', 0, { -0.1, 0.23, 0.13, 0.43 }, { NULL, 0 } },  /* Ł */
	{ 0x0142, B_STEM_BAR, 'l', 0, { -0.1, 0.28, 0.1, 0.45 }, { NULL, 0 } },   /* ł */
	{ 0x0149, B_PAIR, '\'', 'n', { 0 }, { NULL, 0 } },                    /* ŉ */
	{ 0x014A, B_HOOK, 'N', 0, { 0 }, { NULL, 0 } },                       /* Ŋ */
	{ 0x014B, B_HOOK, 'n', 0, { 0 }, { NULL, 0 } },                       /* ŋ */
	{ 0x0152, B_CLOSE, 'O', 'E', { 0 }, { NULL, 0 } },                    /* Œ */
	{ 0x0153, B_CLOSE, 'o', 'e', { 0 }, { NULL, 0 } },                    /* œ */
	{ 0x0166, B_STEM_BAR, 'T', 0, { -0.13, 0.35, 0.13, 0.35 }, { NULL, 0 } }, /* Ŧ */
	{ 0x0167, B_STEM_BAR, 't', 0, { -0.1, 0.3, 0.133, 0.3 }, { NULL, 0 } },   /* ŧ */
	{ 0x017F, B_NO_BAR, 'f', 0, { 0 }, { NULL, 0 } },                     /* ſ */
	{ 0x0237, B_NO_DOT, 'j', 0, { 0 }, { NULL, 0 } },                     /* ȷ */
	{ 0x02BC, B_SAME, '\'', 0, { 0 }, { NULL, 0 } },                      /* ʼ */
	{ 0x2019, B_SAME, '\'', 0, { 0 }, { NULL, 0 } },                      /* ’ */
};

/* A letter being composed, in em with y up and x from the pen. */
struct comp {
	struct engrave_paths p;
	double left, right;         /* the pen moves -left, draws, moves right */
	uint32_t base;              /* the ASCII letter it was built on, or 0 */
	size_t n_letter;            /* p's first strokes: the letter, before marks */
	struct engrave_bbox box;    /* the letter's ink */
	double top, bottom;         /* how far it reaches with its marks */
	int above;                  /* marks placed above */
	bool plain;                 /* a glyph of the font, untouched */
};

static void
add_shape(struct engrave_paths *p, struct shape sh, double dx, double dy, double ky)
{
	struct engrave_poly *cur = NULL;
	for (size_t i = 0; i < sh.n; i++) {
		if (sh.pt[i].x > 1e8) {
			cur = NULL;
			continue;
		}
		if (!cur)
			cur = engrave_paths_new_poly(p);
		engrave_poly_add(cur, dx + sh.pt[i].x, dy + sh.pt[i].y * ky);
	}
}

static void
add_glyph(struct comp *c, const struct hershey_glyph *g, double dx)
{
	for (size_t k = 0; k < g->strokes.n; k++) {
		const struct engrave_poly *q = &g->strokes.v[k];
		struct engrave_poly *d = engrave_paths_new_poly(&c->p);
		for (size_t j = 0; j < q->n; j++)
			engrave_poly_add(d, dx + q->pts[j].x, q->pts[j].y);
	}
}

static void
drop_strokes(struct engrave_paths *p, size_t from, size_t n)
{
	for (size_t i = from; i < from + n; i++)
		free(p->v[i].pts);
	memmove(&p->v[from], &p->v[from + n], (p->n - from - n) * sizeof(*p->v));
	p->n -= n;
}

/* Drops the strokes for which drop() says so; returns how many. */
static size_t
drop_if(struct engrave_paths *p, bool (*drop)(const struct engrave_poly *))
{
	size_t n = 0;
	for (size_t i = 0; i < p->n;) {
		if (drop(&p->v[i])) {
			drop_strokes(p, i, 1);
			n++;
		} else {
			i++;
		}
	}
	return n;
}

/* The dot of i and j: a stroke wholly above the x-height. */
static bool
is_dot(const struct engrave_poly *q)
{
	for (size_t j = 0; j < q->n; j++)
		if (q->pts[j].y < XHEIGHT + 0.05)
			return false;
	return q->n > 0;
}

static bool
is_horizontal(const struct engrave_poly *q)
{
	return q->n == 2 && q->pts[0].y == q->pts[1].y && q->pts[0].x != q->pts[1].x;
}

/* The letter's stem: its longest upright segment. With right_foot, the
 * rightmost upright segment standing on the baseline instead. Returns
 * false when there is none. */
static bool
stem(const struct engrave_paths *p, bool right_foot, struct engrave_pt *top, struct engrave_pt *foot)
{
	double best = -1;
	for (size_t i = 0; i < p->n; i++)
		for (size_t j = 1; j < p->v[i].n; j++) {
			struct engrave_pt a = p->v[i].pts[j - 1], b = p->v[i].pts[j];
			double dy = fabs(b.y - a.y);
			if (dy < 0.2 || fabs(b.x - a.x) > 0.1 * dy)
				continue;
			if (a.y > b.y) {
				struct engrave_pt t = a;
				a = b;
				b = t;
			}
			double score = right_foot ? (fabs(a.y) < 0.01 ? a.x + 10 : -1) : dy;
			if (score > best) {
				best = score;
				*foot = a;
				*top = b;
			}
		}
	return best >= 0;
}

static const struct built *
built_find(uint32_t cp)
{
	for (size_t i = 0; i < ARRAY_LEN(builds); i++)
		if (builds[i].cp == cp)
			return &builds[i];
	return NULL;
}

static void
add_stroke(struct engrave_paths *p, double x0, double y0, double x1, double y1)
{
	struct engrave_poly *q = engrave_paths_new_poly(p);
	engrave_poly_add(q, x0, y0);
	engrave_poly_add(q, x1, y1);
}

/* Builds a letter by its rule; false when the font lacks a glyph it needs. */
static bool
build(const struct built *b, struct comp *c)
{
	const struct hershey_glyph *ga = b->a ? glyph((unsigned char)b->a) : NULL;
	const struct hershey_glyph *gb = b->b ? glyph((unsigned char)b->b) : NULL;
	if ((b->a && !ga) || (b->b && !gb))
		return false;
	if (ga) {
		add_glyph(c, ga, 0);
		c->left = ga->left;
		c->right = ga->right;
		c->base = (unsigned char)b->a;
	}
	struct engrave_pt top, foot;
	struct engrave_bbox box = engrave_paths_bbox(&c->p);
	switch (b->how) {
	case B_SAME:
		c->plain = true;
		break;
	case B_NO_DOT:
		drop_if(&c->p, is_dot);
		break;
	case B_NO_BAR:
		drop_if(&c->p, is_horizontal);
		break;
	case B_XHEIGHT:
		for (size_t i = 0; i < c->p.n; i++)
			for (size_t j = 0; j < c->p.v[i].n; j++)
				if (c->p.v[i].pts[j].y > XHEIGHT)
					c->p.v[i].pts[j].y = XHEIGHT;
		break;
	case B_STEM_BAR:
		if (!stem(&c->p, false, &top, &foot))
			return false;
		add_stroke(&c->p, top.x + b->v[0], b->v[1], top.x + b->v[2], b->v[3]);
		break;
	case B_BOX_BAR:
		add_stroke(&c->p, box.x0 + b->v[0], b->v[1], box.x1 + b->v[2], b->v[3]);
		break;
	case B_SLASH:
		add_stroke(&c->p, box.x0 - b->v[0], box.y0 - b->v[0], box.x1 + b->v[0], box.y1 + b->v[0]);
		break;
	case B_STEM_UP:
		if (!stem(&c->p, false, &top, &foot))
			return false;
		add_stroke(&c->p, top.x, top.y, top.x, CAP);
		break;
	case B_BOWL_DOWN:
		if (!stem(&c->p, false, &top, &foot))
			return false;
		for (size_t i = 0; i < c->p.n; i++) {
			struct engrave_poly *q = &c->p.v[i];
			if (q->n == 2 && q->pts[0].x == top.x && q->pts[1].x == top.x)
				continue;
			for (size_t j = 0; j < q->n; j++)
				q->pts[j].y -= b->v[0];
		}
		break;
	case B_HOOK: {
		if (!stem(&c->p, true, &top, &foot))
			return false;
		static const struct engrave_pt hook[] = { { 0, 0 }, { 0, -0.1 }, { -0.033, -0.167 },
			{ -0.1, -0.2 }, { -0.167, -0.2 } };
		add_shape(&c->p, (struct shape)SHAPE(hook), foot.x, foot.y, 1);
		break;
	}
	case B_CLOSE:
	case B_PAIR: {
		struct engrave_paths second = { 0 };
		for (size_t k = 0; k < gb->strokes.n; k++) {
			struct engrave_poly *d = engrave_paths_new_poly(&second);
			for (size_t j = 0; j < gb->strokes.v[k].n; j++)
				engrave_poly_add(d, gb->strokes.v[k].pts[j].x, gb->strokes.v[k].pts[j].y);
		}
		struct engrave_bbox b2 = engrave_paths_bbox(&second);
		double dx = b->how == B_CLOSE ? box.x1 - b2.x0 : ga->right - gb->left;
		engrave_paths_free(&second);
		add_glyph(c, gb, dx);
		c->right = dx + gb->right;
		c->base = 0;
		break;
	}
	case B_DOT:
		add_shape(&c->p, (struct shape)SHAPE(dot), box.x1 + b->v[0], b->v[1] - 0.033, 1);
		break;
	case B_MIRROR:
		for (size_t i = 0; i < c->p.n; i++)
			for (size_t j = 0; j < c->p.v[i].n; j++)
				c->p.v[i].pts[j].x = -c->p.v[i].pts[j].x;
		c->left = -ga->right;
		c->right = -ga->left;
		c->base = 0;
		break;
	case B_TURN:
		for (size_t i = 0; i < c->p.n; i++)
			for (size_t j = 0; j < c->p.v[i].n; j++) {
				struct engrave_pt *q = &c->p.v[i].pts[j];
				q->x = -q->x;
				q->y = (CAP + DESCENT) - q->y;
			}
		c->left = -ga->right;
		c->right = -ga->left;
		c->base = 0;
		break;
	case B_SHAPE:
		c->left = b->v[0];
		c->right = b->v[1];
		break;
	}
	if (b->shape.n)
		add_shape(&c->p, b->shape, 0, 0, 1);
	return true;
}

/* Starts c with the letter cp: the font's glyph, a built letter, or the
 * base of its canonical decomposition, whose marks are appended to dmarks.
 * Returns false when cp cannot be drawn. */
static bool
letter(uint32_t cp, struct comp *c, uint32_t *dmarks, size_t *nd, int depth)
{
	const struct hershey_glyph *g = glyph(cp);
	if (g) {
		add_glyph(c, g, 0);
		c->left = g->left;
		c->right = g->right;
		c->base = cp;
		c->plain = true;
		return true;
	}
	const struct built *b = built_find(cp);
	if (b)
		return build(b, c);
	hb_codepoint_t a, m;
	if (depth >= MAX_DEPTH || !hb_unicode_decompose(hb_unicode_funcs_get_default(), cp, &a, &m))
		return false;
	if (!letter(a, c, dmarks, nd, depth + 1))
		return false;
	if (m) {
		if (*nd == MAX_DECOMP)
			return false;
		dmarks[(*nd)++] = m;
	}
	c->plain = false;
	return true;
}

static const struct mark *
mark_find(uint32_t cp)
{
	for (size_t i = 0; i < ARRAY_LEN(marks); i++)
		if (marks[i].cp == cp)
			return &marks[i];
	return NULL;
}

/* Keeps the ink of what was added clear of the neighbouring letters. */
static void
widen(struct comp *c, struct engrave_bbox ink)
{
	if (ink.x1 + CLEAR > c->right + 1e-9)
		c->right = ink.x1 + CLEAR;
	if (ink.x0 - CLEAR < c->left - 1e-9)
		c->left = ink.x0 - CLEAR;
}

/* The ink of the letter alone, without its marks. */
static struct engrave_bbox
letter_box(const struct comp *c)
{
	const struct engrave_paths letter = { c->p.v, c->n_letter, c->n_letter };
	return engrave_paths_bbox(&letter);
}

/* Sets up the marks' references once the letter is built. */
static void
letter_done(struct comp *c)
{
	c->n_letter = c->p.n;
	c->box = engrave_paths_bbox(&c->p);
	if (c->box.x0 > c->box.x1) {
		/* a mark over a space: centred on its advance, at the x-height */
		c->box.x0 = c->box.x1 = (c->left + c->right) / 2;
		c->box.y0 = 0;
		c->box.y1 = XHEIGHT;
	}
	c->top = c->box.y1;
	c->bottom = c->box.y0;
	if (!c->plain)
		widen(c, c->box);
}

/* Places the combining mark cp on the letter; returns false when it is not
 * one single stroke draws, or would leave the line's height (LINE_TOP,
 * LINE_BOTTOM). */
static bool
place_mark(struct comp *c, uint32_t cp)
{
	const struct mark *m = mark_find(cp);
	hb_codepoint_t a, b0;
	if (!m && hb_unicode_decompose(hb_unicode_funcs_get_default(), cp, &a, &b0) && !b0)
		m = mark_find(a);  /* the tone marks U+0340 and U+0341 are grave and acute */
	if (!m)
		return false;
	bool base = c->base != 0;
	if (base && cp == 0x030C && c->above == 0 && strchr("dltL", (int)c->base))
		m = &mark_caron_beside;
	else if (base && cp == 0x0327 && strchr("GKLNRklnr", (int)c->base))
		m = &mark_comma_below;
	else if (base && cp == 0x0327 && c->base == 'g')
		m = &mark_comma_turned;
	if (m->side > 0 && base && (c->base == 'i' || c->base == 'j') && c->above == 0) {
		/* i and j lose their dot under an accent */
		for (size_t i = 0; i < c->n_letter;) {
			if (is_dot(&c->p.v[i])) {
				drop_strokes(&c->p, i, 1);
				c->n_letter--;
			} else {
				i++;
			}
		}
		c->box = letter_box(c);
		c->top = c->box.y1;
	}
	bool tall = c->box.y1 > XHEIGHT + 0.05;
	double ky = (m->flattens && tall) ? 0.75 : 1;
	struct engrave_bbox sb = { 1e9, 1e9, -1e9, -1e9 };
	for (size_t i = 0; i < m->shape.n; i++) {
		if (m->shape.pt[i].x > 1e8)
			continue;
		sb.x0 = fmin(sb.x0, m->shape.pt[i].x);
		sb.x1 = fmax(sb.x1, m->shape.pt[i].x);
		sb.y0 = fmin(sb.y0, m->shape.pt[i].y * ky);
		sb.y1 = fmax(sb.y1, m->shape.pt[i].y * ky);
	}
	double ax = (c->box.x0 + c->box.x1) / 2, ay;
	if (m->anchor == AT_RIGHT_FOOT) {
		ax = -1e9;
		for (size_t i = 0; i < c->n_letter; i++)
			for (size_t j = 0; j < c->p.v[i].n; j++) {
				struct engrave_pt q = c->p.v[i].pts[j];
				if (q.y < c->box.y0 + 0.01 && q.x > ax)
					ax = q.x;
			}
	}
	if (m->anchor == AT_STEM_TOP) {
		double ty = -1e9;
		for (size_t i = 0; i < c->n_letter; i++)
			for (size_t j = 0; j < c->p.v[i].n; j++)
				if (c->p.v[i].pts[j].y > ty) {
					ty = c->p.v[i].pts[j].y;
					ax = c->p.v[i].pts[j].x + 0.1;
				}
		ay = ty - sb.y1;
	} else if (m->side > 0) {
		/* Capitals and ascenders keep their marks closer, and a mark on
		 * a mark closer still, so that two stay within the line. */
		double gap = c->above ? STACK_GAP : tall ? TALL_GAP : m->gap;
		ay = c->top + fmin(gap, m->gap);
	} else {
		ay = c->bottom - m->gap;
	}
	double t = ay + sb.y1, b = ay + sb.y0;
	if (t > LINE_TOP || b < LINE_BOTTOM)
		return false;
	add_shape(&c->p, m->shape, ax, ay, ky);
	if (m->side > 0) {
		c->top = fmax(c->top, t);
		c->above++;
	} else {
		c->bottom = fmin(c->bottom, b);
	}
	widen(c, (struct engrave_bbox){ ax + sb.x0, b, ax + sb.x1, t });
	return true;
}

/* Composes a cluster into c (to free); drawable[i] says whether each of
 * its code points could be drawn. Returns true when all could. */
static bool
compose(const uint32_t *cps, size_t n, struct comp *c, bool *drawable)
{
	memset(c, 0, sizeof(*c));
	uint32_t dmarks[MAX_DECOMP];
	size_t nd = 0;
	size_t first = 1;
	bool all = true;
	if (engrave_hershey_is_mark(cps[0])) {
		/* a mark starting a line stands over a space */
		first = 0;
		letter(' ', c, dmarks, &nd, 0);
	} else {
		drawable[0] = letter(cps[0], c, dmarks, &nd, 0);
		if (!drawable[0]) {
			/* the marks after it are still checked, over a space */
			engrave_paths_free(&c->p);
			memset(c, 0, sizeof(*c));
			nd = 0;
			letter(' ', c, dmarks, &nd, 0);
			all = false;
		}
	}
	letter_done(c);
	for (size_t i = 0; i < nd; i++)
		if (!place_mark(c, dmarks[i]))
			drawable[0] = all = false;
	for (size_t i = first; i < n; i++) {
		drawable[i] = place_mark(c, cps[i]);
		all = all && drawable[i];
	}
	return all;
}

bool
engrave_hershey_is_mark(uint32_t cp)
{
	hb_unicode_general_category_t gc =
	    hb_unicode_general_category(hb_unicode_funcs_get_default(), cp);
	return gc == HB_UNICODE_GENERAL_CATEGORY_NON_SPACING_MARK ||
	    gc == HB_UNICODE_GENERAL_CATEGORY_SPACING_MARK ||
	    gc == HB_UNICODE_GENERAL_CATEGORY_ENCLOSING_MARK;
}

bool
engrave_hershey_check(const uint32_t *cps, size_t n, bool *drawable)
{
	struct comp c;
	bool all = compose(cps, n, &c, drawable);
	engrave_paths_free(&c.p);
	return all;
}

double
engrave_hershey_draw(const uint32_t *cps, size_t n, double x, struct engrave_paths *out)
{
	struct comp c;
	bool *drawable = xmalloc(n * sizeof(*drawable));
	compose(cps, n, &c, drawable);
	free(drawable);
	x += -c.left;
	for (size_t k = 0; k < c.p.n; k++) {
		const struct engrave_poly *q = &c.p.v[k];
		struct engrave_poly *d = engrave_paths_new_poly(out);
		for (size_t j = 0; j < q->n; j++)
			engrave_poly_add(d, x + q->pts[j].x, q->pts[j].y);
	}
	x += c.right;
	engrave_paths_free(&c.p);
	return x;
}
