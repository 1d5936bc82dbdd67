/*
 * The bath as a process (issue 20), atelierd against the simulated
 * rectifier and E5CC, judged by actuators.log and the simulators:
 *  - a cold bath is heated through the E5CC (its relay under the
 *    interlock) before the rectifier is switched on, the bench showing the
 *    warming up, and plating starts once the bath is at its temperature;
 *  - a heater runaway faults the bath, everything off;
 *  - a start write the rectifier refuses (exception 02 on V-SET) faults the
 *    process instead of reporting a plating that never happened;
 *  - no current through the bath (the circuit open) faults it too.
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

#define RECT_ON "\"device\":\"rectifier\",\"actuator\":\"output\",\"value\":1"
#define HEAT_ON "\"device\":\"bath_heater\",\"actuator\":\"heater\",\"value\":1"
#define HEATER_RELAY_ON "\"actuator\":\"bath.heater_enable\",\"value\":1"

static const char *plate = "{\"pieces\":[{\"metal\":\"platinum\",\"gems\":[{\"species\":"
    "\"diamond\"}]}],\"volts\":2.0,\"amps\":1.5,\"seconds\":4}";

static bool
status_has(void *needle)
{
	return strstr(simproc_api_call(api, "status", NULL), needle) != NULL;
}

static int
count(const char *what)
{
	return simproc_actuator_count(&sp, what, NULL);
}

/* The time of the first line holding needle in actuators.log, or -1. */
static double
first_time(const char *needle)
{
	FILE *f = fopen(simproc_path(&sp, "actuators.log"), "r");
	char line[600];
	double t = -1;
	while (f && fgets(line, sizeof line, f))
		if (strstr(line, needle)) {
			t = atof(line + 5);
			break;
		}
	if (f)
		fclose(f);
	return t;
}

/* The bath at c, and the daemon reading it so. */
static void
bath_at(double c)
{
	char cmd[64], seen[64];
	snprintf(cmd, sizeof cmd, "water bath_heater %g", c);
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "%s", cmd), 0);
	snprintf(seen, sizeof seen, "\"pv\":%.1f", c);
	CHECK(wait_until(status_has, seen, 10));
}

static long
rectifier_requests(void)
{
	char reply[100];
	return simproc_ctl(&sp, reply, sizeof reply, "requests rectifier") == 0 ? atol(reply) : -1;
}

/* The rectifier answered enough requests since *from to spend 8 injected
 * exceptions, and some. */
static bool
requests_past(void *from)
{
	return rectifier_requests() > *(long *)from + 12;
}

static bool
rectifier_on(void *arg)
{
	(void)arg;
	return count(RECT_ON) >= 1;
}

static bool
bath_idle_or_fault(void *arg)
{
	(void)arg;
	return status_has("\"bath\":{\"kind\":\"bath\",\"state\":\"idle\"") || status_has("\"bath\":{\"kind\":\"bath\",\"state\":\"fault\"");
}

static void
t_heats_before_plating(void)
{
	bath_at(21);
	CHECK_CONTAINS(simproc_api_call(api, "bath.plate", plate), "\"result\"");
	CHECK(wait_until(status_has, "heating the bath to 48 C (now 2", 10));
	/* The heater heats, through its relay; the rectifier waits. */
	CHECK(wait_until(status_has, "\"bath.heater_enable\":1", 10));
	CHECK_INT(count(RECT_ON), 0);
	CHECK(wait_until(status_has, "\"detail\":\"plating at 2 V, 1.5 A for 4 s", 60));
	CHECK(wait_until(rectifier_on, NULL, 5));
	double heat = first_time(HEAT_ON), rect = first_time(RECT_ON);
	CHECK(heat > 0 && rect > heat);
	char reply[300];
	simproc_ctl(&sp, reply, sizeof reply, "status bath_heater");
	double pv = strstr(reply, "\"pv\":") ? atof(strstr(reply, "\"pv\":") + 5) : 0;
	printf("  the bath at %.1f C when plating started (48 C +- 2 wanted)\n", pv);
	CHECK(pv >= 46 && pv <= 50);
	CHECK(wait_until(status_has, "the plating time is complete", 30));
	/* Afterwards, everything of the bath is off. */
	CHECK(wait_until(status_has, "\"bath.rectifier_enable\":0", 5));
	CHECK(wait_until(status_has, "\"bath.heater_enable\":0", 5));
}

