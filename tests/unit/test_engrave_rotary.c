/*
 * Round pieces on a rotary (engrave.c, round_surface and the rotary's
 * G-code): the surface a ring's outside or inside, a bangle or a cylinder
 * gives; Y scaled by the piece's diameter on a chuck and by the rollers'
 * on rollers, so that the same text covers the same arc of the piece; the
 * feed scaled so that the surface moves at the material's speed; the start
 * angle; and the refusals, each with its reason and numbers. The G-code is
 * read back by a small interpreter of its own here.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engrave/engrave.h"
#include "test.h"

static struct engrave_settings chuck, rollers, flat;

static void
setup(void)
{
	engrave_settings_default(&flat, NULL);
	chuck = flat;
	chuck.rotary = (struct engrave_rotary){ .kind = 1, .travel_per_turn = 360,
		.min_diameter = 12, .max_diameter = 80 };
	rollers = chuck;
	rollers.rotary.kind = 2;
	rollers.rotary.roller_diameter = 30;
}

static struct engrave_request
ring(double size, bool outer)
{
	return (struct engrave_request){ .content = ENGRAVE_TEXT, .text = "Ana",
		.area = ENGRAVE_AREA_RING, .ring_size = size, .band_width = 3, .outer_band = outer,
		.thickness = 1.5 };
}

/* The extent of Y over burning moves, and the F of a move along Y alone
 * and along X alone (the last seen of each), from the program. */
struct read {
	double y_lo, y_hi, f_along_y, f_along_x;
	bool header;
};

static struct read
read_gcode(const char *g)
{
	struct read r = { .y_lo = INFINITY, .y_hi = -INFINITY };
	r.header = strncmp(g, "(ATELIER ROTARY ", 16) == 0;
	double x = 0, y = 0, f = 0;
	int mode = 0;
	for (const char *p = g; *p;) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		double nx = x, ny = y;
		for (size_t i = 0; i < n; i++) {
			char c = p[i];
			if (c == '(')
				break;
			if (c == 'G' || c == 'X' || c == 'Y' || c == 'F') {
				/* The number alone: strtod would read "0X1.3" as hex. */
				char num[32];
				size_t k = 0;
				while (i + 1 + k < n && k < sizeof num - 1 &&
				    strchr("0123456789.-", p[i + 1 + k]))
					k++;
				memcpy(num, p + i + 1, k);
				num[k] = '\0';
				double v = strtod(num, NULL);
				const char *end = p + i + 1 + k;
				if (c == 'G')
					mode = (int)v;
				else if (c == 'X')
					nx = v;
				else if (c == 'Y')
					ny = v;
				else
					f = v;
				i = (size_t)(end - p) - 1;
			}
		}
		if (mode == 1 && (nx != x || ny != y)) {
			r.y_lo = fmin(r.y_lo, fmin(y, ny));
			r.y_hi = fmax(r.y_hi, fmax(y, ny));
			if (nx == x)
				r.f_along_y = f;
			if (ny == y)
				r.f_along_x = f;
		}
		x = nx;
		y = ny;
		p += n + (eol ? 1 : 0);
	}
	return r;
}

static void
t_chuck_and_rollers_cover_the_same_arc(void)
{
	struct engrave_request q = ring(52, true);
	struct engrave_result a, b;
	CHECK_INT(engrave_run(&chuck, &q, &a), ENGRAVE_OK);
	CHECK_INT(engrave_run(&rollers, &q, &b), ENGRAVE_OK);
	/* Size 52: 52 mm inside, 1.5 mm of metal: the outside is 52/pi + 3. */
	double d = 52 / M_PI + 3;
	CHECK(fabs(a.round.diameter - d) < 1e-9);
	CHECK(fabs(a.round.y_per_mm - 360 / (M_PI * d)) < 1e-9);
	CHECK(fabs(b.round.y_per_mm - 360 / (M_PI * 30)) < 1e-9);
	CHECK(fabs(a.round.text_mm - b.round.text_mm) < 1e-9);
	struct read ra = read_gcode(a.gcode), rb = read_gcode(b.gcode);
	CHECK(ra.header && rb.header);
	/* The burned turn of Y, as a length on the piece: the text's. */
	double arc_a = (ra.y_hi - ra.y_lo) / 360 * M_PI * d;
	double arc_b = (rb.y_hi - rb.y_lo) / 360 * M_PI * 30;
	CHECK(fabs(arc_a - a.round.text_mm) < 0.01);
	CHECK(fabs(arc_b - a.round.text_mm) < 0.01);
	engrave_result_free(&a);
	engrave_result_free(&b);
}

