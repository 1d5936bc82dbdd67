/*
 * The single-stroke font (--fill stroke): a Hershey font read from its JHF
 * file (hershey-fonts-data), whose glyphs are open strokes the laser
 * follows once instead of outlines it fills. The font is ASCII; the text
 * layout asks here which characters can be drawn and draws them, a letter
 * and the combining marks that follow it at a time.
 *
 * The font is loaded once and cached, for one thread like the outline
 * fonts of engrave_text.c.
 */
#include "engrave/engrave_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

bool
engrave_hershey_is_mark(uint32_t cp)
{
	(void)cp;
	return false;
}

bool
engrave_hershey_check(const uint32_t *cps, size_t n, bool *drawable)
{
	bool all = true;
	for (size_t i = 0; i < n; i++) {
		drawable[i] = glyph(cps[i]) != NULL;
		all = all && drawable[i];
	}
	return all;
}

double
engrave_hershey_draw(const uint32_t *cps, size_t n, double x, struct engrave_paths *out)
{
	for (size_t i = 0; i < n; i++) {
		const struct hershey_glyph *g = glyph(cps[i]);
		if (!g)
			continue;
		x += -g->left;
		for (size_t k = 0; k < g->strokes.n; k++) {
			const struct engrave_poly *q = &g->strokes.v[k];
			struct engrave_poly *d = engrave_paths_new_poly(out);
			for (size_t j = 0; j < q->n; j++)
				engrave_poly_add(d, x + q->pts[j].x, q->pts[j].y);
		}
		x += g->right;
	}
	return x;
}
