/*
 * Rings on a rotary (issue 16), end to end: atelier-sim's workshop, whose
 * laser "rings" has a chuck in place of Y (config/sim-workshop.yaml), and
 * atelierd. The text on a ring's outside is laid out around the piece and
 * burned turning: on the simulated rotary the burned arc, read back from
 * the simulator as an angle over the piece's diameter, matches the laid-out
 * text's length for ring sizes 44, 52 and 70, and the same text on rollers
 * (the configuration changed, both programs restarted) burns the same arc.
 * A program for the rotary is refused while the rotary is not mounted ($101
 * not its value), a flat program while it is, and nothing is emitted
 * (actuators.log). The inside of a band on a chuck that cannot reach it,
 * and a piece smaller than the chuck holds, are refused with the reason and
 * the numbers. After a material test on gold chose a cell, an engraving
 * on gold uses its power and speed (the G-code and the plan say so); after
 * a focus calibration, Z for a 20 mm cylinder on the rotary is Z for a
 * flat plate plus its radius. The rotary's own calibration corrects its
 * steps per unit from a line burned around a gauge.
 */
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "simproc.h"
#include "test.h"
#include "util.h"

#define CONFIG "config/sim-workshop.yaml"
#define EMISSION "\"device\":\"rings\",\"actuator\":\"emission\""
#define ON "\"value\":1"
#define MOUNTED "8.889"         /* rings' rotary.mounted_value, $101 with the chuck on */
#define FLAT "250"              /* $101 of the bed */

static struct simproc sp;
static pid_t daemon_pid;
static int api = -1;

static bool
rings_idle(void *arg)
{
	(void)arg;
	const char *s = simproc_api_call(api, "status", NULL);
	const char *p = strstr(s, "\"rings\":{\"kind\":\"laser\"");
	return p && strncmp(strstr(p, "\"state\":"), "\"state\":\"idle\"", 14) == 0 &&
	    strstr(s, "\"rings\":{\"link\":\"ready\",\"state\":\"Idle\"") != NULL;
}

static bool
setting(const char *num, const char *value)
{
	char req[120];
	snprintf(req, sizeof req, "{\"station\":\"rings\",\"setting\":%s,\"value\":%s}", num, value);
	return strstr(simproc_api_call(api, "laser.setting", req), "\"verified\":true") != NULL;
}

/* The engraving of text on the outside of a ring of that size. */
static char *
ring_request(double size)
{
	return xasprintf("{\"station\":\"rings\",\"gcode\":true,\"engraving\":{\"text\":\"Ana\","
	    "\"area\":\"ring\",\"ring_size\":%g,\"band_width\":3,\"band\":\"outer\","
	    "\"thickness\":1.5}}", size);
}

/* Lays the text out for a ring, burns it, and compares the burned arc with
 * the laid-out length. Returns the arc, or -1. */
static double
burn_ring(double size)
{
	char *req = ring_request(size);
	const char *r = simproc_api_call(api, "engrave.preview", req);
	json_t *j = json_loads(r, 0, NULL);
	json_t *rot = json_object_get(json_object_get(j, "result"), "rotary");
	double text_mm = json_real_value(json_object_get(rot, "text_mm"));
	double diameter = json_real_value(json_object_get(rot, "diameter"));
	double y_per_mm = json_real_value(json_object_get(rot, "y_per_mm"));
	const char *gcode = json_string_value(json_object_get(json_object_get(j, "result"), "gcode"));
	CHECK(rot != NULL && text_mm > 3 && diameter > 10);
	CHECK(gcode && strncmp(gcode, "(ATELIER ROTARY ", 16) == 0);
	if (!rot) {
		printf("  preview: %.400s\n", r);
		json_decref(j);
		free(req);
		return -1;
	}
	json_decref(j);
	char piece[80];
	simproc_ctl(&sp, NULL, 0, "burn rings clear");
	snprintf(piece, sizeof piece, "piece rings %.4f", diameter);
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "%s", piece), 0);
	r = simproc_api_call(api, "engrave.start", req);
	free(req);
	CHECK_CONTAINS(r, "\"result\"");
	CHECK(wait_until(rings_idle, NULL, 60));
	char burn[400];
	CHECK_INT(simproc_ctl(&sp, burn, sizeof burn, "burn rings"), 0);
	json_t *b = json_loads(burn, 0, NULL);
	double arc = json_real_value(json_object_get(b, "arc_mm"));
	CHECK(json_is_true(json_object_get(b, "burned")));
	json_decref(b);
	/* Y is quantised to the machine's 0.01 units: a hundredth of a degree
	 * here, a fraction of a micrometre around a ring. */
	double tol = 2 * 0.01 / y_per_mm + 1e-3;
	if (fabs(arc - text_mm) > tol)
		printf("  size %g: burned arc %.4f mm, laid out %.4f mm (tolerance %.4f)\n", size, arc,
		    text_mm, tol);
	CHECK(fabs(arc - text_mm) <= tol);
	return arc;
}

