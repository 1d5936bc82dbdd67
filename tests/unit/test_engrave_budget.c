/*
 * Unit tests of the engraving budget (issue 19): the heavy preview of the
 * issue refused early, with its numbers; each limit (SVG points, <use>
 * depth, hatch lines, segments) refused as soon as it is known, at the
 * limit passing and one past it failing; a deadline already past and a
 * cancel flag refusing at the first check; a cancel flag set from another
 * thread stopping a long layout; and ordinary layouts giving the G-code
 * they gave before the budget, byte for byte (tests/data/engrave/
 * before-budget-*.gcode, written by the engine as it was before).
 *
 * Early refusal is shown by the counters of res.work (points read, hatch
 * lines made, checks made), never by the clock. The tests run from the top
 * of the tree.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engrave/engrave.h"
#include "engrave/engrave_int.h"
#include "test.h"
#include "util.h"

#define ISSUE19 "tests/data/engrave/nested-use.svg"
/* The largest layout the default budget accepts: 30 rings, hatched. */
#define RINGS "tests/data/engrave/rings-30.svg"
/* Its path flattens to 457 points (456 segments); 1000 copies of it. */
#define ISSUE19_POINTS 457000

static char *
slurp(const char *path, size_t *len)
{
	char *d = file_read(path, 0, len);
	if (!d)
		printf("  cannot read %s\n", path);
	return d;
}

/* The issue's request: the design on 90 x 90 mm, hatch 0.01 mm, cross. */
static struct engrave_request
heavy_request(const char *svg, size_t len)
{
	struct engrave_request r = { .content = ENGRAVE_SVG, .svg = svg, .svg_len = len,
		.area = ENGRAVE_AREA_RECT, .width = 90, .height = 90, .fill = ENGRAVE_FILL_HATCH,
		.hatch_interval = 0.01, .cross_hatch = true, .material = "gold" };
	return r;
}

/* n copies of one closed path (a circle of 89 points) through three levels
 * of <use> of fan-outs a, b, c: few points, but every copy hatched. */
static char *
copies_svg(int a, int b, int c)
{
	struct buf d;
	buf_init(&d);
	buf_printf(&d, "<svg viewBox=\"0 0 100 100\"><defs>"
	    "<path id=\"p\" d=\"M50 20A30 30 0 1 1 50 80A30 30 0 1 1 50 20Z\"/>");
	const int fan[3] = { a, b, c };
	for (int l = 0; l < 3; l++) {
		buf_printf(&d, "<g id=\"l%d\">", l + 1);
		for (int k = 0; k < fan[l]; k++) {
			if (l == 0)
				buf_printf(&d, "<use href=\"#p\"/>");
			else
				buf_printf(&d, "<use href=\"#l%d\"/>", l);
		}
		buf_printf(&d, "</g>");
	}
	buf_printf(&d, "</defs><use href=\"#l3\"/></svg>");
	return d.data;
}

/* A chain of `depth` <use>, each drawing the next, ending in a square. */
static char *
use_chain_svg(int depth)
{
	struct buf d;
	buf_init(&d);
	buf_printf(&d, "<svg viewBox=\"0 0 10 10\"><defs><rect id=\"u0\" width=\"10\" height=\"10\"/>");
	for (int l = 1; l < depth; l++)
		buf_printf(&d, "<g id=\"u%d\"><use href=\"#u%d\"/></g>", l, l - 1);
	buf_printf(&d, "</defs><use href=\"#u%d\"/></svg>", depth - 1);
	return d.data;
}

static void
t_count_str(void)
{
	char b[32];
	CHECK_STR(engrave_count_str(b, sizeof(b), 0), "0");
	CHECK_STR(engrave_count_str(b, sizeof(b), 999), "999");
	CHECK_STR(engrave_count_str(b, sizeof(b), 1000), "1,000");
	CHECK_STR(engrave_count_str(b, sizeof(b), 1840000), "1,840,000");
	CHECK_STR(engrave_count_str(b, 6, 1840000), "1,840");  /* cut, still terminated */
}

