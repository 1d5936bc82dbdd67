/*
 * What a program may do on the laser, and what follows an error (issue
 * 12), atelierd against the simulated GRBL, judged by the simulator and
 * actuators.log:
 *  - the program of the issue ($X, $H, M3 S1000, G1 X10) is refused before
 *    anything is sent;
 *  - a program from outside with an error on line N is checked in GRBL's
 *    check mode first: the answer names the line, nothing moves, nothing
 *    burns (no emission in actuators.log, the relay never energised);
 *  - an error during a burn: GRBL held, then reset once the hold is
 *    complete (no ALARM, position kept), the program failed, and
 *    laser.resume refused with nothing moving;
 *  - in alarm the station is not ready and says why;
 *  - with laser mode off ($32=0, GRBL's factory setting) laser programs are
 *    refused, naming the setting, until laser.setting sets it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "simproc.h"
#include "test.h"
#include "util.h"

static struct simproc sp;
static pid_t daemon_pid;
static int api = -1;

#define LASER_ON "\"device\":\"laser\",\"actuator\":\"emission\""
#define RELAY_ON "\"device\":\"gpio\",\"actuator\":\"laser.enable\",\"value\":1"
#define ON "\"value\":1"

static int
count(const char *what, const char *value)
{
	return simproc_actuator_count(&sp, what, value);
}

static bool
status_has(void *needle)
{
	return strstr(simproc_api_call(api, "status", NULL), needle) != NULL;
}

static bool
sim_laser_has(void *needle)
{
	char reply[700];
	simproc_ctl(&sp, reply, sizeof reply, "status laser");
	return strstr(reply, needle) != NULL;
}

static long
sim_lines_ok(void)
{
	char reply[700];
	simproc_ctl(&sp, reply, sizeof reply, "status laser");
	const char *p = strstr(reply, "\"ok\":");
	return p ? atol(p + 5) : -1;
}

/* The head's position in the simulator's status (a new string each call
 * would leak; two static slots serve a comparison). */
static const char *
pos_of(const char *status)
{
	static char slot[2][64];
	static int k;
	const char *p = strstr(status, "\"pos\":[");
	const char *e = p ? strchr(p, ']') : NULL;
	k ^= 1;
	snprintf(slot[k], sizeof slot[k], "%.*s", p && e ? (int)(e - p) : 0, p ? p : "");
	return slot[k];
}

static void
laser_ready(void)
{
	simproc_api_call(api, "laser.abort", NULL);
	simproc_api_call(api, "laser.unlock", NULL);
	CHECK(wait_until(sim_laser_has, "\"state\":\"Idle\"", 20));
	CHECK(wait_until(status_has, "\"state\":\"Idle\",\"substate\"", 20));
	CHECK(wait_until(status_has, "\"laser\":{\"kind\":\"laser\",\"state\":\"idle\"", 20));
}

static void
t_the_issues_program_refused(void)
{
	laser_ready();
	long ok0 = sim_lines_ok();
	const char *r = simproc_api_call(api, "laser.stream",
	    "{\"gcode\":\"$X\\n$H\\nM3 S1000\\nG1 X10\\n\"}");
	CHECK_CONTAINS(r, "\"code\":1007");
	CHECK_CONTAINS(r, "line 1: '$X' is a GRBL command");
	r = simproc_api_call(api, "laser.stream", "{\"gcode\":\"G21\\nM4 S500\\n$32=0\\nG1 X1 F100\\n\"}");
	CHECK_CONTAINS(r, "line 3: '$32=0' is a GRBL command");
	r = simproc_api_call(api, "laser.stream", "{\"gcode\":\"G1 X1 F100\\n~\\n\"}");
	CHECK_CONTAINS(r, "line 2: '~' is a realtime command");
	usleep(300000);
	CHECK_INT(sim_lines_ok(), ok0);         /* nothing reached GRBL */
}

