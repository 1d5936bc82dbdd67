/*
 * Engraving text in every script the workshop's clients write: Latin with
 * diacritics, Greek, Cyrillic, Arabic, Hebrew, Devanagari, Chinese,
 * Japanese and Korean, with the Debian fonts of the default chains. Each
 * case checks the geometry against what the script's letters must give
 * (contours of the letters, right-to-left order, joining and reordering
 * done by the shaper, full-width CJK advances), the fit, and the preview;
 * then missing glyphs and the Hershey single-stroke font.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engrave/engrave_int.h"
#include "test.h"
#include "util.h"

static struct engrave_settings S;

/* Lays text out in em units; returns the number of closed contours, or
 * -1 on failure (with the error printed). */
static long
layout(const char *text, const char *lang, bool hershey, struct engrave_line **lines,
    size_t *n)
{
	struct engrave_result res = { 0 };
	enum engrave_status st = engrave_text_layout(&S, text, lang, hershey, 0.002, lines, n, &res);
	if (st != ENGRAVE_OK) {
		printf("  layout of \"%s\": %s\n", text, res.error);
		engrave_result_free(&res);
		return -1;
	}
	engrave_result_free(&res);
	long closed = 0;
	for (size_t l = 0; l < *n; l++)
		for (size_t i = 0; i < (*lines)[l].paths.n; i++)
			closed += (*lines)[l].paths.v[i].closed;
	return closed;
}

static long
contours(const char *text, const char *lang)
{
	struct engrave_line *l;
	size_t n;
	long c = layout(text, lang, false, &l, &n);
	if (c >= 0)
		engrave_lines_free(l, n);
	return c;
}

static double
advance(const char *text, const char *lang)
{
	struct engrave_line *l;
	size_t n;
	if (layout(text, lang, false, &l, &n) < 0)
		return -1;
	double a = l[0].advance;
	engrave_lines_free(l, n);
	return a;
}

/* x of the highest point of the line, as a fraction of its ink width. */
static double
x_of_top(const char *text, const char *lang)
{
	struct engrave_line *l;
	size_t n;
	if (layout(text, lang, false, &l, &n) < 0)
		return -1;
	struct engrave_bbox b = engrave_paths_bbox(&l[0].paths);
	double top = -1e9, x = 0;
	for (size_t i = 0; i < l[0].paths.n; i++)
		for (size_t j = 0; j < l[0].paths.v[i].n; j++)
			if (l[0].paths.v[i].pts[j].y > top) {
				top = l[0].paths.v[i].pts[j].y;
				x = l[0].paths.v[i].pts[j].x;
			}
	engrave_lines_free(l, n);
	return (x - b.x0) / (b.x1 - b.x0);
}

/* Number of contours nested inside the leftmost contour of the line: tells
 * which digit is on the left ("1" has none, "0" its counter). */
static long
nested_in_leftmost(const char *text, const char *lang)
{
	struct engrave_line *l;
	size_t n;
	if (layout(text, lang, false, &l, &n) < 0)
		return -1;
	const struct engrave_paths *p = &l[0].paths;
	struct engrave_bbox lb = { 1e9, 0, 0, 0 };
	for (size_t i = 0; i < p->n; i++) {
		struct engrave_paths one = { &p->v[i], 1, 1 };
		struct engrave_bbox b = engrave_paths_bbox(&one);
		if (b.x0 < lb.x0)
			lb = b;
	}
	long nested = 0;
	for (size_t i = 0; i < p->n; i++) {
		struct engrave_paths one = { &p->v[i], 1, 1 };
		struct engrave_bbox b = engrave_paths_bbox(&one);
		if (b.x0 > lb.x0 && b.x1 < lb.x1 && b.y0 > lb.y0 && b.y1 < lb.y1)
			nested++;
	}
	engrave_lines_free(l, n);
	return nested;
}

