/*
 * A workshop of several stations of a kind (config/sim-workshop.yaml: the
 * lasers laser-1 and rings, the tanks tank-clean and tank-rinse, a bath),
 * atelierd against the simulator, judged by actuators.log:
 *  - status lists every station with its kind;
 *  - two lasers engrave at once, each on its own GRBL;
 *  - the door of one laser stops that laser only, the other goes on;
 *  - an emerald is refused at both tanks, and neither generator runs;
 *  - one tank's generator unplugged from the line both share: that tank
 *    goes offline, the other stays idle, and both are back on replug;
 *  - the e-stop drops every station's outputs;
 *  - a request that names no station, where the workshop has several of
 *    its kind, is refused with their names; a program outside a laser's
 *    own work area is refused by that laser (rings is 60 x 40 mm);
 *  - SIGKILL of the daemon while both lasers run: the relay board lets go,
 *    and the restarted daemon energises nothing on its own;
 *  - an engraving too wide for rings waits for laser-1: run at "a laser"
 *    while laser-1 is busy it is refused with rings' reason, never started
 *    on rings; named at rings, refused with both extents;
 *  - two engraving jobs, each run at "a laser", take both lasers at once,
 *    and a clean runs at a tank beside them; a SIGKILL then leaves every
 *    output off after the restart, and the three steps interrupted.
 */
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
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

static bool
wait_log(const char *what, const char *value, int at_least, double timeout)
{
	return simproc_wait_actuator(&sp, what, value, at_least, timeout);
}

static bool
status_has(void *needle)
{
	return strstr(simproc_api_call(api, "status", NULL), needle) != NULL;
}

static bool all_idle(void *arg);

/* An abort mid-motion leaves GRBL in alarm once its reset is through, which
 * may be after an unlock sent at once was refused: a technician unlocks
 * again, as here, until every station is idle and stays so. */
static bool
idle_after_unlock(void *arg)
{
	/* Settled: idle, and still idle a moment later, when a reset sent
	 * by the abort has surely been answered. */
	if (all_idle(arg)) {
		usleep(500000);
		if (all_idle(arg))
			return true;
	}
	simproc_api_call(api, "laser.unlock", "{\"station\":\"laser-1\"}");
	simproc_api_call(api, "laser.unlock", "{\"station\":\"rings\"}");
	return false;
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
	if (wait_until(idle_after_unlock, NULL, 30))
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
	r = simproc_api_call(api, "laser.stream", "{\"station\":\"rings\",\"gcode\":"
	    "\"G21 G90\\nG0 X80 Y10\\nM4 S100\\nG1 X85 F300\\nM5\\n\"}");
	CHECK_CONTAINS(r, "\"code\":1007");
	CHECK_CONTAINS(r, "the program spans X 80..85, Y 10..10 mm, outside the work area of the "
	    "laser rings (0..60 x 0..40 mm)");
	r = simproc_api_call(api, "laser.frame", "{\"station\":\"laser-1\",\"gcode\":"
	    "\"G21 G90\\nG0 X80 Y10\\nG1 X85 F300\\n\"}");
	CHECK_CONTAINS(r, "\"result\"");
	CHECK(wait_until(all_idle, NULL, 20));  /* the frame traced */
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
t_unplug_one_tank(void)
{
	char reply[300];
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "unplug tank-rinse"), 0);
	CHECK_CONTAINS(reply, "gen-rinse unplugged from bus tanks");
	CHECK(wait_until(status_has, "\"tank-rinse\":{\"kind\":\"tank\",\"state\":\"offline\"", 15));
	CHECK(status_has("\"tank-clean\":{\"kind\":\"tank\",\"state\":\"idle\""));
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "replug tank-rinse"), 0);
	CHECK(wait_until(status_has, "\"tank-rinse\":{\"kind\":\"tank\",\"state\":\"idle\"", 15));
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

/* --- jobs -------------------------------------------------------------- */

