/*
 * Text layout for engraving: UTF-8 decoding, a font per character from the
 * configured fallback chain of its script, the line's embedding levels from
 * FriBidi (the whole Unicode Bidirectional Algorithm, as pango uses it),
 * runs split by font, script, language and level and put in visual order,
 * HarfBuzz shaping of each run and FreeType outlines flattened to
 * polylines; or, in single-stroke mode, the Hershey font's strokes
 * (engrave_hershey.c).
 *
 * Fonts are loaded once and cached (FreeType face, HarfBuzz font and the
 * flattened glyph outlines); the cache is for one thread, the daemon's
 * main loop or a command-line run.
 */
#include "engrave/engrave_int.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_OUTLINE_H
#include <hb.h>
#include <fribidi.h>

#include "util.h"

/* ---- UTF-8 ---------------------------------------------------------------- */

size_t
engrave_utf8_decode(const unsigned char *p, size_t left, uint32_t *cp)
{
	if (left == 0)
		return 0;
	uint32_t c = p[0];
	size_t n;
	uint32_t min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xE0) == 0xC0) {
		n = 2; c &= 0x1F; min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		n = 3; c &= 0x0F; min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		n = 4; c &= 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return n;
}

/* ---- fonts ---------------------------------------------------------------- */

struct glyph_entry {
	uint32_t gid;               /* UINT32_MAX = empty slot */
	double tol;
	struct engrave_paths paths; /* em units */
};

struct font {
	char *spec;
	FT_Face face;
	hb_font_t *hb;
	double upem;
	struct glyph_entry *glyphs;
	size_t n_glyphs, cap_glyphs;
	bool failed;
	bool bitmap;                /* glyphs are pictures (colour emoji): nothing to burn */
};

static struct {
	FT_Library ft;
	bool ft_ok;
	struct font **fonts;        /* pointers: chars keep them across growth */
	size_t n_fonts;
} cache;

static void
glyphs_free(struct font *f)
{
	for (size_t i = 0; i < f->cap_glyphs; i++)
		if (f->glyphs[i].gid != UINT32_MAX)
			engrave_paths_free(&f->glyphs[i].paths);
	free(f->glyphs);
	f->glyphs = NULL;
	f->n_glyphs = f->cap_glyphs = 0;
}

void
engrave_cache_clear(void)
{
	for (size_t i = 0; i < cache.n_fonts; i++) {
		struct font *f = cache.fonts[i];
		glyphs_free(f);
		if (f->hb)
			hb_font_destroy(f->hb);
		if (f->face)
			FT_Done_Face(f->face);
		free(f->spec);
		free(f);
	}
	free(cache.fonts);
	cache.fonts = NULL;
	cache.n_fonts = 0;
	engrave_hershey_clear();
	if (cache.ft_ok)
		FT_Done_FreeType(cache.ft);
	cache.ft_ok = false;
}

/* Returns the loaded font for "path[:index]", or NULL when it cannot be
 * loaded (remembered, so a missing file is tried once). */
static struct font *
font_get(const char *spec)
{
	for (size_t i = 0; i < cache.n_fonts; i++)
		if (strcmp(cache.fonts[i]->spec, spec) == 0)
			return cache.fonts[i]->failed ? NULL : cache.fonts[i];
	if (!cache.ft_ok) {
		if (FT_Init_FreeType(&cache.ft) != 0)
			return NULL;
		cache.ft_ok = true;
	}
	cache.fonts = xrealloc(cache.fonts, (cache.n_fonts + 1) * sizeof(*cache.fonts));
	struct font *f = xcalloc(1, sizeof(*f));
	cache.fonts[cache.n_fonts++] = f;
	f->spec = xstrdup(spec);
	char *path = xstrdup(spec);
	long index = 0;
	char *colon = strrchr(path, ':');
	if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
		index = strtol(colon + 1, NULL, 10);
		*colon = 0;
	}
	if (FT_New_Face(cache.ft, path, index, &f->face) != 0) {
		if (f->face)
			FT_Done_Face(f->face);
		f->face = NULL;
		f->failed = true;
		free(path);
		return NULL;
	}
	hb_blob_t *blob = hb_blob_create_from_file_or_fail(path);
	free(path);
	if (!blob) {
		f->failed = true;
		FT_Done_Face(f->face);
		f->face = NULL;
		return NULL;
	}
	hb_face_t *hf = hb_face_create(blob, (unsigned)index);
	hb_blob_destroy(blob);
	f->hb = hb_font_create(hf);
	hb_face_destroy(hf);
	/* A bitmap face loads but is never chosen: a laser burns outlines. */
	f->bitmap = !FT_IS_SCALABLE(f->face);
	f->upem = f->face->units_per_EM ? f->face->units_per_EM : 1000;
	hb_font_set_scale(f->hb, (int)f->upem, (int)f->upem);
	return f;
}

