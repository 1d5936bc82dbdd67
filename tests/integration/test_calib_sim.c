/*
 * Every calibration procedure run against the real simulator and daemon,
 * with the reference instrument played by the simulator's true values:
 * the tank probe and the rectifier are given a measurement error, the
 * technician calibrates, and the simulator shows the daemon now reads and
 * sets true values; the laser's mechanics are off scale, and the scale
 * calibration closes the loop on the engraved size. Each procedure is also
 * aborted half-way and fed readings that make no sense, and the history,
 * the corrections and the devices are shown unchanged. A restarted daemon
 * keeps the corrections.
 */
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
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
static json_t *last;

/* Calls a method (params as printf); returns the reply object, kept until
 * the next call. */
static json_t *
call(const char *method, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static json_t *
call(const char *method, const char *fmt, ...)
{
	char params[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(params, sizeof params, fmt, ap);
	va_end(ap);
	json_decref(last);
	last = json_loads(simproc_api_call(api, method, params), 0, NULL);
	if (!last)
		last = json_object();
	return last;
}

static json_t *
result(json_t *reply)
{
	return json_object_get(reply, "result");
}

static const char *
error_of(json_t *reply)
{
	const char *m = json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
	return m ? m : "";
}

static double
getnum(json_t *o, const char *path)
{
	char key[64];
	const char *p = path;
	while (o && *p) {
		size_t n = strcspn(p, ".");
		snprintf(key, sizeof key, "%.*s", (int)n, p);
		o = json_is_array(o) ? json_array_get(o, (size_t)atoi(key)) : json_object_get(o, key);
		p += n + (p[n] == '.');
	}
	return o && json_is_number(o) ? json_number_value(o) : NAN;
}

/* A number from the simulator's "status DEVICE" answer. */
static double
simnum(const char *device, const char *path)
{
	char reply[4096];
	if (simproc_ctl(&sp, reply, sizeof reply, "status %s", device) < 0)
		return NAN;
	json_t *j = json_loads(reply, 0, NULL);
	double v = getnum(strcmp(device, "laser") == 0 ? j : json_object_get(j, device), path);
	json_decref(j);
	return v;
}

static double
burn(const char *what)
{
	char reply[600];
	simproc_ctl(&sp, reply, sizeof reply, "burn laser");
	json_t *j = json_loads(reply, 0, NULL);
	double v = getnum(j, what);
	json_decref(j);
	return v;
}

static int
history_count(const char *station)
{
	json_t *h = result(call("calibration.history", "{\"station\":\"%s\"}", station));
	return json_is_array(h) ? (int)json_array_size(h) : -1;
}

static double
status_num(const char *path)
{
	json_t *s = result(call("status", "{}"));
	return getnum(s, path);
}

struct want {
	int session;
	const char *state;
};

static bool
proc_in(void *arg)
{
	struct want *w = arg;
	json_t *r = result(call("calibrate.status", "{\"session\":%d}", w->session));
	const char *st = json_string_value(json_object_get(r, "state"));
	return st && (strcmp(st, w->state) == 0 || strcmp(st, "failed") == 0);
}

/* Waits until session is in state (or failed); returns the state. */
static const char *
wait_proc(int session, const char *state, double timeout)
{
	static char st[32];
	struct want w = { session, state };
	wait_until(proc_in, &w, timeout);
	json_t *r = result(call("calibrate.status", "{\"session\":%d}", session));
	snprintf(st, sizeof st, "%s", json_string_value(json_object_get(r, "state")) ?
	    json_string_value(json_object_get(r, "state")) : "?");
	if (strcmp(st, state))
		printf("  session %d: %s: %s\n", session, st,
		    json_string_value(json_object_get(r, "message")));
	return st;
}

static int
begin(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
begin(const char *fmt, ...)
{
	char params[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(params, sizeof params, fmt, ap);
	va_end(ap);
	json_t *r = call("calibrate.begin", "%s", params);
	json_t *s = json_object_get(result(r), "session");
	if (!s)
		printf("  calibrate.begin %s: %s\n", params, error_of(r));
	return s ? (int)json_integer_value(s) : -1;
}

static bool
status_has(void *needle)
{
	return strstr(simproc_api_call(api, "status", NULL), needle) != NULL;
}

static void
start_daemon(const char *config)
{
	if (api >= 0)
		close(api);
	daemon_pid = simproc_daemon_start(&sp, config);
	api = simproc_api_connect(&sp);
	CHECK(daemon_pid > 0 && api >= 0);
	CHECK(wait_until(status_has, "\"link\":\"ready\"", 20));
	CHECK(wait_until(status_has, "\"tank\":{\"up\":true", 20));
	CHECK(wait_until(status_has, "\"rectifier\":{\"up\":true", 20));
}

static void
sleep_s(double s)
{
	usleep((useconds_t)(s * 1e6));
}

/* --- job planning -------------------------------------------------------------- */

static const char *shining = "{\"operator\": \"luc\", \"piece\": {\"serial\": \"CAL-1\", "
    "\"type\": \"ring\", \"metal\": \"yellow_gold\", \"gems\": []}, \"services\": [\"shining\"]}";

/* The bench of config/sim.yaml, refusing jobs at overdue stations. */
static const char *
refuse_config(void)
{
	return simproc_config_copy(&sp, "config/sim.yaml", "refuse.yaml", "\napi:\n",
	    "\ncalibration: {refuse_overdue: true}\napi:\n");
}

static void
t_plan_when_overdue(void)
{
	/* Never calibrated: planning a job that uses the tank warns. */
	json_t *r = result(call("job.plan", "%s", shining));
	CHECK(r != NULL);
	char *w = json_dumps(json_object_get(r, "warnings"), 0);
	CHECK_CONTAINS(w, "calibration overdue: the tank has never been calibrated");
	CHECK(!strstr(w, "the laser"));     /* shining does not use the laser */
	free(w);
	/* Configured to refuse: planned and created jobs are refused, saying why. */
	CHECK_INT(simproc_daemon_stop(daemon_pid, SIGTERM), 0);
	const char *conf = refuse_config();
	CHECK(conf != NULL);
	start_daemon(conf);
	json_t *e = call("job.plan", "%s", shining);
	CHECK_INT(json_integer_value(json_object_get(json_object_get(e, "error"), "code")), 1002);
	CHECK_CONTAINS(error_of(e), "calibration overdue: the tank has never been calibrated");
	CHECK_CONTAINS(error_of(call("job.create", "%s", shining)), "calibration overdue");
	CHECK_INT(simproc_daemon_stop(daemon_pid, SIGTERM), 0);
	start_daemon(NULL);
}

/* --- tank temperature ------------------------------------------------------------ */

static void
t_tank_temperature(void)
{
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "error tank 1.03 0.8"), 0);
	sleep_s(0.8);
	double t1 = simnum("tank", "temperature");
	CHECK_NEAR(status_num("devices.tank.temperature"), 1.03 * t1 + 0.8, 0.15);
	/* The reference instrument is required. */
	CHECK_CONTAINS(error_of(call("calibrate.begin", "{\"procedure\":\"tank.temperature\"}")),
	    "instrument");
	json_t *due = json_object_get(result(call("status", "{}")), "calibration");
	CHECK_STR(json_string_value(json_object_get(json_array_get(due, 1), "state")), "overdue");
	int s = begin("{\"procedure\":\"tank.temperature\",\"technician\":\"ada\","
	    "\"instrument\":\"Fluke 52 II #4471\"}");
	CHECK(s > 0);
	/* A second procedure waits for this one. */
	CHECK_CONTAINS(error_of(call("calibrate.begin", "{\"procedure\":\"tank.sweep\"}")),
	    "in progress");
	CHECK(result(call("calibrate.point", "{\"session\":%d,\"reference\":%.2f}", s, t1)) != NULL);
	/* Second point too close to the first. */
	CHECK_CONTAINS(error_of(call("calibrate.point", "{\"session\":%d,\"reference\":%.2f}", s,
	    t1 + 1)), "at least 5");
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "water tank 45"), 0);
	sleep_s(0.8);
	double t2 = simnum("tank", "temperature");
	CHECK(result(call("calibrate.point", "{\"session\":%d,\"reference\":%.2f}", s, t2)) != NULL);
	json_t *r = result(call("calibrate.commit", "{\"session\":%d}", s));
	CHECK_STR(json_string_value(json_object_get(r, "state")), "recorded");
	CHECK_NEAR(getnum(r, "after.gain"), 1 / 1.03, 0.01);
	CHECK_NEAR(getnum(r, "after.offset"), -0.8 / 1.03, 0.3);
	/* status says so at once, though it keeps the due state for a minute. */
	due = json_object_get(result(call("status", "{}")), "calibration");
	CHECK_STR(json_string_value(json_object_get(json_array_get(due, 1), "state")), "ok");
	/* The daemon now shows what the thermometer says. */
	CHECK_NEAR(status_num("devices.tank.temperature"), simnum("tank", "temperature"), 0.15);
	CHECK_INT(history_count("tank"), 1);
	/* ...and sets what the thermometer will say: 48 C true. */
	r = call("tank.start", "{\"pieces\":[{\"metal\":\"platinum\"}],\"seconds\":10,"
	    "\"temperature\":48}");
	CHECK(result(r) != NULL);
	sleep_s(0.8);
	CHECK_NEAR(simnum("tank", "regs.16") / 10, 1.03 * 48 + 0.8, 0.11);
	call("tank.stop", "{}");
}