static void
t_outside_program_checked_first(void)
{
	laser_ready();
	int ons = count(LASER_ON, ON), relays = count(RELAY_ON, NULL);
	char before[700];
	simproc_ctl(&sp, before, sizeof before, "status laser");
	/* Line 4 repeats a word, which GRBL refuses (error:25); our content
	 * rules do not look that far. */
	const char *r = simproc_api_call(api, "laser.stream", "{\"gcode\":\"G21 G90\\nM4 S1000\\n"
	    "G1 X5 Y5 F300\\nG1 X10 X12\\nG1 Y10\\nM5\\n\"}");
	CHECK_CONTAINS(r, "\"code\":1007");
	CHECK_CONTAINS(r, "line 4 (G1X10X12): error:25");
	CHECK_CONTAINS(r, "check mode");
	CHECK(wait_until(sim_laser_has, "\"state\":\"Idle\"", 10));
	CHECK_INT(count(LASER_ON, ON), ons);
	CHECK_INT(count(RELAY_ON, NULL), relays);
	char after[700];
	simproc_ctl(&sp, after, sizeof after, "status laser");
	CHECK_STR(pos_of(after), pos_of(before));
	CHECK_CONTAINS(simproc_api_call(api, "status", NULL), "the program was not burnt: line 4");
	/* A good one passes its check and burns. */
	r = simproc_api_call(api, "laser.stream", "{\"gcode\":\"G21 G90\\nM4 S300\\nG1 X2 Y2 F1200\\n"
	    "G1 X0\\nM5\\n\"}");
	CHECK_CONTAINS(r, "\"checked\":true");
	CHECK(wait_until(status_has, "the engraving is complete", 30));
	CHECK(count(LASER_ON, ON) > ons);
}

static void
t_error_during_a_burn_clears_and_cannot_resume(void)
{
	laser_ready();
	int ons = count(LASER_ON, ON);
	const char *r = simproc_api_call(api, "laser.stream", "{\"gcode\":\"G21 G90\\nM4 S500\\n"
	    "G1 X30 F300\\nG1 Y30\\nG1 X0\\nG1 Y0\\nG1 X30\\nG1 Y30\\nG1 X0\\nG1 Y0\\nM5\\n\"}");
	CHECK_CONTAINS(r, "\"checked\":true");
	CHECK(wait_until(sim_laser_has, "\"emitting\":true", 20));
	CHECK(count(LASER_ON, ON) > ons);
	/* The next line GRBL parses is refused; it runs on with the rest. */
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "refuse laser 20"), 0);
	CHECK(wait_until(status_has, "error:20", 20));
	/* Held, then reset with the hold complete: nothing left, no alarm. */
	CHECK(wait_until(sim_laser_has, "\"planner\":0,", 20));
	CHECK(wait_until(sim_laser_has, "\"state\":\"Idle\"", 20));
	CHECK(!sim_laser_has("\"state\":\"Alarm\""));
	CHECK_CONTAINS(simproc_api_call(api, "laser.resume", NULL), "no held engraving to resume");
	char before[700], after[700];
	simproc_ctl(&sp, before, sizeof before, "status laser");
	sleep(1);
	simproc_ctl(&sp, after, sizeof after, "status laser");
	CHECK_STR(pos_of(after), pos_of(before));
	CHECK(!sim_laser_has("\"emitting\":true"));
}

/* Numbers carry the precision of their unit: no 0.021999999999999999. */
static void
t_numbers_in_their_units(void)
{
	laser_ready();
	const char *r = simproc_api_call(api, "laser.stream", "{\"gcode\":\"G21 G90\\nG0 X0.022 "
	    "Y1.234\\n\"}");
	CHECK_CONTAINS(r, "\"checked\":true");
	CHECK(wait_until(status_has, "\"wpos\":[0.022,1.234,0.0]", 20));
	r = simproc_api_call(api, "status", NULL);
	for (const char *p = r; (p = strchr(p, '.')) != NULL; p++) {
		size_t digits = strspn(p + 1, "0123456789");
		if (p > r && p[-1] >= '0' && p[-1] <= '9' && digits > 6) {
			printf("  a number with %zu decimals: %.30s\n", digits, p - 3);
			CHECK(0);
			break;
		}
	}
}