static void
t_feed_is_the_surface_speed(void)
{
	/* An outline font has moves along X (across) and along Y (around). */
	struct engrave_request q = ring(60, true);
	q.text = "HIH";
	struct engrave_result a;
	CHECK_INT(engrave_run(&chuck, &q, &a), ENGRAVE_OK);
	struct read r = read_gcode(a.gcode);
	double speed = r.f_along_x;
	CHECK(speed > 0);
	/* A mm around the piece is y_per_mm units of Y: F scales with it. */
	CHECK(fabs(r.f_along_y - round(speed * a.round.y_per_mm)) <= 1);
	engrave_result_free(&a);
}

static void
t_start_angle_turns_first(void)
{
	struct engrave_request q = ring(52, true);
	struct engrave_result a, b;
	CHECK_INT(engrave_run(&chuck, &q, &a), ENGRAVE_OK);
	q.start_angle = 90;
	CHECK_INT(engrave_run(&chuck, &q, &b), ENGRAVE_OK);
	struct read ra = read_gcode(a.gcode), rb = read_gcode(b.gcode);
	/* On a chuck whose turn is 360 units, 90 degrees is 90 units. */
	CHECK(fabs((rb.y_lo - ra.y_lo) - 90) < 0.02);
	CHECK(fabs(b.round.start_y - 90) < 1e-9);
	engrave_result_free(&a);
	engrave_result_free(&b);
}

static void
t_refusals(void)
{
	struct engrave_result r;
	struct engrave_request q = ring(52, false);
	CHECK_INT(engrave_run(&chuck, &q, &r), ENGRAVE_ERR_INPUT);
	CHECK_CONTAINS(r.error, "the inside of the ring cannot be reached on this laser's rotary");
	CHECK_CONTAINS(r.error, "engrave the outside instead");
	engrave_result_free(&r);

	struct engrave_settings reach = chuck;
	reach.rotary.inner_band = true;
	reach.rotary.inner_min_diameter = 18;
	q = ring(52, false);            /* 16.6 mm inside */
	CHECK_INT(engrave_run(&reach, &q, &r), ENGRAVE_ERR_INPUT);
	CHECK_CONTAINS(r.error, "16.6 mm across, is smaller than the 18.0 mm the head reaches");
	engrave_result_free(&r);
	q = ring(70, false);            /* 22.3 mm inside: reached */
	CHECK_INT(engrave_run(&reach, &q, &r), ENGRAVE_OK);
	engrave_result_free(&r);

	q = (struct engrave_request){ .content = ENGRAVE_TEXT, .text = "A",
		.area = ENGRAVE_AREA_CYLINDER, .diameter = 9, .band_width = 3 };
	CHECK_INT(engrave_run(&chuck, &q, &r), ENGRAVE_ERR_INPUT);
	CHECK_CONTAINS(r.error, "a cylinder of 9.0 mm outside diameter does not fit the rotary, "
	    "which holds 12.0 to 80.0 mm");
	engrave_result_free(&r);

	/* The smallest ring there is (size 30, 9.5 mm inside) with a thin
	 * band: 10.5 mm outside, smaller than the chuck holds. */
	q = ring(30, true);
	q.thickness = 0.5;
	CHECK_INT(engrave_run(&chuck, &q, &r), ENGRAVE_ERR_INPUT);
	CHECK_CONTAINS(r.error, "a ring of 10.5 mm outside diameter does not fit the rotary, which "
	    "holds 12.0 to 80.0 mm");
	engrave_result_free(&r);

	q = ring(52, true);
	q.thickness = 0;
	CHECK_INT(engrave_run(&chuck, &q, &r), ENGRAVE_ERR_INPUT);
	CHECK_CONTAINS(r.error, "the outside of a ring needs its thickness");
	engrave_result_free(&r);

	/* A flat bed: the outside needs a rotary; the inside is unrolled as
	 * it always was (a galvo's or a fixture's business). */
	q = ring(52, true);
	CHECK_INT(engrave_run(&flat, &q, &r), ENGRAVE_ERR_INPUT);
	CHECK_CONTAINS(r.error, "this laser has none");
	engrave_result_free(&r);
	q = ring(52, false);
	CHECK_INT(engrave_run(&flat, &q, &r), ENGRAVE_OK);
	CHECK(r.round.kind == 0);
	CHECK(strncmp(r.gcode, "(ATELIER ROTARY", 15) != 0);
	engrave_result_free(&r);
}

