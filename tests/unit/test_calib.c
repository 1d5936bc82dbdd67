/*
 * The calibration maths alone (calib.c, calib_laser.c): two-point gain and
 * offset with the readings it must refuse, the resonance of a sweep, the
 * steps-per-mm correction, rhodium used per ampere-hour, the laser's test
 * programs read back coordinate by coordinate, the records in a real
 * journal file (never changed, never deleted, latest per procedure), and
 * calib_due_check, the job engine's question at planning, on back-dated
 * records.
 */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calib/api_calib.h"
#include "calib/calib.h"
#include "calib/calib_laser.h"
#include "daemon/daemon.h"
#include "journal/store.h"
#include "test.h"

static const struct calib_limits temp_lim = { 5, 0.1, 5 };

static void
t_two_point(void)
{
	struct calib_line l;
	char err[300];
	/* A probe that reads 1.03 x true + 0.8 C. */
	double d1 = 1.03 * 21 + 0.8, d2 = 1.03 * 45 + 0.8;
	CHECK_INT(calib_two_point(d1, 21, d2, 45, &temp_lim, &l, err, sizeof err), 0);
	CHECK_NEAR(l.gain, 1 / 1.03, 1e-9);
	CHECK_NEAR(l.offset, -0.8 / 1.03, 1e-9);
	CHECK_NEAR(calib_forward(&l, d1), 21, 1e-9);
	CHECK_NEAR(calib_forward(&l, 1.03 * 48 + 0.8), 48, 1e-9);
	/* A setpoint goes backwards: 48 C true is what the probe calls 50.24. */
	CHECK_NEAR(calib_inverse(&l, 48), 1.03 * 48 + 0.8, 1e-9);
	struct calib_line id = CALIB_IDENTITY;
	CHECK_NEAR(calib_forward(&id, 37.5), 37.5, 0);
}

static void
t_two_point_refusals(void)
{
	struct calib_line l = { 7, 7 };
	char err[300];
	CHECK_INT(calib_two_point(21, 21, 23, 23, &temp_lim, &l, err, sizeof err), -1);
	CHECK_CONTAINS(err, "at least 5 apart");
	CHECK_INT(calib_two_point(21, 45, 45, 21, &temp_lim, &l, err, sizeof err), -1);
	CHECK_CONTAINS(err, "swapped");
	/* Fahrenheit typed for Celsius. */
	CHECK_INT(calib_two_point(21, 69.8, 45, 113, &temp_lim, &l, err, sizeof err), -1);
	CHECK_CONTAINS(err, "gain");
	CHECK_INT(calib_two_point(21, 30, 45, 54, &temp_lim, &l, err, sizeof err), -1);
	CHECK_CONTAINS(err, "offset of 9");
	CHECK_INT(calib_two_point(21, NAN, 45, 45, &temp_lim, &l, err, sizeof err), -1);
	CHECK_CONTAINS(err, "not a number");
	/* Nothing was written into the result by any refusal. */
	CHECK_NEAR(l.gain, 7, 0);
	CHECK_NEAR(l.offset, 7, 0);
}

/* The simulator's transducer: a Lorentzian of half-width 0.5 kHz. */
static double
lorentz(double f, double res)
{
	double x = (f - res) / 0.5;
	return 400 / (1 + x * x);
}

static void
t_resonance(void)
{
	double khz[41], cur[41], pk, pc;
	char err[300];
	for (int i = 0; i < 41; i++) {
		khz[i] = 38 + 0.1 * i;
		cur[i] = round(lorentz(khz[i], 40.08));
	}
	CHECK_INT(calib_resonance(khz, cur, 41, &pk, &pc, err, sizeof err), 0);
	CHECK_NEAR(pk, 40.08, 0.03);
	CHECK_NEAR(pc, 400, 15);
	/* Coarse steps: the parabola still lands between them. */
	double k2[9], c2[9];
	for (int i = 0; i < 9; i++) {
		k2[i] = 38 + 0.5 * i;
		c2[i] = lorentz(k2[i], 40.3);
	}
	CHECK_INT(calib_resonance(k2, c2, 9, &pk, &pc, err, sizeof err), 0);
	CHECK_NEAR(pk, 40.3, 0.2);
	CHECK(pk != 40.5 && pk != 40.0);
}

