/*
 * The simulated GRBL controller on a fake clock: responses and error
 * codes, the receive buffer that overruns, the planner that fills, motion
 * time with acceleration, hold, door, reset, alarms, overrides and the
 * laser-mode beam.
 */
#include <string.h>

#include "grbl_sim.h"
#include "test.h"

static struct grbl_sim g;
static double t;
static char out[8192];

static void
boot(void)
{
	grbl_sim_free(&g);
	t = 100;
	grbl_sim_init(&g, t, 500);
	g.parse_rate = 100000;      /* parse as fast as asked, unless a test says */
	buf_reset(&g.out);
}

/* Runs the machine for secs in 1 ms steps; returns what it said. */
static const char *
run(double secs)
{
	size_t n = 0;
	for (double end = t + secs; t < end;) {
		t += 0.001;
		grbl_sim_step(&g, t);
	}
	n = g.out.len < sizeof out - 1 ? g.out.len : sizeof out - 1;
	memcpy(out, g.out.data ? g.out.data : "", n);
	out[n] = '\0';
	buf_reset(&g.out);
	return out;
}

static const char *
send(const char *s, double secs)
{
	grbl_sim_receive(&g, s, strlen(s));
	return run(secs);
}

static void
t_banner_and_status(void)
{
	grbl_sim_free(&g);
	grbl_sim_init(&g, 0, 500);
	CHECK_STR(g.out.data, "\r\nGrbl 1.1h ['$' for help]\r\n");
	boot();
	CHECK_STR(send("?", 0.01), "<Idle|MPos:0.000,0.000,0.000|FS:0,0|WCO:0.000,0.000,0.000>\r\n");
	CHECK_STR(send("$10=3\n", 0.01), "ok\r\n");
	CHECK_STR(send("?", 0.01), "<Idle|MPos:0.000,0.000,0.000|Bf:16,128|FS:0,0|Ov:100,100,100>\r\n");
	CHECK_STR(send("$I\n", 0.01), "[VER:1.1h.20190825:]\r\n[OPT:V,15,128]\r\nok\r\n");
	/* Laser mode off, as GRBL leaves the factory. */
	CHECK_CONTAINS(send("$$\n", 0.01), "$32=0\r\n");
	CHECK_CONTAINS(out, "$30=1000\r\n$31=0\r\n");
	CHECK_CONTAINS(send("$G\n", 0.01), "[GC:G0 G54 G17 G21 G90 G94 M5 M9 T0 F0 S0]");
}

static void
t_error_codes(void)
{
	static const struct { const char *line; const char *reply; } cases[] = {
		{ "G5\n", "error:20\r\n" },
		{ "X\n", "error:2\r\n" },
		{ "1\n", "error:1\r\n" },
		{ "G0G1X1\n", "error:21\r\n" },
		{ "G1X1\n", "error:22\r\n" },
		{ "G0X1X2\n", "error:25\r\n" },
		{ "$99=1\n", "error:3\r\n" },
		{ "$1=-1\n", "error:4\r\n" },
		{ "$H\n", "error:5\r\n" },
		{ "M7.5\n", "error:20\r\n" },
		{ "G2X1Y1F100\n", "error:35\r\n" },
		{ "G0 X1 (comment) ; rest\n", "ok\r\n" },
		{ "\n", "ok\r\n" },
	};
	boot();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		CHECK_STR(send(cases[i].line, 0.3), cases[i].reply);
	char longline[100];
	memset(longline, 'X', 90);
	strcpy(longline + 90, "\n");
	CHECK_STR(send(longline, 0.01), "error:11\r\n");
}

static void
t_receive_buffer_overruns(void)
{
	char burst[200];
	boot();
	memset(burst, 'G', sizeof burst);
	grbl_sim_receive(&g, burst, sizeof burst);
	CHECK_INT(g.overruns, 72);
	CHECK_INT(g.rx_len, 128);
}

static void
t_planner_fills_then_rx(void)
{
	boot();
	/* 20 moves of 10 mm at 60 mm/min: each takes 10 s, so nothing ends. */
	char lines[512] = "";
	for (int i = 1; i <= 20; i++) {
		char l[32];
		snprintf(l, sizeof l, "G1X%dF60\n", i * 10);
		strcat(lines, l);
	}
	size_t len = strlen(lines);
	grbl_sim_receive(&g, lines, 128);      /* what fits */
	run(0.05);
	grbl_sim_receive(&g, lines + 128, len - 128);
	const char *said = run(0.05);
	int oks = 0;
	for (const char *p = said; (p = strstr(p, "ok")); p++)
		oks++;
	CHECK_INT(g.pl_count, GRBL_PLANNER_SIZE);
	CHECK(oks >= 0);
	CHECK_INT(g.lines_ok, 16);
	CHECK(g.rx_len > 0);                    /* the rest waits in rx */
	CHECK_INT(g.overruns, 0);
}

static void
t_motion_time_with_acceleration(void)
{
	boot();
	/* 10 mm at 600 mm/min (10 mm/s), 500 mm/s2: L/v + v/a = 1.02 s. */
	send("G1X10F600\n", 0.001);
	double start = t;
	while (g.state != GRBL_IDLE && t - start < 5)
		run(0.001);
	CHECK_NEAR(t - start, 1.02, 0.03);
	CHECK_NEAR(g.pos[0], 10, 1e-9);
}