static void
t_heater_runaway_faults(void)
{
	bath_at(48);
	CHECK_CONTAINS(simproc_api_call(api, "bath.plate",
	    "{\"pieces\":[{\"metal\":\"platinum\"}],\"volts\":2.0,\"amps\":1.5,\"seconds\":120}"),
	    "\"result\"");
	CHECK(wait_until(status_has, "plating at 2 V", 10));
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "runaway bath_heater"), 0);
	CHECK(wait_until(status_has, "the bath heater runs away", 60));
	CHECK(status_has("\"bath\":{\"kind\":\"bath\",\"state\":\"fault\""));
	CHECK(wait_until(status_has, "\"bath.heater_enable\":0", 5));
	CHECK(status_has("\"bath.rectifier_enable\":0"));
	char reply[300];
	simproc_ctl(&sp, reply, sizeof reply, "status rectifier");
	CHECK_CONTAINS(reply, "\"output\":0");
	/* The controller is back to normal for the next test. */
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "reboot bath_heater"), 0);
	simproc_api_call(api, "bath.stop", NULL);
}

static void
t_refused_write_fails_the_process(void)
{
	CHECK(wait_until(status_has, "\"rectifier\":{\"up\":true", 20));
	bath_at(48);
	int ons = count(RECT_ON);
	/* The rectifier answers exception 02 to its next requests. */
	long asked = rectifier_requests();
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "exception rectifier 2 8"), 0);
	simproc_api_call(api, "bath.plate", plate);
	CHECK(wait_until(status_has, "the rectifier's start (V-SET, I-SET, output) failed", 20));
	CHECK(status_has("\"bath\":{\"kind\":\"bath\",\"state\":\"fault\""));
	CHECK(!status_has("the plating time is complete"));
	CHECK_INT(count(RECT_ON), ons);
	CHECK(wait_until(status_has, "\"bath.rectifier_enable\":0", 5));
	simproc_api_call(api, "bath.stop", NULL);
	/* The injected exceptions spent before the next test. */
	CHECK(wait_until(requests_past, &asked, 20));
}

static void
t_no_current_faults(void)
{
	CHECK(wait_until(status_has, "\"rectifier\":{\"up\":true", 20));
	bath_at(48);
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "open rectifier"), 0);
	CHECK_CONTAINS(simproc_api_call(api, "bath.plate",
	    "{\"pieces\":[{\"metal\":\"platinum\"}],\"volts\":2.0,\"amps\":1.5,\"seconds\":120}"),
	    "\"result\"");
	CHECK(wait_until(status_has, "no current flows through the bath", 30));
	CHECK(status_has("\"bath\":{\"kind\":\"bath\",\"state\":\"fault\""));
	CHECK(wait_until(status_has, "\"bath.rectifier_enable\":0", 5));
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "close rectifier"), 0);
	simproc_api_call(api, "bath.stop", NULL);
	CHECK(wait_until(bath_idle_or_fault, NULL, 5));
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
	if (!wait_until(status_has, "\"bath_heater\":{\"up\":true", 30) ||
	    !wait_until(status_has, "\"bath.rectifier_enable\":true,\"bath.heater_enable\":true", 30))
		printf("  the bath did not come up, or the interlock does not permit it\n");
	RUN(t_heats_before_plating);
	RUN(t_heater_runaway_faults);
	RUN(t_refused_write_fails_the_process);
	RUN(t_no_current_faults);
	close(api);
	simproc_daemon_stop(daemon_pid, SIGTERM);
	simproc_stop(&sp);
	return test_summary();
}
