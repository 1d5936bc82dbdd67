/*
 * A workshop of several stations of a kind (config/sim-workshop.yaml: the
 * lasers laser-1 and rings, the tanks tank-clean and tank-rinse, a bath),
 * atelierd against the simulator, judged by actuators.log:
 *  - status lists every station with its kind;
 *  - two lasers engrave at once, each on its own GRBL;
 *  - the door of one laser stops that laser only, the other goes on;
 *  - an emerald is refused at both tanks, and neither generator runs;
 *  - the e-stop drops every station's outputs;
 *  - a request that names no station, where the workshop has several of
 *    its kind, is refused with their names;
 *  - SIGKILL of the daemon while both lasers run: the relay board lets go,
 *    and the restarted daemon energises nothing on its own.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "simproc.h"
#include "test.h"
#include "util.h"

#define CONFIG "config/sim-workshop.yaml"
#define EMISSION(dev) "\"device\":\"" dev "\",\"actuator\":\"emission\""
#define GPIO(x) "\"device\":\"gpio\",\"actuator\":\"" x "\""
#define ULTRASOUND(dev) "\"device\":\"" dev "\",\"actuator\":\"ultrasound\""
#define ON "\"value\":1"
#define OFF "\"value\":0"

static struct simproc sp;
static pid_t daemon_pid;
static int api = -1;

/* A program of about 8 s at the simulated feed. */
static const char *long_program(const char *station)
{
	static char buf[1200];
	snprintf(buf, sizeof buf, "{\"station\":\"%s\",\"gcode\":\"G21 G90\\nM4 S500\\n"
	    "G1 X30 F300\\nG1 Y30\\nG1 X0\\nG1 Y0\\nG1 X30\\nG1 Y30\\nG1 X0\\nG1 Y0\\nG1 X30\\n"
	    "G1 Y30\\nG1 X0\\nG1 Y0\\nG1 X30\\nG1 Y30\\nG1 X0\\nG1 Y10\\nM5\\n\"}", station);
	return buf;
}

static int
count(const char *what, const char *value)
{
	return simproc_actuator_count(&sp, what, value);
}

struct logwant {
	const char *what, *value;
	int at_least;
};

static bool
logged(void *arg)
{
	struct logwant *w = arg;
	return count(w->what, w->value) >= w->at_least;
}

static bool
wait_log(const char *what, const char *value, int at_least, double timeout)
{
	struct logwant w = { what, value, at_least };
	return wait_until(logged, &w, timeout);
}

static bool
status_has(void *needle)
{
	return strstr(simproc_api_call(api, "status", NULL), needle) != NULL;
}

/* Every station idle: both lasers connected, the devices answering. */
static bool
all_idle(void *arg)
{
	(void)arg;
	const char *s = simproc_api_call(api, "status", NULL);
	static const char *const names[] = { "laser-1", "rings", "tank-clean", "tank-rinse",
		"bath" };
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		char want[80];
		snprintf(want, sizeof want, "\"%s\":{\"kind\":", names[i]);
		const char *p = strstr(s, want);
		if (!p || strncmp(strstr(p, "\"state\":"), "\"state\":\"idle\"", 14) != 0)
			return false;
	}
	return true;
}

/* A station that stopped on a trip shows the fault until someone stops
 * it; a reset in motion leaves GRBL in alarm, as at the bench, and a
 * technician unlocks each laser once the piece is checked. Then every
 * station is idle again; says which is not, when one stays so. */
static bool
settle(void)
{
	static const char *const stops[][2] = {
		{ "laser.abort", "laser-1" }, { "laser.abort", "rings" },
		{ "laser.unlock", "laser-1" }, { "laser.unlock", "rings" },
		{ "tank.stop", "tank-clean" }, { "tank.stop", "tank-rinse" }, { "bath.stop", "bath" },
	};
	for (size_t i = 0; i < ARRAY_LEN(stops); i++) {
		char req[80];
		snprintf(req, sizeof req, "{\"station\":\"%s\"}", stops[i][1]);
		simproc_api_call(api, stops[i][0], req);
	}
	if (wait_until(all_idle, NULL, 30))
		return true;
	printf("  not every station idle: %.1500s\n", simproc_api_call(api, "status", NULL));
	return false;
}

static bool
estop_reset(void *arg)
{
	(void)arg;
	return strstr(simproc_api_call(api, "estop.reset", NULL), "\"result\"") != NULL;
}

static void
start_daemon(void)
{
	if (api >= 0)
		close(api);
	daemon_pid = simproc_daemon_start(&sp, CONFIG);
	api = simproc_api_connect(&sp);
}

