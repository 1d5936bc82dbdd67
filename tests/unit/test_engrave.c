/*
 * Unit tests of the engraving core: the SVG reader (every path command,
 * shapes, transforms, viewBox, hostile documents), hatch fill, toolpath
 * ordering against its lower bound, the compact G-code (replayed through a
 * small modal interpreter), fit decisions and refusal texts, rings and
 * arcs, dates in every language, the shipped symbols and the preview.
 * Data files are read from tests/data/engrave and config/symbols (the
 * tests run from the top of the tree).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engrave/engrave.h"
#include "test.h"
#include "util.h"

static int
read_svg_file(const char *path, struct engrave_paths *p, char *err, size_t errlen)
{
	size_t len = 0;
	char *d = file_read(path, 0, &len);
	if (!d) {
		snprintf(err, errlen, "cannot read %s", path);
		return -2;
	}
	int rc = engrave_svg_read(d, len, 1e-4, p, err, errlen);
	free(d);
	return rc;
}

static void
t_svg_arcs(void)
{
	struct engrave_paths p;
	char err[256];
	engrave_paths_init(&p);
	CHECK_INT(read_svg_file("tests/data/engrave/arcs.svg", &p, err, sizeof(err)), 0);
	CHECK_INT(p.n, 2);
	if (p.n == 2) {
		/* Circle of radius 5 about the viewBox centre: (10,10) after the
		 * viewBox corner moves to 0,0 (y flipped about 20). */
		const struct engrave_poly *c = &p.v[0];
		CHECK(c->closed);
		CHECK(c->n > 16);
		double worst = 0, chord = 0;
		for (size_t i = 0; i < c->n; i++) {
			double r = hypot(c->pts[i].x - 10, c->pts[i].y - 10);
			if (fabs(r - 5) > worst)
				worst = fabs(r - 5);
			if (i) {
				double mx = (c->pts[i].x + c->pts[i - 1].x) / 2 - 10;
				double my = (c->pts[i].y + c->pts[i - 1].y) / 2 - 10;
				if (5 - hypot(mx, my) > chord)
					chord = 5 - hypot(mx, my);
			}
		}
		CHECK_NEAR(worst, 0, 1e-9);
		/* within the chord tolerance: 1e-4 of the 20-unit document */
		CHECK(chord <= 20 * 1e-4 + 1e-12);
		struct engrave_paths sq = { &p.v[1], 1, 1 };
		struct engrave_bbox b = engrave_paths_bbox(&sq);
		CHECK_NEAR(b.x0, 12, 1e-9);
		CHECK_NEAR(b.x1, 14, 1e-9);
		CHECK_NEAR(b.y0, 5, 1e-9);
		CHECK_NEAR(b.y1, 7, 1e-9);
		CHECK(p.v[1].closed);
	}
	engrave_paths_free(&p);
}

static void
t_svg_shapes(void)
{
	struct engrave_paths p;
	char err[256];
	engrave_paths_init(&p);
	CHECK_INT(read_svg_file("tests/data/engrave/shapes.svg", &p, err, sizeof(err)), 0);
	/* rect, circle, ellipse, line, polyline, polygon, path; defs and the
	 * display="none" path are not drawn. */
	CHECK_INT(p.n, 7);
	size_t closed = 0;
	bool ellipse = false, line = false;
	for (size_t i = 0; i < p.n; i++) {
		struct engrave_paths one = { &p.v[i], 1, 1 };
		struct engrave_bbox b = engrave_paths_bbox(&one);
		closed += p.v[i].closed;
		if (fabs(b.x0 - 25) < 1e-6 && fabs(b.x1 - 35) < 1e-6 && fabs(b.y1 - b.y0 - 4) < 1e-6)
			ellipse = true;
		if (fabs(b.x1 - b.x0 - 40) < 1e-9 && fabs(b.y0 - 1) < 1e-9 && b.y1 == b.y0)
			line = true;  /* y 19 flipped in a 20-high document */
	}
	CHECK_INT(closed, 4);
	CHECK(ellipse);
	CHECK(line);
	engrave_paths_free(&p);
}

static void
expect_refusal(const char *doc, const char *needle)
{
	struct engrave_paths p;
	char err[256];
	engrave_paths_init(&p);
	int rc = engrave_svg_read(doc, strlen(doc), 1e-3, &p, err, sizeof(err));
	if (rc != -1)
		printf("  document accepted, expected refusal with '%s'\n", needle);
	CHECK_INT(rc, -1);
	CHECK_CONTAINS(err, needle);
	engrave_paths_free(&p);
}