/* Engraves text in a 40 x 10 mm area and checks the result and preview. */
static void
engrave_sample(const char *text, const char *lang, enum engrave_fill fill)
{
	struct engrave_request r = { .content = ENGRAVE_TEXT, .text = text, .lang = lang,
		.area = ENGRAVE_AREA_RECT, .width = 40, .height = 10, .fill = fill };
	struct engrave_result res;
	CHECK_INT(engrave_run(&S, &r, &res), ENGRAVE_OK);
	if (res.status != ENGRAVE_OK) {
		printf("  %s: %s\n", text, res.error);
		engrave_result_free(&res);
		return;
	}
	CHECK(res.fit.fits);
	CHECK(res.fit.char_height >= S.min_char_height);
	struct engrave_bbox b = engrave_paths_bbox(&res.toolpath);
	CHECK(b.x0 >= S.edge_margin - 1e-6 && b.x1 <= 40 - S.edge_margin + 1e-6);
	CHECK(b.y0 >= S.edge_margin - 1e-6 && b.y1 <= 10 - S.edge_margin + 1e-6);
	CHECK(res.stats.travel_mm <= res.stats.travel_as_drawn_mm + 1e-9);
	/* The bound is a bound on real work too (closed contours included). */
	CHECK(res.stats.travel_mm >= engrave_travel_bound(&res.toolpath) - 1e-9);
	/* The preview shows every burnt path: count its subpaths. */
	const char *burn = strstr(res.svg, "id=\"burn\"");
	CHECK(burn != NULL);
	size_t moves = 0;
	if (burn) {
		const char *d = strstr(burn, " d=\"");
		const char *e = d ? strchr(d + 4, '"') : NULL;
		for (const char *p = d; p && p < e; p++)
			moves += *p == 'M';
	}
	size_t drawn = 0;
	for (size_t i = 0; i < res.toolpath.n; i++)
		drawn += res.toolpath.v[i].n > 1;
	CHECK_INT(moves, drawn);
	/* And it reads back as SVG, so a browser or our own reader shows it. */
	struct engrave_paths back;
	char err[256];
	engrave_paths_init(&back);
	CHECK_INT(engrave_svg_read(res.svg, strlen(res.svg), 1e-3, &back, err, sizeof(err)), 0);
	engrave_paths_free(&back);
	engrave_result_free(&res);
}

static void
t_latin(void)
{
	/* L 1, e 2 + acute 1, a 2 */
	CHECK_INT(contours("Léa", "fr"), 6);
	/* Z 1, o 2, e 2 + diaeresis 2 */
	CHECK_INT(contours("Zoë", "fr"), 7);
	/* Decomposed e + combining acute gives the same contours as é. */
	CHECK_INT(contours("Le\xCC\x81" "a", "fr"), 6);
	engrave_sample("Léa & Zoë, Ærøskøbing", "fr", ENGRAVE_FILL_OUTLINE);
	engrave_sample("Ça s'écrit «Noël»", "fr", ENGRAVE_FILL_HATCH);
}

static void
t_greek(void)
{
	/* Ε 1, λ 1, έ = ε 1 + tonos 1, ν 1, η 1 */
	CHECK_INT(contours("Ελένη", "el"), 6);
	engrave_sample("Ελένη & Αλέξης", "el", ENGRAVE_FILL_HATCH);
}

static void
t_cyrillic(void)
{
	/* А 2, н 1, н 1, а 2 */
	CHECK_INT(contours("Анна", "ru"), 6);
	/* Ё: Е 1 + diaeresis 2 */
	CHECK_INT(contours("Ё", "ru"), 3);
	engrave_sample("Анна и Иван навсегда", "ru", ENGRAVE_FILL_HATCH);
}

static void
t_hebrew(void)
{
	/* Lamed rises above the line: in "של" (shin then lamed) read right to
	 * left, the lamed stands on the left. */
	CHECK(x_of_top("של", "he") < 0.5);
	CHECK(x_of_top("לש", "he") > 0.5);
	/* ש 1, ל 1, ו 1, ם 2 */
	CHECK_INT(contours("שלום", "he"), 5);
	/* Numbers keep their left-to-right order inside Hebrew: in "10" the
	 * 1 (no counter) is leftmost, in "01" the 0 (one counter). */
	CHECK_INT(nested_in_leftmost("שלום 10", "he"), 0);
	CHECK_INT(nested_in_leftmost("שלום 01", "he"), 1);
	engrave_sample("שלום 2026", "he", ENGRAVE_FILL_HATCH);
}