static void
start(const char *config)
{
	CHECK_INT(simproc_start(&sp, config), 0);
	daemon_pid = simproc_daemon_start(&sp, config);
	api = simproc_api_connect(&sp);
	CHECK(wait_until(rings_idle, NULL, 30));
	CHECK(setting("32", "1"));
	/* The simulated motion runs faster than life: a test grid in seconds. */
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "timescale rings 50"), 0);
}

static void
stop(void)
{
	close(api);
	api = -1;
	simproc_daemon_stop(daemon_pid, SIGTERM);
	simproc_stop(&sp);
}

static double chuck_arc52;

static void
t_mismatch_refused_nothing_emitted(void)
{
	int ons = simproc_actuator_count(&sp, EMISSION, ON);
	/* Not mounted: a program for the rotary is refused. */
	CHECK(setting("101", FLAT));
	char *req = ring_request(52);
	const char *r = simproc_api_call(api, "engrave.start", req);
	CHECK_CONTAINS(r, "\"code\":1007");
	CHECK_CONTAINS(r, "the rotary of the laser rings is not mounted: $101 reads 250, not 8.889");
	r = simproc_api_call(api, "laser.stream", "{\"station\":\"rings\",\"gcode\":"
	    "\"(ATELIER ROTARY CHUCK D19.51 Y5.8733/MM)\\nG21 G90\\nM4 S100\\nG1 X1 Y90 F300\\nM5\\n\"}");
	CHECK_CONTAINS(r, "is not mounted");
	/* Mounted: a flat program is refused. */
	CHECK(setting("101", MOUNTED));
	r = simproc_api_call(api, "laser.stream", "{\"station\":\"rings\",\"gcode\":"
	    "\"G21 G90\\nM4 S100\\nG1 X10 Y10 F300\\nM5\\n\"}");
	CHECK_CONTAINS(r, "\"code\":1007");
	CHECK_CONTAINS(r, "the rotary of the laser rings is mounted ($101 reads 8.889): a flat "
	    "program would burn a turning piece");
	r = simproc_api_call(api, "engrave.start", "{\"station\":\"rings\",\"engraving\":{"
	    "\"text\":\"Ana\",\"area\":\"rect\",\"width\":20,\"height\":5}}");
	CHECK_CONTAINS(r, "is mounted");
	usleep(300000);
	CHECK_INT(simproc_actuator_count(&sp, EMISSION, ON), ons);
	free(req);
	/* The other laser has no rotary: a program for one is refused. */
	r = simproc_api_call(api, "laser.stream", "{\"station\":\"laser-1\",\"gcode\":"
	    "\"(ATELIER ROTARY CHUCK D19.51 Y5.8733/MM)\\nG21 G90\\nM4 S100\\nG1 X1 Y90 F300\\nM5\\n\"}");
	CHECK_CONTAINS(r, "the program is for a rotary (its first line says so), and the laser "
	    "laser-1 has none");
}