struct decompose {
	struct engrave_paths *out;
	struct engrave_poly *cur;
	double tol;                 /* font units */
	double x, y;
	double k;                   /* font units to em */
};

static void
dc_point(struct decompose *d, double x, double y)
{
	if (!d->cur)
		d->cur = engrave_paths_new_poly(d->out);
	engrave_poly_add(d->cur, x * d->k, y * d->k);
	d->x = x;
	d->y = y;
}

static void
dc_close(struct decompose *d)
{
	if (d->cur && d->cur->n > 2) {
		struct engrave_pt f = d->cur->pts[0], l = d->cur->pts[d->cur->n - 1];
		if (f.x != l.x || f.y != l.y)
			engrave_poly_add(d->cur, f.x, f.y);
		d->cur->closed = true;
	} else if (d->cur) {
		d->cur->n = 0;  /* degenerate contour: dropped by the ordering */
	}
	d->cur = NULL;
}

static int
dc_move(const FT_Vector *to, void *u)
{
	struct decompose *d = u;
	dc_close(d);
	dc_point(d, (double)to->x, (double)to->y);
	return 0;
}

static int
dc_line(const FT_Vector *to, void *u)
{
	dc_point(u, (double)to->x, (double)to->y);
	return 0;
}

static int
nsegs(double dev, double tol)
{
	double n = ceil(sqrt(dev / tol));
	return n < 1 ? 1 : n > 200 ? 200 : (int)n;
}

static int
dc_conic(const FT_Vector *c, const FT_Vector *to, void *u)
{
	struct decompose *d = u;
	double x0 = d->x, y0 = d->y, x1 = (double)c->x, y1 = (double)c->y;
	double x2 = (double)to->x, y2 = (double)to->y;
	int n = nsegs(hypot(x0 - 2 * x1 + x2, y0 - 2 * y1 + y2) / 4, d->tol);
	for (int i = 1; i <= n; i++) {
		double t = (double)i / n, v = 1 - t;
		dc_point(d, v * v * x0 + 2 * v * t * x1 + t * t * x2, v * v * y0 + 2 * v * t * y1 + t * t * y2);
	}
	return 0;
}

static int
dc_cubic(const FT_Vector *c1, const FT_Vector *c2, const FT_Vector *to, void *u)
{
	struct decompose *d = u;
	double x0 = d->x, y0 = d->y, x1 = (double)c1->x, y1 = (double)c1->y;
	double x2 = (double)c2->x, y2 = (double)c2->y, x3 = (double)to->x, y3 = (double)to->y;
	double e1 = hypot(x0 - 2 * x1 + x2, y0 - 2 * y1 + y2);
	double e2 = hypot(x1 - 2 * x2 + x3, y1 - 2 * y2 + y3);
	int n = nsegs(0.75 * (e1 > e2 ? e1 : e2), d->tol);
	for (int i = 1; i <= n; i++) {
		double t = (double)i / n, v = 1 - t;
		double a = v * v * v, b = 3 * v * v * t, cc = 3 * v * t * t, dd = t * t * t;
		dc_point(d, a * x0 + b * x1 + cc * x2 + dd * x3, a * y0 + b * y1 + cc * y2 + dd * y3);
	}
	return 0;
}