static void
t_svg_hostile(void)
{
	struct engrave_paths p;
	char err[256];
	const char *files[][2] = {
		{ "tests/data/engrave/external.svg", "external reference" },
		{ "tests/data/engrave/entity.svg", "DOCTYPE" },
		{ "tests/data/engrave/huge.svg", "number beyond 1e6" },
		{ "tests/data/engrave/deep.svg", "nested deeper than 32" },
	};
	for (size_t i = 0; i < ARRAY_LEN(files); i++) {
		engrave_paths_init(&p);
		CHECK_INT(read_svg_file(files[i][0], &p, err, sizeof(err)), -1);
		CHECK_CONTAINS(err, files[i][1]);
		engrave_paths_free(&p);
	}
	expect_refusal("<svg><image href=\"photo.png\"/></svg>", "external reference");
	expect_refusal("<svg><image href=\"#x\"/></svg>", "<image> refused");
	expect_refusal("<svg><text>Hi</text></svg>", "convert text to paths");
	expect_refusal("<svg><path fill=\"url(http://x/y)\" d=\"M0 0\"/></svg>", "url()");
	expect_refusal("<svg><path d=\"M0 0 L\"/></svg>", "needs 2 numbers");
	expect_refusal("<svg><path d=\"X0 0\"/></svg>", "unknown command");
	expect_refusal("<svg><path d=\"M0 0 A 1 1 0 2 0 3 3\"/></svg>", "arc flag");
	expect_refusal("<svg><g>", "not closed");
	expect_refusal("<svg><g></svg>", "does not match");
	expect_refusal("<html></html>", "not SVG");
	expect_refusal("<svg><path d=\"M0 0\" id=\"&xxe;\"/></svg>", "unknown entity");
	expect_refusal("<svg viewBox=\"0 0 0 10\"></svg>", "viewBox");
	expect_refusal("<svg><rect width=\"-1\" height=\"2\"/></svg>", "negative");
	expect_refusal("<svg><g transform=\"spin(3)\"/></svg>", "transform");
	expect_refusal("", "empty");
	expect_refusal("<!-- never closed", "unterminated comment");
	expect_refusal("<svg><path d=\"M0 0 L 1 1\" stroke=\"red\"", "unterminated tag");
	/* A NUL inside the document is refused, not read as its end. */
	engrave_paths_init(&p);
	CHECK_INT(engrave_svg_read("<svg>\0</svg>", 12, 1e-3, &p, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "NUL");
	engrave_paths_free(&p);
	/* Internal references stay allowed. */
	engrave_paths_init(&p);
	const char *ok = "<svg viewBox=\"0 0 10 10\"><path fill=\"url(#g)\" d=\"M0 0 L 5 5\"/></svg>";
	CHECK_INT(engrave_svg_read(ok, strlen(ok), 1e-3, &p, err, sizeof(err)), 0);
	CHECK_INT(p.n, 1);
	engrave_paths_free(&p);
}

static void
t_svg_use(void)
{
	struct engrave_paths p;
	char err[256];
	/* A symbol in defs, drawn twice by <use> with x and a transform. */
	const char *doc = "<svg viewBox=\"0 0 100 100\"><defs><symbol id=\"sq\">"
	    "<rect width=\"10\" height=\"10\"/></symbol></defs>"
	    "<use href=\"#sq\" x=\"20\" y=\"30\"/>"
	    "<use xlink:href=\"#sq\" transform=\"scale(2)\" x=\"30\"/></svg>";
	engrave_paths_init(&p);
	CHECK_INT(engrave_svg_read(doc, strlen(doc), 1e-3, &p, err, sizeof(err)), 0);
	CHECK_INT(p.n, 2);
	if (p.n == 2) {
		struct engrave_paths a = { &p.v[0], 1, 1 }, b = { &p.v[1], 1, 1 };
		struct engrave_bbox ba = engrave_paths_bbox(&a), bb = engrave_paths_bbox(&b);
		CHECK_NEAR(ba.x0, 20, 1e-9);
		CHECK_NEAR(ba.y1, 100 - 30, 1e-9);  /* y flipped */
		CHECK_NEAR(bb.x0, 60, 1e-9);        /* scale(2) then x=30 */
		CHECK_NEAR(bb.x1 - bb.x0, 20, 1e-9);
	}
	engrave_paths_free(&p);
	/* Self reference, an exponential chain of uses, an unknown id. The
	 * chain stays within the 4 levels of <use> the budget allows, wide
	 * enough (22 a level) to pass the expansions. */
	expect_refusal("<svg><g id=\"a\"><use href=\"#a\"/></g></svg>", "draws itself");
	struct buf bomb;
	buf_init(&bomb);
	buf_printf(&bomb, "<svg><defs><path id=\"l0\" d=\"M0 0\"/>");
	for (int l = 1; l < 4; l++) {
		buf_printf(&bomb, "<g id=\"l%d\">", l);
		for (int k = 0; k < 22; k++)
			buf_printf(&bomb, "<use href=\"#l%d\"/>", l - 1);
		buf_printf(&bomb, "</g>");
	}
	buf_printf(&bomb, "</defs><use href=\"#l3\"/></svg>");
	expect_refusal(bomb.data, "more than 10000 <use> expansions");
	buf_free(&bomb);
	expect_refusal("<svg><use href=\"#nowhere\"/></svg>", "no element has that id");
}

static void
square(struct engrave_paths *p, double x0, double y0, double s, bool ccw)
{
	struct engrave_poly *q = engrave_paths_new_poly(p);
	double xs[5] = { x0, x0 + s, x0 + s, x0, x0 }, ys[5] = { y0, y0, y0 + s, y0 + s, y0 };
	for (int i = 0; i < 5; i++) {
		int k = ccw ? i : 4 - i;
		engrave_poly_add(q, xs[k], ys[k]);
	}
	q->closed = true;
}

static void
t_hatch(void)
{
	struct engrave_paths p, h;
	engrave_paths_init(&p);
	engrave_paths_init(&h);
	square(&p, 0, 0, 10, true);
	CHECK_INT(engrave_hatch(&p, 1, 0, false, 1000, &h), 10);
	CHECK_NEAR(engrave_paths_length(&h), 100, 1e-9);
	engrave_paths_free(&h);
	/* A square hole wound the same way: nonzero fills it, even-odd not. */
	square(&p, 3, 3, 4, true);
	engrave_paths_init(&h);
	engrave_hatch(&p, 1, 0, false, 1000, &h);
	CHECK_NEAR(engrave_paths_length(&h), 100, 1e-9);
	engrave_paths_free(&h);
	engrave_paths_init(&h);
	engrave_hatch(&p, 1, 0, true, 1000, &h);
	CHECK_NEAR(engrave_paths_length(&h), 100 - 16, 1e-9);
	engrave_paths_free(&h);
	/* At 45 degrees the hatched length is still the area over the interval. */
	engrave_paths_free(&p);
	engrave_paths_init(&p);
	square(&p, 0, 0, 10, true);
	engrave_paths_init(&h);
	engrave_hatch(&p, 0.1, 45, false, 1000, &h);
	CHECK_NEAR(engrave_paths_length(&h), 1000, 2);
	engrave_paths_free(&h);
	engrave_paths_init(&h);
	CHECK(engrave_hatch(&p, 0.1, 45, false, 50, &h) == SIZE_MAX);
	CHECK_INT(h.n, 50);
	engrave_paths_free(&h);
	engrave_paths_init(&h);
	engrave_hatch(&p, 0.1, 45, false, 1000, &h);
	struct engrave_bbox b = engrave_paths_bbox(&h);
	CHECK(b.x0 >= -1e-9 && b.y0 >= -1e-9 && b.x1 <= 10 + 1e-9 && b.y1 <= 10 + 1e-9);
	engrave_paths_free(&h);
	engrave_paths_free(&p);
}

static void
t_order(void)
{
	/* 200 short strokes on a grid, in a scrambled order and directions. */
	struct engrave_paths p;
	engrave_paths_init(&p);
	unsigned seed = 12345;
	size_t n = 200;
	for (size_t k = 0; k < n; k++) {
		size_t i = (k * 73) % n;
		double x = (double)(i % 20) * 3, y = (double)(i / 20) * 2;
		seed = seed * 1103515245u + 12345u;
		struct engrave_poly *q = engrave_paths_new_poly(&p);
		if (seed & 0x10000) {
			engrave_poly_add(q, x, y);
			engrave_poly_add(q, x + 1, y);
		} else {
			engrave_poly_add(q, x + 1, y);
			engrave_poly_add(q, x, y);
		}
	}
	double burn = engrave_paths_length(&p);
	double drawn = engrave_travel(&p);
	double bound = engrave_travel_bound(&p);
	double opt = engrave_order(&p);
	CHECK_INT(p.n, n);
	CHECK_NEAR(engrave_paths_length(&p), burn, 1e-9);
	CHECK(opt < drawn);
	CHECK(opt >= bound - 1e-9);
	/* Here the best tour is 2 mm per stroke within rows plus row changes. */
	CHECK(opt <= 1.3 * bound);
	CHECK_NEAR(opt, engrave_travel(&p), 1e-9);
	engrave_paths_free(&p);
}

/* Replays compact G-code with modal X/Y/G/F/S and collects burn segments;
 * returns the number of burn moves, or -1 on a word it does not know. */
static long
replay(const char *g, double *burn_len, int *max_dec, int *redundant)
{
	double x = 0, y = 0;
	int mode = -1;  /* unknown until the program sets it */
	long burns = 0;
	*burn_len = 0;
	*max_dec = 0;
	*redundant = 0;
	const char *p = g;
	while (*p) {
		const char *eol = strchr(p, '\n');
		if (!eol)
			return -1;
		double nx = x, ny = y;
		bool moved = false;
		int gwords = 0;
		for (const char *q = p; q < eol;) {
			char w = *q++;
			/* not strtod: "0X10" would read as hexadecimal */
			const char *end = q;
			if (*end == '-')
				end++;
			while ((*end >= '0' && *end <= '9') || *end == '.')
				end++;
			if (end == q)
				return -1;
			char num[32];
			snprintf(num, sizeof(num), "%.*s", (int)(end - q), q);
			double v = atof(num);
			const char *dot = memchr(q, '.', (size_t)(end - q));
			if (dot && (int)(end - dot - 1) > *max_dec)
				*max_dec = (int)(end - dot - 1);
			q = end;
			switch (w) {
			case 'G':
				if (v == 0 || v == 1) {
					if ((int)v == mode && gwords == 0)
						(*redundant)++;
					mode = (int)v;
					gwords++;
				}
				break;
			case 'X': if (v == x) (*redundant)++; nx = v; moved = true; break;
			case 'Y': if (v == y) (*redundant)++; ny = v; moved = true; break;
			case 'F': case 'S': case 'M': break;
			default: return -1;
			}
		}
		if (moved && mode == 1) {
			*burn_len += hypot(nx - x, ny - y);
			burns++;
		}
		x = nx;
		y = ny;
		p = eol + 1;
	}
	return burns;
}

/* Issue 18, item 5: on the benchmark's texts (30 characters hatched at
 * 0.1 mm in 90 x 8 mm, Latin, Arabic and CJK), no full 2-opt with path
 * reversal over the finished order, every pair of positions and passes to
 * convergence, shortens the travel by more than 1 %; and no single path,
 * turned round or (closed) entered at another vertex, would shorten it. */
static void
t_order_two_opt_check(void)
{
	static const struct { const char *text, *lang; } texts[] = {
		{ "Pour Hélène, à jamais — 23.11.", "fr" },
		{ "إلى مريم مع كل الحب إلى الأبد", "ar" },
		{ "永远爱你直到世界的尽头我们一起走过春夏秋冬每一天都幸福快乐", "zh" },
	};
	struct engrave_settings s;
	engrave_settings_default(&s, NULL);
	for (size_t t = 0; t < ARRAY_LEN(texts); t++) {
		struct engrave_request r = { .content = ENGRAVE_TEXT, .text = texts[t].text,
			.lang = texts[t].lang, .area = ENGRAVE_AREA_RECT, .width = 90, .height = 8,
			.fill = ENGRAVE_FILL_HATCH, .hatch_interval = 0.1, .material = "gold" };
		struct engrave_result res;
		CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_OK);
		if (res.status != ENGRAVE_OK) {
			engrave_result_free(&res);
			continue;
		}
		struct engrave_paths copy;
		engrave_paths_init(&copy);
		for (size_t i = 0; i < res.toolpath.n; i++) {
			const struct engrave_poly *q = &res.toolpath.v[i];
			struct engrave_poly *d = engrave_paths_new_poly(&copy);
			d->closed = q->closed;
			for (size_t j = 0; j < q->n; j++)
				engrave_poly_add(d, q->pts[j].x, q->pts[j].y);
		}
		double opt = res.stats.travel_mm, after = engrave_two_opt_full(&copy, 1000);
		printf("  %s: travel %.1f mm, %.1f mm after a full 2-opt (%.2f %%)\n", texts[t].lang, opt,
		    after, 100 * (opt - after) / opt);
		CHECK(opt - after <= 0.01 * opt);
		engrave_paths_free(&copy);
		/* Each path alone: the other way round, or entered elsewhere. */
		struct engrave_pt origin = { 0, 0 };
		size_t worse = 0;
		for (size_t i = 0; i < res.toolpath.n; i++) {
			const struct engrave_poly *q = &res.toolpath.v[i];
			struct engrave_pt prev = i ? res.toolpath.v[i - 1].pts[res.toolpath.v[i - 1].n - 1] : origin;
			bool has_next = i + 1 < res.toolpath.n;
			struct engrave_pt next = has_next ? res.toolpath.v[i + 1].pts[0] : origin;
			double now = hypot(prev.x - q->pts[0].x, prev.y - q->pts[0].y) + (has_next ?
			    hypot(q->pts[q->n - 1].x - next.x, q->pts[q->n - 1].y - next.y) : 0);
			for (size_t k = 0; k < q->n; k += q->closed ? 1 : q->n - 1) {
				struct engrave_pt in = q->pts[k], out = q->closed ? q->pts[k] : q->pts[q->n - 1 - k];
				double alt = hypot(prev.x - in.x, prev.y - in.y) +
				    (has_next ? hypot(out.x - next.x, out.y - next.y) : 0);
				if (alt < now - 1e-6) {
					worse++;
					break;
				}
				if (q->n < 2)
					break;
			}
		}
		CHECK_INT(worse, 0);
		engrave_result_free(&res);
	}
}