static void
t_defaults(void)
{
	struct engrave_settings s;
	engrave_settings_default(&s, NULL);
	CHECK_NEAR(s.budget.seconds, 5, 1e-9);
	CHECK_NEAR(s.budget.deadline, 0, 0);
	CHECK(s.budget.cancel == NULL);
	CHECK_INT(s.budget.max_segments, 300000);
	CHECK_INT(s.budget.max_points, 300000);
	CHECK_INT(s.budget.max_use_depth, 4);
	CHECK_INT(s.budget.max_hatch_lines, 300000);
	struct engrave_budget b;
	engrave_budget_default(&b);
	CHECK(memcmp(&b, &s.budget, sizeof(b)) == 0);
}

/* The attack of issue 19: about 1 KB, refused while reading it, once the
 * running count of points passes the limit, long before its 456,000
 * points are made and before any hatching. */
static void
t_issue19_refused_early(void)
{
	size_t len;
	char *doc = slurp(ISSUE19, &len);
	if (!doc) {
		CHECK(doc != NULL);
		return;
	}
	CHECK(len <= 1024);
	struct engrave_settings s;
	engrave_settings_default(&s, NULL);
	struct engrave_request r = heavy_request(doc, len);
	struct engrave_result res;
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_BUDGET);
	CHECK_CONTAINS(res.error, "more than 300,000 points");
	CHECK_CONTAINS(res.error, "<use> copies");
	CHECK_INT(res.work.limit, ENGRAVE_LIMIT_POINTS);
	CHECK_NEAR(res.work.allowed, 300000, 0);
	CHECK_INT(res.work.svg_points, 300001);
	CHECK(res.work.svg_points < ISSUE19_POINTS);
	CHECK_INT(res.work.use_depth, 3);
	CHECK_INT(res.work.hatch_estimate, 0);
	CHECK_INT(res.work.hatch_lines, 0);
	CHECK_INT(res.toolpath.n, 0);
	CHECK(res.gcode == NULL && res.svg == NULL);
	/* The JSON says which limit, with its numbers. */
	json_t *j = engrave_result_json(&res, true, true);
	CHECK_STR(json_string_value(json_object_get(j, "status")), "over_budget");
	json_t *bj = json_object_get(j, "budget");
	CHECK_STR(json_string_value(json_object_get(bj, "limit")), "points");
	CHECK_NEAR(json_real_value(json_object_get(bj, "allowed")), 300000, 0);
	CHECK(json_object_get(j, "stats") == NULL);
	json_decref(j);
	engrave_result_free(&res);

	/* A zeroed budget takes the defaults: no unlimited by accident. */
	memset(&s.budget, 0, sizeof(s.budget));
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_BUDGET);
	CHECK_INT(res.work.limit, ENGRAVE_LIMIT_POINTS);
	CHECK_INT(res.work.svg_points, 300001);
	engrave_result_free(&res);

	/* With room for its points, its 456,000 outline segments are refused
	 * before hatching starts. */
	engrave_settings_default(&s, NULL);
	s.budget.max_points = 500000;
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_BUDGET);
	CHECK_INT(res.work.limit, ENGRAVE_LIMIT_SEGMENTS);
	CHECK_INT(res.work.svg_points, ISSUE19_POINTS);
	CHECK_CONTAINS(res.error, "456,000 segments; at most 300,000");
	CHECK_INT(res.work.hatch_lines, 0);
	engrave_result_free(&res);
	free(doc);
}

/* Hatching is estimated before it starts: 1000 copies of a circle (89,000
 * points, within the limits) at 0.01 mm would need millions of lines. */
