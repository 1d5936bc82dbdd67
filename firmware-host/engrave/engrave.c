/*
 * The engraving pipeline: from a request (text, date, symbol or SVG design;
 * the piece's area; fill and material) to the result the daemon and
 * atelierctl hand on: the fit decision, the ordered toolpath, its G-code
 * and the SVG preview the jeweller checks before anything is burnt.
 *
 * Character height is the height of capitals, taken as 0.7 em for every
 * font (the outline fonts' capitals are 0.71-0.73 em, the Hershey ones are
 * scaled to 0.7 em), so the minimum height of the configuration means the
 * same on every script.
 *
 * Every layout runs within a budget (struct engrave_budget): each stage
 * refuses as soon as its own limit is known to be passed, before the work
 * that would pass it, and the long loops read the clock and the cancel flag
 * as they go.
 */
#include "engrave/engrave_int.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg/cfg.h"
#include "util.h"

#define CAP_EM 0.7

/*
 * The budget's defaults, named here only (docs/engraving.md, "Budget").
 * Segments: a jewel's engraving is a few thousand (30 hatched characters
 * are 2,000-4,000); 300,000 is a runaway design or a hatch far too fine.
 * Points: a design with more points than a layout may have segments cannot
 * be engraved, so reading it further is waste. <use> depth: drawings nest
 * symbols one or two deep; ten copies a level, 4 levels already reach the
 * reader's 10,000 <use> expansions. Hatch lines: each is a segment. Time:
 * the largest layout these limits accept takes 3.1-3.5 s in a release
 * build on the bench's 2-core machine (nearly all of it ordering), so 5 s
 * is met only by a runaway or a very loaded machine (an ASan build, about
 * four times slower, meets it first on such a layout).
 */
static const struct engrave_budget budget_defaults = {
	.seconds = 5.0,
	.max_segments = 300000,
	.max_points = 300000,
	.max_use_depth = 4,
	.max_hatch_lines = 300000,
};

/* Starting points for a fibre laser on precious metals; the bench's own
 * settings belong in the configuration's engrave.materials. */
static const struct engrave_material default_materials[] = {
	{ "gold", 80, 600, 1 },
	{ "silver", 90, 450, 2 },
	{ "platinum", 85, 500, 1 },
	{ "palladium", 85, 500, 1 },
	{ "steel", 60, 800, 1 },
	{ "titanium", 50, 900, 1 },
	{ "brass", 70, 700, 1 },
	{ NULL, 0, 0, 0 },
};

void
engrave_settings_default(struct engrave_settings *s, const struct cfg_laser *laser)
{
	memset(s, 0, sizeof(*s));
	s->min_char_height = laser ? laser->min_char_height : 0.8;
	s->resolution = laser ? laser->resolution : 0.01;
	s->max_power = laser ? laser->max_power : 1000;
	s->max_feed = laser ? laser->max_feed : 3000;
	s->work_x = laser ? laser->work_x : 100;
	s->work_y = laser ? laser->work_y : 100;
	if (laser && laser->rotary.kind != ROTARY_NONE) {
		const struct cfg_rotary *r = &laser->rotary;
		s->rotary = (struct engrave_rotary){ .kind = r->kind,
			.travel_per_turn = r->travel_per_turn, .roller_diameter = r->roller_diameter,
			.min_diameter = r->min_diameter, .max_diameter = r->max_diameter,
			.inner_band = r->inner_band, .inner_min_diameter = r->inner_min_diameter };
	}
	s->chord_tolerance = 0.01;
	s->line_spacing = 1.25;
	s->edge_margin = 0.2;
	s->ring_usable = 0.5;
	s->focus_z = NAN;
	s->fonts = engrave_default_fonts;
	s->hershey_dir = "/usr/share/hershey-fonts";
	s->hershey_font = "futural.jhf";
	s->symbol_dir = "config/symbols";
	s->materials = default_materials;
	s->max_chars = 200;
	engrave_budget_default(&s->budget);
}

void
engrave_budget_default(struct engrave_budget *b)
{
	*b = budget_defaults;
}

const char *
engrave_limit_name(enum engrave_limit l)
{
	switch (l) {
	case ENGRAVE_LIMIT_NONE: return "none";
	case ENGRAVE_LIMIT_TIME: return "time";
	case ENGRAVE_LIMIT_CANCEL: return "cancelled";
	case ENGRAVE_LIMIT_SEGMENTS: return "segments";
	case ENGRAVE_LIMIT_POINTS: return "points";
	case ENGRAVE_LIMIT_USE_DEPTH: return "use_depth";
	case ENGRAVE_LIMIT_HATCH_LINES: return "hatch_lines";
	}
	return "?";
}