static void
t_gcode(void)
{
	struct engrave_paths p;
	engrave_paths_init(&p);
	square(&p, 1.004, 2, 3.5, true);
	struct engrave_poly *q = engrave_paths_new_poly(&p);
	engrave_poly_add(q, 10, 10);
	engrave_poly_add(q, 10.001, 10.002);  /* vanishes at 0.01 mm */
	engrave_poly_add(q, 12.25, 10);
	struct engrave_gcode_opts o = { .resolution = 0.01, .power_s = 800, .speed = 600, .passes = 1 };
	size_t lines = 0;
	char *g = engrave_gcode(&p, &o, &lines);
	CHECK(strncmp(g, "G21G90\nM4S0\n", 12) == 0);
	CHECK_CONTAINS(g, "G0X1Y2\nG1X4.5F600S800\nY5.5\nX1\nY2\nG0X10Y10\nG1X12.25\nM5\n");
	double len;
	int dec, red;
	long burns = replay(g, &len, &dec, &red);
	CHECK_INT(burns, 5);
	CHECK_NEAR(len, 3.5 * 4 + 2.25, 1e-9);
	CHECK(dec <= 2);
	CHECK_INT(red, 0);
	/* The F and S words appear once: the laser's modal state carries them. */
	CHECK(strstr(strstr(g, "F600") + 1, "F600") == NULL);
	CHECK(strstr(strstr(g, "S800") + 1, "S800") == NULL);
	size_t lines_plain = 0;
	o.plain = true;
	char *plain = engrave_gcode(&p, &o, &lines_plain);
	CHECK(strlen(plain) > 2 * strlen(g));
	free(plain);
	free(g);
	/* Resolution 0.005 needs three decimals. */
	o.plain = false;
	o.resolution = 0.005;
	g = engrave_gcode(&p, &o, NULL);
	replay(g, &len, &dec, &red);
	CHECK_INT(dec, 3);
	free(g);
	engrave_paths_free(&p);
}