static void
t_resonance_refusals(void)
{
	double khz[5] = { 30, 31, 32, 33, 34 }, cur[5], pk = -1, pc = -1;
	char err[300];
	for (int i = 0; i < 5; i++)
		cur[i] = lorentz(khz[i], 40);
	CHECK_INT(calib_resonance(khz, cur, 5, &pk, &pc, err, sizeof err), -1);
	CHECK_CONTAINS(err, "edge of the sweep");
	double flat[5] = { 10, 10, 11, 10, 10 };
	CHECK_INT(calib_resonance(khz, flat, 5, &pk, &pc, err, sizeof err), -1);
	CHECK_CONTAINS(err, "no resonance");
	/* Far down a flank, rounding makes a bump that is no resonance. */
	double tail[5] = { 1, 1, 2, 1, 2 };
	CHECK_INT(calib_resonance(khz, tail, 5, &pk, &pc, err, sizeof err), -1);
	CHECK_CONTAINS(err, "no resonance");
	double zero[5] = { 0, 0, 0, 0, 0 };
	CHECK_INT(calib_resonance(khz, zero, 5, &pk, &pc, err, sizeof err), -1);
	double back[3] = { 40, 39, 41 }, c3[3] = { 1, 5, 1 };
	CHECK_INT(calib_resonance(back, c3, 3, &pk, &pc, err, sizeof err), -1);
	CHECK_CONTAINS(err, "increasing");
	CHECK_INT(calib_resonance(khz, cur, 2, &pk, &pc, err, sizeof err), -1);
	CHECK_NEAR(pk, -1, 0);
}

static void
t_steps_per_mm(void)
{
	double s = 0;
	char err[300];
	/* 250 steps/mm engraved 20 mm as 20.4 mm: it moves too far. */
	CHECK_INT(calib_steps_per_mm(250, 20, 20.4, 0.2, &s, err, sizeof err), 0);
	CHECK_NEAR(s, 250 * 20 / 20.4, 1e-9);
	CHECK_INT(calib_steps_per_mm(250, 20, 19.5, 0.2, &s, err, sizeof err), 0);
	CHECK(s > 250);
	s = -1;
	CHECK_INT(calib_steps_per_mm(250, 20, 2.0, 0.2, &s, err, sizeof err), -1);   /* cm for mm */
	CHECK_CONTAINS(err, "misread");
	CHECK_INT(calib_steps_per_mm(250, 20, 0, 0.2, &s, err, sizeof err), -1);
	CHECK_INT(calib_steps_per_mm(250, 20, -20, 0.2, &s, err, sizeof err), -1);
	CHECK_INT(calib_steps_per_mm(NAN, 20, 20, 0.2, &s, err, sizeof err), -1);
	CHECK_NEAR(s, -1, 0);
}

static void
t_rhodium(void)
{
	/* Shared domain facts §4: 1.28 g/Ah at 100 %, 30-40 % in practice. */
	CHECK_NEAR(calib_rhodium_used(1, 100), 1.28, 1e-12);
	CHECK_NEAR(calib_rhodium_used(1, 35), 0.448, 1e-12);
	CHECK_NEAR(calib_rhodium_used(2.5, 30), 0.96, 1e-12);
	CHECK_NEAR(calib_rhodium_used(-1, 35), 0, 0);
}

/* Every X/Y pair that a G1 burns to, and the bounding box of them. */
static void
burn_box(const char *g, double box[4], int *lines)
{
	box[0] = box[1] = INFINITY;
	box[2] = box[3] = -INFINITY;
	*lines = 0;
	double x = 0, y = 0;
	for (const char *p = g; *p;) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char line[200];
		snprintf(line, sizeof line, "%.*s", (int)n, p);
		const char *px = strchr(line, 'X'), *py = strchr(line, 'Y');
		if (px)
			x = atof(px + 1);
		if (py)
			y = atof(py + 1);
		if (strncmp(line, "G1", 2) == 0) {
			box[0] = fmin(box[0], x);
			box[1] = fmin(box[1], y);
			box[2] = fmax(box[2], x);
			box[3] = fmax(box[3], y);
		}
		(*lines)++;
		p += n + (e ? 1 : 0);
	}
}