static void
t_hold_and_resume(void)
{
	boot();
	send("G1X10F600\n", 0.3);
	CHECK_INT(g.state, GRBL_RUN);
	CHECK_CONTAINS(send("!?", 0.002), "<Hold:1|");
	run(0.1);
	CHECK_CONTAINS(send("?", 0.01), "<Hold:0|");
	double x = g.pos[0];
	run(0.5);
	CHECK_NEAR(g.pos[0], x, 1e-9);
	send("~", 2);
	CHECK_INT(g.state, GRBL_IDLE);
	CHECK_NEAR(g.pos[0], 10, 1e-9);
}

static void
t_door(void)
{
	boot();
	send("M4S500G1X10F600\n", 0.3);
	CHECK(g.emitting);
	grbl_sim_door(&g, true);
	CHECK_CONTAINS(send("?", 0.01), "<Door:2|");  /* stopping */
	run(0.1);
	CHECK_CONTAINS(send("?", 0.01), "<Door:1|");
	CHECK_CONTAINS(out, "Pn:D");
	CHECK(!g.emitting);
	CHECK_STR(send("~", 0.1), "");         /* no resume while open */
	CHECK_INT(g.state, GRBL_DOOR);
	grbl_sim_door(&g, false);
	CHECK_CONTAINS(send("?", 0.01), "<Door:0|");
	send("~", 2);
	CHECK_INT(g.state, GRBL_IDLE);
	CHECK_NEAR(g.pos[0], 10, 1e-9);
}

static void
t_reset_during_motion_alarms(void)
{
	boot();
	send("G1X10F600\n", 0.2);
	const char *said = send("\x18", 0.01);
	CHECK_STR(said, "ALARM:3\r\n\r\nGrbl 1.1h ['$' for help]\r\n[MSG:'$H'|'$X' to unlock]\r\n");
	CHECK_STR(send("G0X1\n", 0.01), "error:9\r\n");
	CHECK_STR(send("$X\n", 0.01), "[MSG:Caution: Unlocked]\r\nok\r\n");
	CHECK_STR(send("G0X1\n", 0.01), "ok\r\n");
}

static void
t_critical_alarm_needs_reset(void)
{
	boot();
	send("G1X10F600\n", 0.2);
	grbl_sim_alarm(&g, 1);
	CHECK_STR(run(0.01), "ALARM:1\r\n[MSG:Reset to continue]\r\n");
	CHECK_STR(send("$X\n", 0.05), "");     /* nothing is parsed */
	CHECK_CONTAINS(send("\x18", 0.05), "Grbl 1.1h");
	CHECK_CONTAINS(send("$X\n", 0.05), "ok");
}

static void
t_overrides(void)
{
	boot();
	send("?", 0.01);
	CHECK_CONTAINS(send("\x91\x91\x9A?", 0.01), "|Ov:120,100,110>");
	CHECK_CONTAINS(send("\x90\x96\x99?", 0.01), "|Ov:100,50,100>");
}

static void
t_laser_mode_beam(void)
{
	boot();
	/* GRBL leaves the factory with laser mode off: the beam stays on in
	 * G0 then, which is why the daemon refuses to burn without it. */
	send("M4S800G0X1\n", 0.02);
	CHECK(g.emitting);
	run(1);
	send("M5\n", 0.02);
	CHECK_INT(grbl_sim_set(&g, 32, 1), 0);  /* the bench's commissioning */
	send("M4S800G0X5\n", 0.02);
	CHECK(!g.emitting);                     /* never in G0 */
	run(1);
	send("G1X10F600\n", 0.2);
	CHECK(g.emitting);
	CHECK_NEAR(g.emit_power, 800, 1e-9);
	send("\x9B", 0.01);                     /* laser power override -10 % */
	CHECK_NEAR(g.emit_power, 720, 1e-9);
	run(2);
	CHECK(!g.emitting);                     /* stopped: M4 is off */
}

static void
t_jog_and_cancel(void)
{
	boot();
	send("$J=G91X50F600\n", 0.2);
	CHECK_INT(g.state, GRBL_JOG);
	send("\x85", 0.01);
	CHECK_INT(g.state, GRBL_IDLE);
	CHECK(g.pos[0] > 0 && g.pos[0] < 50);
	CHECK_STR(send("$J=G91X1\n", 0.01), "error:16\r\n");
}

int
main(void)
{
	grbl_sim_init(&g, 0, 500);
	RUN(t_banner_and_status);
	RUN(t_error_codes);
	RUN(t_receive_buffer_overruns);
	RUN(t_planner_fills_then_rx);
	RUN(t_motion_time_with_acceleration);
	RUN(t_hold_and_resume);
	RUN(t_door);
	RUN(t_reset_during_motion_alarms);
	RUN(t_critical_alarm_needs_reset);
	RUN(t_overrides);
	RUN(t_laser_mode_beam);
	RUN(t_jog_and_cancel);
	grbl_sim_free(&g);
	return test_summary();
}