static void
base_request(struct engrave_request *r, const char *text, double w, double h)
{
	memset(r, 0, sizeof(*r));
	r->content = ENGRAVE_TEXT;
	r->text = text;
	r->area = ENGRAVE_AREA_RECT;
	r->width = w;
	r->height = h;
}

static void
t_fit(void)
{
	struct engrave_settings s;
	engrave_settings_default(&s, NULL);
	struct engrave_request r;
	struct engrave_result res;

	base_request(&r, "Alexandra", 30, 8);
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_OK);
	struct engrave_bbox b = engrave_paths_bbox(&res.toolpath);
	CHECK(b.x0 >= s.edge_margin - 1e-6 && b.x1 <= 30 - s.edge_margin + 1e-6);
	CHECK(b.y0 >= s.edge_margin - 1e-6 && b.y1 <= 8 - s.edge_margin + 1e-6);
	/* As large as fits: touches the limiting side of the inner area. */
	CHECK(fabs(b.x1 - b.x0 - res.fit.area_w) < 1e-6 || fabs(b.y1 - b.y0 - res.fit.area_h) < 1e-6);
	double full = res.fit.char_height;
	engrave_result_free(&res);

	r.char_height = 2;
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_OK);
	CHECK_NEAR(res.fit.char_height, 2, 1e-9);
	CHECK(full > 2);
	engrave_result_free(&res);

	/* Too long: refused with the numbers, and a width of exactly what it
	 * said it needs (plus the margins) fits at the minimum height. */
	base_request(&r, "Alexandra Maximiliane", 8, 3);
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_FIT);
	CHECK(!res.fit.fits);
	CHECK(res.fit.needed > res.fit.available);
	CHECK_NEAR(res.fit.available, 8 - 2 * s.edge_margin, 1e-9);
	char expect[128];
	snprintf(expect, sizeof(expect), "needs %.1f mm at 0.8 mm; %.1f mm available",
	    res.fit.needed, res.fit.available);
	CHECK_CONTAINS(res.error, expect);
	CHECK_CONTAINS(res.error, "width");
	double needed = res.fit.needed;
	engrave_result_free(&res);
	base_request(&r, "Alexandra Maximiliane", needed + 2 * s.edge_margin + 0.01, 3);
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_OK);
	CHECK(res.fit.char_height >= s.min_char_height - 1e-9);
	CHECK(res.fit.char_height < s.min_char_height * 1.01);
	engrave_result_free(&res);

	/* Several lines, aligned left: every line starts at the margin. */
	base_request(&r, "Anna\nMaximilian", 30, 10);
	r.align = ENGRAVE_ALIGN_LEFT;
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_OK);
	CHECK_INT(res.fit.lines, 2);
	b = engrave_paths_bbox(&res.toolpath);
	CHECK(b.x0 < s.edge_margin + 0.3 * res.fit.char_height);
	engrave_result_free(&res);
	engrave_cache_clear();
}