static void
t_grid(void)
{
	struct calib_grid g = { .plate_w = 30, .plate_h = 30, .origin_x = 10, .origin_y = 5,
		.max_power = 1000, .max_feed = 3000, .hatch = 0.1 };
	char err[300];
	CHECK_INT(calib_grid_defaults("silver", 4, &g), 0);
	CHECK_INT(g.n_powers, 4);
	CHECK_NEAR(g.powers[0], 60, 0);
	CHECK_NEAR(g.powers[3], 100, 0);
	CHECK_NEAR(g.speeds[3], 600, 0);
	CHECK_INT(calib_grid_defaults("unobtainium", 4, &g), -1);
	char *gc = calib_grid_gcode(&g, err, sizeof err);
	CHECK(gc != NULL);
	if (!gc)
		return;
	double box[4];
	int n;
	burn_box(gc, box, &n);
	/* Everything on the plate. */
	CHECK(box[0] >= 10 && box[2] <= 40 && box[1] >= 5 && box[3] <= 35);
	CHECK(box[2] - box[0] > 25);
	/* Full power is S1000 for the 100 % column; the labels say 100 and 600. */
	CHECK_CONTAINS(gc, "S1000F");
	CHECK_CONTAINS(gc, "(power 100% speed 600)");
	CHECK_CONTAINS(gc, "(power 60% speed 100)");
	CHECK(strstr(gc, "G0X") && strstr(gc, "M5\n"));
	/* Every line GRBL gets is at most 80 characters. */
	for (char *p = gc; *p;) {
		char *e = strchr(p, '\n');
		CHECK((e ? e - p : (long)strlen(p)) <= 80);
		p = e ? e + 1 : p + strlen(p);
	}
	free(gc);
	/* Too many cells for a small plate: refused, saying why. */
	g.plate_w = g.plate_h = 8;
	CHECK_INT(calib_grid_defaults("platinum", 6, &g), 0);
	CHECK(calib_grid_gcode(&g, err, sizeof err) == NULL);
	CHECK_CONTAINS(err, "do not fit");
	g.plate_w = g.plate_h = 30;
	g.powers[0] = 130;
	CHECK(calib_grid_gcode(&g, err, sizeof err) == NULL);
	CHECK_CONTAINS(err, "130");
}

static void
t_focus_and_square(void)
{
	char err[300];
	char *f = calib_focus_gcode(5, 5, 10, 0, 0.5, 2, 500, 300, err, sizeof err);
	CHECK(f != NULL);
	if (f) {
		CHECK_CONTAINS(f, "G0Z-1.000");
		CHECK_CONTAINS(f, "G0Z1.000");
		CHECK_CONTAINS(f, "(line 4 at Z 1.000)");
		free(f);
	}
	CHECK(calib_focus_gcode(5, 5, 10, 0, 5, 2, 500, 300, err, sizeof err) == NULL);
	char *s = calib_square_gcode(5, 5, 20, 500, 600, err, sizeof err);
	CHECK(s != NULL);
	if (s) {
		double box[4];
		int n;
		burn_box(s, box, &n);
		CHECK_NEAR(box[0], 5, 1e-9);
		CHECK_NEAR(box[2], 25, 1e-9);
		CHECK_NEAR(box[3] - box[1], 20, 1e-9);
		free(s);
	}
	CHECK(calib_square_gcode(5, 5, 500, 500, 600, err, sizeof err) == NULL);
}

