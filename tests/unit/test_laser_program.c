/*
 * The laser station's rules for a program's content: the programs Atelier
 * writes pass, and what an outside program must not carry is refused with
 * its line and why (issue 12: `$X`, `$H`, `$32=0` in a program, realtime
 * characters, codes the station does not run).
 */
#include <stdio.h>
#include <string.h>

#include "policy/laser_program.h"
#include "test.h"

static const char *
refused(const char *program)
{
	static char err[300];
	struct laser_program_info info;
	err[0] = '\0';
	if (laser_program_check(program, &info, err, sizeof err) == 0)
		return "";
	return err;
}

static void
t_programs_atelier_writes_pass(void)
{
	struct laser_program_info info;
	char err[300];
	CHECK_INT(laser_program_check("G21 G90\nM4 S400\nG1 X40 F300\nG2 X1 Y1 I0.5 J0.5\n"
	    "G0 Z-1.5 (focus)\nG4 P0.01 ; dwell\nM5\nM2\n", &info, err, sizeof err), 0);
	CHECK_INT(info.lines, 8);
	CHECK(info.emits);
	CHECK(!info.relative);
	CHECK(!info.inches);
	/* The extent of its X and Y words, for the station's work area. */
	CHECK(info.x_lo == 1 && info.x_hi == 40 && info.y_lo == 1 && info.y_hi == 1);
	CHECK_INT(laser_program_check("G20 G90\nG0 X-1.5 Y2\n", &info, err, sizeof err), 0);
	CHECK(info.inches && info.x_lo == -1.5 && info.y_hi == 2);
	CHECK_INT(laser_program_check("G0 Z1\n", &info, err, sizeof err), 0);
	CHECK(info.x_lo > info.x_hi && info.y_lo > info.y_hi);     /* no X or Y word */
	CHECK_INT(laser_program_check("g21g91\nm5\nx1.5y-.25\n\n   \n(only a comment)\n", &info, err,
	    sizeof err), 0);
	CHECK_INT(info.lines, 3);
	CHECK(!info.emits);
	CHECK(info.relative);
	CHECK_INT(laser_program_check("", &info, err, sizeof err), 0);
	CHECK_INT(info.lines, 0);
}

static void
t_the_issues_program_refused(void)
{
	CHECK_STR(refused("$X\n$H\nM3 S1000\nG1 X10\n"), "line 1: '$X' is a GRBL command, not "
	    "G-code: unlock, homing and settings have their own methods (laser.unlock, calibration)");
	CHECK_CONTAINS(refused("G21\nG1 X1\n$32=0\n"), "line 3: '$32=0' is a GRBL command");
	CHECK_CONTAINS(refused("G1 X1 ~\n"), "line 1: '~' is a realtime command");
	CHECK_CONTAINS(refused("G1 X1\n!\n"), "line 2: '!' is a realtime command");
	CHECK_CONTAINS(refused("G1 X1\n?\n"), "line 2: '?' is a realtime command");
}

static void
t_codes_the_station_does_not_run(void)
{
	CHECK_CONTAINS(refused("G28\n"), "line 1: G28 is not a code the laser station runs");
	CHECK_CONTAINS(refused("G92 X0\n"), "G92 is not a code");
	CHECK_CONTAINS(refused("G10 L2 P1 X0\n"), "G10 is not a code");
	CHECK_CONTAINS(refused("G38.2 Z-5\n"), "G38.2 is not a code");
	CHECK_CONTAINS(refused("G91.1\n"), "G91.1 is not a code");
	CHECK_CONTAINS(refused("M8\n"), "M8 is not a code the laser station runs");
	CHECK_CONTAINS(refused("M3 S1\nM7\n"), "line 2: M7");
	CHECK_CONTAINS(refused("T1 M6\n"), "'T1' is not a word the laser station uses");
	CHECK_CONTAINS(refused("G1 X\n"), "'X' has no number");
	CHECK_CONTAINS(refused("G1 X1e3\n"), "'E3' is not a word");
	CHECK_CONTAINS(refused("%\n"), "'%' is not part of a G-code word");
	/* Comments hide nothing: what follows a closed one is read. */
	CHECK_CONTAINS(refused("(note) $X\n"), "'$X' is a GRBL command");
	CHECK_STR(refused("G1 X1 (a $X in a comment) ; and $H after\n"), "");
}

int
main(void)
{
	RUN(t_programs_atelier_writes_pass);
	RUN(t_the_issues_program_refused);
	RUN(t_codes_the_station_does_not_run);
	return test_summary();
}