static void
t_ring_and_arc(void)
{
	struct engrave_settings s;
	engrave_settings_default(&s, NULL);
	struct engrave_request r;
	struct engrave_result res;

	/* ISO 8653: the size is the inside's circumference in mm. */
	CHECK_NEAR(engrave_ring_circumference(52), 52, 1e-12);
	base_request(&r, "Toujours 23.11.2026", 0, 0);
	r.area = ENGRAVE_AREA_RING;
	r.ring_size = 52;
	r.band_width = 3;
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_OK);
	CHECK_NEAR(res.fit.area_w, 52 * s.ring_usable - 2 * s.edge_margin, 1e-9);
	CHECK_NEAR(res.fit.area_h, 3 - 2 * s.edge_margin, 1e-9);
	struct engrave_bbox b = engrave_paths_bbox(&res.toolpath);
	CHECK(b.y0 >= s.edge_margin - 1e-6 && b.y1 <= 3 - s.edge_margin + 1e-6);
	engrave_result_free(&res);

	/* A thin band refuses on height with its numbers. */
	r.band_width = 1.0;
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_FIT);
	CHECK_CONTAINS(res.error, "height needs");
	CHECK_CONTAINS(res.error, "; 0.6 mm available");
	engrave_result_free(&res);

	/* Round pendant: the text follows the edge and stays inside. */
	base_request(&r, "Camille", 20, 0);
	r.area = ENGRAVE_AREA_ROUND;
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_OK);
	double rmax = 0;
	for (size_t i = 0; i < res.toolpath.n; i++)
		for (size_t j = 0; j < res.toolpath.v[i].n; j++) {
			double d = hypot(res.toolpath.v[i].pts[j].x - 10, res.toolpath.v[i].pts[j].y - 10);
			if (d > rmax)
				rmax = d;
		}
	CHECK(rmax <= 10 - s.edge_margin + 1e-6);
	CHECK(rmax > 9);  /* letters reach the edge rather than the centre */
	/* The baseline is bent, not cut into chords: no burn segment is long
	 * enough to stray more than the chord tolerance from its arc. */
	double longest = 0;
	for (size_t i = 0; i < res.toolpath.n; i++)
		for (size_t j = 1; j < res.toolpath.v[i].n; j++) {
			struct engrave_pt a = res.toolpath.v[i].pts[j - 1], b2 = res.toolpath.v[i].pts[j];
			if (hypot(a.x - b2.x, a.y - b2.y) > longest)
				longest = hypot(a.x - b2.x, a.y - b2.y);
		}
	CHECK(longest <= sqrt(8 * 10 * s.chord_tolerance) + 1e-6);
	engrave_result_free(&res);
	engrave_cache_clear();
}

/* The extent of the X and Y words of a G-code program. */
static void
gcode_extent(const char *g, double *x0, double *x1, double *y0, double *y1)
{
	*x0 = *y0 = 1e9;
	*x1 = *y1 = -1e9;
	for (const char *p = g; *p; p++) {
		if (*p != 'X' && *p != 'Y')
			continue;
		double v = strtod(p + 1, NULL);
		if (*p == 'X') {
			*x0 = fmin(*x0, v);
			*x1 = fmax(*x1, v);
		} else {
			*y0 = fmin(*y0, v);
			*y1 = fmax(*y1, v);
		}
	}
}

/* Issue 18, item 4: every layout inside the work area before any G-code
 * exists, --height under the minimum refused with both numbers, options
 * that make no sense for the area refused by name. */