static void
t_burned_arc_matches_layout(void)
{
	CHECK(setting("101", MOUNTED));
	double sizes[] = { 44, 52, 70 };
	for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
		double arc = burn_ring(sizes[i]);
		if (sizes[i] == 52)
			chuck_arc52 = arc;
	}
	/* The frame turns the piece over the band's extent, the beam off. */
	char *req = ring_request(52);
	const char *r = simproc_api_call(api, "engrave.preview", req);
	free(req);
	json_t *j = json_loads(r, 0, NULL);
	json_t *fr = json_pack("{s:s, s:O}", "station", "rings", "gcode",
	    json_object_get(json_object_get(j, "result"), "gcode"));
	char *params = json_dumps(fr, JSON_COMPACT);
	int ons = simproc_actuator_count(&sp, EMISSION, ON);
	CHECK_CONTAINS(simproc_api_call(api, "laser.frame", params), "\"frame\"");
	CHECK(wait_until(rings_idle, NULL, 30));
	CHECK_INT(simproc_actuator_count(&sp, EMISSION, ON), ons);
	free(params);
	json_decref(fr);
	json_decref(j);
}

static void
t_refusals_name_the_numbers(void)
{
	char *req = xasprintf("{\"station\":\"rings\",\"engraving\":{\"text\":\"Ana\",\"area\":"
	    "\"ring\",\"ring_size\":52,\"band_width\":3}}");
	const char *r = simproc_api_call(api, "engrave.preview", req);
	free(req);
	CHECK_CONTAINS(r, "the inside of the ring cannot be reached on this laser's rotary: the "
	    "beam comes from above; engrave the outside instead");
	r = simproc_api_call(api, "engrave.preview", "{\"station\":\"rings\",\"engraving\":{"
	    "\"text\":\"A\",\"area\":\"cylinder\",\"diameter\":9,\"band_width\":3}}");
	CHECK_CONTAINS(r, "a cylinder of 9.0 mm outside diameter does not fit the rotary, which "
	    "holds 12.0 to 80.0 mm");
	/* A flat laser has no rotary for the outside of a ring. */
	r = simproc_api_call(api, "engrave.preview", "{\"station\":\"laser-1\",\"engraving\":{"
	    "\"text\":\"Ana\",\"area\":\"ring\",\"ring_size\":52,\"band_width\":3,\"band\":\"outer\","
	    "\"thickness\":1.5}}");
	CHECK_CONTAINS(r, "this laser has none");
}

/* Begins a calibration procedure and waits for it to be ready for its
 * commit; returns the session, or -1. */
static int
procedure_ready(const char *params)
{
	const char *reply = simproc_api_call(api, "calibrate.begin", params);
	json_t *r = json_loads(reply, 0, NULL);
	json_t *sess = json_object_get(json_object_get(r, "result"), "session");
	int s = json_is_integer(sess) ? (int)json_integer_value(sess) : -1;
	if (s < 0)
		printf("  calibrate.begin: %.300s\n", reply);
	json_decref(r);
	for (int i = 0; s > 0 && i < 600; i++) {
		char q[40];
		snprintf(q, sizeof q, "{\"session\":%d}", s);
		const char *st = simproc_api_call(api, "calibrate.status", q);
		if (strstr(st, "\"state\":\"ready\""))
			return s;
		if (strstr(st, "\"state\":\"failed\"")) {
			printf("  calibration failed: %.400s\n", st);
			break;
		}
		if (i == 599)
			printf("  calibration still not ready: %.400s\n", st);
		usleep(100000);
	}
	return -1;
}

static double
number_at(const char *json, const char *a, const char *b, const char *c)
{
	json_t *j = json_loads(json, 0, NULL);
	json_t *v = json_object_get(json_object_get(json_object_get(j, "result"), a), b);
	if (c)
		v = json_object_get(v, c);
	double x = json_is_number(v) ? json_number_value(v) : NAN;
	json_decref(j);
	return x;
}