const char *
engrave_count_str(char *buf, size_t len, double n)
{
	char digits[32];
	snprintf(digits, sizeof(digits), "%.0f", n < 0 ? 0 : n);
	size_t nd = strlen(digits), o = 0;
	for (size_t i = 0; i < nd; i++) {
		size_t comma = i && (nd - i) % 3 == 0;
		if (o + comma + 1 >= len)
			break;
		if (comma)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	if (len)
		buf[o] = 0;
	return buf;
}

bool
engrave_meter_start(struct engrave_meter *m, const struct engrave_budget *b,
    struct engrave_work *work)
{
	memset(m, 0, sizeof(*m));
	m->b = b ? *b : budget_defaults;
	if (!m->b.max_segments)
		m->b.max_segments = budget_defaults.max_segments;
	if (!m->b.max_points)
		m->b.max_points = budget_defaults.max_points;
	if (m->b.max_use_depth <= 0)
		m->b.max_use_depth = budget_defaults.max_use_depth;
	if (!m->b.max_hatch_lines)
		m->b.max_hatch_lines = budget_defaults.max_hatch_lines;
	m->work = work;
	m->started = now_mono();
	if (m->b.seconds > 0)
		m->deadline = m->started + m->b.seconds;
	if (m->b.deadline > 0 && (m->deadline == 0 || m->b.deadline < m->deadline))
		m->deadline = m->b.deadline;
	return engrave_meter_check(m);
}

bool
engrave_meter_check(struct engrave_meter *m)
{
	m->next_check = m->spent + ENGRAVE_CHECK_EVERY;
	if (m->stop != ENGRAVE_LIMIT_NONE)
		return true;
	m->work->checks++;
	if (m->b.cancel && atomic_load_explicit(m->b.cancel, memory_order_relaxed))
		m->stop = ENGRAVE_LIMIT_CANCEL;
	else if (m->deadline > 0 && now_mono() >= m->deadline)
		m->stop = ENGRAVE_LIMIT_TIME;
	return m->stop != ENGRAVE_LIMIT_NONE;
}

double
engrave_ring_circumference(double size)
{
	/* ISO 8653: a ring's size is its inner circumference in mm (size 52
	 * is 52 mm, 16.6 mm across). Subtracting 40 is the Italian and Swiss
	 * scale (their 12 is this 52), which a request does not use. */
	return size;
}

const char *
engrave_status_name(enum engrave_status st)
{
	switch (st) {
	case ENGRAVE_OK: return "ok";
	case ENGRAVE_ERR_INPUT: return "bad_input";
	case ENGRAVE_ERR_GLYPH: return "missing_glyph";
	case ENGRAVE_ERR_SVG: return "bad_svg";
	case ENGRAVE_ERR_FIT: return "does_not_fit";
	case ENGRAVE_ERR_FONT: return "font_unavailable";
	case ENGRAVE_ERR_BUDGET: return "over_budget";
	}
	return "?";
}

int
engrave_fill_parse(const char *s, enum engrave_fill *out)
{
	if (!s) return -1;
	if (!strcmp(s, "outline")) *out = ENGRAVE_FILL_OUTLINE;
	else if (!strcmp(s, "hatch")) *out = ENGRAVE_FILL_HATCH;
	else if (!strcmp(s, "stroke") || !strcmp(s, "single")) *out = ENGRAVE_FILL_STROKE;
	else return -1;
	return 0;
}

int
engrave_align_parse(const char *s, enum engrave_align *out)
{
	if (!s) return -1;
	if (!strcmp(s, "center") || !strcmp(s, "centre")) *out = ENGRAVE_ALIGN_CENTER;
	else if (!strcmp(s, "left")) *out = ENGRAVE_ALIGN_LEFT;
	else if (!strcmp(s, "right")) *out = ENGRAVE_ALIGN_RIGHT;
	else return -1;
	return 0;
}

void
engrave_result_free(struct engrave_result *res)
{
	free(res->error);
	free(res->missing);
	engrave_paths_free(&res->toolpath);
	free(res->gcode);
	free(res->svg);
	free(res->text_used);
	memset(res, 0, sizeof(*res));
}

/* ---- preview -------------------------------------------------------------- */

static void
svg_poly(struct buf *b, const struct engrave_poly *q)
{
	buf_printf(b, "M%.3f %.3f", q->pts[0].x, q->pts[0].y);
	for (size_t j = 1; j < q->n; j++)
		buf_printf(b, "L%.3f %.3f", q->pts[j].x, q->pts[j].y);
}

/* A round piece's band, laid out unrolled. */
static bool
band_area(enum engrave_area_kind a)
{
	return a == ENGRAVE_AREA_RING || a == ENGRAVE_AREA_BANGLE || a == ENGRAVE_AREA_CYLINDER;
}

/* The seam and the hallmark on the unrolled band, and the piece seen
 * along its axis with the text's arc, measured clockwise from the
 * hallmark (0 degrees: the top, under the beam when the piece is put in
 * the chuck hallmark up). */
static void
round_views(struct buf *b, const struct engrave_request *req, const struct engrave_result *res,
    double w, double h, double piece_w, double cx, double cy, double stroke)
{
	double left = -(piece_w - w) / 2, circ = piece_w;
	double R = res->round.piece_diameter / 2, r = res->round.inner_diameter / 2;
	double font = fmax(0.8, fmin(R * 0.22, 3));
	/* Unrolled: the seam at both ends (one place on the piece). */
	buf_printf(b, "<g id=\"seam\" stroke=\"#6b5b2e\" stroke-width=\"%.3f\" "
	    "stroke-dasharray=\"%.3f %.3f\">", stroke * 2, stroke * 4, stroke * 3);
	buf_printf(b, "<line x1=\"%.3f\" y1=\"0\" x2=\"%.3f\" y2=\"%.3f\"/>", left, left, h);
	buf_printf(b, "<line x1=\"%.3f\" y1=\"0\" x2=\"%.3f\" y2=\"%.3f\"/></g>\n", left + circ,
	    left + circ, h);
	/* Where the hallmark is on the band: x = 0 is start_angle past it. */
	double xh = -req->start_angle / 360.0 * circ;
	while (xh < left)
		xh += circ;
	while (xh >= left + circ)
		xh -= circ;
	buf_printf(b, "<g id=\"hallmark-band\"><line x1=\"%.3f\" y1=\"0\" x2=\"%.3f\" y2=\"%.3f\" "
	    "stroke=\"#1d4f91\" stroke-width=\"%.3f\"/><text x=\"%.3f\" y=\"%.3f\" font-size=\"%.2f\" "
	    "text-anchor=\"middle\" fill=\"#1d4f91\">0\u00b0</text></g>\n", xh, xh, h, stroke * 2, xh,
	    -font * 0.4, font);
	/* Along the axis: the piece, the hallmark at the top, the text's arc. */
	buf_printf(b, "<g id=\"top-view\">");
	buf_printf(b, "<circle cx=\"%.3f\" cy=\"%.3f\" r=\"%.3f\" fill=\"#f4efe2\" stroke=\"#8a7a50\" "
	    "stroke-width=\"%.3f\"/>", cx, cy, R, stroke * 2);
	if (r > 0)
		buf_printf(b, "<circle cx=\"%.3f\" cy=\"%.3f\" r=\"%.3f\" fill=\"#ffffff\" "
		    "stroke=\"#8a7a50\" stroke-width=\"%.3f\"/>", cx, cy, r, stroke * 2);
	buf_printf(b, "<path id=\"hallmark\" d=\"M%.3f %.3fl%.3f %.3fl%.3f 0z\" fill=\"#1d4f91\"/>"
	    "<text x=\"%.3f\" y=\"%.3f\" font-size=\"%.2f\" text-anchor=\"middle\" "
	    "fill=\"#1d4f91\">0\u00b0</text>", cx, cy - R, -font * 0.4, -font * 0.7, font * 0.8, cx,
	    cy - R - font * 0.9, font);
	struct engrave_bbox bb = engrave_paths_bbox(&res->toolpath);
	if (bb.x1 > bb.x0) {
		double from = req->start_angle + bb.x0 / circ * 360, to = req->start_angle +
		    bb.x1 / circ * 360;
		double rho = res->round.outside ? R : r;
		double a0 = from * M_PI / 180, a1 = to * M_PI / 180;
		buf_printf(b, "<path id=\"text-arc\" data-from=\"%.2f\" data-to=\"%.2f\" "
		    "d=\"M%.3f %.3fA%.3f %.3f 0 %d 1 %.3f %.3f\" fill=\"none\" stroke=\"#c0241c\" "
		    "stroke-width=\"%.3f\" stroke-linecap=\"round\"/>", from, to,
		    cx + rho * sin(a0), cy - rho * cos(a0), rho, rho, to - from > 180,
		    cx + rho * sin(a1), cy - rho * cos(a1), fmax(stroke * 6, R * 0.06));
	}
	buf_printf(b, "</g>\n");
}

static char *
preview(const struct engrave_request *req, const struct engrave_result *res, double w, double h,
    double piece_w)
{
	struct buf b;
	buf_init(&b);
	double pad = 1 + 0.05 * (w > h ? w : h);
	double x0 = -pad, vw = w + 2 * pad, vh = h + 2 * pad;
	if (band_area(req->area)) {
		x0 = -(piece_w - w) / 2 - pad;
		vw = piece_w + 2 * pad;
	}
	double stroke = (w > h ? w : h) / 400;
	/* A round piece is also drawn as seen along its axis, right of the
	 * unrolled band: where the text lies around it, from the hallmark. */
	bool band = band_area(req->area);
	double R = band ? res->round.piece_diameter / 2 : 0, y0 = -pad;
	double top_cx = 0, top_cy = h / 2;
	if (band && R > 0) {
		top_cx = x0 + vw + R + pad;
		vw += 2 * R + 2 * pad;
		double lo = fmin(-pad, h / 2 - R - 2.5 * pad), hi = fmax(h + pad, h / 2 + R + pad);
		y0 = lo;
		vh = hi - lo;
	}
	buf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.2fmm\" height=\"%.2fmm\" "
	    "viewBox=\"%.3f %.3f %.3f %.3f\">\n", vw, vh, x0, y0, vw, vh);
	buf_printf(&b, "<title>Engraving preview</title>\n");
	buf_printf(&b, "<rect x=\"%.3f\" y=\"%.3f\" width=\"%.3f\" height=\"%.3f\" fill=\"#ffffff\"/>\n",
	    x0, y0, vw, vh);
	/* y up inside: flip once for everything drawn. */
	buf_printf(&b, "<g transform=\"matrix(1 0 0 -1 0 %.3f)\">\n", h);
	const char *piece = "fill=\"#f4efe2\" stroke=\"#8a7a50\"";
	if (req->area == ENGRAVE_AREA_ROUND)
		buf_printf(&b, "<circle id=\"piece\" cx=\"%.3f\" cy=\"%.3f\" r=\"%.3f\" %s stroke-width=\"%.3f\"/>\n",
		    w / 2, h / 2, w / 2, piece, stroke * 2);
	else if (band_area(req->area))
		buf_printf(&b, "<rect id=\"piece\" x=\"%.3f\" y=\"0\" width=\"%.3f\" height=\"%.3f\" %s "
		    "stroke-width=\"%.3f\"/>\n", -(piece_w - w) / 2, piece_w, h, piece, stroke * 2);
	else
		buf_printf(&b, "<rect id=\"piece\" x=\"0\" y=\"0\" width=\"%.3f\" height=\"%.3f\" %s "
		    "stroke-width=\"%.3f\"/>\n", w, h, piece, stroke * 2);
	double m = res->fit.area_w < w ? (w - res->fit.area_w) / 2 : 0;
	double mh = res->fit.area_h < h ? (h - res->fit.area_h) / 2 : 0;
	buf_printf(&b, "<rect id=\"area\" x=\"%.3f\" y=\"%.3f\" width=\"%.3f\" height=\"%.3f\" fill=\"none\" "
	    "stroke=\"#3a7d3a\" stroke-width=\"%.3f\" stroke-dasharray=\"%.3f %.3f\"/>\n",
	    m, mh, res->fit.area_w, res->fit.area_h, stroke, stroke * 6, stroke * 4);
	/* Travel (laser off) in blue, from the origin through every path. */
	buf_printf(&b, "<path id=\"travel\" fill=\"none\" stroke=\"#2b6cd4\" stroke-width=\"%.3f\" "
	    "stroke-dasharray=\"%.3f %.3f\" d=\"", stroke * 0.7, stroke * 3, stroke * 2);
	double cx = 0, cy = 0;
	for (size_t i = 0; i < res->toolpath.n; i++) {
		const struct engrave_poly *q = &res->toolpath.v[i];
		if (q->n == 0)
			continue;
		buf_printf(&b, "M%.3f %.3fL%.3f %.3f", cx, cy, q->pts[0].x, q->pts[0].y);
		cx = q->pts[q->n - 1].x;
		cy = q->pts[q->n - 1].y;
	}
	buf_printf(&b, "\"/>\n");
	buf_printf(&b, "<path id=\"burn\" fill=\"none\" stroke=\"#c0241c\" stroke-width=\"%.3f\" "
	    "stroke-linejoin=\"round\" stroke-linecap=\"round\" d=\"", stroke);
	for (size_t i = 0; i < res->toolpath.n; i++)
		if (res->toolpath.v[i].n > 1)
			svg_poly(&b, &res->toolpath.v[i]);
	buf_printf(&b, "\"/>\n</g>\n");
	if (band && R > 0)
		round_views(&b, req, res, w, h, piece_w, top_cx, top_cy, stroke);
	buf_printf(&b, "</svg>\n");
	return b.data;
}