/* The preview: the seam and the hallmark on the unrolled band, and the
 * piece seen along its axis with the text's arc from the hallmark. */
static double
attr(const char *svg, const char *id, const char *name)
{
	char key[64];
	snprintf(key, sizeof key, "id=\"%s\"", id);
	const char *p = strstr(svg, key);
	snprintf(key, sizeof key, "%s=\"", name);
	p = p ? strstr(p, key) : NULL;
	return p ? atof(p + strlen(key)) : NAN;
}

static void
t_preview_views(void)
{
	struct engrave_request q = ring(52, true);
	struct engrave_result a, b;
	CHECK_INT(engrave_run(&chuck, &q, &a), ENGRAVE_OK);
	q.start_angle = 45;
	CHECK_INT(engrave_run(&chuck, &q, &b), ENGRAVE_OK);
	CHECK_CONTAINS(a.svg, "id=\"seam\"");
	CHECK_CONTAINS(a.svg, "id=\"top-view\"");
	CHECK_CONTAINS(a.svg, "id=\"hallmark\"");
	struct engrave_bbox bb = engrave_paths_bbox(&a.toolpath);
	double circ = M_PI * a.round.diameter;
	/* The text sits symmetric about the usable band's middle, a quarter
	 * of the way round from its start: here from about 67 degrees. */
	CHECK(fabs(attr(a.svg, "text-arc", "data-from") - bb.x0 / circ * 360) < 0.01);
	CHECK(fabs(attr(a.svg, "text-arc", "data-to") - bb.x1 / circ * 360) < 0.01);
	CHECK(fabs((attr(a.svg, "text-arc", "data-to") - attr(a.svg, "text-arc", "data-from")) -
	    a.round.text_mm / circ * 360) < 0.01);
	/* 45 degrees later with the start angle. */
	CHECK(fabs(attr(b.svg, "text-arc", "data-from") - attr(a.svg, "text-arc", "data-from") - 45) <
	    0.01);
	engrave_result_free(&a);
	engrave_result_free(&b);
}

static void
t_bangle(void)
{
	struct engrave_request q = { .content = ENGRAVE_TEXT, .text = "Toujours",
		.area = ENGRAVE_AREA_BANGLE, .diameter = 60, .thickness = 2, .band_width = 6,
		.outer_band = true };
	struct engrave_result r;
	CHECK_INT(engrave_run(&chuck, &q, &r), ENGRAVE_OK);
	CHECK(fabs(r.round.diameter - 64) < 1e-9);
	CHECK(fabs(r.round.piece_diameter - 64) < 1e-9);
	engrave_result_free(&r);
}

int
main(void)
{
	setup();
	RUN(t_chuck_and_rollers_cover_the_same_arc);
	RUN(t_feed_is_the_surface_speed);
	RUN(t_start_angle_turns_first);
	RUN(t_refusals);
	RUN(t_preview_views);
	RUN(t_bangle);
	engrave_cache_clear();
	return test_summary();
}