static void
t_tank_temperature_abort_and_nonsense(void)
{
	double shown = status_num("devices.tank.temperature");
	int s = begin("{\"procedure\":\"tank.temperature\",\"technician\":\"bob\","
	    "\"instrument\":\"probe 2\"}");
	double t = simnum("tank", "temperature");
	/* Fahrenheit for Celsius: refused at once. */
	CHECK_CONTAINS(error_of(call("calibrate.point", "{\"session\":%d,\"reference\":%.1f}", s,
	    t * 9 / 5 + 32)), "check the instrument");
	CHECK(result(call("calibrate.point", "{\"session\":%d,\"reference\":%.2f}", s, t)) != NULL);
	/* Walks away half-way. */
	json_t *r = result(call("calibrate.abort", "{\"session\":%d}", s));
	CHECK_STR(json_string_value(json_object_get(r, "state")), "aborted");
	CHECK_CONTAINS(error_of(call("calibrate.commit", "{\"session\":%d}", s)), "aborted");
	CHECK_INT(history_count("tank"), 1);
	CHECK_NEAR(status_num("devices.tank.temperature"), shown, 0.15);
	/* Two readings each plausible alone, but a gain of 0.7 together. */
	s = begin("{\"procedure\":\"tank.temperature\",\"technician\":\"bob\","
	    "\"instrument\":\"probe 2\"}");
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "water tank 25"), 0);
	sleep_s(0.8);
	double d1 = status_num("devices.tank.temperature");
	CHECK(result(call("calibrate.point", "{\"session\":%d,\"reference\":%.2f}", s, d1 + 3.5)) != NULL);
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "water tank 50"), 0);
	sleep_s(0.8);
	double d2 = status_num("devices.tank.temperature");
	CHECK(result(call("calibrate.point", "{\"session\":%d,\"reference\":%.2f}", s, d2 - 3.5)) != NULL);
	CHECK_CONTAINS(error_of(call("calibrate.commit", "{\"session\":%d}", s)), "refused, nothing changed");
	CHECK_INT(history_count("tank"), 1);
	CHECK_NEAR(status_num("devices.tank.temperature"), simnum("tank", "temperature"), 0.15);
}