/* ---- budget refusals ---------------------------------------------------- */

/* Records the limit and its numbers; the sentence is the caller's. */
static void
over(struct engrave_result *res, enum engrave_limit lim, double needed, double allowed)
{
	res->work.limit = lim;
	res->work.needed = needed;
	res->work.allowed = allowed;
}

/* The meter stopped the work: the time budget ran out, or the caller
 * cancelled the layout. */
static enum engrave_status
stopped(struct engrave_result *res, const struct engrave_meter *m)
{
	double spent = now_mono() - m->started;
	double budget = m->deadline > m->started ? m->deadline - m->started : 0;
	if (m->stop == ENGRAVE_LIMIT_CANCEL) {
		over(res, ENGRAVE_LIMIT_CANCEL, spent, 0);
		return engrave_fail(res, ENGRAVE_ERR_BUDGET, "the layout was cancelled after %.1f s",
		    spent);
	}
	over(res, ENGRAVE_LIMIT_TIME, spent, budget);
	return engrave_fail(res, ENGRAVE_ERR_BUDGET,
	    "the layout was stopped after %.1f s, its time budget of %.1f s: use a simpler "
	    "design, a wider hatch interval or no cross-hatch", spent, budget);
}

/* ---- fit -------------------------------------------------------------- */

/* Bends block coordinates (mm, x centred on 0, baseline y = 0) around a
 * circle of radius r centred at (cx, cy): the baseline follows the top of
 * the circle, reading clockwise. Straight edges would become chords, so
 * they are first cut into pieces whose sagitta stays within tol. */
static void
bend(struct engrave_paths *p, double r, double cx, double cy, double tol)
{
	double step = sqrt(8 * r * (tol > 0 ? tol : 0.01));
	for (size_t i = 0; i < p->n; i++) {
		struct engrave_poly *q = &p->v[i];
		if (q->n < 2)
			continue;
		struct engrave_poly d = { 0 };
		d.closed = q->closed;
		engrave_poly_add(&d, q->pts[0].x, q->pts[0].y);
		for (size_t j = 1; j < q->n; j++) {
			struct engrave_pt a = q->pts[j - 1], b = q->pts[j];
			double len = sqrt((b.x - a.x) * (b.x - a.x) + (b.y - a.y) * (b.y - a.y));
			int k = (int)ceil(len / step);
			if (k > 1000)
				k = 1000;
			for (int m = 1; m < k; m++)
				engrave_poly_add(&d, a.x + (b.x - a.x) * m / k, a.y + (b.y - a.y) * m / k);
			engrave_poly_add(&d, b.x, b.y);
		}
		free(q->pts);
		*q = d;
		for (size_t j = 0; j < q->n; j++) {
			struct engrave_pt *pt = &q->pts[j];
			double th = pt->x / r, rad = r + pt->y;
			pt->x = cx + rad * sin(th);
			pt->y = cy + rad * cos(th);
		}
	}
}