static void
t_hatch_estimated_first(void)
{
	char *doc = copies_svg(10, 10, 10);
	struct engrave_settings s;
	engrave_settings_default(&s, NULL);
	struct engrave_request r = heavy_request(doc, strlen(doc));
	struct engrave_result res;
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_BUDGET);
	CHECK_INT(res.work.limit, ENGRAVE_LIMIT_HATCH_LINES);
	CHECK_INT(res.work.svg_points, 89000);
	CHECK(res.work.hatch_estimate > 1000000);
	CHECK_INT(res.work.hatch_lines, 0);
	char want[96], n[32];
	snprintf(want, sizeof(want), "hatching at 0.01 mm would need up to %s lines; at most 300,000",
	    engrave_count_str(n, sizeof(n), (double)res.work.hatch_estimate));
	CHECK_CONTAINS(res.error, want);
	CHECK_CONTAINS(res.error, "wider interval");
	engrave_result_free(&res);
	free(doc);

	/* The estimate against the lines made: a square, exactly; hatched
	 * text (nonzero, glyph outlines) and a hatched symbol, within 1 %. */
	struct engrave_paths p, h;
	engrave_paths_init(&p);
	engrave_paths_init(&h);
	struct engrave_poly *q = engrave_paths_new_poly(&p);
	const double sq[5][2] = { { 0, 0 }, { 10, 0 }, { 10, 10 }, { 0, 10 }, { 0, 0 } };
	for (int i = 0; i < 5; i++)
		engrave_poly_add(q, sq[i][0], sq[i][1]);
	q->closed = true;
	CHECK_INT(engrave_hatch_estimate(&p, 1, 0), 10);
	CHECK_INT(engrave_hatch(&p, 1, 0, false, 1000, &h), 10);
	engrave_paths_free(&h);
	engrave_paths_free(&p);
	s.symbol_dir = "config/symbols";
	struct engrave_request t = { .content = ENGRAVE_TEXT, .text = "Léa & Zoë 2026", .lang = "fr",
		.area = ENGRAVE_AREA_RECT, .width = 40, .height = 8, .fill = ENGRAVE_FILL_HATCH,
		.cross_hatch = true };
	struct engrave_request y = { .content = ENGRAVE_SYMBOL, .symbol = "monogram",
		.area = ENGRAVE_AREA_RECT, .width = 12, .height = 14, .fill = ENGRAVE_FILL_HATCH,
		.hatch_interval = 0.02 };
	const struct engrave_request *reqs[2] = { &t, &y };
	for (int i = 0; i < 2; i++) {
		CHECK_INT(engrave_run(&s, reqs[i], &res), ENGRAVE_OK);
		CHECK(res.work.hatch_lines > 100);
		CHECK_NEAR(res.work.hatch_estimate, res.work.hatch_lines, res.work.hatch_lines / 100.0);
		engrave_result_free(&res);
	}
	engrave_cache_clear();
}

/* A smaller budget is counted as the points are made, <use> copies
 * included: the reader stops at the first point past it. */
static void
t_points_counted_as_made(void)
{
	char *doc = copies_svg(10, 10, 10);
	struct engrave_settings s;
	engrave_settings_default(&s, NULL);
	s.budget.max_points = 1000;
	struct engrave_request r = heavy_request(doc, strlen(doc));
	r.fill = ENGRAVE_FILL_OUTLINE;
	struct engrave_result res;
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_BUDGET);
	CHECK_INT(res.work.limit, ENGRAVE_LIMIT_POINTS);
	CHECK_INT(res.work.svg_points, 1001);
	CHECK_CONTAINS(res.error, "more than 1,000 points");
	CHECK_CONTAINS(res.error, "(SVG line 1)");
	engrave_result_free(&res);
	s.budget.max_points = 89000;  /* exactly its points */
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_OK);
	CHECK_INT(res.work.svg_points, 89000);
	CHECK_INT(res.stats.paths, 1000);
	engrave_result_free(&res);
	free(doc);
}

/* <use> nested to the limit is drawn; one deeper is refused, naming both
 * depths. */