/* --- tank sweep and power ---------------------------------------------------------- */

static void
t_tank_sweep(void)
{
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "water tank 45"), 0);
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "load tank 100"), 0);
	double res = simnum("tank", "resonance");
	CHECK_NEAR(res, 39.2, 0.05);
	/* A sweep that misses the resonance finds nothing and records nothing. */
	int s = begin("{\"procedure\":\"tank.sweep\",\"from\":30,\"to\":32,\"step\":0.5}");
	CHECK_STR(wait_proc(s, "failed", 30), "failed");
	CHECK_CONTAINS(json_string_value(json_object_get(result(call("calibrate.status",
	    "{\"session\":%d}", s)), "message")), "no resonance");
	CHECK_INT(history_count("tank"), 1);
	CHECK(wait_until(status_has, "\"tank\":{\"kind\":\"tank\",\"state\":\"idle\"", 5));
	s = begin("{\"procedure\":\"tank.sweep\",\"from\":37.5,\"to\":41.5,\"step\":0.5,\"power\":60,"
	    "\"technician\":\"ada\"}");
	CHECK(s > 0);
	CHECK_STR(wait_proc(s, "ready", 60), "ready");
	json_t *r = result(call("calibrate.status", "{\"session\":%d}", s));
	CHECK_NEAR(getnum(r, "resonance.frequency"), simnum("tank", "resonance"), 0.1);
	CHECK(wait_until(status_has, "\"tank\":{\"kind\":\"tank\",\"state\":\"idle\"", 5));
	r = result(call("calibrate.commit", "{\"session\":%d}", s));
	CHECK_STR(json_string_value(json_object_get(r, "state")), "recorded");
	double khz = getnum(r, "after.frequency");
	CHECK_NEAR(khz, res, 0.1);
	CHECK_INT(history_count("tank"), 2);
	/* The tank now runs at the working frequency when none is asked. */
	CHECK(result(call("tank.start", "{\"pieces\":[{\"metal\":\"platinum\"}],\"seconds\":10}")));
	sleep_s(0.8);
	CHECK_NEAR(simnum("tank", "regs.12") / 10, khz, 0.01);
	call("tank.stop", "{}");
	/* The power check at that frequency. */
	s = begin("{\"procedure\":\"tank.power\",\"power\":50}");
	CHECK_STR(wait_proc(s, "ready", 20), "ready");
	r = result(call("calibrate.commit", "{\"session\":%d}", s));
	CHECK(json_is_true(json_object_get(json_object_get(r, "after"), "pass")));
	CHECK_NEAR(getnum(r, "after.watts"), 60, 8);
	CHECK_INT(history_count("tank"), 3);
	/* The interlock decides, calibration or not: the lid open refuses the
	 * sweep, and opening it during one stops it with nothing recorded. */
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "lid open"), 0);
	sleep_s(0.3);
	json_t *e = call("calibrate.begin", "{\"procedure\":\"tank.sweep\"}");
	CHECK_INT(json_integer_value(json_object_get(json_object_get(e, "error"), "code")), 1003);
	CHECK_CONTAINS(error_of(e), "lid");
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "lid close"), 0);
	sleep_s(0.3);
	s = begin("{\"procedure\":\"tank.sweep\",\"from\":37,\"to\":42,\"step\":0.5}");
	sleep_s(1);
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "lid open"), 0);
	CHECK_STR(wait_proc(s, "failed", 10), "failed");
	CHECK_CONTAINS(json_string_value(json_object_get(result(call("calibrate.status",
	    "{\"session\":%d}", s)), "message")), "interrupted");
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "lid close"), 0);
	CHECK_INT(history_count("tank"), 3);
	sleep_s(0.3);
	/* Aborted half-way through a sweep: the tank stops, nothing recorded. */
	s = begin("{\"procedure\":\"tank.sweep\",\"from\":37,\"to\":42,\"step\":0.5}");
	sleep_s(1);
	CHECK_STR(json_string_value(json_object_get(result(call("calibrate.abort",
	    "{\"session\":%d}", s)), "state")), "aborted");
	CHECK(wait_until(status_has, "\"tank\":{\"kind\":\"tank\",\"state\":\"idle\"", 5));
	CHECK_INT(history_count("tank"), 3);
	simproc_ctl(&sp, NULL, 0, "load tank 0");
}