static enum engrave_status
refuse_fit(struct engrave_result *res, const char *what, const char *dim, double needed,
    double at, double avail)
{
	res->fit.fits = false;
	res->fit.needed = needed;
	res->fit.available = avail;
	/* One decimal, unless that would show "needs 1.1 mm; 1.1 mm available". */
	int dec = fabs(round(needed * 10) - round(avail * 10)) < 0.5 ? 2 : 1;
	return engrave_fail(res, ENGRAVE_ERR_FIT,
	    "the %s does not fit: %s needs %.*f mm at %.1f mm; %.*f mm available",
	    what, dim, dec, needed, at, dec, avail);
}

/* Lays text out and fits it. On success geometry holds the laid-out
 * outlines in area coordinates (mm). */
static enum engrave_status
fit_text(const struct engrave_settings *s, const struct engrave_request *req, const char *text,
    double w, double h, double aw, double ah, struct engrave_paths *geom,
    struct engrave_result *res, struct engrave_meter *meter)
{
	bool hershey = req->fill == ENGRAVE_FILL_STROKE;
	bool arc = req->on_arc || req->area == ENGRAVE_AREA_ROUND;
	double s_upper = (req->char_height > 0 ? req->char_height / CAP_EM : ah);
	if (s_upper > ah)
		s_upper = ah;
	double tol_em = s->chord_tolerance / (s_upper > 1e-6 ? s_upper : 1e-6);
	if (tol_em > 0.02)
		tol_em = 0.02;
	struct engrave_line *lines;
	size_t nl;
	enum engrave_status st = engrave_text_layout(s, text, req->lang, hershey, tol_em, &lines,
	    &nl, res);
	if (st != ENGRAVE_OK)
		return st;
	res->fit.lines = nl;
	/* Stack lines in em units: x centred/aligned around 0. */
	struct engrave_paths block;
	engrave_paths_init(&block);
	double maxadv = 0;
	for (size_t i = 0; i < nl; i++)
		if (lines[i].advance > maxadv)
			maxadv = lines[i].advance;
	for (size_t i = 0; i < nl; i++) {
		double dx;
		switch (req->align) {
		case ENGRAVE_ALIGN_LEFT: dx = -maxadv / 2; break;
		case ENGRAVE_ALIGN_RIGHT: dx = maxadv / 2 - lines[i].advance; break;
		default: dx = -lines[i].advance / 2; break;
		}
		double t[6] = { 1, 0, 0, 1, dx, -(double)i * s->line_spacing };
		engrave_paths_transform(&lines[i].paths, t);
		engrave_paths_move(&block, &lines[i].paths);
	}
	engrave_lines_free(lines, nl);
	/* The outline of a word is the union of its glyphs: joins, marks and
	 * vowel signs that overlap are burnt once, along the outside. If
	 * GEOS cannot join them (it has not happened on any font here), the
	 * glyphs' own contours are burnt rather than refusing the text. */
	if (!hershey && engrave_union_nonzero(&block, meter) > 0) {
		engrave_paths_free(&block);
		return stopped(res, meter);
	}
	struct engrave_bbox b = engrave_paths_bbox(&block);
	if (block.n == 0 || !(b.x1 > b.x0) || !(b.y1 > b.y0)) {
		engrave_paths_free(&block);
		return engrave_fail(res, ENGRAVE_ERR_INPUT, "the text has nothing to engrave");
	}
	double bw = b.x1 - b.x0, bh = b.y1 - b.y0;
	double s_min = s->min_char_height / CAP_EM;
	double s_max, r = 0, rc = 0;
	const char *what = req->content == ENGRAVE_DATE ? "date" : "text";
	if (!arc) {
		double sw = aw / bw, sh = ah / bh;
		s_max = sw < sh ? sw : sh;
		res->fit.limiting = sw < sh ? 'w' : 'h';
		if (s_max < s_min) {
			engrave_paths_free(&block);
			if (sw < sh)
				return refuse_fit(res, what, "its width", bw * s_min, s->min_char_height, aw);
			return refuse_fit(res, what, "its height", bh * s_min, s->min_char_height, ah);
		}
	} else {
		/* Baseline on a circle; letters stand outside it; the text spans at
		 * most half the circle. With a free radius, the tops touch the
		 * area's edge: r = rc - top * s. */
		rc = (aw < ah ? aw : ah) / 2;
		double top = b.y1 > 0 ? b.y1 : 0, bottom = b.y0 < 0 ? -b.y0 : 0;
		if (req->arc_radius > 0) {
			r = req->arc_radius;
			double s1 = (rc - r) / (top > 1e-9 ? top : 1e-9);
			double s2 = M_PI * r / bw;
			double s3 = r / (bottom > 1e-9 ? bottom : 1e-9);
			s_max = fmin(s1, fmin(s2, s3));
			if (s_max < s_min) {
				engrave_paths_free(&block);
				if (s2 <= s1)
					return refuse_fit(res, what, "its arc", bw * s_min, s->min_char_height, M_PI * r);
				return refuse_fit(res, what, "its height", top * s_min, s->min_char_height, rc - r);
			}
		} else {
			double s2 = M_PI * rc / (bw + M_PI * top);
			double s3 = rc / (top + bottom);
			s_max = fmin(s2, s3);
			if (s_max < s_min) {
				engrave_paths_free(&block);
				return refuse_fit(res, what, "its arc", bw * s_min, s->min_char_height,
				    M_PI * (rc - top * s_min));
			}
		}
		res->fit.limiting = 'w';
	}
	double sc = s_max;
	if (req->char_height > 0 && req->char_height / CAP_EM < sc)
		sc = req->char_height / CAP_EM;
	res->fit.fits = true;
	res->fit.scale = sc;
	res->fit.char_height = sc * CAP_EM;
	double t[6] = { sc, 0, 0, sc, 0, 0 };
	engrave_paths_transform(&block, t);
	if (arc) {
		if (!(req->arc_radius > 0))
			r = rc - (b.y1 > 0 ? b.y1 : 0) * sc;
		bend(&block, r, w / 2, h / 2, s->chord_tolerance);
	} else {
		/* Place the block's ink box in the area: vertically centred,
		 * horizontally by alignment. */
		double bx0 = b.x0 * sc, bx1 = b.x1 * sc, by0 = b.y0 * sc, by1 = b.y1 * sc;
		double mx = (w - aw) / 2, dx;
		switch (req->align) {
		case ENGRAVE_ALIGN_LEFT: dx = mx - bx0; break;
		case ENGRAVE_ALIGN_RIGHT: dx = w - mx - bx1; break;
		default: dx = w / 2 - (bx0 + bx1) / 2; break;
		}
		double dy = h / 2 - (by0 + by1) / 2;
		double t2[6] = { 1, 0, 0, 1, dx, dy };
		engrave_paths_transform(&block, t2);
	}
	engrave_paths_move(geom, &block);
	return ENGRAVE_OK;
}

