/*
 * The laser's calibration programs, as G-code text: the material test grid
 * (a power x speed matrix of filled squares, each row and column labelled
 * with its value in seven-segment digits so that the plate reads without a
 * key), the focus test (short lines at stepped heights, numbered) and the
 * reference square for the scale calibration. Pure functions: the
 * daemon streams what they return through the laser station, and the unit
 * tests read the coordinates back.
 */
#ifndef ATELIER_CALIB_LASER_H
#define ATELIER_CALIB_LASER_H

#include <stddef.h>

#define CALIB_GRID_MAX 10

struct calib_grid {
	double plate_w, plate_h;        /* mm, the test plate */
	double origin_x, origin_y;      /* mm, its lower left corner in work coordinates */
	double powers[CALIB_GRID_MAX];  /* % of full power, columns */
	size_t n_powers;
	double speeds[CALIB_GRID_MAX];  /* mm/min, rows */
	size_t n_speeds;
	int max_power;                  /* GRBL S for 100 % ($30) */
	double max_feed;                /* mm/min the laser allows */
	double hatch;                   /* mm between fill lines */
};

/*
 * Default powers and speeds for a metal (silver and gold reflect the beam
 * and need more energy than platinum or steel): n of each, evenly spread.
 * Returns 0, or -1 for a metal it does not know.
 */
int calib_grid_defaults(const char *metal, size_t n, struct calib_grid *g);

/* The grid's program (free it), or NULL with err: values out of range, or
 * cells smaller than 2 mm on the plate. */
char *calib_grid_gcode(const struct calib_grid *g, char *err, size_t errlen);

/* The focus test: 2n+1 lines of length mm at heights z0 + i*dz (i = -n..n),
 * 3 mm apart, each numbered 0..2n; power S and feed. */
char *calib_focus_gcode(double x, double y, double length, double z0, double dz, int n,
    int power_s, double feed, char *err, size_t errlen);

/* The reference square of side mm with its lower left corner at x, y. */
char *calib_square_gcode(double x, double y, double side, int power_s, double feed, char *err,
    size_t errlen);

#endif