static void
t_records(void)
{
	char path[] = "/tmp/atelier-calib-XXXXXX", db[64], err[300];
	CHECK(test_mkdtemp(path) != NULL);
	snprintf(db, sizeof db, "%s/journal.db", path);
	struct store *s = store_open(db, err, sizeof err);
	CHECK(s != NULL);
	if (!s)
		return;
	struct calib_record r = { "tank", "tank.temperature", "calibration", "ada", "Fluke 52 #1",
		"{\"gain\":1,\"offset\":0}", "{\"gain\":0.97,\"offset\":-0.8}", NULL,
		"2026-01-02T10:00:00.000Z" };
	CHECK(calib_store_add(s, &r, err, sizeof err) > 0);
	r.after = "{\"gain\":0.98,\"offset\":-0.5}";
	r.t = NULL;
	int64_t id = calib_store_add(s, &r, err, sizeof err);
	CHECK(id > 0);
	json_t *a = calib_store_latest(s, "tank", "tank.temperature");
	CHECK_NEAR(json_number_value(json_object_get(a, "gain")), 0.98, 1e-12);
	json_decref(a);
	CHECK(calib_store_latest(s, "bath", "bath.voltage") == NULL);
	/* Bad JSON is refused by the table, whole. */
	r.after = "{not json";
	CHECK_INT(calib_store_add(s, &r, err, sizeof err), -1);
	r.after = "{}";
	r.station = "";         /* a station has a name (the API checks it exists) */
	CHECK_INT(calib_store_add(s, &r, err, sizeof err), -1);
	json_t *h = calib_store_history(s, "tank", 10, err, sizeof err);
	CHECK_INT(json_array_size(h), 2);
	CHECK_STR(json_string_value(json_object_get(json_array_get(h, 0), "technician")), "ada");
	CHECK_STR(json_string_value(json_object_get(json_array_get(h, 1), "instrument")),
	    "Fluke 52 #1");
	json_decref(h);
	h = calib_store_history(s, "laser", 10, err, sizeof err);
	CHECK_INT(json_array_size(h), 0);
	json_decref(h);
	char t[40];
	double age = -1;
	CHECK_INT(calib_store_last(s, "tank", t, sizeof t, &age), 1);
	CHECK(age >= 0 && age < 1);
	CHECK_INT(calib_store_last(s, "bath", t, sizeof t, &age), 0);
	/* Never changed, never deleted. */
	sqlite3 *raw = store_db(s);
	CHECK(sqlite3_exec(raw, "DELETE FROM calibrations", NULL, NULL, NULL) != SQLITE_OK);
	CHECK(sqlite3_exec(raw, "UPDATE calibrations SET technician = 'eve'", NULL, NULL, NULL) !=
	    SQLITE_OK);
	h = calib_store_history(s, NULL, 10, err, sizeof err);
	CHECK_INT(json_array_size(h), 2);
	json_decref(h);
	/* Each record has its audit event. */
	sqlite3_stmt *st;
	sqlite3_prepare_v2(raw, "SELECT count(*) FROM events WHERE what LIKE 'tank tank.temperature%'",
	    -1, &st, NULL);
	CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 2);
	sqlite3_finalize(st);
	store_close(s);
	unlink(db);
	char wal[80];
	snprintf(wal, sizeof wal, "%s-wal", db);
	unlink(wal);
	snprintf(wal, sizeof wal, "%s-shm", db);
	unlink(wal);
	rmdir(path);
}

/* An ISO time `days` ago. */
static const char *
ago(double days, char *buf, size_t len)
{
	time_t t = time(NULL) - (time_t)(days * 86400);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	return buf;
}