static void
t_calibrations_in_use(void)
{
	CHECK(setting("101", FLAT));
	CHECK(wait_until(rings_idle, NULL, 30));
	/* Before any test: the table's numbers, and no Z. */
	const char *flat = "{\"station\":\"rings\",\"gcode\":true,\"engraving\":{\"text\":\"Ana\","
	    "\"area\":\"rect\",\"width\":20,\"height\":5,\"material\":\"gold\"}}";
	const char *r = simproc_api_call(api, "engrave.preview", flat);
	CHECK_CONTAINS(r, "\"source\":\"the laser's defaults for gold\"");
	CHECK_CONTAINS(r, "\"z\":null");

	int s = procedure_ready("{\"procedure\":\"laser.grid\",\"station\":\"rings\",\"metal\":"
	    "\"yellow_gold\",\"plate_w\":20,\"plate_h\":15,\"x\":5,\"y\":5,\"steps\":2}");
	CHECK(s > 0);
	char q[120];
	snprintf(q, sizeof q, "{\"session\":%d,\"power\":55,\"speed\":525}", s);
	CHECK_CONTAINS(simproc_api_call(api, "calibrate.commit", q), "\"recorded\"");
	CHECK(wait_until(rings_idle, NULL, 30));
	r = simproc_api_call(api, "engrave.preview", flat);
	CHECK_CONTAINS(r, "\"power\":55");
	CHECK_CONTAINS(r, "\"speed\":525");
	CHECK_CONTAINS(r, "\"source\":\"the material test of ");
	/* 55 % of max_power 1000, at 525 mm/min, in the program itself. */
	CHECK_CONTAINS(r, "F525S550");
	/* The plan of a job on a yellow-gold piece says where they came from. */
	r = simproc_api_call(api, "job.plan", "{\"operator\":\"Marie\",\"piece\":{\"serial\":"
	    "\"RG-77\",\"type\":\"ring\",\"metal\":\"yellow_gold\",\"purchase_date\":"
	    "\"2026-12-01\",\"certificate\":true},\"services\":[\"engraving\"],\"engraving\":"
	    "{\"text\":\"Ana\",\"area\":\"ring\",\"ring_size\":52,\"band_width\":3,"
	    "\"band\":\"outer\",\"thickness\":1.5}}");
	CHECK_CONTAINS(r, "the material test of ");
	CHECK_CONTAINS(r, "\"material\":\"gold\"");
	/* A jeweller may not set power and speed by hand; a technician may. */
	const char *by_hand = "{\"station\":\"rings\",\"gcode\":true,\"engraving\":{\"text\":"
	    "\"Ana\",\"area\":\"rect\",\"width\":20,\"height\":5,\"material\":\"gold\","
	    "\"power\":40,\"speed\":300}}";
	r = simproc_api_call(api, "engrave.preview", by_hand);
	CHECK_CONTAINS(r, "\"source\":\"set for this engraving\"");
	CHECK_CONTAINS(r, "F300S400");

	s = procedure_ready("{\"procedure\":\"laser.focus\",\"station\":\"rings\",\"steps\":2,"
	    "\"dz\":0.5}");
	CHECK(s > 0);
	snprintf(q, sizeof q, "{\"session\":%d,\"line\":3}", s);
	CHECK_CONTAINS(simproc_api_call(api, "calibrate.commit", q), "\"recorded\"");
	CHECK(wait_until(rings_idle, NULL, 30));
	double z_flat = number_at(simproc_api_call(api, "engrave.preview", flat), "parameters", "z",
	    NULL);
	double z_ring = number_at(simproc_api_call(api, "engrave.preview", "{\"station\":\"rings\","
	    "\"engraving\":{\"text\":\"A\",\"area\":\"cylinder\",\"diameter\":20,\"band_width\":"
	    "3}}"), "parameters", "z", NULL);
	CHECK(isfinite(z_flat) && isfinite(z_ring));
	CHECK(fabs((z_ring - z_flat) - 10) < 1e-3);
	r = simproc_api_call(api, "engrave.preview", flat);
	char z[40];
	snprintf(z, sizeof z, "G0Z%.3f", z_flat);
	CHECK_CONTAINS(r, z);
}

