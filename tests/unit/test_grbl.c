/*
 * The GRBL response parser and line cleaner: every kind of line GRBL 1.1
 * sends, status reports in all their shapes, and the garbage a broken
 * device or line can produce.
 */
#include <math.h>
#include <string.h>

#include "grbl.h"
#include "test.h"

static struct grbl_status st;
static struct grbl_response r;

static void
t_simple_lines(void)
{
	CHECK_INT(grbl_parse("ok", &st, &r), GRBL_R_OK);
	CHECK_INT(grbl_parse("error:20", &st, &r), GRBL_R_ERROR);
	CHECK_INT(r.code, 20);
	CHECK_INT(grbl_parse("ALARM:3", &st, &r), GRBL_R_ALARM);
	CHECK_INT(r.code, 3);
	CHECK_INT(grbl_parse("Grbl 1.1h ['$' for help]", &st, &r), GRBL_R_BANNER);
	CHECK_STR(r.text, "1.1h");
	CHECK_INT(grbl_parse("[MSG:'$H'|'$X' to unlock]", &st, &r), GRBL_R_MSG);
	CHECK_STR(r.text, "'$H'|'$X' to unlock");
	CHECK_INT(grbl_parse("[VER:1.1h.20190825:]", &st, &r), GRBL_R_FEEDBACK);
	CHECK_INT(grbl_parse(">G54:ok", &st, &r), GRBL_R_STARTUP);   /* not an ok */
	CHECK_INT(grbl_parse("$110=6000.000", &st, &r), GRBL_R_SETTING);
	CHECK_INT(r.code, 110);
	CHECK_NEAR(r.value, 6000, 1e-9);
	CHECK_INT(grbl_parse("", &st, &r), GRBL_R_EMPTY);
}

static void
t_garbage(void)
{
	CHECK_INT(grbl_parse("ok\xff", &st, &r), GRBL_R_INVALID);
	CHECK_INT(grbl_parse("error:", &st, &r), GRBL_R_INVALID);
	CHECK_INT(grbl_parse("error:x1", &st, &r), GRBL_R_INVALID);
	CHECK_INT(grbl_parse("ALARM:99999", &st, &r), GRBL_R_INVALID);
	CHECK_INT(grbl_parse("$12=abc", &st, &r), GRBL_R_INVALID);
	CHECK_INT(grbl_parse("okay", &st, &r), GRBL_R_UNKNOWN);
	CHECK_INT(grbl_parse("<Idle|MPos:0.000,0.0", &st, &r), GRBL_R_INVALID);   /* truncated */
	CHECK_INT(grbl_parse("<Flying|MPos:0,0,0>", &st, &r), GRBL_R_INVALID);
	CHECK_INT(grbl_parse("<Idle|FS:0,0>", &st, &r), GRBL_R_INVALID);         /* no position */
	CHECK_INT(grbl_parse("<Idle|MPos:1,2>", &st, &r), GRBL_R_INVALID);
	CHECK_INT(grbl_parse("<Hold:x|MPos:1,2,3>", &st, &r), GRBL_R_INVALID);
	/* Found by the fuzz target: a status line longer than any GRBL sends. */
	char huge[600];
	memset(huge, 'A', sizeof huge);
	huge[0] = '<';
	huge[sizeof huge - 2] = '>';
	huge[sizeof huge - 1] = '\0';
	CHECK_INT(grbl_parse(huge, &st, &r), GRBL_R_INVALID);
}

static void
t_status_reports(void)
{
	memset(&st, 0, sizeof st);
	CHECK_INT(grbl_parse("<Idle|MPos:1.000,2.000,0.000|FS:0,0|WCO:0.500,0.000,0.000>", &st, &r),
	    GRBL_R_STATUS);
	CHECK_STR(st.state, "Idle");
	CHECK_INT(st.substate, -1);
	CHECK_NEAR(st.wpos[0], 0.5, 1e-9);
	/* WCO is remembered for the reports that do not carry it. */
	CHECK_INT(grbl_parse("<Run|MPos:3.000,2.000,0.000|Bf:15,128|FS:600,300|Ov:110,100,90>",
	    &st, &r), GRBL_R_STATUS);
	CHECK_NEAR(st.wpos[0], 2.5, 1e-9);
	CHECK(st.has_bf && st.bf_blocks == 15 && st.bf_bytes == 128);
	CHECK_NEAR(st.feed, 600, 1e-9);
	CHECK_NEAR(st.spindle, 300, 1e-9);
	CHECK(st.ov[0] == 110 && st.ov[2] == 90);
	CHECK_INT(grbl_parse("<Door:1|WPos:1.000,1.000,0.000|FS:0,0|Pn:D|A:S>", &st, &r), GRBL_R_STATUS);
	CHECK_STR(st.state, "Door");
	CHECK_INT(st.substate, 1);
	CHECK_STR(st.pins, "D");
	CHECK_NEAR(st.mpos[0], 1.5, 1e-9);
	CHECK(st.ov[0] == 110);                 /* carried over */
	CHECK(!st.has_bf);
	/* Fields of later versions are tolerated. */
	CHECK_INT(grbl_parse("<Hold:0|MPos:0,0,0|FS:0,0|Ln:42|XY:1>", &st, &r), GRBL_R_STATUS);
	CHECK_INT(st.line, 42);
}

static void
t_clean_line(void)
{
	char out[100];
	CHECK_INT(grbl_clean_line("g1 x1.5 y-2 f600 (hatch) ; comment", out, sizeof out), 13);
	CHECK_STR(out, "G1X1.5Y-2F600");
	CHECK_INT(grbl_clean_line("(only a comment)", out, sizeof out), 0);
	CHECK_INT(grbl_clean_line("G1 X\xc3\xa9", out, sizeof out), -1);
	char longl[120];
	memset(longl, 'X', 90);
	longl[90] = '\0';
	CHECK_INT(grbl_clean_line(longl, out, sizeof out), -1);
}

static void
t_codes_explained(void)
{
	for (int c = 1; c <= 38; c++)
		if (c != 18 && c != 19)
			CHECK(strcmp(grbl_error_text(c), "unknown GRBL error code") != 0);
	for (int c = 1; c <= 10; c++)
		CHECK(strcmp(grbl_alarm_text(c), "unknown GRBL alarm code") != 0);
	CHECK_STR(grbl_error_text(99), "unknown GRBL error code");
	CHECK_CONTAINS(grbl_error_text(9), "locked");
	CHECK_CONTAINS(grbl_alarm_text(1), "hard limit");
}

int
main(void)
{
	RUN(t_simple_lines);
	RUN(t_garbage);
	RUN(t_status_reports);
	RUN(t_clean_line);
	RUN(t_codes_explained);
	return test_summary();
}