/* The glyph's contours in em units, flattened to tol_em; cached. */
static const struct engrave_paths *
glyph_outline(struct font *f, uint32_t gid, double tol_em)
{
	if (f->n_glyphs * 2 >= f->cap_glyphs) {
		size_t ncap = f->cap_glyphs ? f->cap_glyphs * 2 : 256;
		struct glyph_entry *ng = xmalloc(ncap * sizeof(*ng));
		for (size_t i = 0; i < ncap; i++)
			ng[i].gid = UINT32_MAX;
		for (size_t i = 0; i < f->cap_glyphs; i++) {
			if (f->glyphs[i].gid == UINT32_MAX)
				continue;
			size_t h = (f->glyphs[i].gid * 2654435761u) & (ncap - 1);
			while (ng[h].gid != UINT32_MAX)
				h = (h + 1) & (ncap - 1);
			ng[h] = f->glyphs[i];
		}
		free(f->glyphs);
		f->glyphs = ng;
		f->cap_glyphs = ncap;
	}
	size_t h = (gid * 2654435761u) & (f->cap_glyphs - 1);
	while (f->glyphs[h].gid != UINT32_MAX && f->glyphs[h].gid != gid)
		h = (h + 1) & (f->cap_glyphs - 1);
	struct glyph_entry *e = &f->glyphs[h];
	/* A cached outline is good if it was flattened at least as finely. */
	if (e->gid == gid && e->tol <= tol_em * 1.0001)
		return &e->paths;
	if (e->gid == gid) {
		engrave_paths_free(&e->paths);
	} else {
		e->gid = gid;
		f->n_glyphs++;
	}
	e->tol = tol_em;
	engrave_paths_init(&e->paths);
	if (FT_Load_Glyph(f->face, gid, FT_LOAD_NO_SCALE | FT_LOAD_NO_HINTING | FT_LOAD_NO_BITMAP) != 0 ||
	    f->face->glyph->format != FT_GLYPH_FORMAT_OUTLINE)
		return &e->paths;
	static const FT_Outline_Funcs funcs = { dc_move, dc_line, dc_conic, dc_cubic, 0, 0 };
	struct decompose d = { .out = &e->paths, .tol = tol_em * f->upem, .k = 1.0 / f->upem };
	FT_Outline_Decompose(&f->face->glyph->outline, &funcs, &d);
	dc_close(&d);
	/* TrueType fills clockwise contours, PostScript counter-clockwise
	 * ones: turn them all the PostScript way, so that overlapping glyphs
	 * of different fonts add up in the union instead of cancelling. */
	if (FT_Outline_Get_Orientation(&f->face->glyph->outline) == FT_ORIENTATION_TRUETYPE)
		for (size_t q = 0; q < e->paths.n; q++) {
			struct engrave_poly *c = &e->paths.v[q];
			for (size_t i = 0, j = c->n ? c->n - 1 : 0; i < j; i++, j--) {
				struct engrave_pt t = c->pts[i];
				c->pts[i] = c->pts[j];
				c->pts[j] = t;
			}
		}
	return &e->paths;
}

/* ---- failures --------------------------------------------------------------- */

enum engrave_status
engrave_fail(struct engrave_result *res, enum engrave_status st, const char *fmt, ...)
{
	va_list ap;
	char msg[512];
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	free(res->error);
	res->error = xstrdup(msg);
	res->status = st;
	return st;
}

static void
add_missing(struct engrave_result *res, uint32_t cp, size_t pos, size_t line)
{
	res->missing = xrealloc(res->missing, (res->n_missing + 1) * sizeof(*res->missing));
	res->missing[res->n_missing++] = (struct engrave_missing){ cp, pos, line };
}

/* ---- layout ----------------------------------------------------------------- */

struct ch {
	uint32_t cp;
	hb_script_t script;         /* for fonts and shaping: a neighbour's when it has none */
	hb_script_t real;           /* its own, for messages (Zyyy for digits, emoji) */
	const char *lang;           /* the client's, or inferred (CJK) */
	struct font *font;
	bool emoji;
	size_t pos;                 /* character index in the whole text */
};

static const struct engrave_font_chain *
chain_find(const struct engrave_settings *s, const char *key)
{
	for (const struct engrave_font_chain *c = s->fonts; c && c->key; c++)
		if (strcmp(c->key, key) == 0)
			return c;
	return NULL;
}

/* The first font of the chains that has cp: the emoji chain for emoji,
 * then the script's chain for the language (in full, "Hani:zh-TW", then
 * its first two letters), the script's, and "*". *unloadable is set to the
 * first configured font that could not be loaded on the way. */
