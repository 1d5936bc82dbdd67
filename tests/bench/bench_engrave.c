/*
 * Engraving benchmark (`make bench`): for a 30-character text with hatch
 * fill in Latin, Arabic and CJK, prints side by side the generation time
 * (first run with fonts loading, then the median of warm runs), the travel
 * of the optimised order against the order as drawn and a lower bound, the
 * compact G-code's bytes per segment against a plain writer, and the
 * estimated machine time at the configured speeds. The order is checked
 * (issue 18) by running a full 2-opt with path reversal over every pair of
 * positions on the finished order, to convergence: what it still gains is
 * the residual, which must stay within 1 %.
 *
 * The bound is engrave_travel_bound(): the largest of the minimum spanning
 * tree over paths (edge = shortest hop between entry points; any burn
 * order's travel moves link all paths, so they weigh at least the MST), the
 * sum over paths of the nearest neighbour less the largest one, and both
 * again over the open paths alone (skipping a closed path, left where it
 * was entered, never lengthens a tour).
 *
 * Last, the budget: the heavy preview of issue 19 (tests/data/engrave/
 * nested-use.svg: one path drawn 10 x 10 x 10 times through nested <use>,
 * hatched at 0.01 mm with cross-hatch on 90 x 90 mm), how long the engine
 * computes before it refuses it, why, and how far it got; and the largest
 * layout the default limits accept (30 rings hatched the same way, about
 * 280,000 segments), whose time the default time budget must clear.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engrave/engrave.h"
#include "util.h"

struct sample {
	const char *name, *text, *lang;
};

static int
cmp_double(const void *a, const void *b)
{
	double d = *(const double *)a - *(const double *)b;
	return (d > 0) - (d < 0);
}

/* The preview of issue 19, timed to its refusal (median of 5). */
static int
heavy_preview(const struct engrave_settings *s)
{
	const char *path = "tests/data/engrave/nested-use.svg";
	size_t len = 0;
	char *doc = file_read(path, 0, &len);
	if (!doc) {
		fprintf(stderr, "bench_engrave: cannot read %s (run from the top of the tree)\n", path);
		return 1;
	}
	struct engrave_request r = { .content = ENGRAVE_SVG, .svg = doc, .svg_len = len,
		.area = ENGRAVE_AREA_RECT, .width = 90, .height = 90, .fill = ENGRAVE_FILL_HATCH,
		.hatch_interval = 0.01, .cross_hatch = true, .material = "gold" };
	enum { HEAVY_RUNS = 5 };
	double t[HEAVY_RUNS];
	struct engrave_result res;
	for (int i = 0; i < HEAVY_RUNS; i++) {
		double t0 = now_mono();
		engrave_run(s, &r, &res);
		t[i] = (now_mono() - t0) * 1000;
		if (i < HEAVY_RUNS - 1)
			engrave_result_free(&res);
	}
	qsort(t, HEAVY_RUNS, sizeof(double), cmp_double);
	printf("issue 19 preview (%zu bytes, <use> 10 x 10 x 10, hatch 0.01 mm, cross, 90 x 90 mm): "
	    "%s after %.1f ms (median of %d)\n  %s\n", len, engrave_status_name(res.status),
	    t[HEAVY_RUNS / 2], HEAVY_RUNS, res.error ? res.error : "(accepted)");
	printf("  before refusing: %zu SVG points read (of 457000), %zu hatch lines made, "
	    "%zu budget checks\n", res.work.svg_points, res.work.hatch_lines, res.work.checks);
	engrave_result_free(&res);
	free(doc);

	/* The largest accepted layout, once (it takes seconds). */
	char *rings = file_read("tests/data/engrave/rings-30.svg", 0, &len);
	if (!rings)
		return 1;
	r.svg = rings;
	r.svg_len = len;
	struct engrave_settings unbounded = *s;
	unbounded.budget.seconds = 0;
	double t0 = now_mono();
	engrave_run(&unbounded, &r, &res);
	printf("largest accepted layout (30 rings, hatch 0.01 mm, cross, 90 x 90 mm): %s, %zu segments, "
	    "%.2f s (time budget %.1f s)\n", engrave_status_name(res.status), res.stats.segments,
	    now_mono() - t0, s->budget.seconds);
	engrave_result_free(&res);
	free(rings);
	return 0;
}