/* --- bath ---------------------------------------------------------------------- */

/* Drives the rectifier, then enters the simulator's true value as the meter. */
static bool
bath_point(int s, double value, const char *truth)
{
	json_t *r = call("calibrate.drive", "{\"session\":%d,\"value\":%g}", s, value);
	if (!result(r)) {
		printf("  drive %g: %s\n", value, error_of(r));
		return false;
	}
	for (int i = 0; i < 50; i++) {
		sleep_s(0.2);
		double ref = simnum("rectifier", truth);
		r = call("calibrate.point", "{\"session\":%d,\"reference\":%.4f}", s, ref);
		if (result(r))
			return true;
		if (!strstr(error_of(r), "settling")) {
			printf("  point %g: %s\n", value, error_of(r));
			return false;
		}
	}
	return false;
}

/* The bath warm already, and the daemon reading it so: plating starts at
 * once rather than after the heater's warm-up. */
static void
bath_warm(void)
{
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "water bath_heater 48"), 0);
	CHECK(wait_until(status_has, "\"pv\":48.0", 10));
}

static void
t_bath_rectifier(void)
{
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "error rectifier voltage 1.02 0.05"), 0);
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "error rectifier current 0.97 -0.01"), 0);
	int s = begin("{\"procedure\":\"bath.voltage\",\"technician\":\"ada\","
	    "\"instrument\":\"Fluke 87V #9\"}");
	CHECK(s > 0);
	CHECK_CONTAINS(error_of(call("calibrate.point", "{\"session\":%d,\"reference\":1}", s)),
	    "calibrate.drive");
	/* Never above the bath's limit, calibration or not. */
	CHECK_CONTAINS(error_of(call("calibrate.drive", "{\"session\":%d,\"value\":5}", s)),
	    "outside");
	CHECK(bath_point(s, 1.0, "true_v"));
	CHECK(bath_point(s, 2.5, "true_v"));
	json_t *r = result(call("calibrate.commit", "{\"session\":%d}", s));
	CHECK_STR(json_string_value(json_object_get(r, "state")), "recorded");
	CHECK_NEAR(getnum(r, "after.gain"), 1 / 1.02, 0.01);
	s = begin("{\"procedure\":\"bath.current\",\"technician\":\"ada\","
	    "\"instrument\":\"Fluke 87V #9\"}");
	CHECK(bath_point(s, 0.4, "true_i"));
	CHECK(bath_point(s, 1.2, "true_i"));
	r = result(call("calibrate.commit", "{\"session\":%d}", s));
	CHECK_STR(json_string_value(json_object_get(r, "state")), "recorded");
	CHECK_NEAR(getnum(r, "after.gain"), 1 / 0.97, 0.01);
	CHECK_INT(history_count("bath"), 2);
	/* 2.0 V asked is 2.0 V at the meter now. */
	bath_warm();
	CHECK(result(call("bath.plate", "{\"pieces\":[{\"metal\":\"platinum\"}],\"volts\":2.0,"
	    "\"amps\":2,\"seconds\":20}")));
	sleep_s(1.0);
	CHECK_NEAR(simnum("rectifier", "true_v"), 2.0, 0.015);
	CHECK_NEAR(status_num("devices.rectifier.v_out"), 2.0, 0.015);
	call("bath.stop", "{}");
	/* The unit's own calibration was never written. */
	char reply[64];
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "calwrites rectifier"), 0);
	CHECK_STR(reply, "0");
}