static struct font *
font_for(const struct engrave_settings *s, hb_script_t script, const char *lang, uint32_t cp,
    bool emoji, struct font *prefer, const char **unloadable)
{
	if (prefer && !prefer->bitmap && FT_Get_Char_Index(prefer->face, cp))
		return prefer;
	char tag[5], key[48];
	hb_tag_to_string(hb_script_to_iso15924_tag(script), tag);
	tag[4] = 0;
	const struct engrave_font_chain *chains[5] = { NULL, NULL, NULL, NULL, NULL };
	if (emoji)
		chains[0] = chain_find(s, "Zsye");
	if (lang && *lang) {
		snprintf(key, sizeof(key), "%s:%s", tag, lang);
		chains[1] = chain_find(s, key);
		char l2[3] = { lang[0], lang[1] ? lang[1] : 0, 0 };
		snprintf(key, sizeof(key), "%s:%s", tag, l2);
		chains[2] = chain_find(s, key);
	}
	chains[3] = chain_find(s, tag);
	chains[4] = chain_find(s, "*");
	for (int c = 0; c < 5; c++) {
		if (!chains[c])
			continue;
		for (const char *const *f = chains[c]->fonts; *f; f++) {
			struct font *ft = font_get(*f);
			if (!ft && !*unloadable)
				*unloadable = *f;
			if (ft && !ft->bitmap && FT_Get_Char_Index(ft->face, cp))
				return ft;
		}
	}
	return NULL;
}

static bool
is_mark_or_joiner(uint32_t cp, hb_unicode_funcs_t *uf)
{
	hb_unicode_general_category_t gc = hb_unicode_general_category(uf, cp);
	return gc == HB_UNICODE_GENERAL_CATEGORY_NON_SPACING_MARK ||
	    gc == HB_UNICODE_GENERAL_CATEGORY_SPACING_MARK ||
	    gc == HB_UNICODE_GENERAL_CATEGORY_ENCLOSING_MARK || cp == 0x200D || cp == 0x200C ||
	    (cp >= 0xFE00 && cp <= 0xFE0F);
}

/* Characters shown as emoji by default (Unicode's Emoji_Presentation):
 * the pictographs of the supplementary planes and the few of the BMP.
 * Symbols shown as text by default (❤ U+2764) stay with the text's fonts. */
static bool
is_emoji(uint32_t cp)
{
	static const uint32_t bmp[][2] = {
		{ 0x231A, 0x231B }, { 0x23E9, 0x23EC }, { 0x23F0, 0x23F0 }, { 0x23F3, 0x23F3 },
		{ 0x25FD, 0x25FE }, { 0x2614, 0x2615 }, { 0x2648, 0x2653 }, { 0x267F, 0x267F },
		{ 0x2693, 0x2693 }, { 0x26A1, 0x26A1 }, { 0x26AA, 0x26AB }, { 0x26BD, 0x26BE },
		{ 0x26C4, 0x26C5 }, { 0x26CE, 0x26CE }, { 0x26D4, 0x26D4 }, { 0x26EA, 0x26EA },
		{ 0x26F2, 0x26F3 }, { 0x26F5, 0x26F5 }, { 0x26FA, 0x26FA }, { 0x26FD, 0x26FD },
		{ 0x2705, 0x2705 }, { 0x270A, 0x270B }, { 0x2728, 0x2728 }, { 0x274C, 0x274C },
		{ 0x274E, 0x274E }, { 0x2753, 0x2755 }, { 0x2757, 0x2757 }, { 0x2795, 0x2797 },
		{ 0x27B0, 0x27B0 }, { 0x27BF, 0x27BF }, { 0x2B1B, 0x2B1C }, { 0x2B50, 0x2B50 },
		{ 0x2B55, 0x2B55 },
	};
	if (cp >= 0x1F000 && cp <= 0x1FAFF)
		return !(cp >= 0x1F100 && cp <= 0x1F1E5);  /* enclosed alphanumerics are text */
	for (size_t i = 0; i < ARRAY_LEN(bmp); i++)
		if (cp >= bmp[i][0] && cp <= bmp[i][1])
			return true;
	return false;
}

struct run {
	size_t a, b;                /* [a, b) in the line's characters */
	int level;
};

/* Appends the characters of glyph clusters to the line's visual order:
 * a cluster's characters in the run's own direction. */
static void
visual_append(struct engrave_line *out, const hb_glyph_info_t *gi, unsigned gn, size_t a,
    size_t b, bool rtl)
{
	for (unsigned g = 0; g < gn; g++) {
		size_t cl = gi[g].cluster;
		if (g && gi[g - 1].cluster == cl)
			continue;
		/* The cluster runs to the next larger cluster value in the run. */
		size_t end = b;
		for (unsigned k = 0; k < gn; k++)
			if (gi[k].cluster > cl && gi[k].cluster < end)
				end = gi[k].cluster;
		if (cl < a || end > b)
			continue;
		for (size_t k = 0; k < end - cl; k++)
			out->visual[out->n_visual++] = rtl ? end - 1 - k : cl + k;
	}
}