static json_t *
call(const char *method, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Calls a method; the whole reply object (result or error). */
static json_t *
call(const char *method, const char *fmt, ...)
{
	char params[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(params, sizeof params, fmt, ap);
	va_end(ap);
	json_t *r = json_loads(simproc_api_call(api, method, params), 0, NULL);
	return r ? r : json_pack("{s:{s:i, s:s}}", "error", "code", 0, "message", "no answer");
}

static json_t *
result(json_t *reply)
{
	return json_object_get(reply, "result");
}

static int64_t
create(const char *request)
{
	json_t *r = call("job.create", "%s", request);
	int64_t id = (int64_t)json_integer_value(json_object_get(result(r), "job"));
	if (id <= 0) {
		char *t = json_dumps(r, JSON_COMPACT);
		printf("  job.create: %s\n", t);
		free(t);
	}
	json_decref(r);
	return id;
}

static const char *
step_state(int64_t job, int seq)
{
	static char out[32];
	json_t *r = call("job.show", "{\"job\": %lld}", (long long)job);
	json_t *st = json_array_get(json_object_get(result(r), "steps"), (size_t)seq - 1);
	snprintf(out, sizeof out, "%s", st ? json_string_value(json_object_get(st, "state")) : "?");
	json_decref(r);
	return out;
}

struct want_step {
	int64_t job;
	int seq;
	const char *state;
};

static bool
step_is(void *arg)
{
	struct want_step *w = arg;
	return strcmp(step_state(w->job, w->seq), w->state) == 0;
}

static bool
wait_step(int64_t job, int seq, const char *state, double timeout)
{
	struct want_step w = { job, seq, state };
	bool ok = wait_until(step_is, &w, timeout);
	if (!ok)
		printf("  job %lld step %d is %s, not %s\n", (long long)job, seq,
		    step_state(job, seq), state);
	return ok;
}

/* Starts a job and confirms its manual steps up to the machine step seq. */
static void
bring_to(int64_t job, int seq)
{
	json_decref(call("job.start", "{\"job\": %lld}", (long long)job));
	for (int n = 1; n < seq; n++) {
		json_t *r = call("step.done", "{\"job\": %lld, \"step\": %d, \"note\": \"done\"}",
		    (long long)job, n);
		CHECK(result(r) != NULL);
		json_decref(r);
	}
	CHECK(wait_step(job, seq, "queued", 5));
}

/* station.run; the name of the station that took the load, or "" */
static const char *
run_at(const char *station)
{
	static char name[64];
	json_t *r = call("station.run", "{\"station\": \"%s\"}", station);
	const char *n = json_string_value(json_object_get(result(r), "station"));
	snprintf(name, sizeof name, "%s", n ? n : "");
	if (!n) {
		char *t = json_dumps(r, JSON_COMPACT);
		printf("  station.run %s: %s\n", station, t);
		free(t);
	}
	json_decref(r);
	return name;
}

static void
t_job_waits_for_the_laser_it_fits(void)
{
	CHECK(settle());
	int64_t job = create("{\"operator\": \"marie\", \"piece\": {\"serial\": \"WS-WIDE\", "
	    "\"type\": \"ring\", \"metal\": \"white_gold\", \"purchase_date\": \"2026-11-20\", "
	    "\"certificate\": true}, \"services\": [\"engraving\"], \"engraving\": {\"text\": "
	    "\"Pour Amélie, toujours\", \"area\": \"rect\", \"width\": 80, \"height\": 8}}");
	CHECK(job > 0);
	if (job <= 0)
		return;
	bring_to(job, 2);
	json_t *r = call("station.run", "{\"station\": \"rings\"}");
	const char *msg = json_string_value(json_object_get(json_object_get(r, "error"), "message"));
	CHECK_CONTAINS(msg ? msg : "", "outside the work area of the laser rings (0..60 x 0..40 mm)");
	json_decref(r);
	CHECK_STR(step_state(job, 2), "queued");
	/* laser-1 busy with another program: "a laser" does not mean rings. */
	CHECK_CONTAINS(simproc_api_call(api, "laser.stream", long_program("laser-1")), "\"result\"");
	r = call("station.run", "{\"station\": \"laser\"}");
	msg = json_string_value(json_object_get(json_object_get(r, "error"), "message"));
	CHECK_CONTAINS(msg ? msg : "", "no laser can take the load now");
	CHECK_CONTAINS(msg ? msg : "", "the laser rings");
	json_decref(r);
	CHECK_STR(step_state(job, 2), "queued");
	simproc_api_call(api, "laser.abort", "{\"station\":\"laser-1\"}");
	CHECK(settle());
	CHECK_STR(run_at("laser"), "laser-1");
	CHECK(wait_until(status_has, "\"laser-1\":{\"kind\":\"laser\",\"state\":\"running\"", 10));
	json_decref(call("job.abort", "{\"job\": %lld, \"why\": \"test\"}", (long long)job));
	CHECK(settle());
}

static void
t_jobs_at_any_laser_then_sigkill(void)
{
	char req[1024], at1[64];
	int64_t eng[2], clean;
	CHECK(settle());
	for (int i = 0; i < 2; i++) {
		snprintf(req, sizeof req, "{\"operator\": \"marie\", \"piece\": {\"serial\": "
		    "\"WS-%d\", \"type\": \"ring\", \"metal\": \"white_gold\", \"gems\": "
		    "[{\"species\": \"diamond\", \"count\": 3}], \"purchase_date\": \"2026-11-20\", "
		    "\"certificate\": true}, \"services\": [\"engraving\"], \"engraving\": "
		    "{\"text\": \"Ana Maria\", \"area\": \"rect\", \"width\": 20, \"height\": 5}}", i);
		eng[i] = create(req);
		CHECK(eng[i] > 0);
	}
	clean = create("{\"operator\": \"luc\", \"piece\": {\"serial\": \"WS-9\", \"type\": "
	    "\"ring\", \"metal\": \"yellow_gold\", \"gems\": [{\"species\": \"diamond\"}]}, "
	    "\"services\": [\"shining\"]}");
	CHECK(clean > 0);
	if (eng[0] <= 0 || eng[1] <= 0 || clean <= 0)
		return;
	bring_to(eng[0], 2);
	bring_to(eng[1], 2);
	bring_to(clean, 3);
	/* Each engraving waits for "a laser": the first free one takes it. */
	snprintf(at1, sizeof at1, "%s", run_at("laser"));
	const char *at2 = run_at("laser");
	CHECK(strcmp(at1, "laser-1") == 0 || strcmp(at1, "rings") == 0);
	CHECK(strcmp(at2, "laser-1") == 0 || strcmp(at2, "rings") == 0);
	CHECK(strcmp(at1, at2) != 0);
	CHECK_STR(run_at("tank-clean"), "tank-clean");
	CHECK(wait_log(GPIO("laser-1.enable"), ON, 1, 15));
	CHECK(wait_log(GPIO("rings.enable"), ON, 1, 15));
	CHECK(wait_log(ULTRASOUND("gen-clean"), ON, 1, 15));
	CHECK_STR(step_state(eng[0], 2), "running");
	CHECK_STR(step_state(eng[1], 2), "running");
	CHECK_STR(step_state(clean, 3), "running");
	CHECK_INT(simproc_daemon_stop(daemon_pid, SIGKILL), 128 + SIGKILL);
	CHECK(wait_until(relay_off, "laser-1.enable", 5));
	CHECK(wait_until(relay_off, "rings.enable", 5));
	CHECK(wait_until(relay_off, "tank-clean.ultrasound_enable", 5));
	static const char *const outputs[] = { "laser-1.enable", "laser-1.beacon", "rings.enable",
		"tank-clean.ultrasound_enable", "tank-clean.heater_enable" };
	int on[ARRAY_LEN(outputs)];
	for (size_t i = 0; i < ARRAY_LEN(outputs); i++) {
		char what[120];
		snprintf(what, sizeof what, GPIO("%s"), outputs[i]);
		on[i] = count(what, ON);
	}
	start_daemon();
	CHECK(daemon_pid > 0);
	CHECK(wait_step(eng[0], 2, "interrupted", 20));
	CHECK(wait_step(eng[1], 2, "interrupted", 20));
	CHECK(wait_step(clean, 3, "interrupted", 20));
	usleep(500000);
	for (size_t i = 0; i < ARRAY_LEN(outputs); i++) {
		char what[120];
		snprintf(what, sizeof what, GPIO("%s"), outputs[i]);
		CHECK_INT(count(what, ON), on[i]);
		CHECK(relay_off((void *)outputs[i]));
	}
	for (int i = 0; i < 2; i++)
		json_decref(call("job.abort", "{\"job\": %lld, \"why\": \"test\"}", (long long)eng[i]));
	json_decref(call("job.abort", "{\"job\": %lld, \"why\": \"test\"}", (long long)clean));
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
	RUN(t_unplug_one_tank);
	RUN(t_estop_drops_every_station);
	RUN(t_sigkill_while_both_lasers_run);
	RUN(t_job_waits_for_the_laser_it_fits);
	RUN(t_jobs_at_any_laser_then_sigkill);
	close(api);
	simproc_daemon_stop(daemon_pid, SIGTERM);
	simproc_stop(&sp);
	return test_summary();
}