static void
t_bath_abort_and_nonsense(void)
{
	int before = simproc_actuator_count(&sp, "\"device\":\"rectifier\",\"actuator\":\"output\"",
	    "\"value\":0");
	int s = begin("{\"procedure\":\"bath.voltage\",\"instrument\":\"meter\"}");
	json_t *r = call("calibrate.drive", "{\"session\":%d,\"value\":1.5}", s);
	CHECK(result(r) != NULL);
	sleep_s(1.0);
	/* Amps typed for volts: refused. */
	CHECK_CONTAINS(error_of(call("calibrate.point", "{\"session\":%d,\"reference\":750}", s)),
	    "check the instrument");
	call("calibrate.abort", "{\"session\":%d}", s);
	CHECK(wait_until(status_has, "\"bath\":{\"kind\":\"bath\",\"state\":\"idle\"", 5));
	sleep_s(0.5);
	CHECK(simproc_actuator_count(&sp, "\"device\":\"rectifier\",\"actuator\":\"output\"",
	    "\"value\":0") > before);
	CHECK_INT(history_count("bath"), 2);
}

static void
t_bath_rhodium(void)
{
	CHECK_CONTAINS(error_of(call("bath.rhodium", "{}")), "no replenishment");
	json_t *r = result(call("bath.replenish", "{\"rhodium_grams\":0.6,\"technician\":\"ada\"}"));
	CHECK(r != NULL);
	double base = getnum(r, "ah_counter");
	CHECK(base > 0);        /* the calibrations above drew current */
	r = result(call("bath.rhodium", "{}"));
	CHECK_NEAR(getnum(r, "left_grams"), 0.6, 0.001);
	CHECK(json_is_false(json_object_get(r, "warning")));
	/* Plate 1.5 A for a few seconds: ampere-hours, rhodium used at 35 %. */
	bath_warm();
	CHECK(result(call("bath.plate", "{\"pieces\":[{\"metal\":\"platinum\"}],\"volts\":3.0,"
	    "\"amps\":1.5,\"seconds\":10}")));
	CHECK(wait_until(status_has, "the plating time is complete", 20));
	sleep_s(0.8);
	r = result(call("bath.rhodium", "{}"));
	double since = getnum(r, "ah_since");
	CHECK(since > 0.002 && since < 0.01);       /* 1.5 A x 10 s = 0.0042 Ah */
	/* The count is corrected by the current calibration's gain (1 / 0.97). */
	CHECK_NEAR(since, (getnum(result(call("status", "{}")), "devices.rectifier.ah") - base) /
	    0.97, 0.0003);
	r = result(call("bath.rhodium", "{}"));
	CHECK_NEAR(getnum(r, "used_grams"), since * 1.28 * 0.35, 1e-6);
	CHECK_NEAR(getnum(r, "left_grams"), 0.6 - since * 1.28 * 0.35, 1e-6);
	/* At or below the warning threshold (0.5 g) it warns. */
	call("bath.replenish", "{\"rhodium_grams\":0.5}");
	r = result(call("bath.rhodium", "{}"));
	CHECK(json_is_true(json_object_get(r, "warning")));
	CHECK_CONTAINS(json_string_value(json_object_get(r, "message")), "replenish");
	CHECK_CONTAINS(simproc_api_call(api, "status", NULL), "\"rhodium\"");
	CHECK_CONTAINS(error_of(call("bath.replenish", "{\"rhodium_grams\":-3}")), "0-100 g");
	CHECK_INT(history_count("bath"), 4);
	call("bath.replenish", "{\"rhodium_grams\":2}");
}