static void
shape_line(struct ch *c, size_t n, bool hershey, double tol_em, struct engrave_line *out)
{
	engrave_paths_init(&out->paths);
	out->advance = 0;
	out->visual = xmalloc((n + 1) * sizeof(*out->visual));
	out->n_visual = 0;
	out->glyphs = NULL;
	out->n_glyphs = 0;
	if (n == 0)
		return;
	if (hershey) {
		/* A letter and the combining marks after it are drawn together. */
		uint32_t *cps = xmalloc(n * sizeof(*cps));
		double x = 0;
		for (size_t i = 0; i < n;) {
			size_t j = i + 1;
			while (j < n && engrave_hershey_is_mark(c[j].cp))
				j++;
			for (size_t k = i; k < j; k++)
				cps[k - i] = c[k].cp;
			x = engrave_hershey_draw(cps, j - i, x, &out->paths);
			i = j;
		}
		free(cps);
		for (size_t i = 0; i < n; i++)
			out->visual[out->n_visual++] = i;
		out->advance = x;
		return;
	}
	/* Levels by the Unicode Bidirectional Algorithm (FriBidi): the
	 * paragraph's direction from its first strong character (P2, P3),
	 * weak types resolved so that separators between digits join the
	 * number (W1-W7), brackets paired (N0), neutrals (N1, N2), and
	 * whitespace at the line's end reset (L1). A line is a paragraph. */
	FriBidiChar *cps = xmalloc(n * sizeof(*cps));
	for (size_t i = 0; i < n; i++)
		cps[i] = c[i].cp;
	FriBidiCharType *types = xmalloc(n * sizeof(*types));
	FriBidiBracketType *brackets = xmalloc(n * sizeof(*brackets));
	FriBidiLevel *levels = xmalloc(n * sizeof(*levels));
	FriBidiParType dir = FRIBIDI_PAR_ON;
	fribidi_get_bidi_types(cps, (FriBidiStrIndex)n, types);
	fribidi_get_bracket_types(cps, (FriBidiStrIndex)n, types, brackets);
	if (!fribidi_get_par_embedding_levels_ex(types, brackets, (FriBidiStrIndex)n, &dir, levels) ||
	    !fribidi_reorder_line(0, types, (FriBidiStrIndex)n, 0, dir, levels, NULL, NULL))
		memset(levels, 0, n * sizeof(*levels));  /* only on allocation failure inside FriBidi */
	free(brackets);
	free(types);
	/* Runs of one font, script, language and level. */
	struct run *runs = xmalloc(n * sizeof(*runs));
	size_t nr = 0;
	for (size_t i = 0; i < n; i++) {
		const struct ch *f = nr ? &c[runs[nr - 1].a] : NULL;
		if (f && c[i].font == f->font && c[i].script == f->script && c[i].lang == f->lang &&
		    levels[i] == runs[nr - 1].level) {
			runs[nr - 1].b = i + 1;
			continue;
		}
		runs[nr++] = (struct run){ i, i + 1, levels[i] };
	}
	free(levels);
	/* UAX #9 rule L2: from the highest level down to the lowest odd level,
	 * reverse every maximal sequence of runs at that level or above. */
	int maxl = 0;
	for (size_t r = 0; r < nr; r++)
		if (runs[r].level > maxl)
			maxl = runs[r].level;
	for (int l = maxl; l >= 1; l--)
		for (size_t r = 0; r < nr;) {
			if (runs[r].level < l) {
				r++;
				continue;
			}
			size_t e = r;
			while (e < nr && runs[e].level >= l)
				e++;
			for (size_t a = r, b = e - 1; a < b; a++, b--) {
				struct run t = runs[a];
				runs[a] = runs[b];
				runs[b] = t;
			}
			r = e;
		}
	hb_buffer_t *buf = hb_buffer_create();
	double x = 0;
	for (size_t r = 0; r < nr; r++) {
		const struct ch *f = &c[runs[r].a];
		bool rtl = runs[r].level & 1;
		hb_buffer_clear_contents(buf);
		hb_buffer_add_utf32(buf, cps, (int)n, (unsigned)runs[r].a, (int)(runs[r].b - runs[r].a));
		/* HarfBuzz mirrors brackets in a right-to-left run (rule L4). */
		hb_buffer_set_direction(buf, rtl ? HB_DIRECTION_RTL : HB_DIRECTION_LTR);
		hb_buffer_set_script(buf, f->script);
		if (f->lang && *f->lang)
			hb_buffer_set_language(buf, hb_language_from_string(f->lang, -1));
		hb_buffer_guess_segment_properties(buf);
		hb_shape(f->font->hb, buf, NULL, 0);
		unsigned gn = 0;
		hb_glyph_info_t *gi = hb_buffer_get_glyph_infos(buf, &gn);
		hb_glyph_position_t *gp = hb_buffer_get_glyph_positions(buf, &gn);
		visual_append(out, gi, gn, runs[r].a, runs[r].b, rtl);
		/* Kept for comparing with hb-shape, HarfBuzz's own tool. */
		out->glyphs = xrealloc(out->glyphs, (out->n_glyphs + gn + 1) * sizeof(*out->glyphs));
		for (unsigned g = 0; g < gn; g++)
			out->glyphs[out->n_glyphs++] = gi[g].codepoint;
		double k = 1.0 / f->font->upem;
		for (unsigned g = 0; g < gn; g++) {
			const struct engrave_paths *o = glyph_outline(f->font, gi[g].codepoint, tol_em);
			double ox = x + gp[g].x_offset * k, oy = gp[g].y_offset * k;
			for (size_t q = 0; q < o->n; q++) {
				if (o->v[q].n == 0)
					continue;
				struct engrave_poly *d = engrave_paths_new_poly(&out->paths);
				d->closed = o->v[q].closed;
				d->n = d->cap = o->v[q].n;
				d->pts = xmalloc(d->n * sizeof(*d->pts));
				for (size_t j = 0; j < d->n; j++) {
					d->pts[j].x = o->v[q].pts[j].x + ox;
					d->pts[j].y = o->v[q].pts[j].y + oy;
				}
			}
			x += gp[g].x_advance * k;
		}
	}
	hb_buffer_destroy(buf);
	free(cps);
	free(runs);
	out->advance = x;
}

