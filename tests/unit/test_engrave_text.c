/*
 * Engraving text in every script the workshop's clients write: Latin with
 * diacritics, Greek, Cyrillic, Arabic, Hebrew, Devanagari, Chinese,
 * Japanese and Korean, with the Debian fonts of the default chains. Each
 * case checks the geometry against what the script's letters must give
 * (contours of the letters, right-to-left order, joining and reordering
 * done by the shaper, full-width CJK advances), the fit, and the preview;
 * then missing glyphs and the Hershey single-stroke font.
 */
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include <hb.h>

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
	/* Vithkuqi (Unicode 14, in no face of Debian 12) and an unassigned
	 * code point are in no configured font: both are reported with their
	 * positions, nothing is dropped quietly. */
	CHECK_INT(engrave_text_layout(&S, "Ab\n𐕰x\xF3\xA0\x80\x80", NULL, false, 0.01, &l, &n, &res),
	    ENGRAVE_ERR_GLYPH);
	CHECK_INT(res.n_missing, 2);
	if (res.n_missing == 2) {
		CHECK_INT(res.missing[0].codepoint, 0x10570);
		CHECK_INT(res.missing[0].position, 3);
		CHECK_INT(res.missing[0].line, 2);
		CHECK_INT(res.missing[1].codepoint, 0xE0000);
		CHECK_INT(res.missing[1].position, 5);
	}
	CHECK_CONTAINS(res.error, "U+10570 '𐕰' (Vith) at character 4, line 2");
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

/* Every script Debian's fonts-noto-core has a face for is engraved: for
 * each face and each script it has ten letters or more of, a letter lays
 * out with no missing glyph. The faces are read here, so a script the
 * chains forget fails by name. */