int
main(void)
{
	static const struct sample samples[] = {
		/* 30 characters each */
		{ "Latin", "Pour Hélène, à jamais — 23.11.", "fr" },
		{ "Arabic", "إلى مريم مع كل الحب إلى الأبد", "ar" },
		{ "CJK", "永远爱你直到世界的尽头我们一起走过春夏秋冬每一天都幸福快乐", "zh" },
	};
	struct engrave_settings s;
	engrave_settings_default(&s, NULL);
	enum { RUNS = 15 };
	struct {
		double cold_ms, warm_ms, drawn, opt, bound, cbytes, pbytes, seconds, two_opt;
		size_t paths, segs;
		double ch;
	} row[3];

	for (size_t k = 0; k < 3; k++) {
		struct engrave_request r = { .content = ENGRAVE_TEXT, .text = samples[k].text,
			.lang = samples[k].lang, .area = ENGRAVE_AREA_RECT, .width = 90, .height = 8,
			.fill = ENGRAVE_FILL_HATCH, .hatch_interval = 0.1, .material = "gold" };
		struct engrave_result res;
		double t[RUNS];
		engrave_cache_clear();
		for (int i = 0; i < RUNS; i++) {
			double t0 = now_mono();
			if (engrave_run(&s, &r, &res) != ENGRAVE_OK) {
				fprintf(stderr, "bench_engrave: %s: %s\n", samples[k].name, res.error);
				return 1;
			}
			t[i] = (now_mono() - t0) * 1000;
			if (i < RUNS - 1)
				engrave_result_free(&res);
		}
		row[k].cold_ms = t[0];
		qsort(t + 1, RUNS - 1, sizeof(double), cmp_double);
		row[k].warm_ms = t[RUNS / 2];
		row[k].drawn = res.stats.travel_as_drawn_mm;
		row[k].opt = res.stats.travel_mm;
		row[k].bound = engrave_travel_bound(&res.toolpath);
		/* The check of issue 18: a full 2-opt with path reversal over
		 * the finished order, to convergence, on a copy. */
		struct engrave_paths copy;
		engrave_paths_init(&copy);
		for (size_t i = 0; i < res.toolpath.n; i++) {
			const struct engrave_poly *q = &res.toolpath.v[i];
			struct engrave_poly *d = engrave_paths_new_poly(&copy);
			d->closed = q->closed;
			for (size_t j = 0; j < q->n; j++)
				engrave_poly_add(d, q->pts[j].x, q->pts[j].y);
		}
		row[k].two_opt = engrave_two_opt_full(&copy, 1000);
		engrave_paths_free(&copy);
		row[k].paths = res.stats.paths;
		row[k].segs = res.stats.segments;
		row[k].ch = res.fit.char_height;
		row[k].seconds = res.stats.seconds;
		struct engrave_gcode_opts o = { .resolution = s.resolution, .power_s = 800,
			.speed = 600, .passes = 1, .plain = true };
		char *plain = engrave_gcode(&res.toolpath, &o, NULL);
		row[k].cbytes = (double)res.stats.gcode_bytes / (double)res.stats.segments;
		row[k].pbytes = (double)strlen(plain) / (double)res.stats.segments;
		free(plain);
		engrave_result_free(&res);
	}
	engrave_cache_clear();

	printf("engraving, 30 characters, hatch 0.1 mm, area 90 x 8 mm, gold (%.0f mm/min burn, %.0f mm/min travel)\n",
	    s.materials[0].speed, s.max_feed);
	printf("%-34s %14s %14s %14s\n", "", samples[0].name, samples[1].name, samples[2].name);
#define ROW(label, fmt, expr)                                                   \
	do {                                                                    \
		printf("%-34s", label);                                         \
		for (int k = 0; k < 3; k++)                                     \
			printf(" %14" fmt, expr);                               \
		printf("\n");                                                   \
	} while (0)
	ROW("character height (mm)", ".2f", row[k].ch);
	ROW("paths / segments", "s", xasprintf("%zu/%zu", row[k].paths, row[k].segs));
	ROW("generation, first run (ms)", ".2f", row[k].cold_ms);
	ROW("generation, warm median (ms)", ".2f", row[k].warm_ms);
	ROW("travel as drawn (mm)", ".1f", row[k].drawn);
	ROW("travel optimised (mm)", ".1f", row[k].opt);
	ROW("travel lower bound (mm)", ".1f", row[k].bound);
	ROW("optimised / bound", ".3f", row[k].opt / row[k].bound);
	ROW("as drawn / optimised", ".2f", row[k].drawn / row[k].opt);
	ROW("travel after a full 2-opt (mm)", ".1f", row[k].two_opt);
	ROW("2-opt residual (%)", ".2f", 100 * (row[k].opt - row[k].two_opt) / row[k].opt);
	ROW("2-opt check (residual <= 1 %)", "s", row[k].opt - row[k].two_opt <= 0.01 * row[k].opt ?
	    "ok" : "FAILED");
	ROW("G-code bytes/segment, compact", ".2f", row[k].cbytes);
	ROW("G-code bytes/segment, plain", ".2f", row[k].pbytes);
	ROW("estimated machine time (s)", ".1f", row[k].seconds);
	printf("goals: generation < 20 ms each; no full 2-opt (with path reversal) over the "
	    "finished order shortens travel by more than 1 %%; optimised travel within 1.3x of the "
	    "bound\n");
	return heavy_preview(&s);
}