static void
t_due_check(void)
{
	static struct daemon d;
	static struct cfg cfg;
	char path[] = "/tmp/atelier-due-XXXXXX", db[64], err[300], msg[300], t[40];
	CHECK(test_mkdtemp(path) != NULL);
	snprintf(db, sizeof db, "%s/journal.db", path);
	memset(&d, 0, sizeof d);
	static struct cfg_station stations[] = {
		{ .name = "laser", .kind = KIND_LASER }, { .name = "tank", .kind = KIND_TANK },
		{ .name = "bath", .kind = KIND_BATH },
	};
	cfg.calibration = (struct cfg_calibration){ 90, 180, 30, false };
	cfg.stations = stations;
	cfg.n_stations = 3;
	d.cfg = &cfg;
	d.store = store_open(db, err, sizeof err);
	CHECK(d.store != NULL);
	if (!d.store)
		return;
	/* Never calibrated: overdue, a warning. */
	CHECK_INT(calib_due_check(&d, "bath", msg, sizeof msg), 1);
	CHECK_CONTAINS(msg, "the bath has never been calibrated");
	/* Calibrated 10 days ago, 30 allowed: up to date. */
	struct calib_record r = { "bath", "bath.voltage", "calibration", "ada", "meter", "{}",
		"{\"gain\":1,\"offset\":0}", NULL, ago(10, t, sizeof t) };
	CHECK(calib_store_add(d.store, &r, err, sizeof err) > 0);
	CHECK_INT(calib_due_check(&d, "bath", msg, sizeof msg), 0);
	CHECK_CONTAINS(msg, "next due on");
	/* The tank, 200 days ago with 180 allowed: overdue since day 180. */
	char since[16];
	r = (struct calib_record){ "tank", "tank.temperature", "calibration", "ada", "probe",
		"{}", "{}", NULL, ago(200, t, sizeof t) };
	CHECK(calib_store_add(d.store, &r, err, sizeof err) > 0);
	CHECK_INT(calib_due_check(&d, "tank", msg, sizeof msg), 1);
	time_t due = time(NULL) - 20 * 86400;
	strftime(since, sizeof since, "%Y-%m-%d", gmtime(&due));
	CHECK_CONTAINS(msg, "overdue since");
	CHECK_CONTAINS(msg, since);
	CHECK_CONTAINS(msg, "180 days");
	/* A check or maintenance does not make a station calibrated. */
	r = (struct calib_record){ "tank", "tank.power", "check", "ada", NULL, "{}", "{}", NULL, NULL };
	CHECK(calib_store_add(d.store, &r, err, sizeof err) > 0);
	CHECK_INT(calib_due_check(&d, "tank", msg, sizeof msg), 1);
	/* Configured to refuse. */
	cfg.calibration.refuse_overdue = true;
	CHECK_INT(calib_due_check(&d, "tank", msg, sizeof msg), 2);
	CHECK_CONTAINS(msg, "refused until a technician calibrates it");
	CHECK_INT(calib_due_check(&d, "laser", msg, sizeof msg), 2);
	CHECK_INT(calib_due_check(&d, "bath", msg, sizeof msg), 0);
	CHECK_INT(calib_due_check(&d, "kitchen", msg, sizeof msg), -1);
	CHECK_CONTAINS(msg, "not a station");
	/* A fresh calibration puts the tank right. */
	r = (struct calib_record){ "tank", "tank.sweep", "calibration", "ada", NULL, "{}",
		"{\"frequency\":40}", NULL, NULL };
	CHECK(calib_store_add(d.store, &r, err, sizeof err) > 0);
	CHECK_INT(calib_due_check(&d, "tank", msg, sizeof msg), 0);
	json_t *j = calib_due_json(&d);
	CHECK_INT(json_array_size(j), 3);
	CHECK_STR(json_string_value(json_object_get(json_array_get(j, 0), "state")), "refused");
	CHECK_STR(json_string_value(json_object_get(json_array_get(j, 1), "state")), "ok");
	json_decref(j);
	store_close(d.store);
	char f[96];
	static const char *const sfx[] = { "", "-wal", "-shm" };
	for (int i = 0; i < 3; i++) {
		snprintf(f, sizeof f, "%s%s", db, sfx[i]);
		unlink(f);
	}
	rmdir(path);
}

/* The calibration methods are a technician's: a jeweller is refused
 * before any handler runs, and may read the history and due dates. */
static void
t_roles(void)
{
	struct api_limits lim = { .max_request = 65536, .max_backlog = 1 << 20, .max_clients = 4 };
	struct api *api = api_new(&lim, calib_part.methods, calib_part.n_methods, NULL, NULL);
	static const char *const tech[] = { "calibrate.begin", "calibrate.drive", "calibrate.point",
		"calibrate.commit", "calibrate.abort", "calibrate.status", "bath.replenish",
		"laser.settings.backup", "laser.settings.diff" };
	for (size_t i = 0; i < sizeof tech / sizeof tech[0]; i++) {
		char line[200];
		struct buf out;
		buf_init(&out);
		struct api_call ctx = { .api = api, .role = API_ROLE_JEWELLER };
		snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\","
		    "\"params\":{\"procedure\":\"tank.sweep\",\"session\":1}}", tech[i]);
		api_handle_line(api, &ctx, line, strlen(line), &out);
		CHECK_CONTAINS(out.data, "\"code\":1001");
		buf_free(&out);
	}
	int listed = 0;
	const struct api_method *m = calib_part.methods;
	for (size_t i = 0; i < calib_part.n_methods; i++) {
		if (strcmp(m[i].name, "calibration.history") == 0 ||
		    strcmp(m[i].name, "calibration.due") == 0 ||
		    strcmp(m[i].name, "bath.rhodium") == 0) {
			CHECK_INT(m[i].role, API_ROLE_JEWELLER);
			listed++;
		}
	}
	CHECK_INT(listed, 3);
	api_free(api);
}

int
main(void)
{
	RUN(t_two_point);
	RUN(t_two_point_refusals);
	RUN(t_resonance);
	RUN(t_resonance_refusals);
	RUN(t_steps_per_mm);
	RUN(t_rhodium);
	RUN(t_grid);
	RUN(t_focus_and_square);
	RUN(t_records);
	RUN(t_due_check);
	RUN(t_roles);
	return test_summary();
}