/* --- laser ------------------------------------------------------------------------- */

static bool
laser_idle(void *arg)
{
	(void)arg;
	char reply[800];
	simproc_ctl(&sp, reply, sizeof reply, "status laser");
	return strstr(reply, "\"Idle\"") != NULL;
}

static void
laser_ready(void)
{
	call("laser.abort", "{}");
	call("laser.unlock", "{}");
	CHECK(wait_until(laser_idle, NULL, 20));
	CHECK(wait_until(status_has, "\"state\":\"Idle\",\"substate\"", 20));
	CHECK(wait_until(status_has, "\"laser\":{\"kind\":\"laser\",\"state\":\"idle\"", 20));
}

static double
engrave_square(double *w, double *h)
{
	simproc_ctl(&sp, NULL, 0, "burn laser clear");
	int s = begin("{\"procedure\":\"laser.scale\",\"size\":20,\"x\":5,\"y\":5,"
	    "\"technician\":\"ada\",\"instrument\":\"caliper 150 mm\"}");
	CHECK(s > 0);
	CHECK_STR(wait_proc(s, "ready", 60), "ready");
	*w = burn("width");
	*h = burn("height");
	return s;
}

static void
t_laser_scale_backup_restore(void)
{
	laser_ready();
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "timescale laser 20"), 0);
	/* A backup first, to restore at the end. */
	json_t *b = result(call("laser.settings.backup", "{\"technician\":\"ada\"}"));
	int backup = (int)getnum(b, "record");
	CHECK(backup > 0);
	CHECK_NEAR(getnum(b, "settings.100"), 250, 1e-9);
	json_t *d = result(call("laser.settings.diff", "{\"backup\":%d}", backup));
	CHECK_INT(json_array_size(json_object_get(d, "differences")), 0);
	/* The X axis really needs 255 steps per mm: a 20 mm square comes out short. */
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "mechanics laser 255 250"), 0);
	double w, h;
	int s = (int)engrave_square(&w, &h);
	CHECK_NEAR(w, 20 * 250.0 / 255, 0.02);
	CHECK_NEAR(h, 20, 0.02);
	/* A measurement that makes no sense (cm for mm): refused, nothing written. */
	CHECK_CONTAINS(error_of(call("calibrate.commit", "{\"session\":%d,\"measured_x\":%.3f,"
	    "\"measured_y\":2.0}", s, w)), "misread");
	CHECK_NEAR(simnum("laser", "steps.0"), 250, 1e-9);
	CHECK_INT(history_count("laser"), 1);   /* the backup only */
	s = (int)engrave_square(&w, &h);
	json_t *r = result(call("calibrate.commit", "{\"session\":%d,\"measured_x\":%.3f,"
	    "\"measured_y\":%.3f}", s, w, h));
	CHECK(r != NULL);
	CHECK_STR(wait_proc(s, "recorded", 20), "recorded");
	CHECK_NEAR(simnum("laser", "steps.0"), 255, 0.3);
	CHECK_NEAR(simnum("laser", "steps.1"), 250, 0.3);
	r = result(call("calibrate.status", "{\"session\":%d}", s));
	CHECK_NEAR(getnum(r, "before.100"), 250, 1e-9);
	CHECK_NEAR(getnum(r, "after.100"), 255, 0.3);
	/* Closed loop: the same square now comes out 20 mm. */
	laser_ready();
	s = (int)engrave_square(&w, &h);
	CHECK_NEAR(w, 20, 0.03);
	CHECK_NEAR(h, 20, 0.03);
	call("calibrate.abort", "{\"session\":%d}", s);
	/* The diff against the backup shows $100, and the restore puts it back. */
	d = result(call("laser.settings.diff", "{\"backup\":%d}", backup));
	CHECK_INT(json_array_size(json_object_get(d, "differences")), 1);
	CHECK_NEAR(getnum(d, "differences.0.setting"), 100, 0);
	s = begin("{\"procedure\":\"laser.restore\",\"backup\":%d,\"technician\":\"ada\"}", backup);
	CHECK(s > 0);
	CHECK_STR(wait_proc(s, "recorded", 20), "recorded");
	CHECK_NEAR(simnum("laser", "steps.0"), 250, 1e-9);
	d = result(call("laser.settings.diff", "{\"backup\":%d}", backup));
	CHECK_INT(json_array_size(json_object_get(d, "differences")), 0);
	CHECK_CONTAINS(error_of(call("calibrate.begin", "{\"procedure\":\"laser.restore\","
	    "\"backup\":%d}", backup)), "nothing differs");
	CHECK_CONTAINS(error_of(call("laser.settings.diff", "{\"backup\":999}")), "not a backup");
	simproc_ctl(&sp, NULL, 0, "mechanics laser 250 250");
}