static double
burned_arc(void)
{
	char burn[400];
	if (simproc_ctl(&sp, burn, sizeof burn, "burn rings") < 0)
		return NAN;
	json_t *b = json_loads(burn, 0, NULL);
	double arc = json_is_number(json_object_get(b, "arc_mm")) ?
	    json_number_value(json_object_get(b, "arc_mm")) : NAN;
	json_decref(b);
	return arc;
}

/* The rotary's calibration: the chuck really needs 9 steps a degree where
 * $101 says 8.889, so a 30 mm line around a 20 mm gauge comes out short;
 * measured and committed, $101 is corrected (written alone, read back,
 * recorded) and the next line is 30 mm. */
static void
t_rotary_calibration(void)
{
	CHECK(setting("101", MOUNTED));
	/* Measured finely: the simulator samples the burn at each of its
	 * steps, which run 50 times faster elsewhere in this test. */
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "timescale rings 2"), 0);
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "mechanics rings 250 9"), 0);
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "piece rings 20"), 0);
	simproc_ctl(&sp, NULL, 0, "burn rings clear");
	const char *begin = "{\"procedure\":\"laser.rotary\",\"station\":\"rings\","
	    "\"diameter\":20,\"length\":30}";
	int s = procedure_ready(begin);
	CHECK(s > 0);
	double arc = burned_arc();
	CHECK(fabs(arc - 30 * 8.889 / 9) < 0.02);
	char q[120];
	snprintf(q, sizeof q, "{\"session\":%d,\"measured\":%.3f}", s, arc);
	CHECK_CONTAINS(simproc_api_call(api, "calibrate.commit", q), "\"result\"");
	bool recorded = false;
	for (int i = 0; i < 100 && !recorded; i++) {
		snprintf(q, sizeof q, "{\"session\":%d}", s);
		recorded = strstr(simproc_api_call(api, "calibrate.status", q),
		    "\"state\":\"recorded\"") != NULL;
		usleep(100000);
	}
	CHECK(recorded);
	const char *st = simproc_api_call(api, "laser.settings.backup", "{\"station\":\"rings\"}");
	CHECK_CONTAINS(st, "\"101\":9");
	/* Still the rotary mounted (within its 10 %), and now true. */
	simproc_ctl(&sp, NULL, 0, "burn rings clear");
	s = procedure_ready(begin);
	CHECK(s > 0);
	arc = burned_arc();
	CHECK(fabs(arc - 30) < 0.02);
	snprintf(q, sizeof q, "{\"session\":%d}", s);
	simproc_api_call(api, "calibrate.abort", q);
	/* A measure 20 % off is refused, nothing written. */
	s = procedure_ready(begin);
	snprintf(q, sizeof q, "{\"session\":%d,\"measured\":24}", s);
	CHECK_CONTAINS(simproc_api_call(api, "calibrate.commit", q), "\"code\":1007");
	CHECK(setting("101", MOUNTED));
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "mechanics rings 250 8.889"), 0);
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "timescale rings 50"), 0);
}

static void
t_rollers_burn_the_same_arc(void)
{
	stop();
	const char *rollers = simproc_config_copy(&sp, CONFIG, "rollers.yaml", "kind: chuck",
	    "kind: rollers\n      roller_diameter: 30");
	CHECK(rollers != NULL);
	if (!rollers)
		return;
	char path[512];
	snprintf(path, sizeof path, "%s", rollers);
	start(path);
	CHECK(setting("101", MOUNTED));
	char *req = ring_request(52);
	const char *r = simproc_api_call(api, "engrave.preview", req);
	free(req);
	CHECK_CONTAINS(r, "\"kind\":\"rollers\"");
	double arc = burn_ring(52);
	CHECK(fabs(arc - chuck_arc52) < 0.01);
}

int
main(void)
{
	start(CONFIG);
	RUN(t_mismatch_refused_nothing_emitted);
	RUN(t_burned_arc_matches_layout);
	RUN(t_refusals_name_the_numbers);
	RUN(t_calibrations_in_use);
	RUN(t_rotary_calibration);
	RUN(t_rollers_burn_the_same_arc);
	stop();
	return test_summary();
}