static void
t_status_lists_every_station(void)
{
	CHECK(wait_until(all_idle, NULL, 30));
	const char *s = simproc_api_call(api, "status", NULL);
	CHECK_CONTAINS(s, "\"laser-1\":{\"kind\":\"laser\"");
	CHECK_CONTAINS(s, "\"rings\":{\"kind\":\"laser\"");
	CHECK_CONTAINS(s, "\"tank-clean\":{\"kind\":\"tank\"");
	CHECK_CONTAINS(s, "\"tank-rinse\":{\"kind\":\"tank\"");
	CHECK_CONTAINS(s, "\"bath\":{\"kind\":\"bath\"");
	CHECK_CONTAINS(s, "\"gen-rinse\":{");
	CHECK_CONTAINS(s, "\"rings.door\":0");
}

static void
t_no_station_named_among_several(void)
{
	const char *r = simproc_api_call(api, "laser.stream", "{\"gcode\":\"G0 X1\\n\"}");
	CHECK_CONTAINS(r, "\"error\"");
	CHECK_CONTAINS(r, "laser-1");
	CHECK_CONTAINS(r, "rings");
	r = simproc_api_call(api, "tank.stop", "{\"station\":\"nosuch\"}");
	CHECK_CONTAINS(r, "nosuch");
	r = simproc_api_call(api, "tank.stop", "{\"station\":\"rings\"}");
	CHECK_CONTAINS(r, "\"error\"");
}

static void
t_two_lasers_at_once_then_one_door(void)
{
	int on1 = count(EMISSION("laser-1"), ON), on2 = count(EMISSION("rings"), ON);
	CHECK_CONTAINS(simproc_api_call(api, "laser.stream", long_program("laser-1")), "\"result\"");
	CHECK_CONTAINS(simproc_api_call(api, "laser.stream", long_program("rings")), "\"result\"");
	CHECK(wait_log(EMISSION("laser-1"), ON, on1 + 1, 15));
	CHECK(wait_log(EMISSION("rings"), ON, on2 + 1, 15));
	/* Both burn at the same time. */
	CHECK(count(EMISSION("laser-1"), ON) > count(EMISSION("laser-1"), OFF));
	CHECK(count(EMISSION("rings"), ON) > count(EMISSION("rings"), OFF));
	/* The door of rings: rings stops, laser-1 goes on. */
	int off1 = count(EMISSION("laser-1"), OFF);
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "door rings open"), 0);
	CHECK(wait_log(GPIO("rings.enable"), OFF, 1, 5));
	CHECK(wait_log(EMISSION("rings"), OFF, 1, 5));
	CHECK(wait_until(status_has, "the door of the laser rings is open", 5));
	usleep(300000);
	CHECK_INT(count(EMISSION("laser-1"), OFF), off1);
	CHECK_INT(count(GPIO("laser-1.enable"), OFF), 0);
	CHECK(status_has("\"laser-1\":{\"kind\":\"laser\",\"state\":\"running\""));
	simproc_ctl(&sp, NULL, 0, "door rings close");
	simproc_api_call(api, "laser.abort", "{\"station\":\"laser-1\"}");
	simproc_api_call(api, "laser.abort", "{\"station\":\"rings\"}");
	CHECK(wait_log(EMISSION("laser-1"), OFF, off1 + 1, 10));
}

static void
t_emerald_refused_at_both_tanks(void)
{
	static const char *const tanks[] = { "tank-clean", "tank-rinse" };
	int relays = count(GPIO("tank-clean.ultrasound_enable"), ON) +
	    count(GPIO("tank-rinse.ultrasound_enable"), ON);
	for (size_t i = 0; i < ARRAY_LEN(tanks); i++) {
		char req[300];
		snprintf(req, sizeof req, "{\"station\":\"%s\",\"pieces\":[{\"metal\":\"yellow_gold\","
		    "\"gems\":[{\"species\":\"emerald\",\"treatment\":\"oiled\"}]}],\"seconds\":30}",
		    tanks[i]);
		const char *r = simproc_api_call(api, "tank.start", req);
		CHECK_CONTAINS(r, "\"code\":1002");
		CHECK_CONTAINS(r, "emerald");
	}
	usleep(300000);
	CHECK_INT(count(GPIO("tank-clean.ultrasound_enable"), ON) +
	    count(GPIO("tank-rinse.ultrasound_enable"), ON), relays);
	CHECK_INT(count(ULTRASOUND("gen-clean"), ON), 0);
	CHECK_INT(count(ULTRASOUND("gen-rinse"), ON), 0);
}

