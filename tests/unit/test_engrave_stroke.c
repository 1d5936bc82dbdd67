/*
 * Single-stroke text (--fill stroke, the Hershey font): the accented Latin
 * of clients' names, which the ASCII font lacks, is composed from a base
 * letter and marks drawn above or below it (issue 12). The names of the
 * issue are engraved and previewed and fit where their unaccented forms
 * fit; each accented letter is its base letter plus strokes where its mark
 * belongs; every letter of U+00C0..U+017F is drawn, each differently,
 * within the line's height; marks typed apart compose the same; what
 * cannot be drawn is refused with its reason. What the font has is
 * engraved as it always was, byte for byte against G-code written before
 * accents were composed (tests/data/engrave/stroke-*.gcode).
 * The tests run from the top of the tree.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engrave/engrave.h"
#include "engrave/engrave_int.h"
#include "test.h"
#include "util.h"

static struct engrave_settings S;

#define NAMES "Am\u00e9lie Zo\u00eb S\u00f8ren \u0141ukasz \u015eule Fran\u00e7ois"
#define NAMES_PLAIN "Amelie Zoe Soren Lukasz Sule Francois"
#define XHEIGHT (14 / 30.0)
#define CAP 0.7

/* The single-stroke strokes of a one-line text in em (baseline y = 0), or
 * empty paths when the layout refuses it. */
static struct engrave_paths
strokes(const char *text)
{
	struct engrave_paths p;
	engrave_paths_init(&p);
	struct engrave_line *l;
	size_t n;
	struct engrave_result res = { 0 };
	if (engrave_text_layout(&S, text, NULL, true, 0.01, &l, &n, &res) != ENGRAVE_OK) {
		printf("  \"%s\": %s\n", text, res.error);
	} else {
		engrave_paths_move(&p, &l[0].paths);
		engrave_lines_free(l, n);
	}
	engrave_result_free(&res);
	return p;
}

static bool
poly_equal(const struct engrave_poly *a, const struct engrave_poly *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (fabs(a->pts[i].x - b->pts[i].x) > 1e-12 || fabs(a->pts[i].y - b->pts[i].y) > 1e-12)
			return false;
	return true;
}

static struct engrave_bbox
poly_bbox(const struct engrave_poly *q)
{
	struct engrave_paths one = { (struct engrave_poly *)q, 1, 1 };
	return engrave_paths_bbox(&one);
}

static size_t
burn_subpaths(const char *svg)
{
	const char *burn = svg ? strstr(svg, "id=\"burn\"") : NULL;
	const char *d = burn ? strstr(burn, " d=\"") : NULL;
	const char *e = d ? strchr(d + 4, '"') : NULL;
	size_t moves = 0;
	for (const char *p = d; p && p < e; p++)
		moves += *p == 'M';
	return moves;
}

/* Every printable ASCII character, on two lines in a rectangle and on an
 * arc: the G-code the engine wrote before accents were composed. */
