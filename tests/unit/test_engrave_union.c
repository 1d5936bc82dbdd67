/*
 * Outlines of joined letters (issue 18, item 2): the outline burnt for a
 * word is the union of its glyphs, so joined Arabic letters and a
 * Devanagari vowel sign over the headline are burnt along the outside
 * only, never along the seams inside. The burn length of the engraved
 * outline is compared with the perimeter of the union of the same glyphs
 * computed here with GEOS's overlay (outers united, counters taken out),
 * and with the sum of the glyphs' own perimeters it must be shorter than.
 * Hatching burns each point of a row once: its lines on a row never
 * overlap, and they cover the union's area.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <geos_c.h>

#include "engrave/engrave_int.h"
#include "test.h"
#include "util.h"

static struct engrave_settings S;
static GEOSContextHandle_t G;

#define AREA_W 40.0
#define AREA_H 10.0

static double
signed_area(const struct engrave_poly *q)
{
	double a = 0;
	for (size_t j = 0; j + 1 < q->n; j++)
		a += q->pts[j].x * q->pts[j + 1].y - q->pts[j + 1].x * q->pts[j].y;
	return a / 2;
}

static GEOSGeometry *
polygon_of(const struct engrave_poly *q)
{
	GEOSCoordSequence *cs = GEOSCoordSeq_create_r(G, (unsigned)q->n, 2);
	for (size_t j = 0; j < q->n; j++)
		GEOSCoordSeq_setXY_r(G, cs, (unsigned)j, q->pts[j].x, q->pts[j].y);
	GEOSGeometry *ring = GEOSGeom_createLinearRing_r(G, cs);
	GEOSGeometry *poly = GEOSGeom_createPolygon_r(G, ring, NULL, 0);
	GEOSGeometry *valid = GEOSMakeValid_r(G, poly);
	GEOSGeom_destroy_r(G, poly);
	return valid;
}

/* The glyphs of text (one line, em units, flattened to tol_em) and the
 * union of their fills: perimeter and area, and the sum of the glyphs'
 * own perimeters. Outers turn one way, counters the other. */
static void
reference(const char *text, const char *lang, double tol_em, double *union_len,
    double *union_area, double *glyphs_len)
{
	struct engrave_line *l;
	size_t n;
	struct engrave_result res = { 0 };
	*union_len = *union_area = *glyphs_len = -1;
	if (engrave_text_layout(&S, text, lang, false, tol_em, &l, &n, &res) != ENGRAVE_OK) {
		printf("  %s: %s\n", text, res.error);
		engrave_result_free(&res);
		return;
	}
	engrave_result_free(&res);
	const struct engrave_paths *p = &l[0].paths;
	GEOSGeometry **outer = xmalloc(p->n * sizeof(*outer)), **inner = xmalloc(p->n * sizeof(*inner));
	size_t no = 0, ni = 0;
	double outer_sign = 0;
	for (size_t i = 0; i < p->n; i++)  /* the largest contour is an outer */
		if (fabs(signed_area(&p->v[i])) > fabs(outer_sign))
			outer_sign = signed_area(&p->v[i]);
	*glyphs_len = engrave_paths_length(p);
	for (size_t i = 0; i < p->n; i++) {
		if (!p->v[i].closed || p->v[i].n < 4)
			continue;
		if ((signed_area(&p->v[i]) > 0) == (outer_sign > 0))
			outer[no++] = polygon_of(&p->v[i]);
		else
			inner[ni++] = polygon_of(&p->v[i]);
	}
	GEOSGeometry *oc = GEOSGeom_createCollection_r(G, GEOS_GEOMETRYCOLLECTION, outer, (unsigned)no);
	GEOSGeometry *ic = GEOSGeom_createCollection_r(G, GEOS_GEOMETRYCOLLECTION, inner, (unsigned)ni);
	GEOSGeometry *ou = GEOSUnaryUnion_r(G, oc), *iu = GEOSUnaryUnion_r(G, ic);
	GEOSGeometry *fill = GEOSDifference_r(G, ou, iu);
	GEOSGeometry *boundary = GEOSBoundary_r(G, fill);
	GEOSLength_r(G, boundary, union_len);
	GEOSArea_r(G, fill, union_area);
	GEOSGeom_destroy_r(G, boundary);
	GEOSGeom_destroy_r(G, fill);
	GEOSGeom_destroy_r(G, ou);
	GEOSGeom_destroy_r(G, iu);
	GEOSGeom_destroy_r(G, oc);
	GEOSGeom_destroy_r(G, ic);
	free(outer);
	free(inner);
	engrave_lines_free(l, n);
}

/* Engraves text in the test's area; *k is mm per em. */
static enum engrave_status
engrave(const char *text, const char *lang, enum engrave_fill fill, struct engrave_result *res)
{
	struct engrave_request r = { .content = ENGRAVE_TEXT, .text = text, .lang = lang,
		.area = ENGRAVE_AREA_RECT, .width = AREA_W, .height = AREA_H, .fill = fill,
		.hatch_interval = 0.05 };
	return engrave_run(&S, &r, res);
}

/* Burn length of the closed paths (the outlines) of a result, in em. */
static double
outline_em(const struct engrave_result *res)
{
	double len = 0;
	for (size_t i = 0; i < res->toolpath.n; i++)
		if (res->toolpath.v[i].closed) {
			struct engrave_paths one = { &res->toolpath.v[i], 1, 1 };
			len += engrave_paths_length(&one);
		}
	return len / res->fit.scale;
}

