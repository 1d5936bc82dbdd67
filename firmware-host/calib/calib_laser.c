/*
 * G-code of the laser's calibration programs (see calib_laser.h). Every
 * program is absolute millimetres (G21 G90), burns only in G1 under M4 so
 * that GRBL's laser mode scales power with speed, turns the beam off with
 * M5 and ends with a dwell so that the stream ends when the head stops.
 */
#include "calib/calib_laser.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static const struct {
	const char *metal;
	double p_lo, p_hi, s_lo, s_hi;
} metal_ranges[] = {
	{ "silver", 60, 100, 100, 600 },
	{ "yellow_gold", 50, 100, 100, 600 },
	{ "rose_gold", 50, 100, 100, 600 },
	{ "white_gold", 40, 90, 150, 900 },
	{ "platinum", 30, 80, 150, 900 },
	{ "steel", 20, 70, 200, 1200 },
};

int
calib_grid_defaults(const char *metal, size_t n, struct calib_grid *g)
{
	if (n < 2)
		n = 2;
	if (n > CALIB_GRID_MAX)
		n = CALIB_GRID_MAX;
	for (size_t i = 0; i < ARRAY_LEN(metal_ranges); i++) {
		if (!metal || strcmp(metal, metal_ranges[i].metal) != 0)
			continue;
		for (size_t k = 0; k < n; k++) {
			double f = (double)k / (double)(n - 1);
			g->powers[k] = round(metal_ranges[i].p_lo + f * (metal_ranges[i].p_hi -
			    metal_ranges[i].p_lo));
			g->speeds[k] = round(metal_ranges[i].s_lo + f * (metal_ranges[i].s_hi -
			    metal_ranges[i].s_lo));
		}
		g->n_powers = g->n_speeds = n;
		return 0;
	}
	return -1;
}

/* Seven-segment strokes: a top, b top right, c bottom right, d bottom,
 * e bottom left, f top left, g middle; as (x0,y0)-(x1,y1) in a 1 x 2 cell. */
static const double segs[7][4] = {
	{ 0, 2, 1, 2 }, { 1, 2, 1, 1 }, { 1, 1, 1, 0 }, { 0, 0, 1, 0 },
	{ 0, 0, 0, 1 }, { 0, 1, 0, 2 }, { 0, 1, 1, 1 },
};
static const char *const digit_segs[10] = {
	"abcdef", "bc", "abged", "abgcd", "fgbc", "afgcd", "afgedc", "abc", "abcdefg", "abfgcd",
};

/* Writes the number (whole, >= 0) with digits h mm high, lower left at x, y. */
static void
label(struct buf *b, double x, double y, double h, long v, int s, double feed)
{
	char text[24];
	snprintf(text, sizeof text, "%ld", v < 0 ? 0 : v);
	double w = h / 2, pitch = w * 1.6;
	for (size_t i = 0; text[i]; i++) {
		const char *d = digit_segs[text[i] - '0'];
		for (; *d; d++) {
			const double *sg = segs[*d - 'a'];
			double x0 = x + i * pitch + sg[0] * w, y0 = y + sg[1] * w;
			double x1 = x + i * pitch + sg[2] * w, y1 = y + sg[3] * w;
			buf_printf(b, "G0X%.3fY%.3f\nG1X%.3fY%.3fS%dF%.0f\n", x0, y0, x1, y1, s, feed);
		}
	}
}

static double
label_width(long v, double h)
{
	char text[24];
	snprintf(text, sizeof text, "%ld", v);
	return (double)strlen(text) * h / 2 * 1.6;
}