static void
t_arabic(void)
{
	/* Joined letters take their narrower connected forms: shaped "ببب"
	 * is narrower than three isolated beh side by side. */
	double one = advance("ب", "ar"), three = advance("ببب", "ar");
	CHECK(one > 0);
	CHECK(three < 3 * one * 0.9);
	/* Lam then alef become one ligature: narrower than lam alone + alef
	 * alone. */
	CHECK(advance("لا", "ar") < advance("ل", "ar") + advance("ا", "ar"));
	/* Right to left: alef (the tallest) first, on the right, in "اب";
	 * on the left in "با". */
	CHECK(x_of_top("اب", "ar") > 0.5);
	CHECK(x_of_top("با", "ar") < 0.5);
	CHECK_INT(nested_in_leftmost("مريم 10", "ar"), 0);
	CHECK_INT(nested_in_leftmost("مريم 01", "ar"), 1);
	engrave_sample("مريم ٢٠٢٦", "ar", ENGRAVE_FILL_HATCH);
	engrave_sample("حب إلى الأبد", "ar", ENGRAVE_FILL_OUTLINE);
}

static void
t_devanagari(void)
{
	/* The i sign (U+093F) follows ka in the text but stands before it,
	 * and its hook is the top of the cluster: the top is on the left. */
	CHECK(x_of_top("कि", "hi") < 0.5);
	/* Conjunct: shaped "स्त" is narrower than sa + virama + ta apart. */
	CHECK(advance("स्त", "hi") < advance("स", "hi") + advance("्", "hi") + advance("त", "hi"));
	engrave_sample("नमस्ते प्रिया", "hi", ENGRAVE_FILL_HATCH);
}

static void
t_cjk(void)
{
	/* Ideographs and kana are full width, one em each; hangul syllables
	 * all share one (narrower) width in the Korean face. */
	CHECK_NEAR(advance("永远爱你", "zh"), 4, 1e-9);
	CHECK_NEAR(advance("ずっと一緒", "ja"), 5, 1e-9);
	double ga = advance("사", "ko");
	CHECK(ga > 0.8 && ga <= 1);
	CHECK_NEAR(advance("사랑해", "ko"), 3 * ga, 1e-9);
	/* 口 is three strokes drawn as one square ring: 2 contours. */
	CHECK_INT(contours("口", "zh"), 2);
	/* 日: a ring split in two: 3 contours. */
	CHECK_INT(contours("日", "ja"), 3);
	/* 이: ㅇ (a ring, 2) and ㅣ (1) */
	CHECK_INT(contours("이", "ko"), 3);
	engrave_sample("永远爱你", "zh", ENGRAVE_FILL_HATCH);
	engrave_sample("ずっと一緒に", "ja", ENGRAVE_FILL_HATCH);
	engrave_sample("영원히 사랑해", "ko", ENGRAVE_FILL_HATCH);
}

static void
t_mixed_lines(void)
{
	/* One text, several scripts and lines, each run with its own font. */
	struct engrave_line *l;
	size_t n;
	CHECK(layout("Anna ❤ Иван\nשלום · مرحبا\n永远 2026", NULL, false, &l, &n) > 0);
	if (n == 3) {
		for (size_t i = 0; i < 3; i++)
			CHECK(l[i].advance > 1);
		engrave_lines_free(l, n);
	} else {
		CHECK_INT(n, 3);
	}
	engrave_sample("Anna & Иван\nשלום · مرحبا\n永远 2026", NULL, ENGRAVE_FILL_HATCH);
}

static void
t_missing(void)
{
	struct engrave_line *l;
	size_t n;
	struct engrave_result res = { 0 };
	/* Thai and an unassigned code point are in no configured font: both
	 * are reported with their positions, nothing is dropped quietly. */
	CHECK_INT(engrave_text_layout(&S, "Ab\nกx\xF3\xA0\x80\x80", NULL, false, 0.01, &l, &n, &res),
	    ENGRAVE_ERR_GLYPH);
	CHECK_INT(res.n_missing, 2);
	if (res.n_missing == 2) {
		CHECK_INT(res.missing[0].codepoint, 0x0E01);
		CHECK_INT(res.missing[0].position, 3);
		CHECK_INT(res.missing[0].line, 2);
		CHECK_INT(res.missing[1].codepoint, 0xE0000);
		CHECK_INT(res.missing[1].position, 5);
	}
	CHECK_CONTAINS(res.error, "U+0E01 'ก' (Thai) at character 4, line 2");
	engrave_result_free(&res);
}