void
engrave_lines_free(struct engrave_line *lines, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		engrave_paths_free(&lines[i].paths);
		free(lines[i].visual);
		free(lines[i].glyphs);
	}
	free(lines);
}

/* Without a language from the client, a stretch of CJK text (ideographs,
 * kana, hangul and what lies between them) is Japanese when it has kana and
 * Korean when it has hangul, so that its ideographs come from the face drawn
 * for that language rather than the Simplified Chinese one. */
static void
infer_cjk_lang(struct ch *c, size_t n)
{
	for (size_t i = 0; i < n;) {
		hb_script_t sc = c[i].script;
		bool cjk = sc == HB_SCRIPT_HAN || sc == HB_SCRIPT_HIRAGANA || sc == HB_SCRIPT_KATAKANA ||
		    sc == HB_SCRIPT_HANGUL || sc == HB_SCRIPT_BOPOMOFO;
		if (!cjk || c[i].cp == '\n') {
			i++;
			continue;
		}
		size_t j = i;
		bool kana = false, hangul = false;
		for (; j < n && c[j].cp != '\n'; j++) {
			hb_script_t t = c[j].script;
			if (t != HB_SCRIPT_HAN && t != HB_SCRIPT_HIRAGANA && t != HB_SCRIPT_KATAKANA &&
			    t != HB_SCRIPT_HANGUL && t != HB_SCRIPT_BOPOMOFO)
				break;
			kana = kana || c[j].real == HB_SCRIPT_HIRAGANA || c[j].real == HB_SCRIPT_KATAKANA;
			hangul = hangul || c[j].real == HB_SCRIPT_HANGUL;
		}
		const char *l = kana ? "ja" : hangul ? "ko" : NULL;
		for (size_t k = i; k < j; k++)
			c[k].lang = l;
		i = j;
	}
}

static const char *
script_name(hb_script_t sc, char tag[5])
{
	hb_tag_to_string(hb_script_to_iso15924_tag(sc), tag);
	tag[4] = 0;
	return tag;
}