static void
t_ascii_unchanged(void)
{
	struct engrave_request rect = { .content = ENGRAVE_TEXT,
		.text = "The quick brown fox jumps over the lazy dog 0123456789\n"
		    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ PACK MY BOX WITH FIVE DOZEN LIQUOR JUGS",
		.area = ENGRAVE_AREA_RECT, .width = 90, .height = 12, .fill = ENGRAVE_FILL_STROKE,
		.material = "gold" };
	struct engrave_request round = { .content = ENGRAVE_TEXT, .text = "Camille 2026",
		.area = ENGRAVE_AREA_ROUND, .width = 20, .fill = ENGRAVE_FILL_STROKE,
		.material = "gold" };
	const struct {
		const struct engrave_request *r;
		const char *file;
	} cases[] = {
		{ &rect, "tests/data/engrave/stroke-ascii.gcode" },
		{ &round, "tests/data/engrave/stroke-ascii-round.gcode" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		size_t len = 0;
		char *want = file_read(cases[i].file, 0, &len);
		if (!want)
			printf("  cannot read %s\n", cases[i].file);
		struct engrave_result res;
		CHECK_INT(engrave_run(&S, cases[i].r, &res), ENGRAVE_OK);
		CHECK(want && res.gcode && strlen(res.gcode) == len && memcmp(res.gcode, want, len) == 0);
		engrave_result_free(&res);
		free(want);
	}
}

/* The names in single stroke: engraved, previewed, and fitting
 * where their unaccented forms fit. */
static void
t_names(void)
{
	struct engrave_request r = { .content = ENGRAVE_TEXT, .text = NAMES,
		.area = ENGRAVE_AREA_RECT, .width = 80, .height = 8, .fill = ENGRAVE_FILL_STROKE,
		.material = "gold" };
	struct engrave_request plain = r;
	plain.text = NAMES_PLAIN;
	struct engrave_result res, pres;
	CHECK_INT(engrave_run(&S, &r, &res), ENGRAVE_OK);
	if (res.status != ENGRAVE_OK)
		printf("  %s\n", res.error);
	CHECK_INT(res.n_missing, 0);
	CHECK_INT(engrave_run(&S, &plain, &pres), ENGRAVE_OK);
	/* Six accented letters: é, the two dots of ë, ø's slash, Ł's bar,
	 * Ş's and ç's cedillas, seven strokes more. */
	CHECK_INT(res.toolpath.n, pres.toolpath.n + 7);
	for (size_t i = 0; i < res.toolpath.n; i++)
		CHECK(!res.toolpath.v[i].closed);
	/* The preview draws every stroke burnt, and reads back as SVG. */
	CHECK(res.svg != NULL);
	size_t drawn = 0;
	for (size_t i = 0; i < res.toolpath.n; i++)
		drawn += res.toolpath.v[i].n > 1;
	CHECK_INT(burn_subpaths(res.svg), drawn);
	struct engrave_paths back;
	char err[256];
	engrave_paths_init(&back);
	if (res.svg)
		CHECK_INT(engrave_svg_read(res.svg, strlen(res.svg), 1e-3, &back, err, sizeof(err)), 0);
	engrave_paths_free(&back);
	CHECK(res.gcode && strstr(res.gcode, "\nM5\n"));
	/* 80 x 8 mm: the width limits both, and the marks take none of it
	 * (each accented letter is as wide as its base), so the letters are as
	 * tall accented as not. */
	CHECK_INT(res.fit.limiting, 'w');
	CHECK_NEAR(res.fit.char_height, pres.fit.char_height, 1e-9);
	struct engrave_bbox b = engrave_paths_bbox(&res.toolpath);
	CHECK(b.x0 >= S.edge_margin - 1e-6 && b.x1 <= r.width - S.edge_margin + 1e-6);
	CHECK(b.y0 >= S.edge_margin - 1e-6 && b.y1 <= r.height - S.edge_margin + 1e-6);
	engrave_result_free(&res);
	engrave_result_free(&pres);
	/* 99 x 3 mm: the height limits. The cedillas hang below the
	 * baseline, so the accented names are laid out smaller, to the same
	 * ink height, and stay inside the area. */
	r.width = plain.width = 99;
	r.height = plain.height = 3;
	CHECK_INT(engrave_run(&S, &r, &res), ENGRAVE_OK);
	CHECK_INT(engrave_run(&S, &plain, &pres), ENGRAVE_OK);
	CHECK_INT(res.fit.limiting, 'h');
	b = engrave_paths_bbox(&res.toolpath);
	struct engrave_bbox pb = engrave_paths_bbox(&pres.toolpath);
	CHECK(b.y0 >= S.edge_margin - 1e-6 && b.y1 <= r.height - S.edge_margin + 1e-6);
	CHECK_NEAR(b.y1 - b.y0, pb.y1 - pb.y0, 1e-6);
	CHECK(res.fit.char_height < pres.fit.char_height * 0.9);
	double h = res.fit.char_height, ph = pres.fit.char_height;
	engrave_result_free(&res);
	engrave_result_free(&pres);
	/* Where the plain names fit only just, the accented ones are refused
	 * and the refusal says it is their height that does not fit. */
	struct engrave_settings s2 = S;
	s2.min_char_height = (h + ph) / 2;
	CHECK_INT(engrave_run(&s2, &plain, &pres), ENGRAVE_OK);
	CHECK_INT(engrave_run(&s2, &r, &res), ENGRAVE_ERR_FIT);
	CHECK_CONTAINS(res.error, "the text does not fit: its height needs");
	engrave_result_free(&res);
	engrave_result_free(&pres);
}

enum where { ABOVE_X, ABOVE_CAP, BELOW, ACROSS };

/* Each accented letter of the names (and a few more) is its base letter,
 * stroke for stroke, plus strokes where its mark belongs. */
static void
t_marks_placed(void)
{
	static const struct {
		const char *accented, *base;
		size_t extra;
		enum where where;
	} cases[] = {
		{ "\u00e9", "e", 1, ABOVE_X },      /* é */
		{ "\u00eb", "e", 2, ABOVE_X },      /* ë */
		{ "\u00e7", "c", 1, BELOW },        /* ç */
		{ "\u015e", "S", 1, BELOW },        /* Ş */
		{ "\u00f8", "o", 1, ACROSS },       /* ø */
		{ "\u0141", "L", 1, ACROSS },       /* Ł */
		{ "\u00c9", "E", 1, ABOVE_CAP },    /* É */
		{ "\u00c5", "A", 1, ABOVE_CAP },    /* Å */
		{ "\u0151", "o", 2, ABOVE_X },      /* ő */
		{ "\u0105", "a", 1, BELOW },        /* ą */
		{ "\u0161", "s", 1, ABOVE_X },      /* š */
		{ "\u0160", "S", 1, ABOVE_CAP },    /* Š */
		{ "\u0219", "s", 1, BELOW },        /* ș, comma below */
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct engrave_paths a = strokes(cases[i].accented), b = strokes(cases[i].base);
		CHECK_INT(a.n, b.n + cases[i].extra);
		if (a.n != b.n + cases[i].extra || b.n == 0) {
			printf("  %s\n", cases[i].accented);
			engrave_paths_free(&a);
			engrave_paths_free(&b);
			continue;
		}
		struct engrave_bbox lb = engrave_paths_bbox(&b);
		size_t kept = 0;
		for (size_t k = 0; k < b.n; k++)
			kept += poly_equal(&a.v[k], &b.v[k]);
		CHECK_INT(kept, b.n);
		for (size_t k = b.n; k < a.n; k++) {
			struct engrave_bbox mb = poly_bbox(&a.v[k]);
			bool ok = false;
			switch (cases[i].where) {
			case ABOVE_X: ok = mb.y0 > XHEIGHT && mb.y1 <= CAP + 1e-9; break;
			case ABOVE_CAP: ok = mb.y0 > CAP && mb.y1 <= 1.0; break;
			case BELOW: ok = mb.y1 <= 1e-9 && mb.y0 < 0 && mb.y0 >= -0.25; break;
			case ACROSS:
				ok = mb.x0 < (lb.x0 + lb.x1) / 2 && mb.x1 > lb.x0 &&
				    mb.y0 < lb.y1 && mb.y1 > lb.y0 && mb.y0 <= CAP;
				break;
			}
			if (!ok)
				printf("  %s: stroke %zu at x %.3f..%.3f, y %.3f..%.3f\n",
				    cases[i].accented, k, mb.x0, mb.x1, mb.y0, mb.y1);
			CHECK(ok);
			/* centred on its letter, within its width */
			if (cases[i].where != ACROSS)
				CHECK(mb.x0 >= lb.x0 - 0.05 && mb.x1 <= lb.x1 + 0.05);
		}
		engrave_paths_free(&a);
		engrave_paths_free(&b);
	}
	/* Above capitals higher than above lower-case. */
	struct engrave_paths up = strokes("\u00c9"), low = strokes("\u00e9");
	if (up.n == 5 && low.n == 2)
		CHECK(poly_bbox(&up.v[4]).y0 > poly_bbox(&low.v[1]).y1);
	else
		CHECK(false);
	engrave_paths_free(&up);
	engrave_paths_free(&low);
	/* i loses its dot under an accent: í is the stem and the acute, and
	 * no stroke of it is where the dot was; į keeps its dot. */
	struct engrave_paths i = strokes("i"), ia = strokes("\u00ed"), io = strokes("\u012f");
	CHECK_INT(i.n, 2);
	CHECK_INT(ia.n, 2);
	CHECK_INT(io.n, 3);
	for (size_t k = 0; k < ia.n && i.n == 2; k++)
		CHECK(!poly_equal(&ia.v[k], &i.v[0]) || !poly_equal(&ia.v[k], &i.v[1]));
	size_t dots = 0;
	for (size_t k = 0; k < ia.n && i.n == 2; k++)
		for (size_t d = 0; d < i.n; d++)
			if (poly_bbox(&i.v[d]).y0 > XHEIGHT && poly_equal(&ia.v[k], &i.v[d]))
				dots++;
	CHECK_INT(dots, 0);
	for (size_t k = 0; k < io.n && i.n == 2; k++)
		for (size_t d = 0; d < i.n; d++)
			if (poly_bbox(&i.v[d]).y0 > XHEIGHT && poly_equal(&io.v[k], &i.v[d]))
				dots++;
	CHECK_INT(dots, 1);
	engrave_paths_free(&i);
	engrave_paths_free(&ia);
	engrave_paths_free(&io);
}

/* Writes cp as UTF-8 into out (5 bytes at least). */
static void
utf8(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		out[1] = 0;
	} else if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		out[2] = 0;
	} else {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		out[3] = 0;
	}
}