static void
t_laser_grid_focus_origin(void)
{
	laser_ready();
	json_t *r = result(call("calibrate.begin", "{\"procedure\":\"laser.grid\",\"metal\":\"silver\","
	    "\"preview\":true,\"plate_w\":14,\"plate_h\":14,\"steps\":2}"));
	CHECK_CONTAINS(json_string_value(json_object_get(r, "gcode")), "(power 100% speed 600)");
	CHECK_CONTAINS(error_of(call("calibrate.begin", "{\"procedure\":\"laser.grid\","
	    "\"metal\":\"wood\"}")), "no test grid");
	CHECK_CONTAINS(error_of(call("calibrate.begin", "{\"procedure\":\"laser.grid\","
	    "\"metal\":\"silver\",\"plate_w\":8,\"plate_h\":8,\"steps\":8}")), "do not fit");
	simproc_ctl(&sp, NULL, 0, "burn laser clear");
	int s = begin("{\"procedure\":\"laser.grid\",\"metal\":\"platinum\",\"plate_w\":20,"
	    "\"plate_h\":15,\"x\":10,\"y\":10,\"steps\":3}");
	CHECK(s > 0);
	CHECK_STR(wait_proc(s, "ready", 120), "ready");
	CHECK(burn("x.0") >= 10 - 1e-3 && burn("x.1") <= 30 + 1e-3);
	CHECK(burn("y.0") >= 10 - 1e-3 && burn("y.1") <= 25 + 1e-3);
	CHECK(burn("width") > 15);
	r = result(call("calibrate.commit", "{\"session\":%d,\"power\":55,\"speed\":525}", s));
	CHECK_STR(json_string_value(json_object_get(r, "state")), "recorded");
	CHECK_NEAR(getnum(r, "after.chosen.power"), 55, 0);
	laser_ready();
	s = begin("{\"procedure\":\"laser.focus\",\"steps\":2,\"dz\":0.5}");
	CHECK_STR(wait_proc(s, "ready", 60), "ready");
	CHECK_CONTAINS(error_of(call("calibrate.commit", "{\"session\":%d,\"line\":7}", s)), "0 to 4");
	r = result(call("calibrate.commit", "{\"session\":%d,\"line\":3}", s));
	CHECK_NEAR(getnum(r, "after.focus_z"), 0.5, 1e-9);
	laser_ready();
	s = begin("{\"procedure\":\"laser.origin\"}");
	CHECK(result(call("calibrate.commit", "{\"session\":%d,\"x\":12.5,\"y\":7}", s)) != NULL);
	CHECK_STR(wait_proc(s, "recorded", 20), "recorded");
	r = result(call("calibrate.status", "{\"session\":%d}", s));
	CHECK_NEAR(getnum(r, "after.x"), 12.5, 1e-9);
	/* The origin is in force: work X is machine X - 12.5. */
	sleep_s(0.5);
	CHECK_NEAR(status_num("devices.laser.wpos.0"), simnum("laser", "pos.0") - 12.5, 0.01);
	s = begin("{\"procedure\":\"laser.origin\"}");
	call("calibrate.commit", "{\"session\":%d,\"x\":0,\"y\":0}", s);
	CHECK_STR(wait_proc(s, "recorded", 20), "recorded");
}