static void
t_bounds_and_nonsense(void)
{
	struct engrave_settings s;
	engrave_settings_default(&s, NULL);
	struct engrave_request r;
	struct engrave_result res;
	/* gcode --text Ana --ring 52 --band 4 --origin 500,500 on 100 x 100. */
	base_request(&r, "Ana", 0, 0);
	r.area = ENGRAVE_AREA_RING;
	r.ring_size = 52;
	r.band_width = 4;
	r.origin_x = 500;
	r.origin_y = 500;
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_INPUT);
	CHECK_CONTAINS(res.error, "outside the laser's 100 x 100 mm");
	CHECK(res.gcode == NULL);
	engrave_result_free(&res);
	/* Partly out: the band is 26 mm long. */
	r.origin_x = 80;
	r.origin_y = 10;
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_INPUT);
	CHECK(res.gcode == NULL);
	engrave_result_free(&res);
	/* Inside: every move of the program within the travel. */
	r.origin_x = 50;
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_OK);
	double x0, x1, y0, y1;
	if (res.gcode) {
		gcode_extent(res.gcode, &x0, &x1, &y0, &y1);
		CHECK(x0 >= 50 && x1 <= 76 && y0 >= 10 && y1 <= 14);
	}
	engrave_result_free(&res);
	/* Round and arc layouts too. */
	base_request(&r, "Camille", 20, 20);
	r.area = ENGRAVE_AREA_ROUND;
	r.origin_x = 85;
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_INPUT);
	CHECK_CONTAINS(res.error, "outside the laser's");
	engrave_result_free(&res);
	r.origin_x = 80;
	r.origin_y = 80;
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_OK);
	if (res.gcode) {
		gcode_extent(res.gcode, &x0, &x1, &y0, &y1);
		CHECK(x0 >= 80 && x1 <= 100 && y0 >= 80 && y1 <= 100);
	}
	engrave_result_free(&res);
	/* --height 0.5 under laser.min_char_height 0.8: both numbers. */
	base_request(&r, "Ana", 20, 5);
	r.char_height = 0.5;
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_INPUT);
	CHECK_CONTAINS(res.error, "0.50 mm is below the laser's minimum of 0.80 mm");
	engrave_result_free(&res);
	r.char_height = 0.8;
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_OK);
	CHECK_NEAR(res.fit.char_height, 0.8, 1e-9);
	engrave_result_free(&res);
	/* --ring with --arc: "Ana" was bent around a 1.8 mm circle. */
	base_request(&r, "Ana", 0, 0);
	r.area = ENGRAVE_AREA_RING;
	r.ring_size = 52;
	r.band_width = 4;
	r.on_arc = true;
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_INPUT);
	CHECK_CONTAINS(res.error, "--arc cannot be used with --ring");
	engrave_result_free(&res);
	r.on_arc = false;
	r.arc_radius = 10;
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_INPUT);
	CHECK_CONTAINS(res.error, "--arc-radius cannot be used with --ring");
	engrave_result_free(&res);
	/* A radius with nothing to bend, and a symbol bent. */
	base_request(&r, "Ana", 30, 30);
	r.arc_radius = 10;
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_INPUT);
	CHECK_CONTAINS(res.error, "--arc-radius without --arc");
	engrave_result_free(&res);
	memset(&r, 0, sizeof(r));
	r.content = ENGRAVE_SYMBOL;
	r.symbol = "heart";
	r.area = ENGRAVE_AREA_ROUND;
	r.width = 20;
	r.on_arc = true;
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_INPUT);
	CHECK_CONTAINS(res.error, "a symbol is not bent");
	engrave_result_free(&res);
}

static void
t_bad_input(void)
{
	struct engrave_settings s;
	engrave_settings_default(&s, NULL);
	struct engrave_request r;
	struct engrave_result res;
	static const struct { const char *text; const char *needle; } bad[] = {
		{ "caf\xC3\x28", "not valid UTF-8 (byte 3" },
		{ "\xC0\xAF", "not valid UTF-8" },
		{ "\xED\xA0\x80", "not valid UTF-8" },
		{ "\xF4\x90\x80\x80", "not valid UTF-8" },
		{ "", "empty" },
		{ "  \n ", "empty" },
		{ "a\tb", "control character U+0009" },
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		base_request(&r, bad[i].text, 30, 8);
		CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_INPUT);
		CHECK_CONTAINS(res.error, bad[i].needle);
		engrave_result_free(&res);
	}
	char huge[1001];
	memset(huge, 'A', 1000);
	huge[1000] = 0;
	base_request(&r, huge, 30, 8);
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_INPUT);
	CHECK_CONTAINS(res.error, "1000 characters; at most 200");
	engrave_result_free(&res);
	double areas[][2] = { { 0, 5 }, { -3, 5 }, { 5, 0 }, { NAN, 5 }, { INFINITY, 5 }, { 0.3, 0.3 } };
	for (size_t i = 0; i < ARRAY_LEN(areas); i++) {
		base_request(&r, "A", areas[i][0], areas[i][1]);
		CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_INPUT);
		CHECK(res.error && strstr(res.error, "area"));
		engrave_result_free(&res);
	}
	base_request(&r, "A", 500, 5);
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_INPUT);
	CHECK_CONTAINS(res.error, "outside the laser");
	engrave_result_free(&res);
	base_request(&r, "A", 10, 5);
	r.material = "unobtainium";
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_INPUT);
	CHECK_CONTAINS(res.error, "unknown material 'unobtainium'");
	engrave_result_free(&res);
	base_request(&r, NULL, 10, 5);
	r.content = ENGRAVE_DATE;
	r.date = "2026-02-30";
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_INPUT);
	CHECK_CONTAINS(res.error, "not a date");
	engrave_result_free(&res);
	base_request(&r, NULL, 0, 0);
	r.area = ENGRAVE_AREA_RING;
	r.ring_size = 0;
	r.band_width = 3;
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_INPUT);
	CHECK_CONTAINS(res.error, "ring size 0");
	engrave_result_free(&res);
	engrave_cache_clear();
}