/* Every letter of Latin-1 Supplement and Latin Extended-A is drawn, inside
 * the line's height, and each differently from all the others, except Ð
 * and Đ (the same letter in two languages) and Í and ĺ (the font draws I
 * and l alike). */
static void
t_every_letter(void)
{
	struct engrave_paths all[0x180 - 0xC0];
	size_t drawn = 0;
	for (uint32_t cp = 0xC0; cp < 0x180; cp++) {
		engrave_paths_init(&all[cp - 0xC0]);
		if (cp == 0xD7 || cp == 0xF7)  /* × and ÷ are not letters */
			continue;
		char s[8];
		utf8(cp, s);
		struct engrave_paths p = strokes(s);
		if (p.n == 0) {
			printf("  U+%04X not drawn\n", cp);
			CHECK(false);
			continue;
		}
		drawn++;
		struct engrave_bbox b = engrave_paths_bbox(&p);
		if (!(b.y1 <= 1.0 && b.y0 >= -0.25))
			printf("  U+%04X reaches %.3f..%.3f em\n", cp, b.y0, b.y1);
		CHECK(b.y1 <= 1.0 && b.y0 >= -0.25);
		all[cp - 0xC0] = p;
	}
	CHECK_INT(drawn, 0x180 - 0xC0 - 2);
	for (size_t a = 0; a < ARRAY_LEN(all); a++)
		for (size_t b = a + 1; b < ARRAY_LEN(all); b++) {
			if (all[a].n == 0 || all[a].n != all[b].n ||
			    (a == 0xD0 - 0xC0 && b == 0x110 - 0xC0) || (a == 0xCD - 0xC0 && b == 0x13A - 0xC0))
				continue;
			size_t same = 0;
			for (size_t k = 0; k < all[a].n; k++)
				same += poly_equal(&all[a].v[k], &all[b].v[k]);
			if (same == all[a].n)
				printf("  U+%04zX and U+%04zX are drawn the same\n", a + 0xC0, b + 0xC0);
			CHECK(same < all[a].n);
		}
	for (size_t a = 0; a < ARRAY_LEN(all); a++)
		engrave_paths_free(&all[a]);
}