char *
calib_grid_gcode(const struct calib_grid *g, char *err, size_t errlen)
{
	if (g->n_powers < 1 || g->n_powers > CALIB_GRID_MAX || g->n_speeds < 1 ||
	    g->n_speeds > CALIB_GRID_MAX) {
		snprintf(err, errlen, "a grid has 1 to %d powers and 1 to %d speeds", CALIB_GRID_MAX,
		    CALIB_GRID_MAX);
		return NULL;
	}
	if (!(g->plate_w >= 5 && g->plate_w <= 300 && g->plate_h >= 5 && g->plate_h <= 300)) {
		snprintf(err, errlen, "a test plate of %g x %g mm is outside 5-300 mm", g->plate_w,
		    g->plate_h);
		return NULL;
	}
	for (size_t i = 0; i < g->n_powers; i++)
		if (!(g->powers[i] > 0 && g->powers[i] <= 100)) {
			snprintf(err, errlen, "power %g %% is outside 1-100 %%", g->powers[i]);
			return NULL;
		}
	for (size_t i = 0; i < g->n_speeds; i++)
		if (!(g->speeds[i] >= 10 && g->speeds[i] <= g->max_feed)) {
			snprintf(err, errlen, "speed %g mm/min is outside 10-%g mm/min", g->speeds[i],
			    g->max_feed);
			return NULL;
		}
	/* Labels take a strip along the top (powers) and the left (speeds). */
	double lh = fmin(2.0, fmax(1.0, g->plate_h / 20));
	double left = 0;
	for (size_t i = 0; i < g->n_speeds; i++)
		left = fmax(left, label_width(lround(g->speeds[i]), lh));
	double margin = 1, top = lh + 2 * margin;
	left += 2 * margin;
	double cw = (g->plate_w - left - margin) / (double)g->n_powers;
	double ch = (g->plate_h - top - margin) / (double)g->n_speeds;
	double gap = 0.6;
	if (cw - gap < 2 || ch - gap < 2) {
		snprintf(err, errlen, "%zu x %zu cells do not fit a %g x %g mm plate (each would be "
		    "%.1f x %.1f mm; at least 2 mm): fewer steps or a larger plate", g->n_powers,
		    g->n_speeds, g->plate_w, g->plate_h, cw - gap, ch - gap);
		return NULL;
	}
	double hatch = g->hatch > 0 ? g->hatch : 0.1;
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "G21G90\nM5\nM4S0\n");
	double lf = g->max_feed < 600 ? g->max_feed : 600;
	int ls = (int)lround(g->max_power * 0.5);
	for (size_t c = 0; c < g->n_powers; c++)
		label(&b, g->origin_x + left + c * cw, g->origin_y + g->plate_h - margin - lh, lh,
		    lround(g->powers[c]), ls, lf);
	for (size_t r = 0; r < g->n_speeds; r++)
		label(&b, g->origin_x + margin, g->origin_y + margin + r * ch + (ch - lh) / 2, lh,
		    lround(g->speeds[r]), ls, lf);
	for (size_t r = 0; r < g->n_speeds; r++) {
		for (size_t c = 0; c < g->n_powers; c++) {
			int s = (int)lround(g->powers[c] / 100.0 * g->max_power);
			double x0 = g->origin_x + left + c * cw, x1 = x0 + cw - gap;
			double y0 = g->origin_y + margin + r * ch, y1 = y0 + ch - gap;
			buf_printf(&b, "(power %g%% speed %g)\n", g->powers[c], g->speeds[r]);
			bool fwd = true;
			for (double y = y0; y <= y1 + 1e-9; y += hatch) {
				buf_printf(&b, "G0X%.3fY%.3f\nG1X%.3fS%dF%.0f\n", fwd ? x0 : x1, y,
				    fwd ? x1 : x0, s, g->speeds[r]);
				fwd = !fwd;
			}
		}
	}
	buf_printf(&b, "M5\nG0X%.3fY%.3f\nG4P0.01\n", g->origin_x, g->origin_y);
	return b.data;
}

char *
calib_focus_gcode(double x, double y, double length, double z0, double dz, int n, int power_s,
    double feed, char *err, size_t errlen)
{
	if (n < 1 || n > 9 || !(dz > 0 && dz <= 2) || !(length >= 2 && length <= 50) ||
	    !isfinite(z0) || fabs(z0) + n * dz > 20) {
		snprintf(err, errlen, "a focus test has 1-9 steps each way of 0-2 mm, lines of 2-50 "
		    "mm, and stays within 20 mm of the focus");
		return NULL;
	}
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "G21G90\nM5\nM4S0\n");
	for (int i = -n; i <= n; i++) {
		double yy = y + (i + n) * 3.0, z = z0 + i * dz;
		buf_printf(&b, "(line %d at Z %.3f)\nG0Z%.3f\n", i + n, z, z);
		label(&b, x, yy, 1.5, i + n, power_s, feed);
		buf_printf(&b, "G0X%.3fY%.3f\nG1X%.3fS%dF%.0f\n", x + 3, yy + 0.75, x + 3 + length,
		    power_s, feed);
	}
	buf_printf(&b, "M5\nG0Z%.3f\nG4P0.01\n", z0);
	return b.data;
}

char *
calib_square_gcode(double x, double y, double side, int power_s, double feed, char *err,
    size_t errlen)
{
	if (!(side >= 5 && side <= 100) || !isfinite(x) || !isfinite(y)) {
		snprintf(err, errlen, "a reference square of %g mm is outside 5-100 mm", side);
		return NULL;
	}
	return xasprintf("G21G90\nM5\nG0X%.3fY%.3f\nM4S%d\nG1X%.3fF%.0f\nG1Y%.3f\nG1X%.3f\n"
	    "G1Y%.3f\nM5\nG4P0.01\n", x, y, power_s, x + side, feed, y + side, x, y);
}