static void
t_dates(void)
{
	static const struct { const char *lang; enum engrave_date_style st; const char *want; } cases[] = {
		{ "de", ENGRAVE_DATE_NUMERIC, "23.11.2026" },
		{ "ru", ENGRAVE_DATE_NUMERIC, "23.11.2026" },
		{ "fr", ENGRAVE_DATE_NUMERIC, "23/11/2026" },
		{ "en-US", ENGRAVE_DATE_NUMERIC, "11/23/2026" },
		{ "ja", ENGRAVE_DATE_NUMERIC, "2026/11/23" },
		{ "fr", ENGRAVE_DATE_LONG, "23 novembre 2026" },
		{ "fr-CH", ENGRAVE_DATE_LONG, "23 novembre 2026" },
		{ "en", ENGRAVE_DATE_LONG, "23 November 2026" },
		{ "en-US", ENGRAVE_DATE_LONG, "November 23, 2026" },
		{ "de", ENGRAVE_DATE_LONG, "23. November 2026" },
		{ "es", ENGRAVE_DATE_LONG, "23 de noviembre de 2026" },
		{ "it", ENGRAVE_DATE_LONG, "23 novembre 2026" },
		{ "pt", ENGRAVE_DATE_LONG, "23 de novembro de 2026" },
		{ "ru", ENGRAVE_DATE_LONG, "23 ноября 2026" },
		{ "el", ENGRAVE_DATE_LONG, "23 Νοεμβρίου 2026" },
		{ "ar", ENGRAVE_DATE_LONG, "٢٣ نوفمبر ٢٠٢٦" },
		{ "he", ENGRAVE_DATE_LONG, "23 בנובמבר 2026" },
		{ "hi", ENGRAVE_DATE_LONG, "23 नवंबर 2026" },
		{ "ja", ENGRAVE_DATE_LONG, "2026年11月23日" },
		{ "zh", ENGRAVE_DATE_LONG, "2026年11月23日" },
		{ "ko", ENGRAVE_DATE_LONG, "2026년 11월 23일" },
		{ "nl", ENGRAVE_DATE_LONG, "23 november 2026" },
		{ "it", ENGRAVE_DATE_ISO, "2026-11-23" },
	};
	char out[128];
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		CHECK_INT(engrave_date_format(2026, 11, 23, cases[i].lang, cases[i].st, out, sizeof(out)), 0);
		CHECK_STR(out, cases[i].want);
	}
	CHECK_INT(engrave_date_format(2026, 5, 1, "de", ENGRAVE_DATE_NUMERIC, out, sizeof(out)), 0);
	CHECK_STR(out, "01.05.2026");
	CHECK_INT(engrave_date_format(2026, 2, 29, "de", ENGRAVE_DATE_LONG, out, sizeof(out)), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(engrave_date_format(2024, 2, 29, "de", ENGRAVE_DATE_LONG, out, sizeof(out)), 0);
	CHECK_STR(out, "29. Februar 2024");
	CHECK_INT(engrave_date_format(2026, 11, 23, "xx", ENGRAVE_DATE_LONG, out, sizeof(out)), -1);
	CHECK_INT(errno, ENOENT);
	CHECK_INT(engrave_date_format(2026, 11, 23, "ru", ENGRAVE_DATE_LONG, out, 8), -1);
	CHECK_INT(errno, ENOSPC);
	int y, m, d;
	CHECK_INT(engrave_date_parse("2026-11-23", &y, &m, &d), 0);
	CHECK_INT(y * 10000 + m * 100 + d, 20261123);
	CHECK_INT(engrave_date_parse("2026-13-01", &y, &m, &d), -1);
	CHECK_INT(engrave_date_parse("2026-1-01", &y, &m, &d), -1);
	CHECK_INT(engrave_date_parse("2026-11-23x", &y, &m, &d), -1);
}