static void
t_use_depth(void)
{
	struct engrave_settings s;
	engrave_settings_default(&s, NULL);
	struct engrave_result res;
	for (int limit = 4; limit >= 2; limit -= 2) {
		s.budget.max_use_depth = limit;
		char *ok = use_chain_svg(limit), *deep = use_chain_svg(limit + 1);
		struct engrave_request r = { .content = ENGRAVE_SVG, .svg = ok, .area = ENGRAVE_AREA_RECT,
			.width = 10, .height = 10, .fill = ENGRAVE_FILL_HATCH };
		CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_OK);
		CHECK_INT(res.work.use_depth, limit);
		engrave_result_free(&res);
		r.svg = deep;
		CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_BUDGET);
		CHECK_INT(res.work.limit, ENGRAVE_LIMIT_USE_DEPTH);
		CHECK_NEAR(res.work.needed, limit + 1, 0);
		CHECK_NEAR(res.work.allowed, limit, 0);
		char want[64];
		snprintf(want, sizeof(want), "the design nests <use> %d deep; at most %d", limit + 1,
		    limit);
		CHECK_CONTAINS(res.error, want);
		CHECK_INT(res.work.hatch_lines, 0);
		engrave_result_free(&res);
		free(ok);
		free(deep);
	}
	/* The reader on its own keeps the default. */
	char *deep = use_chain_svg(5), err[256];
	struct engrave_paths p;
	engrave_paths_init(&p);
	CHECK_INT(engrave_svg_read(deep, strlen(deep), 1e-3, &p, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "nests <use> 5 deep; at most 4");
	engrave_paths_free(&p);
	free(deep);
}

/* A segment budget smaller than outline + estimated hatch is refused
 * before hatching, with the parts named. */
static void
t_segments_before_hatching(void)
{
	char *doc = copies_svg(2, 1, 1);  /* two coincident circles: nothing to hatch */
	struct engrave_settings s;
	engrave_settings_default(&s, NULL);
	s.budget.max_segments = 300;
	struct engrave_request r = { .content = ENGRAVE_SVG, .svg = doc, .area = ENGRAVE_AREA_RECT,
		.width = 20, .height = 20, .fill = ENGRAVE_FILL_HATCH, .hatch_interval = 0.1 };
	struct engrave_result res;
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_BUDGET);
	CHECK_INT(res.work.limit, ENGRAVE_LIMIT_SEGMENTS);
	CHECK_CONTAINS(res.error, "176 of outline");
	CHECK_CONTAINS(res.error, "at most 300:");
	CHECK_INT(res.work.hatch_lines, 0);
	engrave_result_free(&res);
	free(doc);
}

/* A deadline already past, or the cancel flag already set: refused at the
 * first check, before anything is read. */
static void
t_deadline_and_cancel_at_first_check(void)
{
	size_t len;
	char *doc = slurp(ISSUE19, &len);
	if (!doc) {
		CHECK(doc != NULL);
		return;
	}
	struct engrave_settings s;
	engrave_settings_default(&s, NULL);
	struct engrave_request r = heavy_request(doc, len);
	struct engrave_result res;
	s.budget.deadline = now_mono() - 1;
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_BUDGET);
	CHECK_INT(res.work.limit, ENGRAVE_LIMIT_TIME);
	CHECK_INT(res.work.checks, 1);
	CHECK_INT(res.work.svg_points, 0);
	CHECK_INT(res.work.hatch_lines, 0);
	CHECK_NEAR(res.work.allowed, 0, 0);
	CHECK_CONTAINS(res.error, "the layout was stopped after");
	CHECK_CONTAINS(res.error, "its time budget of 0.0 s");
	json_t *j = engrave_result_json(&res, false, false);
	CHECK_STR(json_string_value(json_object_get(json_object_get(j, "budget"), "limit")), "time");
	json_decref(j);
	engrave_result_free(&res);

	atomic_int cancel = 1;
	s.budget.deadline = 0;
	s.budget.cancel = &cancel;
	CHECK_INT(engrave_run(&s, &r, &res), ENGRAVE_ERR_BUDGET);
	CHECK_INT(res.work.limit, ENGRAVE_LIMIT_CANCEL);
	CHECK_INT(res.work.checks, 1);
	CHECK_INT(res.work.svg_points, 0);
	CHECK_CONTAINS(res.error, "the layout was cancelled");
	engrave_result_free(&res);

	/* Clear, the flag lets an ordinary layout through. */
	cancel = 0;
	struct engrave_request t = { .content = ENGRAVE_TEXT, .text = "Anna",
		.area = ENGRAVE_AREA_RECT, .width = 20, .height = 6, .fill = ENGRAVE_FILL_HATCH };
	CHECK_INT(engrave_run(&s, &t, &res), ENGRAVE_OK);
	CHECK(res.work.checks >= 1);
	engrave_result_free(&res);
	engrave_cache_clear();
	free(doc);
}