static void
t_estop_drops_every_station(void)
{
	CHECK(settle());
	static const char *diamond = "\"pieces\":[{\"metal\":\"white_gold\",\"gems\":"
	    "[{\"species\":\"diamond\"}]}],\"seconds\":60";
	char req[300];
	snprintf(req, sizeof req, "{\"station\":\"tank-clean\",%s}", diamond);
	CHECK_CONTAINS(simproc_api_call(api, "tank.start", req), "\"running\"");
	snprintf(req, sizeof req, "{\"station\":\"tank-rinse\",%s}", diamond);
	CHECK_CONTAINS(simproc_api_call(api, "tank.start", req), "\"running\"");
	int on = count(EMISSION("rings"), ON);
	CHECK_CONTAINS(simproc_api_call(api, "laser.stream", long_program("rings")), "\"result\"");
	CHECK(wait_log(ULTRASOUND("gen-clean"), ON, 1, 10));
	CHECK(wait_log(ULTRASOUND("gen-rinse"), ON, 1, 10));
	CHECK(wait_log(EMISSION("rings"), ON, on + 1, 15));
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "estop press"), 0);
	CHECK(wait_log(GPIO("tank-clean.ultrasound_enable"), OFF, 1, 5));
	CHECK(wait_log(GPIO("tank-rinse.ultrasound_enable"), OFF, 1, 5));
	CHECK(wait_log(GPIO("rings.enable"), OFF, 2, 5));
	CHECK(wait_log(ULTRASOUND("gen-clean"), OFF, 1, 5));
	CHECK(wait_log(ULTRASOUND("gen-rinse"), OFF, 1, 5));
	CHECK(wait_until(status_has, "\"latched\":true", 5));
	const char *lines = NULL;
	char reply[2000];
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "lines"), 0);
	lines = reply;
	CHECK_CONTAINS(lines, "\"laser-1.enable\":0");
	CHECK_CONTAINS(lines, "\"rings.enable\":0");
	CHECK_CONTAINS(lines, "\"tank-clean.heater_enable\":0");
	CHECK_CONTAINS(lines, "\"tank-rinse.ultrasound_enable\":0");
	CHECK_CONTAINS(lines, "\"bath.rectifier_enable\":0");
	simproc_ctl(&sp, NULL, 0, "estop release");
	/* Once the safety path has seen the button released. */
	CHECK(wait_until(estop_reset, NULL, 5));
}

static bool
relay_off(void *line)
{
	char reply[2000], want[80];
	snprintf(want, sizeof want, "\"%s\":0", (const char *)line);
	return simproc_ctl(&sp, reply, sizeof reply, "lines") == 0 && strstr(reply, want);
}

static void
t_sigkill_while_both_lasers_run(void)
{
	CHECK(settle());
	CHECK_CONTAINS(simproc_api_call(api, "laser.stream", long_program("laser-1")), "\"result\"");
	CHECK_CONTAINS(simproc_api_call(api, "laser.stream", long_program("rings")), "\"result\"");
	CHECK(wait_until(status_has, "\"rings\":{\"kind\":\"laser\",\"state\":\"running\"", 15));
	CHECK_INT(simproc_daemon_stop(daemon_pid, SIGKILL), 128 + SIGKILL);
	CHECK(wait_until(relay_off, "laser-1.enable", 5));
	CHECK(wait_until(relay_off, "rings.enable", 5));
	int on1 = count(GPIO("laser-1.enable"), ON), on2 = count(GPIO("rings.enable"), ON);
	start_daemon();
	CHECK(daemon_pid > 0);
	CHECK(settle());
	usleep(300000);
	CHECK_INT(count(GPIO("laser-1.enable"), ON), on1);
	CHECK_INT(count(GPIO("rings.enable"), ON), on2);
}

int
main(void)
{
	if (simproc_start(&sp, CONFIG) < 0) {
		printf("FAIL: simulator start\n");
		return 1;
	}
	start_daemon();
	if (daemon_pid < 0 || api < 0) {
		printf("FAIL: daemon start\n");
		simproc_stop(&sp);
		return 1;
	}
	RUN(t_status_lists_every_station);
	RUN(t_no_station_named_among_several);
	RUN(t_two_lasers_at_once_then_one_door);
	RUN(t_emerald_refused_at_both_tanks);
	RUN(t_estop_drops_every_station);
	RUN(t_sigkill_while_both_lasers_run);
	close(api);
	simproc_daemon_stop(daemon_pid, SIGTERM);
	simproc_stop(&sp);
	return test_summary();
}