/* --- due, history, restart ---------------------------------------------------------- */

static void
t_due_and_restart(void)
{
	json_t *due = result(call("calibration.due", "{}"));
	CHECK_INT(json_array_size(due), 3);
	for (size_t i = 0; i < json_array_size(due); i++)
		CHECK_STR(json_string_value(json_object_get(json_array_get(due, i), "state")), "ok");
	json_t *h = result(call("calibration.history", "{}"));
	CHECK(json_array_size(h) >= 10);
	CHECK_CONTAINS(error_of(call("calibration.history", "{\"station\":\"kitchen\"}")),
	    "laser, tank or bath");
	/* The corrections survive a restart. */
	CHECK_INT(simproc_daemon_stop(daemon_pid, SIGTERM), 0);
	start_daemon(NULL);
	sleep_s(0.8);
	CHECK_NEAR(status_num("devices.tank.temperature"), simnum("tank", "temperature"), 0.15);
	CHECK(result(call("bath.plate", "{\"pieces\":[{\"metal\":\"platinum\"}],\"volts\":1.5,"
	    "\"amps\":2,\"seconds\":20}")));
	sleep_s(1.0);
	CHECK_NEAR(simnum("rectifier", "true_v"), 1.5, 0.015);
	call("bath.stop", "{}");
	CHECK_NEAR(getnum(result(call("bath.rhodium", "{}")), "rhodium_grams"), 2, 1e-9);
	/* Calibrated now: even a bench that refuses overdue stations plans. */
	CHECK_INT(simproc_daemon_stop(daemon_pid, SIGTERM), 0);
	start_daemon(refuse_config());
	json_t *r = result(call("job.plan", "%s", shining));
	CHECK(r != NULL);
	char *w = json_dumps(json_object_get(r, "warnings"), 0);
	CHECK(w && !strstr(w, "calibration overdue"));
	free(w);
}

int
main(void)
{
	if (simproc_start(&sp, NULL) < 0) {
		printf("FAIL: simulator start\n");
		return 1;
	}
	start_daemon(NULL);
	RUN(t_plan_when_overdue);
	RUN(t_tank_temperature);
	RUN(t_tank_temperature_abort_and_nonsense);
	RUN(t_tank_sweep);
	RUN(t_bath_rectifier);
	RUN(t_bath_abort_and_nonsense);
	RUN(t_bath_rhodium);
	RUN(t_laser_scale_backup_restore);
	RUN(t_laser_grid_focus_origin);
	RUN(t_due_and_restart);
	json_decref(last);
	if (api >= 0)
		close(api);
	simproc_daemon_stop(daemon_pid, SIGTERM);
	simproc_stop(&sp);
	return test_summary();
}