/* A layout cancelled from another thread while it runs. The design (30
 * rings hatched at 0.01 mm, cross: 280,000 segments, within the limits)
 * takes seconds to order; the flag is set as soon as the worker starts, so
 * it stops part-way, keeping no toolpath. */
struct worker {
	const struct engrave_settings *s;
	const struct engrave_request *r;
	struct engrave_result res;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	engrave_run(w->s, w->r, &w->res);
	return NULL;
}

static void
t_cancel_from_another_thread(void)
{
	size_t len;
	char *rings = slurp(RINGS, &len);
	CHECK(rings != NULL);
	if (!rings)
		return;
	static atomic_int cancel;
	atomic_store(&cancel, 0);
	struct engrave_settings s;
	engrave_settings_default(&s, NULL);
	s.budget.seconds = 0;  /* only the flag stops it */
	s.budget.cancel = &cancel;
	struct engrave_request r = heavy_request(rings, len);
	struct worker w = { .s = &s, .r = &r };
	pthread_t th;
	CHECK_INT(pthread_create(&th, NULL, worker_run, &w), 0);
	atomic_store(&cancel, 1);
	pthread_join(th, NULL);
	CHECK_INT(w.res.status, ENGRAVE_ERR_BUDGET);
	CHECK_INT(w.res.work.limit, ENGRAVE_LIMIT_CANCEL);
	CHECK_CONTAINS(w.res.error, "cancelled");
	CHECK_INT(w.res.toolpath.n, 0);
	CHECK(w.res.gcode == NULL);
	engrave_result_free(&w.res);
	free(rings);
}

/* Ordinary layouts are untouched by the budget: the G-code the engine
 * wrote before it, byte for byte. */
static void
t_same_gcode_as_before(void)
{
	struct engrave_settings s;
	engrave_settings_default(&s, NULL);
	s.symbol_dir = "config/symbols";
	struct engrave_request text = { .content = ENGRAVE_TEXT, .text = "Léa & Zoë", .lang = "fr",
		.area = ENGRAVE_AREA_RECT, .width = 30, .height = 8, .fill = ENGRAVE_FILL_HATCH,
		.material = "gold" };
	struct engrave_request heart = { .content = ENGRAVE_SYMBOL, .symbol = "heart",
		.area = ENGRAVE_AREA_RECT, .width = 15, .height = 12, .fill = ENGRAVE_FILL_HATCH,
		.cross_hatch = true, .material = "gold" };
	const struct {
		const struct engrave_request *r;
		const char *file;
	} cases[] = {
		{ &text, "tests/data/engrave/before-budget-text.gcode" },
		{ &heart, "tests/data/engrave/before-budget-heart.gcode" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		size_t len;
		char *want = slurp(cases[i].file, &len);
		struct engrave_result res;
		CHECK_INT(engrave_run(&s, cases[i].r, &res), ENGRAVE_OK);
		CHECK(want && res.gcode && strlen(res.gcode) == len && memcmp(res.gcode, want, len) == 0);
		CHECK(res.work.checks >= 1);
		CHECK_INT(res.work.limit, ENGRAVE_LIMIT_NONE);
		engrave_result_free(&res);
		free(want);
	}
	engrave_cache_clear();
}

int
main(void)
{
	RUN(t_count_str);
	RUN(t_defaults);
	RUN(t_issue19_refused_early);
	RUN(t_hatch_estimated_first);
	RUN(t_points_counted_as_made);
	RUN(t_use_depth);
	RUN(t_segments_before_hatching);
	RUN(t_deadline_and_cancel_at_first_check);
	RUN(t_cancel_from_another_thread);
	RUN(t_same_gcode_as_before);
	return test_summary();
}