static void
t_every_noto_script(void)
{
	FT_Library ft;
	CHECK_INT(FT_Init_FreeType(&ft), 0);
	glob_t g;
	CHECK_INT(glob("/usr/share/fonts/truetype/noto/*-Regular.ttf", 0, NULL, &g), 0);
	CHECK(g.gl_pathc > 100);
	hb_unicode_funcs_t *uf = hb_unicode_funcs_get_default();
	size_t scripts = 0, failed = 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		FT_Face f;
		if (FT_New_Face(ft, g.gl_pathv[i], 0, &f) != 0)
			continue;
		/* The face's script and a letter of it. */
		hb_script_t sc[64];
		unsigned cnt[64];
		uint32_t first[64];
		size_t ns = 0;
		FT_UInt gid;
		for (FT_ULong cp = FT_Get_First_Char(f, &gid); gid; cp = FT_Get_Next_Char(f, cp, &gid)) {
			hb_script_t s = hb_unicode_script(uf, (hb_codepoint_t)cp);
			hb_unicode_general_category_t gc = hb_unicode_general_category(uf, (hb_codepoint_t)cp);
			if (s == HB_SCRIPT_COMMON || s == HB_SCRIPT_INHERITED || s == HB_SCRIPT_LATIN ||
			    s == HB_SCRIPT_UNKNOWN || gc != HB_UNICODE_GENERAL_CATEGORY_OTHER_LETTER)
				continue;
			size_t k = 0;
			while (k < ns && sc[k] != s)
				k++;
			if (k == ns && ns < 64) {
				sc[ns] = s;
				cnt[ns] = 0;
				first[ns++] = (uint32_t)cp;
			}
			if (k < ns)
				cnt[k]++;
		}
		FT_Done_Face(f);
		for (size_t k = 0; k < ns; k++) {
			if (cnt[k] < 10)
				continue;  /* a few letters borrowed from another script */
			char text[8] = { 0 };
			uint32_t cp = first[k];
			if (cp < 0x800) {
				text[0] = (char)(0xC0 | (cp >> 6)); text[1] = (char)(0x80 | (cp & 0x3F));
			} else if (cp < 0x10000) {
				text[0] = (char)(0xE0 | (cp >> 12)); text[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
				text[2] = (char)(0x80 | (cp & 0x3F));
			} else {
				text[0] = (char)(0xF0 | (cp >> 18)); text[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
				text[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); text[3] = (char)(0x80 | (cp & 0x3F));
			}
			struct engrave_line *l;
			size_t n;
			struct engrave_result res = { 0 };
			scripts++;
			if (engrave_text_layout(&S, text, NULL, false, 0.01, &l, &n, &res) != ENGRAVE_OK) {
				char tag[5] = { 0 };
				hb_tag_to_string(hb_script_to_iso15924_tag(sc[k]), tag);
				printf("  %s (%s, U+%04X): %s\n", tag, g.gl_pathv[i], cp, res.error);
				failed++;
			} else {
				engrave_lines_free(l, n);
			}
			engrave_result_free(&res);
		}
	}
	CHECK_INT(failed, 0);
	CHECK(scripts > 100);
	globfree(&g);
	FT_Done_FreeType(ft);
}

/* Issue 18: สวัสดี was refused character by character. */
static void
t_thai(void)
{
	/* ส 1, ว 1, ั 1, ส 1, ด 1, ี 1 */
	CHECK(contours("สวัสดี", "th") >= 6);
	CHECK(contours("สวัสดี", NULL) >= 6);
	engrave_sample("สวัสดี ครับ", "th", ENGRAVE_FILL_HATCH);
	engrave_sample("ሰላም Բարեւ ជំរាបសួរ ಸುಸ್ವಾಗತ", NULL, ENGRAVE_FILL_OUTLINE);
}

/* An emoji comes from an outline font (Symbola) and is labelled with its
 * own script; where no outline font has it, the refusal names it. */
static void
t_emoji(void)
{
	CHECK(contours("💍", NULL) > 0);
	CHECK(contours("Ana 💍 Leo", "pt") > 0);
	engrave_sample("Ana 💍 Leo", "pt", ENGRAVE_FILL_HATCH);
	static const char *const latin[] = { "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf", NULL };
	static const struct engrave_font_chain chains[] = { { "*", latin }, { NULL, NULL } };
	struct engrave_settings s2 = S;
	s2.fonts = chains;
	struct engrave_line *l;
	size_t n;
	struct engrave_result res = { 0 };
	CHECK_INT(engrave_text_layout(&s2, "Ana 💍", NULL, false, 0.01, &l, &n, &res), ENGRAVE_ERR_GLYPH);
	CHECK_CONTAINS(res.error, "U+1F48D '💍' (Zyyy, emoji) at character 5, line 1");
	CHECK_CONTAINS(res.error, "outline font");
	engrave_result_free(&res);
	/* Digits and punctuation are Zyyy too, not the Latin of their neighbours. */
	static const char *const none[] = { "/usr/share/fonts/truetype/noto/NotoSansThai-Regular.ttf", NULL };
	static const struct engrave_font_chain thai[] = { { "*", none }, { NULL, NULL } };
	s2.fonts = thai;
	CHECK_INT(engrave_text_layout(&s2, "Ana 2", NULL, false, 0.01, &l, &n, &res), ENGRAVE_ERR_GLYPH);
	CHECK_CONTAINS(res.error, "U+0041 'A' (Latn)");
	CHECK_CONTAINS(res.error, "U+0032 '2' (Zyyy)");
	engrave_result_free(&res);
}

/* All the points of the first line, for comparing two layouts. */
static bool
same_drawing(const char *text, const char *lang_a, const char *lang_b)
{
	struct engrave_line *a, *b;
	size_t na, nb;
	if (layout(text, lang_a, false, &a, &na) < 0)
		return false;
	if (layout(text, lang_b, false, &b, &nb) < 0) {
		engrave_lines_free(a, na);
		return false;
	}
	bool same = a[0].paths.n == b[0].paths.n;
	for (size_t i = 0; same && i < a[0].paths.n; i++) {
		same = a[0].paths.v[i].n == b[0].paths.v[i].n;
		for (size_t j = 0; same && j < a[0].paths.v[i].n; j++)
			same = a[0].paths.v[i].pts[j].x == b[0].paths.v[i].pts[j].x &&
			    a[0].paths.v[i].pts[j].y == b[0].paths.v[i].pts[j].y;
	}
	engrave_lines_free(a, na);
	engrave_lines_free(b, nb);
	return same;
}

/* Without --lang, kana make the run Japanese and hangul Korean: the
 * ideographs come from the face drawn for that language. */
static void
t_cjk_language_inferred(void)
{
	CHECK(same_drawing("なお直子", NULL, "ja"));
	CHECK(!same_drawing("なお直子", NULL, "zh"));
	CHECK(!same_drawing("なお直子", "ja", "zh"));  /* 直 differs between the faces */
	CHECK(same_drawing("사랑 直", NULL, "ko"));
	CHECK(!same_drawing("사랑 直", NULL, "zh"));
	/* No kana or hangul: the Chinese face, as before. */
	CHECK(same_drawing("直子", NULL, "zh"));
	/* The client's language wins over the guess. */
	CHECK(same_drawing("なお直子", "zh", "zh"));
}

/* Digits in a Hebrew line come from Noto Sans, like Latin digits, not from
 * DejaVu Sans (wider and heavier) because Noto Sans Hebrew has none. */
static void
t_digits_match_the_line(void)
{
	double two = advance("2", "en");
	CHECK(two > 0);
	CHECK_NEAR(advance("ש2", "he") - advance("ש", "he"), two, 1e-9);
	CHECK_NEAR(advance("שרה 2026", "he") - advance("שרה ", "he"), 4 * two, 1e-9);
	CHECK_NEAR(advance("ש.", "he") - advance("ש", "he"), advance(".", "en"), 1e-9);
}

/* Shaping glyph for glyph as HarfBuzz's own hb-shape (Debian's
 * libharfbuzz-bin) gives it, for a word of each script in the face its
 * chain takes it from, the client's language given to both. */
static void
t_same_glyphs_as_hb_shape(void)
{
#define NOTO "/usr/share/fonts/truetype/noto/"
#define CJK "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
	static const struct { const char *text, *lang, *font; int face; } words[] = {
		{ "Zoë Léa", "fr", NOTO "NotoSans-Regular.ttf", 0 },
		{ "Ελένη", "el", NOTO "NotoSans-Regular.ttf", 0 },
		{ "Анна", "ru", NOTO "NotoSans-Regular.ttf", 0 },
		{ "محمد", "ar", NOTO "NotoSansArabic-Regular.ttf", 0 },
		{ "لا إله", "ar", NOTO "NotoSansArabic-Regular.ttf", 0 },
		{ "שלום", "he", NOTO "NotoSansHebrew-Regular.ttf", 0 },
		{ "प्रिया", "hi", NOTO "NotoSansDevanagari-Regular.ttf", 0 },
		{ "क्षि", "hi", NOTO "NotoSansDevanagari-Regular.ttf", 0 },
		{ "สวัสดี", "th", NOTO "NotoSansThai-Regular.ttf", 0 },
		{ "ជំរាបសួរ", "km", NOTO "NotoSansKhmer-Regular.ttf", 0 },
		{ "ভালোবাসা", "bn", NOTO "NotoSansBengali-Regular.ttf", 0 },
		{ "அன்பு", "ta", NOTO "NotoSansTamil-Regular.ttf", 0 },
		{ "ಪ್ರೀತಿ", "kn", NOTO "NotoSansKannada-Regular.ttf", 0 },
		{ "မင်္ဂလာပါ", "my", NOTO "NotoSansMyanmar-Regular.ttf", 0 },
		{ "სიყვარული", "ka", NOTO "NotoSansGeorgian-Regular.ttf", 0 },
		{ "Սեր", "hy", NOTO "NotoSansArmenian-Regular.ttf", 0 },
		{ "ፍቅር", "am", NOTO "NotoSansEthiopic-Regular.ttf", 0 },
		{ "ܫܠܡܐ", "syr", NOTO "NotoSansSyriac-Regular.ttf", 0 },
		{ "なお直子", "ja", CJK, 0 },
		{ "사랑해", "ko", CJK, 1 },
		{ "永远爱你", "zh", CJK, 2 },
	};
	for (size_t w = 0; w < ARRAY_LEN(words); w++) {
		struct engrave_line *l;
		size_t n;
		if (layout(words[w].text, words[w].lang, false, &l, &n) < 0) {
			CHECK(!"laid out");
			continue;
		}
		struct buf mine;
		buf_init(&mine);
		buf_printf(&mine, "[");
		for (size_t g = 0; g < l[0].n_glyphs; g++)
			buf_printf(&mine, "%s%u", g ? "|" : "", (unsigned)l[0].glyphs[g]);
		buf_printf(&mine, "]");
		engrave_lines_free(l, n);
		char *cmd = xasprintf("hb-shape --no-positions --no-clusters --no-glyph-names "
		    "--face-index=%d --language=%s '%s' '%s' 2>&1", words[w].face, words[w].lang,
		    words[w].font, words[w].text);
		FILE *p = popen(cmd, "r");
		char ref[4096] = "";
		if (!p || !fgets(ref, sizeof(ref), p))
			strcpy(ref, "(hb-shape gave nothing: install libharfbuzz-bin)");
		ref[strcspn(ref, "\n")] = 0;
		if (p)
			pclose(p);
		if (!mine.data || strcmp(mine.data, ref) != 0)
			printf("  %s (%s): %s, hb-shape %s\n", words[w].text, words[w].lang,
			    mine.data ? mine.data : "", ref);
		CHECK_STR(mine.data, ref);
		buf_free(&mine);
		free(cmd);
	}
#undef NOTO
#undef CJK
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
	RUN(t_every_noto_script);
	RUN(t_thai);
	RUN(t_emoji);
	RUN(t_cjk_language_inferred);
	RUN(t_digits_match_the_line);
	RUN(t_same_glyphs_as_hb_shape);
	engrave_cache_clear();
	return test_summary();
}