static void
check_outline(const char *text, const char *lang, double min_seams)
{
	/* engrave_run flattens at the chord tolerance over the area's height,
	 * less its margins: the reference the same. */
	double tol_em = S.chord_tolerance / (AREA_H - 2 * S.edge_margin);
	double ulen, uarea, glen;
	reference(text, lang, tol_em, &ulen, &uarea, &glen);
	struct engrave_result res;
	CHECK_INT(engrave(text, lang, ENGRAVE_FILL_OUTLINE, &res), ENGRAVE_OK);
	if (res.status != ENGRAVE_OK) {
		engrave_result_free(&res);
		return;
	}
	double burn = outline_em(&res);
	printf("  %s: burnt %.4f em, union's perimeter %.4f em, glyphs' %.4f em\n", text, burn,
	    ulen, glen);
	CHECK_NEAR(burn, ulen, ulen * 0.002);
	/* The seams inside the word are a real part of the glyphs' outlines. */
	CHECK(glen - ulen > min_seams);
	CHECK(burn < glen - min_seams);
	engrave_result_free(&res);
}

/* Glyphs that do not touch keep their own contours: Latin text burns the
 * same length as its glyphs. */
static void
apart_unchanged(void)
{
	double tol_em = S.chord_tolerance / (AREA_H - 2 * S.edge_margin);
	double ulen, uarea, glen;
	reference("Léa Zoë", "fr", tol_em, &ulen, &uarea, &glen);
	struct engrave_result res;
	CHECK_INT(engrave("Léa Zoë", "fr", ENGRAVE_FILL_OUTLINE, &res), ENGRAVE_OK);
	if (res.status == ENGRAVE_OK)
		CHECK_NEAR(outline_em(&res), glen, glen * 1e-9);
	CHECK_NEAR(ulen, glen, glen * 0.001);
	engrave_result_free(&res);
}

/* engrave preview --text 'محمد' --lang ar: one outline for the word. */
static void
t_joined_arabic(void)
{
	check_outline("محمد", "ar", 0.05);
	check_outline("مريم", "ar", 0.02);
	apart_unchanged();
}

/* The i sign's hook overlaps the headline; a conjunct's parts overlap. */
static void
t_devanagari_headline(void)
{
	check_outline("कि", "hi", 0.02);
	check_outline("प्रिया", "hi", 0.02);
	check_outline("क्षि", "hi", 0.02);
}

static int
by_y_then_x(const void *a, const void *b)
{
	const struct engrave_pt *p = a, *q = b;
	if (p[0].y != q[0].y)
		return (p[0].y > q[0].y) - (p[0].y < q[0].y);
	return (p[0].x > q[0].x) - (p[0].x < q[0].x);
}

/* Hatching a joined word: no point of a row is burnt twice, the outline
 * is the union's, and the lines cover the union's area. */
static void
t_hatch_once(void)
{
	const char *text = "محمد";
	double tol_em = S.chord_tolerance / (AREA_H - 2 * S.edge_margin);
	double ulen, uarea, glen;
	reference(text, "ar", tol_em, &ulen, &uarea, &glen);
	struct engrave_result res;
	CHECK_INT(engrave(text, "ar", ENGRAVE_FILL_HATCH, &res), ENGRAVE_OK);
	if (res.status != ENGRAVE_OK) {
		engrave_result_free(&res);
		return;
	}
	CHECK_NEAR(outline_em(&res), ulen, ulen * 0.002);
	/* Hatch lines (angle 0): each as (left end, right end). */
	size_t nh = 0;
	struct engrave_pt *seg = xmalloc(2 * res.toolpath.n * sizeof(*seg));
	double hatch_len = 0;
	for (size_t i = 0; i < res.toolpath.n; i++) {
		const struct engrave_poly *q = &res.toolpath.v[i];
		if (q->closed || q->n != 2)
			continue;
		struct engrave_pt a = q->pts[0], b = q->pts[1];
		CHECK_NEAR(a.y, b.y, 1e-9);
		seg[2 * nh] = a.x < b.x ? a : b;
		seg[2 * nh + 1] = a.x < b.x ? b : a;
		hatch_len += fabs(b.x - a.x);
		nh++;
	}
	CHECK(nh > 20);
	qsort(seg, nh, 2 * sizeof(*seg), by_y_then_x);
	size_t overlaps = 0;
	for (size_t i = 1; i < nh; i++)
		if (fabs(seg[2 * i].y - seg[2 * i - 2].y) < 1e-9 && seg[2 * i].x < seg[2 * i - 1].x - 1e-9)
			overlaps++;
	CHECK_INT(overlaps, 0);
	/* Rows 0.05 mm apart cover the area: length x interval ~ area. */
	double area_mm2 = uarea * res.fit.scale * res.fit.scale;
	CHECK_NEAR(hatch_len * 0.05, area_mm2, area_mm2 * 0.03);
	free(seg);
	engrave_result_free(&res);
}

int
main(void)
{
	engrave_settings_default(&S, NULL);
	G = GEOS_init_r();
	RUN(t_joined_arabic);
	RUN(t_devanagari_headline);
	RUN(t_hatch_once);
	GEOS_finish_r(G);
	engrave_cache_clear();
	return test_summary();
}
