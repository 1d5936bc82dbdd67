/*
 * What a program for the laser station may contain: motion, feed, laser
 * power and comments, nothing else (issue 12). GRBL acts on whatever it
 * is sent, so a program is the place where a `$X` would clear an alarm
 * lock the technician has not checked, a `$32=0` turn laser mode off, or a
 * `~` resume a hold: those go through their own methods, never a program.
 * Pure: no I/O, so that it is unit-tested and fuzzed alone.
 */
#ifndef ATELIER_LASER_PROGRAM_H
#define ATELIER_LASER_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>

struct laser_program_info {
	long lines;             /* lines with something for GRBL */
	bool emits;             /* an M3 or M4 anywhere */
	bool relative;          /* a G91 anywhere */
	bool inches;            /* a G20 anywhere */
	/* Made for a rotary: its first line is the comment the engraving
	 * writes, "(ATELIER ROTARY ...)". Its Y is then a turn of the piece,
	 * not a place on the bed. */
	bool rotary;
	/* The X and Y words' extent (end points; an arc may bulge past them
	 * by its radius), meaningful for an absolute program in mm; lo > hi
	 * when the program has no such word. */
	double x_lo, x_hi, y_lo, y_hi;
};

/*
 * Checks every line of text. Allowed: G0 G1 G2 G3 (motion), G4 (dwell),
 * G17 (plane), G20 G21 (units), G90 G91 (distance mode), G94 (feed per
 * minute); M3 M4 M5 (laser) and M2 M30 (program end); the words X Y Z I J
 * K R (coordinates), F (feed), S (power), P (dwell) and N (line number);
 * comments in parentheses or after ';'. Refused: `$` lines, GRBL's
 * realtime characters (? ! ~), any other G or M code or letter, numbers
 * that are not finite. Returns 0 and fills info, or -1 with "line N: why"
 * in err.
 */
int laser_program_check(const char *text, struct laser_program_info *info, char *err,
    size_t errlen);

/* Whether a program is made for a rotary: its first line is the comment
 * engrave_rotary_header() writes, "(ATELIER ROTARY ...)". */
bool laser_program_for_rotary(const char *text);

#endif