static void
t_symbols_and_preview(void)
{
	struct engrave_settings s;
	engrave_settings_default(&s, NULL);
	s.symbol_dir = "config/symbols";
	static const char *const names[] = { "heart", "star", "infinity", "monogram" };
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		struct engrave_request r = { .content = ENGRAVE_SYMBOL, .symbol = names[i],
			.area = ENGRAVE_AREA_RECT, .width = 15, .height = 12, .fill = ENGRAVE_FILL_HATCH };
		struct engrave_result res;
		CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_OK);
		struct engrave_bbox b = engrave_paths_bbox(&res.toolpath);
		CHECK(b.x0 >= s.edge_margin - 1e-6 && b.x1 <= 15 - s.edge_margin + 1e-6);
		CHECK(b.y0 >= s.edge_margin - 1e-6 && b.y1 <= 12 - s.edge_margin + 1e-6);
		size_t closed = 0;
		for (size_t k = 0; k < res.toolpath.n; k++)
			closed += res.toolpath.v[k].closed;
		CHECK(closed >= 1);
		CHECK(res.toolpath.n > closed);  /* hatch lines too */
		/* The preview is an SVG our own reader accepts (no outside
		 * reference), with the piece, area, travel and burn layers. */
		CHECK_CONTAINS(res.svg, "id=\"piece\"");
		CHECK_CONTAINS(res.svg, "id=\"area\"");
		CHECK_CONTAINS(res.svg, "id=\"travel\"");
		CHECK_CONTAINS(res.svg, "id=\"burn\"");
		struct engrave_paths back;
		char err[256];
		engrave_paths_init(&back);
		CHECK_INT(engrave_svg_read(res.svg, strlen(res.svg), 1e-3, &back, err, sizeof(err)), 0);
		CHECK(back.n > res.toolpath.n);
		engrave_paths_free(&back);
		engrave_result_free(&res);
	}
	/* Initials inside the monogram frame: the frame's paths plus the
	 * letters, centred in it. */
	struct engrave_request mr = { .content = ENGRAVE_SYMBOL, .symbol = "monogram",
		.area = ENGRAVE_AREA_RECT, .width = 12, .height = 14 };
	struct engrave_result frame, mono;
	CHECK_INT(engrave_run(&s, &mr, &frame), ENGRAVE_OK);
	mr.text = "AM";
	CHECK_INT(engrave_run(&s, &mr, &mono), ENGRAVE_OK);
	CHECK_INT(mono.toolpath.n, frame.toolpath.n + 3);  /* A: 2 contours, M: 1 */
	CHECK(mono.fit.char_height >= s.min_char_height);
	struct engrave_bbox fb = engrave_paths_bbox(&frame.toolpath);
	struct engrave_bbox mb = engrave_paths_bbox(&mono.toolpath);
	CHECK_NEAR(mb.x0, fb.x0, 1e-6);
	CHECK_NEAR(mb.y1, fb.y1, 1e-6);
	engrave_result_free(&frame);
	engrave_result_free(&mono);
	mr.text = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	CHECK_INT(engrave_run(&s, &mr, &mono), ENGRAVE_ERR_FIT);
	engrave_result_free(&mono);

	struct engrave_request r = { .content = ENGRAVE_SYMBOL, .symbol = "../etc/passwd",
		.area = ENGRAVE_AREA_RECT, .width = 15, .height = 12 };
	struct engrave_result res;
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_INPUT);
	CHECK_CONTAINS(res.error, "not valid");
	engrave_result_free(&res);
	r.symbol = "unicorn";
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_INPUT);
	CHECK_CONTAINS(res.error, "no symbol named 'unicorn'");
	engrave_result_free(&res);
}

static void
t_json(void)
{
	struct engrave_settings s;
	engrave_settings_default(&s, NULL);
	struct engrave_request r;
	struct engrave_result res;
	char err[200];
	json_error_t je;
	json_t *o = json_loads("{\"text\": \"Léa\", \"area\": \"ring\", \"ring_size\": 52, "
	    "\"band_width\": 3, \"fill\": \"hatch\", \"material\": \"silver\"}", 0, &je);
	CHECK_INT(engrave_request_from_json(o, &r, err, sizeof(err)), 0);
	CHECK_INT(r.area, ENGRAVE_AREA_RING);
	CHECK_INT(r.fill, ENGRAVE_FILL_HATCH);
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_OK);
	json_t *j = engrave_result_json(&res, true, false);
	CHECK_STR(json_string_value(json_object_get(j, "status")), "ok");
	CHECK(json_object_get(j, "gcode") != NULL);
	CHECK(json_object_get(j, "svg") == NULL);
	json_decref(j);
	engrave_result_free(&res);
	json_decref(o);

	static const char *const bad[][2] = {
		{ "{\"text\": 5, \"width\": 3, \"height\": 3}", "'text' must be a string" },
		{ "{\"text\": \"a\", \"colour\": 3}", "unknown field 'colour'" },
		{ "{\"text\": \"a\", \"date\": \"2026-01-01\"}", "exactly one of" },
		{ "{\"text\": \"a\", \"area\": \"oval\"}", "area must be" },
		{ "{\"text\": \"a\", \"width\": \"3\"}", "'width' must be a number" },
		{ "[1]", "must be an object" },
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		o = json_loads(bad[i][0], JSON_DECODE_ANY, &je);
		CHECK(o != NULL);
		CHECK_INT(engrave_request_from_json(o, &r, err, sizeof(err)), -1);
		CHECK_CONTAINS(err, bad[i][1]);
		json_decref(o);
	}
	/* A refusal carries its numbers in the JSON too. */
	o = json_loads("{\"text\": \"Alexandra Maximiliane\", \"width\": 8, \"height\": 3}", 0, &je);
	CHECK_INT(engrave_request_from_json(o, &r, err, sizeof(err)), 0);
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_FIT);
	j = engrave_result_json(&res, true, true);
	CHECK_STR(json_string_value(json_object_get(j, "status")), "does_not_fit");
	CHECK(json_real_value(json_object_get(json_object_get(j, "fit"), "needed")) > 7.6);
	CHECK_NEAR(json_real_value(json_object_get(json_object_get(j, "fit"), "available")), 7.6, 1e-9);
	json_decref(j);
	engrave_result_free(&res);
	json_decref(o);
	engrave_cache_clear();
}

int
main(void)
{
	RUN(t_svg_arcs);
	RUN(t_svg_shapes);
	RUN(t_svg_hostile);
	RUN(t_svg_use);
	RUN(t_hatch);
	RUN(t_order);
	RUN(t_order_two_opt_check);
	RUN(t_gcode);
	RUN(t_fit);
	RUN(t_ring_and_arc);
	RUN(t_bad_input);
	RUN(t_bounds_and_nonsense);
	RUN(t_dates);
	RUN(t_symbols_and_preview);
	RUN(t_json);
	return test_summary();
}