static enum engrave_status
fit_design(const struct engrave_settings *s, const struct engrave_request *req, double w,
    double h, double aw, double ah, struct engrave_paths *geom, struct engrave_result *res,
    struct engrave_meter *meter)
{
	char *doc = NULL;
	size_t len = 0;
	const char *data = req->svg;
	if (req->content == ENGRAVE_SYMBOL) {
		const char *n = req->symbol;
		if (!n || !*n || strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(n))
			return engrave_fail(res, ENGRAVE_ERR_INPUT,
			    "symbol name '%s' is not valid (lower-case letters, digits, - and _)", n ? n : "");
		char *path = xasprintf("%s/%s.svg", s->symbol_dir, n);
		doc = file_read(path, 8u << 20, &len);
		if (!doc) {
			enum engrave_status st = engrave_fail(res, ENGRAVE_ERR_INPUT,
			    "no symbol named '%s' (%s)", n, path);
			free(path);
			return st;
		}
		free(path);
		data = doc;
	} else {
		len = req->svg_len ? req->svg_len : (req->svg ? strlen(req->svg) : 0);
	}
	char err[320];
	struct engrave_paths p;
	engrave_paths_init(&p);
	enum engrave_limit lim;
	int rc = engrave_svg_read_m(data, len, 2e-4, &p, err, sizeof(err), meter, &lim);
	free(doc);
	if (rc < 0) {
		engrave_paths_free(&p);
		if (lim == ENGRAVE_LIMIT_TIME || lim == ENGRAVE_LIMIT_CANCEL)
			return stopped(res, meter);
		return engrave_fail(res, lim != ENGRAVE_LIMIT_NONE ? ENGRAVE_ERR_BUDGET : ENGRAVE_ERR_SVG,
		    "%s", err);
	}
	struct engrave_bbox b = engrave_paths_bbox(&p);
	if (p.n == 0 || (!(b.x1 > b.x0) && !(b.y1 > b.y0))) {
		engrave_paths_free(&p);
		return engrave_fail(res, ENGRAVE_ERR_SVG, "the design has no geometry to engrave");
	}
	double bw = b.x1 - b.x0 > 1e-9 ? b.x1 - b.x0 : 1e-9, bh = b.y1 - b.y0 > 1e-9 ? b.y1 - b.y0 : 1e-9;
	double sw = aw / bw, sh = ah / bh, sc = sw < sh ? sw : sh;
	if (req->area == ENGRAVE_AREA_ROUND)
		sc = fmin(aw, ah) / hypot(bw, bh);  /* the box's diagonal inside the circle */
	if (req->char_height > 0 && req->char_height / bh < sc)
		sc = req->char_height / bh;
	res->fit.fits = true;
	res->fit.scale = sc;
	res->fit.limiting = sw < sh ? 'w' : 'h';
	double dx = w / 2 - (b.x0 + b.x1) / 2 * sc, dy = h / 2 - (b.y0 + b.y1) / 2 * sc;
	if (req->area != ENGRAVE_AREA_ROUND && req->align == ENGRAVE_ALIGN_LEFT)
		dx = (w - aw) / 2 - b.x0 * sc;
	else if (req->area != ENGRAVE_AREA_ROUND && req->align == ENGRAVE_ALIGN_RIGHT)
		dx = w - (w - aw) / 2 - b.x1 * sc;
	double t[6] = { sc, 0, 0, sc, dx, dy };
	engrave_paths_transform(&p, t);
	engrave_paths_move(geom, &p);
	return ENGRAVE_OK;
}

/* Initials in a monogram frame (or any text inside a design): laid out in
 * the middle of the design's box, which frames of config/symbols keep
 * free: 55 % of its width and 45 % of its height. */
static enum engrave_status
text_in_frame(const struct engrave_settings *s, const struct engrave_request *req,
    struct engrave_paths *geom, struct engrave_result *res, struct engrave_meter *meter)
{
	struct engrave_bbox b = engrave_paths_bbox(geom);
	double iw = (b.x1 - b.x0) * 0.55, ih = (b.y1 - b.y0) * 0.45;
	struct engrave_request inner = *req;
	inner.content = ENGRAVE_TEXT;
	inner.area = ENGRAVE_AREA_RECT;
	inner.on_arc = false;
	inner.align = ENGRAVE_ALIGN_CENTER;
	inner.char_height = 0;
	struct engrave_paths t;
	engrave_paths_init(&t);
	res->text_used = xstrdup(req->text);
	enum engrave_status st = fit_text(s, &inner, req->text, iw, ih, iw, ih, &t, res, meter);
	if (st != ENGRAVE_OK) {
		engrave_paths_free(&t);
		return st;
	}
	double m[6] = { 1, 0, 0, 1, (b.x0 + b.x1) / 2 - iw / 2, (b.y0 + b.y1) / 2 - ih / 2 };
	engrave_paths_transform(&t, m);
	engrave_paths_move(geom, &t);
	return ENGRAVE_OK;
}