static void
t_font_unavailable(void)
{
	/* A chain naming a file that is not there: the bench is at fault,
	 * and the message says which file, not that the client's text is. */
	static const char *const none[] = { "/nonexistent/NotoSans-Regular.ttf", NULL };
	static const struct engrave_font_chain chains[] = { { "*", none }, { NULL, NULL } };
	struct engrave_settings s2 = S;
	s2.fonts = chains;
	struct engrave_line *l;
	size_t n;
	struct engrave_result res = { 0 };
	CHECK_INT(engrave_text_layout(&s2, "Anna", NULL, false, 0.01, &l, &n, &res), ENGRAVE_ERR_FONT);
	CHECK_CONTAINS(res.error, "/nonexistent/NotoSans-Regular.ttf cannot be loaded");
	CHECK_INT(res.n_missing, 0);
	engrave_result_free(&res);
	s2.hershey_dir = "/nonexistent";
	struct engrave_request r = { .content = ENGRAVE_TEXT, .text = "Anna",
		.area = ENGRAVE_AREA_RECT, .width = 20, .height = 3, .fill = ENGRAVE_FILL_STROKE };
	CHECK_INT(engrave_run(&s2, &r, &res), ENGRAVE_ERR_FONT);
	CHECK_CONTAINS(res.error, "/nonexistent/futural.jhf cannot be read");
	engrave_result_free(&res);
}

static void
t_hershey(void)
{
	struct engrave_line *l;
	size_t n;
	/* Single stroke: open strokes only. A is two diagonals and the bar,
	 * b the stem and the bowl, 1 one stroke and its flag as one. */
	CHECK_INT(layout("Ab", NULL, true, &l, &n), 0);
	if (n == 1) {
		CHECK_INT(l[0].paths.n, 5);
		struct engrave_bbox b = engrave_paths_bbox(&l[0].paths);
		/* capitals 0.7 em tall, baseline at 0 */
		CHECK_NEAR(b.y1, 0.7, 1e-9);
		CHECK_NEAR(b.y0, 0, 1e-9);
		engrave_lines_free(l, n);
	}
	struct engrave_request r = { .content = ENGRAVE_TEXT, .text = "Camille 2026",
		.area = ENGRAVE_AREA_RECT, .width = 20, .height = 3, .fill = ENGRAVE_FILL_STROKE };
	struct engrave_result res;
	CHECK_INT(engrave_run(&S, &r, &res), ENGRAVE_OK);
	for (size_t i = 0; i < res.toolpath.n; i++)
		CHECK(!res.toolpath.v[i].closed);
	engrave_result_free(&res);
	/* The Hershey font is ASCII: accented Latin is composed (see
	 * test_engrave_stroke.c), other scripts are reported, not dropped. */
	r.text = "Zoé";
	CHECK_INT(engrave_run(&S, &r, &res), ENGRAVE_OK);
	engrave_result_free(&res);
	r.text = "Zoé Ελένη";
	CHECK_INT(engrave_run(&S, &r, &res), ENGRAVE_ERR_GLYPH);
	CHECK_CONTAINS(res.error, "single-stroke font has no glyph for U+0395");
	engrave_result_free(&res);
}

static void
t_dates_engraved(void)
{
	static const char *const langs[] = { "fr", "de", "en-US", "es", "it", "pt", "ru", "el",
		"ar", "he", "hi", "ja", "zh", "ko" };
	for (size_t i = 0; i < ARRAY_LEN(langs); i++) {
		struct engrave_request r = { .content = ENGRAVE_DATE, .date = "2026-11-23",
			.date_style = ENGRAVE_DATE_LONG, .lang = langs[i], .area = ENGRAVE_AREA_RECT,
			.width = 40, .height = 6 };
		struct engrave_result res;
		CHECK_INT(engrave_run(&S, &r, &res), ENGRAVE_OK);
		if (res.status != ENGRAVE_OK)
			printf("  %s: %s\n", langs[i], res.error);
		CHECK(res.toolpath.n > 4);
		engrave_result_free(&res);
	}
}

int
main(void)
{
	engrave_settings_default(&S, NULL);
	RUN(t_latin);
	RUN(t_greek);
	RUN(t_cyrillic);
	RUN(t_hebrew);
	RUN(t_arabic);
	RUN(t_devanagari);
	RUN(t_cjk);
	RUN(t_mixed_lines);
	RUN(t_missing);
	RUN(t_font_unavailable);
	RUN(t_hershey);
	RUN(t_dates_engraved);
	engrave_cache_clear();
	return test_summary();
}