static void
t_not_ready_in_alarm(void)
{
	laser_ready();
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "alarm laser 1"), 0);
	CHECK(wait_until(status_has, "\"laser\":{\"kind\":\"laser\",\"state\":\"fault\",\"detail\":\"in alarm, ALARM:1", 20));
	const char *r = simproc_api_call(api, "laser.stream", "{\"gcode\":\"G1 X1 F100\\n\"}");
	CHECK_CONTAINS(r, "\"code\":1004");
	CHECK_CONTAINS(r, "in alarm");
	r = simproc_api_call(api, "engrave.start",
	    "{\"engraving\":{\"text\":\"AM\",\"area\":\"rect\",\"width\":10,\"height\":4}}");
	CHECK_CONTAINS(r, "\"code\":1004");
	/* A hard limit alarm needs a reset before the unlock. */
	simproc_api_call(api, "laser.abort", NULL);
	laser_ready();
	CHECK(!status_has("in alarm"));
}

static void
t_laser_mode_off_refused(void)
{
	laser_ready();
	/* The factory's $32=0, as GRBL reads it at the next handshake. */
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "setting laser 32 0"), 0);
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "unplug laser"), 0);
	CHECK(wait_until(status_has, "\"link\":\"down\"", 20));
	/* With the link down GRBL's state and position are not known. */
	CHECK_CONTAINS(simproc_api_call(api, "status", NULL), "\"link\":\"down\",\"state\":\"unknown\","
	    "\"substate\":-1,\"wpos\":null");
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "replug laser"), 0);
	CHECK(wait_until(status_has, "\"link\":\"ready\"", 30));
	const char *r = simproc_api_call(api, "laser.stream", "{\"gcode\":\"M4 S100\\nG1 X1 F100\\n\"}");
	CHECK_CONTAINS(r, "\"code\":1004");
	CHECK_CONTAINS(r, "laser mode is off ($32=0)");
	r = simproc_api_call(api, "engrave.start",
	    "{\"engraving\":{\"text\":\"AM\",\"area\":\"rect\",\"width\":10,\"height\":4}}");
	CHECK_CONTAINS(r, "laser mode is off");
	r = simproc_api_call(api, "laser.setting", "{\"setting\":32,\"value\":1}");
	CHECK_CONTAINS(r, "\"verified\":true");
	r = simproc_api_call(api, "laser.stream", "{\"gcode\":\"M4 S100\\nG1 X1 F100\\nM5\\n\"}");
	CHECK_CONTAINS(r, "\"checked\":true");
	CHECK(wait_until(status_has, "the engraving is complete", 30));
}

int
main(void)
{
	if (simproc_start(&sp, NULL) < 0) {
		printf("FAIL: simulator start\n");
		return 1;
	}
	daemon_pid = simproc_daemon_start(&sp, NULL);
	api = simproc_api_connect(&sp);
	if (daemon_pid < 0 || api < 0) {
		printf("FAIL: daemon start\n");
		simproc_stop(&sp);
		return 1;
	}
	if (!wait_until(status_has, "\"link\":\"ready\"", 30))
		printf("  the laser did not come up\n");
	RUN(t_the_issues_program_refused);
	RUN(t_outside_program_checked_first);
	RUN(t_error_during_a_burn_clears_and_cannot_resume);
	RUN(t_numbers_in_their_units);
	RUN(t_not_ready_in_alarm);
	RUN(t_laser_mode_off_refused);
	close(api);
	simproc_daemon_stop(daemon_pid, SIGTERM);
	simproc_stop(&sp);
	return test_summary();
}