static const struct engrave_material *
material_find(const struct engrave_settings *s, const char *name)
{
	if (!s->materials || !s->materials[0].name)
		return NULL;
	if (!name || !*name)
		return &s->materials[0];
	for (const struct engrave_material *m = s->materials; m->name; m++)
		if (strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

void
engrave_rotary_header(char *out, size_t len, int kind, double diameter, double y_per_mm)
{
	snprintf(out, len, "ATELIER ROTARY %s D%.2f Y%.4f/MM", kind == 2 ? "ROLLERS" : "CHUCK",
	    diameter, y_per_mm);
}

void
engrave_material_of_metal(const char *metal, char *out, size_t len)
{
	size_t n = metal ? strlen(metal) : 0;
	if (n >= 4 && strcmp(metal + n - 4, "gold") == 0)
		snprintf(out, len, "gold");
	else
		snprintf(out, len, "%s", metal ? metal : "");
}

bool
engrave_material_known(const struct engrave_settings *s, const char *name)
{
	return name && *name && material_find(s, name) != NULL;
}

/* Hatches geom within the budget: both directions' line counts are
 * estimated first, and refused before any line is made when over the
 * hatch or segment limit. */
static enum engrave_status
hatch_fill(const struct engrave_request *req, double iv, struct engrave_paths *geom,
    struct engrave_result *res, struct engrave_meter *m)
{
	const struct engrave_budget *b = &m->b;
	char n1s[32], n2s[32], n3s[32], n4s[32];
	size_t outline = engrave_paths_segments(geom);
	size_t e1 = engrave_hatch_estimate(geom, iv, req->hatch_angle);
	size_t e2 = req->cross_hatch ? engrave_hatch_estimate(geom, iv, req->hatch_angle + 90) : 0;
	size_t est = e1 + e2;
	bool eo = req->content == ENGRAVE_SYMBOL || req->content == ENGRAVE_SVG;
	res->work.hatch_estimate = est;
	if (est > b->max_hatch_lines) {
		/* Under even-odd the estimate is a bound (coincident copies
		 * cancel out), under nonzero all but exact. */
		over(res, ENGRAVE_LIMIT_HATCH_LINES, (double)est, (double)b->max_hatch_lines);
		return engrave_fail(res, ENGRAVE_ERR_BUDGET,
		    "hatching at %.3g mm would need %s %s lines; at most %s: use a wider interval "
		    "or a simpler design", iv, eo ? "up to" : "about",
		    engrave_count_str(n1s, sizeof(n1s), (double)est),
		    engrave_count_str(n2s, sizeof(n2s), (double)b->max_hatch_lines));
	}
	if (outline + est > b->max_segments) {
		over(res, ENGRAVE_LIMIT_SEGMENTS, (double)(outline + est), (double)b->max_segments);
		return engrave_fail(res, ENGRAVE_ERR_BUDGET,
		    "the engraving would have %s %s segments (%s of outline, %s of hatching); at "
		    "most %s: use a simpler design or a wider hatch interval", eo ? "up to" : "about",
		    engrave_count_str(n1s, sizeof(n1s), (double)(outline + est)),
		    engrave_count_str(n2s, sizeof(n2s), (double)outline),
		    engrave_count_str(n3s, sizeof(n3s), (double)est),
		    engrave_count_str(n4s, sizeof(n4s), (double)b->max_segments));
	}
	/* The estimate can fall a little short (the hatch grid may sit half
	 * an interval off; overlapping glyphs make more lines under nonzero),
	 * so the hatching itself stops at the limit too. */
	size_t cap = b->max_segments - outline < b->max_hatch_lines ? b->max_segments - outline :
	    b->max_hatch_lines;
	struct engrave_paths hatch;
	engrave_paths_init(&hatch);
	size_t n1 = engrave_hatch_m(geom, iv, req->hatch_angle, eo, cap, &hatch, m);
	size_t n2 = 0;
	if (req->cross_hatch && n1 != SIZE_MAX)
		n2 = engrave_hatch_m(geom, iv, req->hatch_angle + 90, eo, cap - n1, &hatch, m);
	res->work.hatch_lines = hatch.n;
	engrave_paths_move(geom, &hatch);
	if (m->stop)
		return stopped(res, m);
	if (n1 == SIZE_MAX || n2 == SIZE_MAX) {
		over(res, ENGRAVE_LIMIT_HATCH_LINES, (double)cap + 1, (double)cap);
		return engrave_fail(res, ENGRAVE_ERR_BUDGET,
		    "hatching at %.3g mm would need more than %s lines: use a wider interval or a "
		    "simpler design", iv, engrave_count_str(n1s, sizeof(n1s), (double)cap));
	}
	return ENGRAVE_OK;
}

static enum engrave_status run(const struct engrave_settings *s,
    const struct engrave_request *req, struct engrave_result *res, struct engrave_meter *meter);

enum engrave_status
engrave_run(const struct engrave_settings *s, const struct engrave_request *req,
    struct engrave_result *res)
{
	struct engrave_meter meter;
	memset(res, 0, sizeof(*res));
	engrave_paths_init(&res->toolpath);
	enum engrave_status st;
	if (engrave_meter_start(&meter, &s->budget, &res->work))
		st = stopped(res, &meter);
	else
		st = run(s, req, res, &meter);
	if (st != ENGRAVE_OK)
		engrave_paths_free(&res->toolpath);
	res->work.seconds = now_mono() - meter.started;
	return st;
}

/*
 * A round piece's band: the surface the text lies on (the inside or the
 * outside of a ring or a bangle, a cylinder's outside), its unrolled
 * extent (w around, h across; piece_w the whole turn) and, on a laser with
 * a rotary, what its Y moves per mm around (res->round). A band the
 * rotary cannot engrave is refused with the reason and what would do.
 */
static enum engrave_status
round_surface(const struct engrave_settings *s, const struct engrave_request *req,
    struct engrave_result *res, double *w, double *h, double *piece_w)
{
	const struct engrave_rotary *rot = &s->rotary;
	double inner = 0, outer, surface;
	const char *what = req->area == ENGRAVE_AREA_RING ? "ring" :
	    req->area == ENGRAVE_AREA_BANGLE ? "bangle" : "cylinder";
	bool outside = req->outer_band || req->area == ENGRAVE_AREA_CYLINDER;
	if (req->thickness < 0 || !isfinite(req->thickness) || req->thickness > 20)
		return engrave_fail(res, ENGRAVE_ERR_INPUT,
		    "the thickness must be between 0 and 20 mm (got %g mm)", req->thickness);
	switch (req->area) {
	case ENGRAVE_AREA_RING:
		inner = engrave_ring_circumference(req->ring_size) / M_PI;
		break;
	case ENGRAVE_AREA_BANGLE:
		if (!(req->diameter >= 20 && req->diameter <= 150))
			return engrave_fail(res, ENGRAVE_ERR_INPUT,
			    "a bangle's inside diameter is 20 to 150 mm (got %g mm)", req->diameter);
		inner = req->diameter;
		break;
	default:
		if (!(req->diameter >= 1 && req->diameter <= 500))
			return engrave_fail(res, ENGRAVE_ERR_INPUT,
			    "a cylinder's diameter is 1 to 500 mm (got %g mm)", req->diameter);
		break;
	}
	if (req->area == ENGRAVE_AREA_CYLINDER) {
		outer = surface = req->diameter;
	} else {
		if (outside && !(req->thickness > 0))
			return engrave_fail(res, ENGRAVE_ERR_INPUT,
			    "the outside of a %s needs its thickness (mm of metal), which sets the "
			    "outside's diameter", what);
		outer = inner + 2 * req->thickness;
		surface = outside ? outer : inner;
	}
	*w = M_PI * surface * s->ring_usable;
	*h = req->band_width;
	*piece_w = M_PI * surface;
	res->round.diameter = surface;
	res->round.piece_diameter = outer;
	res->round.inner_diameter = inner;
	res->round.outside = outside;
	if (rot->kind == 0) {
		/* A flat bed: only a ring's inside, unrolled for a galvo or a
		 * fixture, as before rotaries; anything else needs one. */
		if (req->area == ENGRAVE_AREA_RING && !outside)
			return ENGRAVE_OK;
		return engrave_fail(res, ENGRAVE_ERR_INPUT,
		    "the %s of a %s is engraved turning, on a laser with a rotary: this laser has "
		    "none (rotary: in its configuration)", outside ? "outside" : "inside", what);
	}
	if (!outside && !rot->inner_band)
		return engrave_fail(res, ENGRAVE_ERR_INPUT,
		    "the inside of the %s cannot be reached on this laser's rotary: the beam comes "
		    "from above; engrave the outside instead (\"band\": \"outer\" with the "
		    "band's thickness)", what);
	if (!outside && surface < rot->inner_min_diameter)
		return engrave_fail(res, ENGRAVE_ERR_INPUT,
		    "the inside of the %s, %.1f mm across, is smaller than the %.1f mm the head "
		    "reaches inside a band; engrave the outside instead", what, surface,
		    rot->inner_min_diameter);
	if (outer < rot->min_diameter - 1e-9 || outer > rot->max_diameter + 1e-9)
		return engrave_fail(res, ENGRAVE_ERR_INPUT,
		    "a %s of %.1f mm outside diameter does not fit the rotary, which holds %.1f to "
		    "%.1f mm", what, outer, rot->min_diameter, rot->max_diameter);
	if (!(req->start_angle >= -360 && req->start_angle <= 360))
		return engrave_fail(res, ENGRAVE_ERR_INPUT,
		    "the start angle is -360 to 360 degrees (got %g)", req->start_angle);
	/* Chuck: the piece turns with it, a turn of Y is a turn of the piece.
	 * Rollers: the piece rolls on them, a turn of Y moves its surface by
	 * the rollers' circumference, whatever the piece's size. */
	double drive = rot->kind == 2 ? rot->roller_diameter : surface;
	res->round.kind = rot->kind;
	res->round.y_per_mm = rot->travel_per_turn / (M_PI * drive);
	/* The start angle turns the piece first: the band's unrolled start
	 * (x = 0, a quarter turn of usable band either side of the middle)
	 * comes under the beam that much later. */
	res->round.start_y = req->start_angle / 360.0 * M_PI * surface * res->round.y_per_mm;
	return ENGRAVE_OK;
}

static enum engrave_status
run(const struct engrave_settings *s, const struct engrave_request *req,
    struct engrave_result *res, struct engrave_meter *meter)
{
	/* The area: piece_w is the whole piece (the ring's unrolled band). */
	double w = req->width, h = req->height, piece_w;
	switch (req->area) {
	case ENGRAVE_AREA_RECT:
		if (!(w > 0) || !(h > 0) || !isfinite(w) || !isfinite(h))
			return engrave_fail(res, ENGRAVE_ERR_INPUT,
			    "the area must have a positive width and height (got %g x %g mm)", w, h);
		break;
	case ENGRAVE_AREA_ROUND:
		if (!(w > 0) || !isfinite(w))
			return engrave_fail(res, ENGRAVE_ERR_INPUT,
			    "a round piece needs a positive diameter (got %g mm)", w);
		h = w;
		break;
	case ENGRAVE_AREA_RING:
	case ENGRAVE_AREA_BANGLE:
	case ENGRAVE_AREA_CYLINDER:
		if (req->area == ENGRAVE_AREA_RING && !(req->ring_size >= 30 && req->ring_size <= 90))
			return engrave_fail(res, ENGRAVE_ERR_INPUT,
			    "ring size %g is outside the ISO 8653 scale (30 to 90: the inside's "
			    "circumference in mm)", req->ring_size);
		if (!(req->band_width > 0) || !isfinite(req->band_width) || req->band_width > 50)
			return engrave_fail(res, ENGRAVE_ERR_INPUT,
			    "the band width must be between 0 and 50 mm (got %g mm)", req->band_width);
		break;
	default:
		return engrave_fail(res, ENGRAVE_ERR_INPUT, "unknown kind of area");
	}
	piece_w = w;
	if (band_area(req->area)) {
		enum engrave_status bst = round_surface(s, req, res, &w, &h, &piece_w);
		if (bst != ENGRAVE_OK)
			return bst;
	}
	/* Every kind of area, a band included (its X is what the G-code moves
	 * along on a flat bed; on a rotary, across the band is X and around is
	 * the rotary's Y, which has no end): the head must never be sent into
	 * the frame. The toolpath is checked again before the G-code is
	 * written. */
	bool turning = res->round.kind != 0;
	if (!isfinite(req->origin_x) || !isfinite(req->origin_y) ||
	    (turning ? h : w) + req->origin_x > s->work_x + 1e-9 ||
	    (!turning && h + req->origin_y > s->work_y + 1e-9) ||
	    req->origin_x < 0 || req->origin_y < 0)
		return engrave_fail(res, ENGRAVE_ERR_INPUT,
		    "the %s %.1f x %.1f mm at (%.1f, %.1f) is outside the laser's %.0f x %.0f mm",
		    band_area(req->area) ? "band, unrolled," : "area", w, h,
		    req->origin_x, req->origin_y, s->work_x, s->work_y);
	/* Options that mean nothing for the area or the content are refused,
	 * named, rather than obeyed in a way nobody asked for. */
	bool design = req->content == ENGRAVE_SYMBOL || req->content == ENGRAVE_SVG;
	if (band_area(req->area) && (req->on_arc || req->arc_radius > 0))
		return engrave_fail(res, ENGRAVE_ERR_INPUT,
		    "%s cannot be used with --ring: a ring's band is engraved unrolled, along a "
		    "straight line around the ring; leave it out (or engrave a round piece with --round)",
		    req->on_arc ? "--arc" : "--arc-radius");
	if (design && (req->on_arc || req->arc_radius > 0))
		return engrave_fail(res, ENGRAVE_ERR_INPUT,
		    "%s bends text along a circle; a %s is not bent: leave it out",
		    req->on_arc ? "--arc" : "--arc-radius", req->content == ENGRAVE_SVG ? "design" : "symbol");
	if (req->arc_radius != 0 && !(req->arc_radius > 0 && isfinite(req->arc_radius)))
		return engrave_fail(res, ENGRAVE_ERR_INPUT,
		    "the arc radius must be positive (got %g mm)", req->arc_radius);
	if (req->area == ENGRAVE_AREA_RECT && req->arc_radius > 0 && !req->on_arc)
		return engrave_fail(res, ENGRAVE_ERR_INPUT,
		    "--arc-radius without --arc: give --arc to set the text along a circle, or "
		    "leave the radius out");
	double aw = w - 2 * s->edge_margin, ah = h - 2 * s->edge_margin;
	if (!(aw > 0) || !(ah > 0))
		return engrave_fail(res, ENGRAVE_ERR_INPUT,
		    "the area %.2f x %.2f mm leaves nothing inside its %.2f mm margins", w, h, s->edge_margin);
	res->fit.area_w = aw;
	res->fit.area_h = ah;
	if (req->char_height < 0 || !isfinite(req->char_height))
		return engrave_fail(res, ENGRAVE_ERR_INPUT, "the character height must be positive");
	if (!design && req->char_height > 0 && req->char_height < s->min_char_height - 1e-9)
		return engrave_fail(res, ENGRAVE_ERR_INPUT,
		    "the character height %.2f mm is below the laser's minimum of %.2f mm "
		    "(laser.min_char_height): characters smaller than that do not burn legibly",
		    req->char_height, s->min_char_height);
	if (req->fill == ENGRAVE_FILL_HATCH &&
	    (req->hatch_interval < 0 || !isfinite(req->hatch_interval) ||
	    (req->hatch_interval > 0 && req->hatch_interval < s->resolution)))
		return engrave_fail(res, ENGRAVE_ERR_INPUT,
		    "the hatch interval must be at least the machine's resolution, %.3g mm", s->resolution);
	const struct engrave_material *mat = material_find(s, req->material);
	if (!mat)
		return engrave_fail(res, ENGRAVE_ERR_INPUT, "unknown material '%s'",
		    req->material ? req->material : "");
	if (req->power < 0 || req->power > 100 || !isfinite(req->power))
		return engrave_fail(res, ENGRAVE_ERR_INPUT,
		    "the power is a percentage of the laser's maximum, 0 to 100 (got %g)", req->power);
	if (req->speed < 0 || req->speed > s->max_feed || !isfinite(req->speed))
		return engrave_fail(res, ENGRAVE_ERR_INPUT,
		    "the speed is up to the laser's %g mm/min (got %g)", s->max_feed, req->speed);

	struct engrave_paths geom;
	engrave_paths_init(&geom);
	enum engrave_status st;
	switch (req->content) {
	case ENGRAVE_TEXT:
		res->text_used = xstrdup(req->text ? req->text : "");
		st = fit_text(s, req, req->text, w, h, aw, ah, &geom, res, meter);
		break;
	case ENGRAVE_DATE: {
		int y, m, d;
		char out[128];
		if (engrave_date_parse(req->date, &y, &m, &d) < 0)
			return engrave_fail(res, ENGRAVE_ERR_INPUT,
			    "'%s' is not a date: give YYYY-MM-DD", req->date ? req->date : "");
		if (engrave_date_format(y, m, d, req->lang, req->date_style, out, sizeof(out)) < 0)
			return engrave_fail(res, ENGRAVE_ERR_INPUT,
			    "no date format for language '%s'", req->lang ? req->lang : "");
		res->text_used = xstrdup(out);
		st = fit_text(s, req, out, w, h, aw, ah, &geom, res, meter);
		break;
	}
	case ENGRAVE_SYMBOL:
	case ENGRAVE_SVG:
		st = fit_design(s, req, w, h, aw, ah, &geom, res, meter);
		if (st == ENGRAVE_OK && req->text && *req->text)
			st = text_in_frame(s, req, &geom, res, meter);
		break;
	default:
		st = engrave_fail(res, ENGRAVE_ERR_INPUT, "unknown kind of content");
	}
	if (st == ENGRAVE_OK && engrave_meter_check(meter))
		st = stopped(res, meter);
	/* Outlines over the limit are refused before hatching adds to them. */
	size_t nseg = engrave_paths_segments(&geom);
	char n1s[32], n2s[32];
	if (st == ENGRAVE_OK && nseg > meter->b.max_segments) {
		over(res, ENGRAVE_LIMIT_SEGMENTS, (double)nseg, (double)meter->b.max_segments);
		st = engrave_fail(res, ENGRAVE_ERR_BUDGET,
		    "the engraving would have %s segments; at most %s: use a simpler design",
		    engrave_count_str(n1s, sizeof(n1s), (double)nseg),
		    engrave_count_str(n2s, sizeof(n2s), (double)meter->b.max_segments));
	}
	if (st == ENGRAVE_OK && req->fill == ENGRAVE_FILL_HATCH) {
		double iv = req->hatch_interval > 0 ? req->hatch_interval : fmax(0.08, s->resolution * 4);
		st = hatch_fill(req, iv, &geom, res, meter);
	}
	if (st != ENGRAVE_OK) {
		engrave_paths_free(&geom);
		return st;
	}
	/* Whatever the layout did (arcs, fit), nothing may lie outside the
	 * laser's travel once the origin is added. */
	struct engrave_bbox tb = engrave_paths_bbox(&geom);
	if (turning && geom.n && tb.x1 >= tb.x0)
		res->round.text_mm = tb.x1 - tb.x0;
	if (turning && geom.n && tb.x1 >= tb.x0 &&
	    (tb.y0 + req->origin_x < -1e-9 || tb.y1 + req->origin_x > s->work_x + 1e-9)) {
		engrave_paths_free(&geom);
		return engrave_fail(res, ENGRAVE_ERR_INPUT,
		    "the engraving would reach X %.2f to %.2f mm along the rotary, outside the "
		    "laser's %.0f mm", tb.y0 + req->origin_x, tb.y1 + req->origin_x, s->work_x);
	}
	if (!turning && geom.n && tb.x1 >= tb.x0 &&
	    (tb.x0 + req->origin_x < -1e-9 || tb.y0 + req->origin_y < -1e-9 ||
	    tb.x1 + req->origin_x > s->work_x + 1e-9 || tb.y1 + req->origin_y > s->work_y + 1e-9)) {
		engrave_paths_free(&geom);
		return engrave_fail(res, ENGRAVE_ERR_INPUT,
		    "the engraving would reach X %.2f to %.2f, Y %.2f to %.2f mm, outside the "
		    "laser's %.0f x %.0f mm", tb.x0 + req->origin_x, tb.x1 + req->origin_x,
		    tb.y0 + req->origin_y, tb.y1 + req->origin_y, s->work_x, s->work_y);
	}
	res->toolpath = geom;
	res->stats.travel_as_drawn_mm = engrave_travel(&res->toolpath);
	if (!req->no_optimise)
		engrave_order_m(&res->toolpath, meter);
	if (meter->stop)
		return stopped(res, meter);
	res->stats.travel_mm = engrave_travel(&res->toolpath);
	res->stats.paths = res->toolpath.n;
	res->stats.segments = engrave_paths_segments(&res->toolpath);
	res->stats.burn_mm = engrave_paths_length(&res->toolpath);
	/* Power and speed: a technician's for this job, else the material's
	 * (the station's material test when it chose a cell, else the
	 * table's), said in the result so that the plan and the preview show
	 * where they come from. */
	struct engrave_params *pa = &res->params;
	pa->material = mat->name;
	pa->power = req->power > 0 ? req->power : mat->power;
	pa->speed = req->speed > 0 ? req->speed : mat->speed;
	pa->passes = mat->passes > 0 ? mat->passes : 1;
	if (req->power > 0 || req->speed > 0)
		snprintf(pa->source, sizeof pa->source, "set for this engraving%s",
		    req->power > 0 && req->speed > 0 ? "" : req->power > 0 ?
		    " (power; the speed is the material's)" : " (speed; the power is the material's)");
	else if (s->materials_source)
		snprintf(pa->source, sizeof pa->source, "%s", s->materials_source);
	else
		snprintf(pa->source, sizeof pa->source, "the laser's defaults for %s", mat->name);
	pa->z = NAN;
	if (isfinite(s->focus_z))
		pa->z = s->focus_z + (turning ? res->round.piece_diameter / 2 : 0);
	double speed = fmin(pa->speed, s->max_feed);
	int passes = pa->passes;
	/* Time at the programmed rates, acceleration ignored: a lower estimate. */
	res->stats.seconds = passes * (res->stats.burn_mm / (speed / 60) +
	    res->stats.travel_mm / (s->max_feed / 60));
	struct engrave_gcode_opts go = {
		.resolution = s->resolution,
		.power_s = (int)lround(pa->power / 100.0 * s->max_power),
		.with_z = isfinite(pa->z),
		.z = pa->z,
		.speed = speed,
		.passes = passes,
		.origin_x = req->origin_x,
		.origin_y = req->origin_y,
	};
	if (turning) {
		/* On the rotary: across the band is X along the chuck, around
		 * the piece is Y, y_per_mm of its units per mm of surface. */
		struct engrave_paths machine;
		engrave_paths_init(&machine);
		for (size_t i = 0; i < res->toolpath.n; i++) {
			const struct engrave_poly *src = &res->toolpath.v[i];
			struct engrave_poly *dst = engrave_paths_new_poly(&machine);
			dst->closed = src->closed;
			for (size_t j = 0; j < src->n; j++)
				engrave_poly_add(dst, src->pts[j].y + req->origin_x,
				    res->round.start_y + src->pts[j].x * res->round.y_per_mm);
		}
		char header[160];
		engrave_rotary_header(header, sizeof header, res->round.kind, res->round.diameter,
		    res->round.y_per_mm);
		go.origin_x = go.origin_y = 0;
		go.y_per_mm = res->round.y_per_mm;
		go.header = header;
		res->gcode = engrave_gcode(&machine, &go, &res->stats.gcode_lines);
		engrave_paths_free(&machine);
	} else {
		res->gcode = engrave_gcode(&res->toolpath, &go, &res->stats.gcode_lines);
	}
	res->stats.gcode_bytes = strlen(res->gcode);
	res->svg = preview(req, res, w, h, piece_w);
	res->status = ENGRAVE_OK;
	return ENGRAVE_OK;
}