/* Lines 1.25 em apart do not touch, whatever their marks: the lowest
 * cedilla and descender of one line stay above the highest stacked marks
 * of the next. */
static void
t_lines_apart(void)
{
	struct engrave_line *l;
	size_t n;
	struct engrave_result res = { 0 };
	CHECK_INT(engrave_text_layout(&S, "\u015eg\u00e7j\u0105\n\u01d7\u00c5\u00c9\u0124", NULL, true,
	    0.01, &l, &n, &res), ENGRAVE_OK);
	if (res.status == ENGRAVE_OK && n == 2) {
		struct engrave_bbox b1 = engrave_paths_bbox(&l[0].paths);
		struct engrave_bbox b2 = engrave_paths_bbox(&l[1].paths);
		CHECK(b2.y1 > CAP + 0.2);  /* Ǘ: two marks over a capital */
		CHECK(b1.y0 < -0.2);
		CHECK(b2.y1 - S.line_spacing < b1.y0);
		engrave_lines_free(l, n);
	} else {
		printf("  %s\n", res.error);
	}
	engrave_result_free(&res);
}

/* A mark typed apart from its letter (NFD, as some keyboards send it)
 * composes the same letter as the precomposed character. */
static void
t_decomposed_input(void)
{
	struct engrave_paths a = strokes("Am\u00e9lie Zo\u00eb Fran\u00e7ois");
	struct engrave_paths b = strokes("Ame\u0301lie Zoe\u0308 Franc\u0327ois");
	CHECK(a.n > 0);
	CHECK_INT(a.n, b.n);
	size_t same = 0;
	for (size_t k = 0; k < a.n && a.n == b.n; k++)
		same += poly_equal(&a.v[k], &b.v[k]);
	CHECK_INT(same, a.n);
	engrave_paths_free(&a);
	engrave_paths_free(&b);
}

/* What single stroke cannot draw is refused with its position, and with
 * the reason when its script has no single-stroke font at all. */