enum engrave_status
engrave_text_layout(const struct engrave_settings *s, const char *text, const char *lang,
    bool hershey, double tol_em, struct engrave_line **lines_out, size_t *n_lines,
    struct engrave_result *res)
{
	*lines_out = NULL;
	*n_lines = 0;
	if (!text)
		return engrave_fail(res, ENGRAVE_ERR_INPUT, "no text given");
	size_t len = strlen(text);
	/* Decode everything first: a bad byte anywhere refuses the whole text. */
	struct ch *chars = xmalloc((len + 1) * sizeof(*chars));
	size_t n = 0, visible = 0;
	hb_unicode_funcs_t *uf = hb_unicode_funcs_get_default();
	for (size_t off = 0; off < len;) {
		uint32_t cp;
		size_t l = engrave_utf8_decode((const unsigned char *)text + off, len - off, &cp);
		if (l == 0) {
			free(chars);
			return engrave_fail(res, ENGRAVE_ERR_INPUT,
			    "the text is not valid UTF-8 (byte %zu, value 0x%02X)", off,
			    (unsigned)(unsigned char)text[off]);
		}
		if ((cp < 0x20 && cp != '\n') || (cp >= 0x7F && cp < 0xA0)) {
			free(chars);
			return engrave_fail(res, ENGRAVE_ERR_INPUT,
			    "control character U+%04X at character %zu cannot be engraved", cp, n + 1);
		}
		chars[n].cp = cp;
		chars[n].pos = n;
		chars[n].script = chars[n].real = hb_unicode_script(uf, cp);
		chars[n].emoji = is_emoji(cp);
		chars[n].lang = lang && *lang ? lang : NULL;
		chars[n].font = NULL;
		if (cp != '\n' && cp != ' ')
			visible++;
		n++;
		off += l;
	}
	if (visible == 0) {
		free(chars);
		return engrave_fail(res, ENGRAVE_ERR_INPUT, "the text is empty");
	}
	if (n > s->max_chars) {
		free(chars);
		return engrave_fail(res, ENGRAVE_ERR_INPUT,
		    "the text has %zu characters; at most %zu can be engraved", n, s->max_chars);
	}
	if (hershey) {
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", s->hershey_dir, s->hershey_font);
		if (engrave_hershey_load(path) < 0) {
			free(chars);
			return engrave_fail(res, ENGRAVE_ERR_FONT,
			    "the single-stroke font %s cannot be read", path);
		}
	}
	/* Characters of no script (spaces, punctuation, digits) and marks take
	 * the script of what precedes them, or of what follows at the start. */
	hb_script_t last = HB_SCRIPT_COMMON;
	for (size_t i = 0; i < n; i++) {
		if (chars[i].cp == '\n') {
			last = HB_SCRIPT_COMMON;
			continue;
		}
		if (chars[i].script == HB_SCRIPT_COMMON || chars[i].script == HB_SCRIPT_INHERITED ||
		    chars[i].script == HB_SCRIPT_UNKNOWN)
			chars[i].script = last;
		else
			last = chars[i].script;
	}
	last = HB_SCRIPT_COMMON;
	for (size_t i = n; i-- > 0;) {
		if (chars[i].cp == '\n') {
			last = HB_SCRIPT_COMMON;
			continue;
		}
		if (chars[i].script == HB_SCRIPT_COMMON)
			chars[i].script = last;
		else
			last = chars[i].script;
	}
	for (size_t i = 0; i < n; i++)
		if (chars[i].script == HB_SCRIPT_COMMON)
			chars[i].script = HB_SCRIPT_LATIN;
	if (!lang || !*lang)
		infer_cjk_lang(chars, n);
	/* A font per character, preferring the previous character's font so
	 * that spaces and marks stay in their word's run. */
	size_t line = 1;
	struct font *prev = NULL;
	const char *unloadable = NULL;
	uint32_t *cps = hershey ? xmalloc(n * sizeof(*cps)) : NULL;
	bool *drawable = hershey ? xmalloc(n * sizeof(*drawable)) : NULL;
	for (size_t i = 0; i < n; i++) {
		if (chars[i].cp == '\n') {
			line++;
			prev = NULL;
			continue;
		}
		if (hershey) {
			size_t j = i + 1;
			while (j < n && engrave_hershey_is_mark(chars[j].cp))
				j++;
			for (size_t k = i; k < j; k++)
				cps[k - i] = chars[k].cp;
			engrave_hershey_check(cps, j - i, drawable);
			for (size_t k = i; k < j; k++)
				if (!drawable[k - i])
					add_missing(res, chars[k].cp, k, line);
			i = j - 1;
			continue;
		}
		bool attach = is_mark_or_joiner(chars[i].cp, uf) || chars[i].cp == ' ';
		chars[i].font = font_for(s, chars[i].script, chars[i].lang, chars[i].cp, chars[i].emoji,
		    attach ? prev : NULL, &unloadable);
		if (!chars[i].font && attach && prev)
			chars[i].font = prev;  /* the shaper handles a mark the font lacks */
		if (!chars[i].font)
			add_missing(res, chars[i].cp, i, line);
		else
			prev = chars[i].font;
	}
	free(cps);
	free(drawable);
	if (res->n_missing && unloadable) {
		/* Not the client's text: the bench lacks a configured font. */
		free(res->missing);
		res->missing = NULL;
		res->n_missing = 0;
		free(chars);
		return engrave_fail(res, ENGRAVE_ERR_FONT,
		    "the configured font %s cannot be loaded (install the Debian package that "
		    "ships it, or fix engrave.fonts)", unloadable);
	}
	if (res->n_missing) {
		struct buf b;
		buf_init(&b);
		buf_printf(&b, "%s for ", hershey ? "the single-stroke font has no glyph" :
		    "no configured font has a glyph");
		for (size_t i = 0; i < res->n_missing && i < 8; i++) {
			const struct engrave_missing *m = &res->missing[i];
			char utf[8] = { 0 };
			uint32_t cp = m->codepoint;
			/* echo the character itself, UTF-8 encoded */
			if (cp < 0x80) {
				utf[0] = (char)cp;
			} else if (cp < 0x800) {
				utf[0] = (char)(0xC0 | (cp >> 6)); utf[1] = (char)(0x80 | (cp & 0x3F));
			} else if (cp < 0x10000) {
				utf[0] = (char)(0xE0 | (cp >> 12)); utf[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
				utf[2] = (char)(0x80 | (cp & 0x3F));
			} else {
				utf[0] = (char)(0xF0 | (cp >> 18)); utf[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
				utf[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); utf[3] = (char)(0x80 | (cp & 0x3F));
			}
			char tag[5];
			const struct ch *ch = &chars[m->position];
			buf_printf(&b, "%sU+%04X '%s' (%s%s) at character %zu, line %zu", i ? "; " : "",
			    cp, utf, script_name(ch->real, tag), ch->emoji ? ", emoji" : "",
			    m->position + 1, m->line);
		}
		if (res->n_missing > 8)
			buf_printf(&b, "; and %zu more", res->n_missing - 8);
		bool emoji = false;
		for (size_t i = 0; i < res->n_missing; i++)
			emoji = emoji || chars[res->missing[i].position].emoji;
		if (emoji && !hershey)
			buf_printf(&b, "; an emoji is engraved only from an outline font (fonts-symbola: "
			    "Symbola), never from a colour one such as Noto Color Emoji");
		if (hershey) {
			/* Say why when no choice of letters would help: the script
			 * itself has no single-stroke font. */
			hb_script_t told[4];
			size_t nt = 0;
			for (size_t i = 0; i < res->n_missing; i++) {
				hb_script_t sc = chars[res->missing[i].position].script;
				bool seen = sc == HB_SCRIPT_LATIN;
				for (size_t k = 0; k < nt && !seen; k++)
					seen = told[k] == sc;
				if (seen || nt == ARRAY_LEN(told))
					continue;
				told[nt++] = sc;
				char tag[5];
				buf_printf(&b, "%s%s", nt == 1 ? "; single stroke has no font for " : ", ",
				    script_name(sc, tag));
			}
			if (nt)
				buf_printf(&b, " (it draws Latin letters only): engrave %s as outline or hatch",
				    nt == 1 ? "it" : "them");
		}
		enum engrave_status st = engrave_fail(res, ENGRAVE_ERR_GLYPH, "%s", b.data);
		buf_free(&b);
		free(chars);
		return st;
	}
	/* Lines. */
	size_t nl = 1;
	for (size_t i = 0; i < n; i++)
		if (chars[i].cp == '\n')
			nl++;
	struct engrave_line *lines = xcalloc(nl, sizeof(*lines));
	size_t start = 0, li = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && chars[i].cp != '\n')
			continue;
		shape_line(chars + start, i - start, hershey, tol_em, &lines[li++]);
		start = i + 1;
	}
	free(chars);
	*lines_out = lines;
	*n_lines = nl;
	return ENGRAVE_OK;
}