static void
t_refused(void)
{
	struct engrave_request r = { .content = ENGRAVE_TEXT, .text = "Zo\u00eb \u05e9\u05dc\u05d5\u05dd",
		.area = ENGRAVE_AREA_RECT, .width = 40, .height = 6, .fill = ENGRAVE_FILL_STROKE };
	struct engrave_result res;
	CHECK_INT(engrave_run(&S, &r, &res), ENGRAVE_ERR_GLYPH);
	CHECK_INT(res.n_missing, 4);
	CHECK_CONTAINS(res.error, "the single-stroke font has no glyph for U+05E9 '\u05e9' (Hebr) "
	    "at character 5, line 1");
	CHECK_CONTAINS(res.error, "single stroke has no font for Hebr (it draws Latin letters only): "
	    "engrave it as outline or hatch");
	engrave_result_free(&res);
	r.text = "\u6c38\u8fdc \u05d0";
	CHECK_INT(engrave_run(&S, &r, &res), ENGRAVE_ERR_GLYPH);
	CHECK_CONTAINS(res.error, "single stroke has no font for Hani, Hebr");
	engrave_result_free(&res);
	/* The same texts are engraved as outlines. */
	r.fill = ENGRAVE_FILL_OUTLINE;
	CHECK_INT(engrave_run(&S, &r, &res), ENGRAVE_OK);
	engrave_result_free(&res);
	/* Latin that single stroke does not compose (o with horn, a mark it
	 * has no stroke for) and a fourth mark over a capital, past the
	 * line's height: refused with their positions, no script blamed. */
	r.fill = ENGRAVE_FILL_STROKE;
	r.text = "\u01a1 E\u0301\u0301\u0301 e\u031b";
	CHECK_INT(engrave_run(&S, &r, &res), ENGRAVE_ERR_GLYPH);
	CHECK_INT(res.n_missing, 3);
	if (res.n_missing == 3) {
		CHECK_INT(res.missing[0].codepoint, 0x01A1);
		CHECK_INT(res.missing[1].codepoint, 0x0301);
		CHECK_INT(res.missing[1].position, 5);
		CHECK_INT(res.missing[2].codepoint, 0x031B);
	}
	CHECK(res.error && !strstr(res.error, "no font for"));
	engrave_result_free(&res);
}

/* Accented capitals are measured by the fit: they stay inside a
 * rectangle the height limits and inside a round piece. */
static void
t_capitals_fit(void)
{
	struct engrave_request r = { .content = ENGRAVE_TEXT, .text = "\u00c9LODIE",
		.area = ENGRAVE_AREA_RECT, .width = 60, .height = 3, .fill = ENGRAVE_FILL_STROKE };
	struct engrave_request plain = r;
	plain.text = "ELODIE";
	struct engrave_result res, pres;
	CHECK_INT(engrave_run(&S, &r, &res), ENGRAVE_OK);
	CHECK_INT(engrave_run(&S, &plain, &pres), ENGRAVE_OK);
	struct engrave_bbox b = engrave_paths_bbox(&res.toolpath);
	CHECK(b.y0 >= S.edge_margin - 1e-6 && b.y1 <= r.height - S.edge_margin + 1e-6);
	/* the acute takes its share of the height */
	CHECK(res.fit.char_height < pres.fit.char_height * 0.85);
	engrave_result_free(&res);
	engrave_result_free(&pres);
	r.area = ENGRAVE_AREA_ROUND;
	r.width = 20;
	r.text = "\u00c9lodie \u0160ule";
	CHECK_INT(engrave_run(&S, &r, &res), ENGRAVE_OK);
	double far = 0;
	for (size_t i = 0; i < res.toolpath.n; i++)
		for (size_t j = 0; j < res.toolpath.v[i].n; j++)
			far = fmax(far, hypot(res.toolpath.v[i].pts[j].x - 10, res.toolpath.v[i].pts[j].y - 10));
	CHECK(far <= 10 - S.edge_margin + 1e-6);
	CHECK(far > 10 - S.edge_margin - 0.05);  /* the acute's tip touches the edge */
	engrave_result_free(&res);
}

int
main(void)
{
	engrave_settings_default(&S, NULL);
	RUN(t_ascii_unchanged);
	RUN(t_names);
	RUN(t_marks_placed);
	RUN(t_every_letter);
	RUN(t_lines_apart);
	RUN(t_decomposed_input);
	RUN(t_refused);
	RUN(t_capitals_fit);
	engrave_cache_clear();
	return test_summary();
}
