/*
 * The calibration procedures behind `atelierctl calibrate` (api_calib.h).
 * A procedure is a session held by the daemon: begin, then the steps its
 * kind needs (points against a reference instrument, a sweep or a test
 * program run on a timer of its own), then commit, which checks the result,
 * applies it and records it with the values before and after; or abort.
 * Nothing is applied or recorded before the commit, so a technician who
 * walks away half-way, or whose readings make no sense, leaves everything
 * as it was.
 *
 * Stations are driven only through their own functions (station_*), so
 * that limits, links and the interlock are checked exactly as for a job;
 * the load is a "calibration dummy" (platinum, no stone), which policy
 * clears for every process. GRBL settings are written one at a time and
 * verified by reading them back; a write that fails puts back those
 * already written.
 */
#include "calib/api_calib.h"

#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib/calib.h"
#include "calib/calib_laser.h"
#include "daemon/daemon.h"
#include "engrave/engrave.h"
#include "log.h"
#include "mb_devices.h"
#include "util.h"

#define MAX_SWEEP 128
#define MAX_WRITES 32
#define IDLE_TIMEOUT 1800.0     /* s a procedure waits for the technician */
#define PROCEDURE_TICK 0.1      /* s between two looks at a procedure running */
#define WRITE_TIMEOUT 10.0

enum ptype { P_TWO_POINT, P_SWEEP, P_POWER, P_SCALE, P_GRID, P_FOCUS, P_ORIGIN, P_RESTORE,
	P_ROTARY };

struct procdef {
	const char *name, *station, *kind;
	enum ptype type;
	const char *reg, *unit;         /* two-point: the register read, its unit */
	struct calib_limits lim;
};

static const struct procdef procs[] = {
	{ "tank.temperature", "tank", "calibration", P_TWO_POINT, "temperature", "C", { 5, 0.1, 5 } },
	{ "tank.sweep", "tank", "calibration", P_SWEEP, NULL, NULL, { 0, 0, 0 } },
	{ "tank.power", "tank", "check", P_POWER, NULL, NULL, { 0, 0, 0 } },
	{ "bath.voltage", "bath", "calibration", P_TWO_POINT, "v_out", "V", { 0.5, 0.1, 0.5 } },
	{ "bath.current", "bath", "calibration", P_TWO_POINT, "i_out", "A", { 0.2, 0.1, 0.2 } },
	{ "laser.scale", "laser", "calibration", P_SCALE, NULL, NULL, { 0, 0, 0 } },
	{ "laser.rotary", "laser", "calibration", P_ROTARY, NULL, NULL, { 0, 0, 0 } },
	{ "laser.grid", "laser", "check", P_GRID, NULL, NULL, { 0, 0, 0 } },
	{ "laser.focus", "laser", "calibration", P_FOCUS, NULL, NULL, { 0, 0, 0 } },
	{ "laser.origin", "laser", "maintenance", P_ORIGIN, NULL, NULL, { 0, 0, 0 } },
	{ "laser.restore", "laser", "maintenance", P_RESTORE, NULL, NULL, { 0, 0, 0 } },
};

enum pstate {
	PS_READY,       /* waiting for the technician (points, commit) */
	PS_RUNNING,     /* a sweep, power check or test program is running */
	PS_WRITING,     /* settings are being written and read back */
	PS_RECORDED,    /* committed: applied and recorded */
	PS_FAILED,      /* stopped: nothing changed (message says why) */
	PS_ABORTED,
};
static const char *const pstate_names[] = { "ready", "running", "writing", "recorded", "failed",
	"aborted" };

struct pwrite {
	bool gcode;             /* G10 work offset instead of a $ setting */
	int num;
	double value, old;      /* $: the setting; G10: X in value, Y in old2 */
	double y, old_y;
	bool done;
};

struct proc {
	int id;
	const struct procdef *def;
	struct station *st;     /* the station calibrated, resolved at begin */
	enum pstate state;
	char msg[400];
	char tech[64], instr[128];
	double touched;
	/* two-point */
	int n;
	double dev[2], ref[2], drive[2];
	bool driving;
	double drive_value, drive_since;
	/* sweep and power check */
	double khz[MAX_SWEEP], cur[MAX_SWEEP];
	size_t npts, i;
	double f_lo, f_step, power, t_write;
	bool written;
	int pass;
	double peak_khz, peak_ma;
	double rated, t_start, p_out, p_ma;
	/* laser */
	double square, x0, y0;
	json_t *params;         /* what the program was (grid, focus), for the record */
	struct pwrite w[MAX_WRITES];
	int nw, wi;
	bool rollback;
	double t_w;
	int answer;             /* the laser's verdict on the write: 1 ok, -1 not, 0 none yet */
	char answer_why[120];
	json_t *before, *after; /* the record, once committed */
	int64_t record;
};

static int next_id = 1;
/* The API code a station function gave for the last refusal in begin. */
static int station_code;
static const struct policy_piece calib_dummy = { "platinum", NULL, 0, false, false };

static struct daemon *
D(struct api_call *c)
{
	return api_data(c->api);
}

static void run_procedure(struct daemon *d);

static struct proc *
P(struct daemon *d)
{
	return d->calib ? d->calib->proc : NULL;
}

static void
proc_free(struct proc *p)
{
	if (!p)
		return;
	json_decref(p->params);
	json_decref(p->before);
	json_decref(p->after);
	free(p);
}

/* Whether a laser station's GRBL is connected and answering. */
static bool
connected(struct station *st)
{
	struct grbl *g = station_laser_grbl(st);
	return g && grbl_link_state(g) == GRBL_READY;
}

/* The station a request names ('station'), of kind; NULL after failing
 * the call. The only station of the kind needs no name. */
static struct station *
station_param(struct api_call *c, enum cfg_kind kind)
{
	return daemon_station_param(D(c), c, (int)kind);
}

static bool
active(const struct proc *p)
{
	return p && (p->state == PS_READY || p->state == PS_RUNNING || p->state == PS_WRITING);
}

/* Puts the procedure's station in its safe state. */
static void
station_safe(struct daemon *d, const struct proc *p, const char *why)
{
	(void)d;
	if (p->st->state == ST_RUNNING)
		station_stop(p->st, why);
}

static void
finish(struct daemon *d, struct proc *p, enum pstate st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
finish(struct daemon *d, struct proc *p, enum pstate st, const char *fmt, ...)
{
	va_list ap;
	char msg[sizeof p->msg];
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);        /* p->msg may be an argument */
	va_end(ap);
	memcpy(p->msg, msg, sizeof msg);
	if (p->state == PS_RUNNING || p->driving)
		station_safe(d, p, st == PS_ABORTED ? "calibration aborted" : "calibration step over");
	p->driving = false;
	p->state = st;
	(st == PS_FAILED ? log_warn : log_info)("calibration %s: %s: %s", p->def->name,
	    pstate_names[st], p->msg);
	daemon_notify(d, "calibration", json_pack("{s:i, s:s, s:s, s:s}", "session", p->id,
	    "procedure", p->def->name, "state", pstate_names[st], "message", p->msg));
}

/* --- parameters ------------------------------------------------------------ */

static bool
num(struct api_call *c, const char *key, double def, double *out)
{
	json_t *v = c->params ? json_object_get(c->params, key) : NULL;
	if (!v) {
		if (isnan(def)) {
			api_fail(c, API_ERR_INVALID_PARAMS, "'%s' is required", key);
			return false;
		}
		*out = def;
		return true;
	}
	if (!json_is_number(v) || !isfinite(json_number_value(v))) {
		api_fail(c, API_ERR_INVALID_PARAMS, "'%s' must be a number", key);
		return false;
	}
	*out = json_number_value(v);
	return true;
}

static const char *
str(struct api_call *c, const char *key)
{
	return json_string_value(c->params ? json_object_get(c->params, key) : NULL);
}

/* The technician named in the request, else the caller's login name. */
static void
technician(struct api_call *c, char *out, size_t len)
{
	const char *t = str(c, "technician");
	if (t && *t) {
		snprintf(out, len, "%s", t);
		return;
	}
	if (api_acting_label(c, out, len))
		return;
	struct passwd *pw = getpwuid(c->uid);
	snprintf(out, len, "%s", pw ? pw->pw_name : "unknown");
}

/* The session named by "session", active; NULL after failing the call. */
static struct proc *
session(struct api_call *c)
{
	struct proc *p = P(D(c));
	json_t *v = c->params ? json_object_get(c->params, "session") : NULL;
	if (!json_is_integer(v)) {
		api_fail(c, API_ERR_INVALID_PARAMS, "'session' (the number calibrate.begin gave) is "
		    "required");
		return NULL;
	}
	if (!p || p->id != json_integer_value(v)) {
		api_fail(c, API_ERR_NOT_FOUND, "calibration session %lld is not in progress",
		    (long long)json_integer_value(v));
		return NULL;
	}
	p->touched = now_mono();
	return p;
}

static double
settle_time(const struct daemon *d)
{
	double t = 0.25;
	for (size_t i = 0; i < d->cfg->n_buses; i++)
		t = fmax(t, d->cfg->buses[i].poll_interval);
	return 2 * t + 0.1;
}

/* --- device values ---------------------------------------------------------- */

/* A value of the station's device: a tank's generator, a bath's rectifier. */
static bool
device_value(const struct proc *p, const char *reg, double *v)
{
	struct mb_bus *bus;
	int dev;
	return station_device(p->st, 0, &bus, &dev) && mb_bus_device_up(bus, dev) &&
	    mb_bus_value(bus, dev, reg, v);
}

static struct calib_line *
line_of(struct daemon *d, const struct proc *p)
{
	struct corrections *c = &d->corr[p->st->index];
	if (strcmp(p->def->name, "tank.temperature") == 0)
		return &c->tank_temp;
	if (strcmp(p->def->name, "bath.voltage") == 0)
		return &c->rect_v;
	return &c->rect_i;
}

static json_t *
proc_json(struct daemon *d, const struct proc *p)
{
	json_t *o = json_pack("{s:i, s:s, s:s, s:s, s:s}", "session", p->id, "procedure",
	    p->def->name, "station", p->st->name, "state", pstate_names[p->state], "message",
	    p->msg);
	if (p->def->type == P_TWO_POINT) {
		json_t *pts = json_array();
		for (int i = 0; i < p->n; i++)
			json_array_append_new(pts, json_pack("{s:f, s:f}", "device", p->dev[i],
			    "reference", p->ref[i]));
		json_object_set_new(o, "points", pts);
		json_object_set_new(o, "unit", json_string(p->def->unit));
		json_object_set_new(o, "driving", json_boolean(p->driving));
	}
	if (p->def->type == P_SWEEP) {
		json_t *pts = json_array();
		for (size_t i = 0; i < p->i && i < p->npts; i++)
			json_array_append_new(pts, json_pack("[f, f]", p->khz[i], p->cur[i]));
		json_object_set_new(o, "sweep", pts);
		json_object_set_new(o, "pass", json_integer(p->pass));
		if (p->peak_khz > 0)
			json_object_set_new(o, "resonance", json_pack("{s:f, s:f}", "frequency",
			    p->peak_khz, "current", p->peak_ma));
	}
	if (p->def->type == P_POWER && p->p_out > 0)
		json_object_set_new(o, "power", json_pack("{s:f, s:f, s:f}", "watts", p->p_out,
		    "current", p->p_ma, "set", p->power));
	if (p->after)
		json_object_set_new(o, "after", json_incref(p->after));
	if (p->before)
		json_object_set_new(o, "before", json_incref(p->before));
	if (p->record > 0)
		json_object_set_new(o, "record", json_integer(p->record));
	(void)d;
	return o;
}

/* Stores the committed record and marks the procedure recorded. */
static int
record(struct daemon *d, struct proc *p, const char *note, char *err, size_t errlen)
{
	char *before = json_dumps(p->before ? p->before : json_object(), JSON_COMPACT);
	char *after = json_dumps(p->after ? p->after : json_object(), JSON_COMPACT);
	struct calib_record r = { p->st->name, p->def->name, p->def->kind, p->tech,
		*p->instr ? p->instr : NULL, before, after, note, NULL };
	int64_t id = calib_store_add(d->store, &r, err, errlen);
	free(before);
	free(after);
	if (id < 0)
		return -1;
	calib_changed(d);
	p->record = id;
	return 0;
}

/* --- begin ------------------------------------------------------------------- */

static int
begin_two_point(struct daemon *d, struct proc *p, char *err, size_t len)
{
	double v;
	(void)d;
	if (!device_value(p, p->def->reg, &v)) {
		snprintf(err, len, "the %s of %s is not connected", p->st->kind == KIND_TANK ?
		    "ultrasonic generator" : "rectifier", p->st->name);
		return -1;
	}
	if (strcmp(p->def->station, "bath") == 0)
		snprintf(p->msg, sizeof p->msg, "connect the reference meter; set each test %s with "
		    "calibrate.drive, then enter the meter's reading", strcmp(p->def->reg, "v_out") == 0
		    ? "voltage" : "current");
	else
		snprintf(p->msg, sizeof p->msg, "put the reference thermometer in the tank beside the "
		    "probe; enter its reading at two temperatures at least %g C apart", p->def->lim.min_span);
	return 0;
}

static int
tank_run(struct daemon *d, struct proc *p, double power, double khz, double seconds, char *err,
    size_t len)
{
	struct err se;
	double t;
	/* No heating: the setpoint is the water's own temperature. */
	if (!device_value(p, "temperature", &t))
		t = 20;
	t = corrections_reading(&d->corr[p->st->index], "tank-generator", "temperature", t);
	t = fmin(fmax(t, 20), p->st->cfg->tank.max_temperature);
	seconds = fmin(seconds, p->st->cfg->tank.max_cycle);
	if (station_tank_start(p->st, &calib_dummy, 1, seconds, power, khz, t, &se) < 0) {
		station_code = se.code;
		snprintf(err, len, "%s", se.msg);
		return -1;
	}
	return 0;
}

static int
tank_frequency(struct proc *p, double khz, char *err, size_t len)
{
	/* The station is running (its checks passed); only the frequency
	 * moves, and the generator's own sweep is off so that it stays put. */
	struct mb_write w[] = { { "sweep", 0 }, { "frequency_set", khz } };
	struct mb_bus *bus;
	int dev;
	if (!station_device(p->st, 0, &bus, &dev)) {
		snprintf(err, len, "%s has no generator", p->st->name);
		return -1;
	}
	return mb_bus_write(bus, dev, w, 2, false, err, len) < 0 ? -1 : 0;
}

static int
begin_sweep(struct daemon *d, struct api_call *c, struct proc *p, char *err, size_t len)
{
	double from, to, step, power;
	if (!num(c, "from", 35, &from) || !num(c, "to", 45, &to) || !num(c, "step", 0.5, &step) ||
	    !num(c, "power", 50, &power))
		return -2;
	if (from < 20 || to > 80 || to <= from || step < 0.1 || (to - from) / step + 1 > MAX_SWEEP) {
		snprintf(err, len, "a sweep runs within 20-80 kHz, upwards, in steps of 0.1 kHz or "
		    "more, at most %d points", MAX_SWEEP);
		return -1;
	}
	p->f_lo = from;
	p->f_step = step;
	p->npts = (size_t)floor((to - from) / step + 1e-9) + 1;
	p->power = power;
	p->pass = 1;
	double secs = fmin(p->st->cfg->tank.max_cycle, 300);
	if (tank_run(d, p, power, from, secs, err, len) < 0)
		return -1;
	p->state = PS_RUNNING;
	snprintf(p->msg, sizeof p->msg, "sweeping %g-%g kHz in %g kHz steps", from, to, step);
	return 0;
}

static int
begin_power(struct daemon *d, struct api_call *c, struct proc *p, char *err, size_t len)
{
	double power, rated;
	if (!num(c, "power", 50, &power) || !num(c, "rated", 120, &rated))
		return -2;
	if (rated <= 0 || rated > 5000) {
		snprintf(err, len, "the generator's rated power must be 1-5000 W");
		return -1;
	}
	p->power = power;
	p->rated = rated;
	p->peak_khz = corrections_tank_frequency(&d->corr[p->st->index], p->st->cfg->tank.frequency);
	if (tank_run(d, p, power, p->peak_khz, 30, err, len) < 0)
		return -1;
	if (tank_frequency(p, p->peak_khz, err, len) < 0) {
		station_stop(p->st, err);
		return -1;
	}
	p->t_start = now_mono();
	p->state = PS_RUNNING;
	snprintf(p->msg, sizeof p->msg, "running at %.2f kHz, %g %%", p->peak_khz, power);
	return 0;
}

static int
laser_program(struct daemon *d, struct proc *p, char *gcode, char *err, size_t len)
{
	struct err se;
	if (!gcode)
		return -1;
	/* A calibration's program is the daemon's own: nobody resumes it. */
	(void)d;
	int rc = station_laser_stream(p->st, gcode, LASER_OWNER_DAEMON, &se);
	free(gcode);
	if (rc < 0) {
		station_code = se.code;
		snprintf(err, len, "%s", se.msg);
		return -1;
	}
	p->state = PS_RUNNING;
	return 0;
}

static int
power_s(const struct proc *p, double pct)
{
	return (int)lround(pct / 100.0 * p->st->cfg->laser.max_power);
}

static bool
read_list(struct api_call *c, const char *key, double *out, size_t *n)
{
	json_t *a = c->params ? json_object_get(c->params, key) : NULL;
	if (!a)
		return true;
	if (!json_is_array(a) || json_array_size(a) < 1 || json_array_size(a) > CALIB_GRID_MAX) {
		api_fail(c, API_ERR_INVALID_PARAMS, "'%s' must be a list of 1 to %d numbers", key,
		    CALIB_GRID_MAX);
		return false;
	}
	for (size_t i = 0; i < json_array_size(a); i++) {
		if (!json_is_number(json_array_get(a, i))) {
			api_fail(c, API_ERR_INVALID_PARAMS, "'%s' must be a list of numbers", key);
			return false;
		}
		out[i] = json_number_value(json_array_get(a, i));
	}
	*n = json_array_size(a);
	return true;
}

static int
begin_grid(struct daemon *d, struct api_call *c, struct proc *p, char *err, size_t len)
{
	struct calib_grid g = { 0 };
	double steps;
	const char *metal = str(c, "metal");
	if (!metal) {
		api_fail(c, API_ERR_INVALID_PARAMS, "'metal' (of the test plate) is required");
		return -2;
	}
	if (!num(c, "plate_w", 30, &g.plate_w) || !num(c, "plate_h", 30, &g.plate_h) ||
	    !num(c, "x", 0, &g.origin_x) || !num(c, "y", 0, &g.origin_y) ||
	    !num(c, "steps", 5, &steps))
		return -2;
	if (calib_grid_defaults(metal, (size_t)fmax(2, fmin(CALIB_GRID_MAX, steps)), &g) < 0) {
		snprintf(err, len, "no test grid is known for the metal '%s' (silver, yellow_gold, "
		    "rose_gold, white_gold, platinum, steel)", metal);
		return -1;
	}
	if (!read_list(c, "powers", g.powers, &g.n_powers) ||
	    !read_list(c, "speeds", g.speeds, &g.n_speeds))
		return -2;
	g.max_power = p->st->cfg->laser.max_power;
	g.max_feed = p->st->cfg->laser.max_feed;
	g.hatch = fmax(0.05, p->st->cfg->laser.resolution * 10);
	if (g.origin_x < 0 || g.origin_y < 0 || g.origin_x + g.plate_w > p->st->cfg->laser.work_x ||
	    g.origin_y + g.plate_h > p->st->cfg->laser.work_y) {
		snprintf(err, len, "the plate at %g,%g of %g x %g mm goes outside the work area "
		    "(%g x %g mm)", g.origin_x, g.origin_y, g.plate_w, g.plate_h,
		    p->st->cfg->laser.work_x, p->st->cfg->laser.work_y);
		return -1;
	}
	json_t *pw = json_array(), *sp = json_array();
	for (size_t i = 0; i < g.n_powers; i++)
		json_array_append_new(pw, json_real(g.powers[i]));
	for (size_t i = 0; i < g.n_speeds; i++)
		json_array_append_new(sp, json_real(g.speeds[i]));
	p->params = json_pack("{s:s, s:f, s:f, s:o, s:o}", "metal", metal, "plate_w", g.plate_w,
	    "plate_h", g.plate_h, "powers", pw, "speeds", sp);
	char *gcode = calib_grid_gcode(&g, err, len);
	if (json_is_true(json_object_get(c->params, "preview"))) {
		if (!gcode)
			return -1;
		json_object_set_new(p->params, "gcode", json_string(gcode));
		free(gcode);
		return 1;
	}
	if (laser_program(d, p, gcode, err, len) < 0)
		return -1;
	snprintf(p->msg, sizeof p->msg, "engraving a %zu x %zu test grid on %s", g.n_powers,
	    g.n_speeds, metal);
	return 0;
}

static int
begin_focus(struct daemon *d, struct api_call *c, struct proc *p, char *err, size_t len)
{
	double x, y, dz, n, power, feed;
	if (!num(c, "x", 5, &x) || !num(c, "y", 5, &y) || !num(c, "dz", 0.5, &dz) ||
	    !num(c, "steps", 4, &n) || !num(c, "power", 50, &power) || !num(c, "feed", 300, &feed))
		return -2;
	if (power <= 0 || power > 100 || feed <= 0 || feed > p->st->cfg->laser.max_feed) {
		snprintf(err, len, "power must be 1-100 %% and feed 1-%g mm/min", p->st->cfg->laser.max_feed);
		return -1;
	}
	struct grbl *g = station_laser_grbl(p->st);
	double z0 = g ? grbl_last_status(g)->wpos[2] : 0;
	p->params = json_pack("{s:f, s:f, s:i, s:f}", "z0", z0, "dz", dz, "steps", (int)n,
	    "power", power);
	if (laser_program(d, p, calib_focus_gcode(x, y, 10, z0, dz, (int)n, power_s(p, power), feed,
	    err, len), err, len) < 0)
		return -1;
	snprintf(p->msg, sizeof p->msg, "engraving %d lines from Z %+.2f to %+.2f mm; then enter "
	    "the number of the sharpest", 2 * (int)n + 1, z0 - n * dz, z0 + n * dz);
	return 0;
}

static int
begin_scale(struct daemon *d, struct api_call *c, struct proc *p, char *err, size_t len)
{
	double side, x, y, power, feed;
	if (!num(c, "size", 20, &side) || !num(c, "x", 5, &x) || !num(c, "y", 5, &y) ||
	    !num(c, "power", 50, &power) || !num(c, "feed", 600, &feed))
		return -2;
	if (x < 0 || y < 0 || x + side > p->st->cfg->laser.work_x || y + side > p->st->cfg->laser.work_y) {
		snprintf(err, len, "a %g mm square at %g,%g goes outside the work area", side, x, y);
		return -1;
	}
	struct grbl *g = station_laser_grbl(p->st);
	if (!g || !isfinite(grbl_setting(g, 100)) || !isfinite(grbl_setting(g, 101))) {
		snprintf(err, len, "the laser's settings $100 and $101 are not known (is it connected?)");
		return -1;
	}
	if (power <= 0 || power > 100 || feed <= 0 || feed > p->st->cfg->laser.max_feed) {
		snprintf(err, len, "power must be 1-100 %% and feed 1-%g mm/min", p->st->cfg->laser.max_feed);
		return -1;
	}
	p->square = side;
	p->params = json_pack("{s:f, s:f, s:f}", "size", side, "x", x, "y", y);
	if (laser_program(d, p, calib_square_gcode(x, y, side, power_s(p, power), feed, err, len),
	    err, len) < 0)
		return -1;
	snprintf(p->msg, sizeof p->msg, "engraving a %g mm reference square; then measure its "
	    "sides in X and Y", side);
	return 0;
}

/*
 * The rotary's travel (docs/engraving.md, Rotary): a line of known length
 * burned around a gauge cylinder of known diameter, measured, and the
 * rotary's steps per unit ($101 while it is mounted) corrected so that a
 * turn is travel_per_turn. The program is for the rotary, so the station
 * runs it only with the rotary mounted.
 */
static int
begin_rotary(struct daemon *d, struct api_call *c, struct proc *p, char *err, size_t len)
{
	const struct cfg_rotary *r = &p->st->cfg->laser.rotary;
	double diameter, length, x, power, feed;
	if (r->kind == ROTARY_NONE) {
		snprintf(err, len, "the laser%s has no rotary (rotary: in its configuration)",
		    p->st->suffix);
		return -1;
	}
	if (!num(c, "diameter", NAN, &diameter))
		return -2;
	if (!(diameter >= r->min_diameter && diameter <= r->max_diameter)) {
		snprintf(err, len, "the gauge's diameter (mm) is needed, within what the rotary holds "
		    "(%g to %g mm)", r->min_diameter, r->max_diameter);
		return -1;
	}
	if (!num(c, "length", fmin(30, 0.8 * M_PI * diameter), &length) || !num(c, "x", 2, &x) ||
	    !num(c, "power", 50, &power) || !num(c, "feed", 300, &feed))
		return -2;
	if (!(length > 1 && length <= 0.95 * M_PI * diameter) || x < 0 ||
	    x > p->st->cfg->laser.work_x) {
		snprintf(err, len, "the line is 1 mm to %.1f mm around a %g mm gauge, at X 0 to %g mm",
		    0.95 * M_PI * diameter, diameter, p->st->cfg->laser.work_x);
		return -1;
	}
	if (power <= 0 || power > 100 || feed <= 0 || feed > p->st->cfg->laser.max_feed) {
		snprintf(err, len, "power must be 1-100 %% and feed 1-%g mm/min",
		    p->st->cfg->laser.max_feed);
		return -1;
	}
	struct grbl *g = station_laser_grbl(p->st);
	if (!g || !isfinite(grbl_setting(g, r->mounted_setting))) {
		snprintf(err, len, "the laser's setting $%d is not known (is it connected?)",
		    r->mounted_setting);
		return -1;
	}
	double drive = r->kind == ROTARY_ROLLERS ? r->roller_diameter : diameter;
	double k = r->travel_per_turn / (M_PI * drive);
	p->square = length;
	p->params = json_pack("{s:f, s:f, s:f, s:f}", "diameter", diameter, "length", length,
	    "x", x, "y_per_mm", k);
	char header[80];
	engrave_rotary_header(header, sizeof header, r->kind, diameter, k);
	char *gcode = xasprintf("(%s)\nG21G90\nG0X%.3fY0\nM4S0\nG1Y%.3fF%.0fS%d\nM5\n", header, x,
	    length * k, feed * k, power_s(p, power));
	if (laser_program(d, p, gcode, err, len) < 0)
		return -1;
	snprintf(p->msg, sizeof p->msg, "burning a %g mm line around the %g mm gauge; then measure "
	    "it", length, diameter);
	return 0;
}

static json_t *
settings_json(struct grbl *g)
{
	json_t *o = json_object();
	for (int i = 0; i < 256 && g; i++) {
		double v = grbl_setting(g, i);
		if (isfinite(v)) {
			char k[16];
			snprintf(k, sizeof k, "%d", i);
			json_object_set_new(o, k, json_real(v));
		}
	}
	return o;
}

static bool
same_setting(double a, double b)
{
	return fabs(a - b) <= 1e-6 * fmax(1, fabs(a)) + 5e-4;
}

/* The settings of backup `id` that differ from the laser's now. */
static json_t *
backup_diff(struct daemon *d, struct station *st, json_int_t id, char *err, size_t len)
{
	struct grbl *g = station_laser_grbl(st);
	json_t *rec = calib_store_get(d->store, id);
	json_t *set = rec ? json_object_get(json_object_get(rec, "after"), "settings") : NULL;
	if (!rec || strcmp(json_string_value(json_object_get(rec, "procedure")), "laser.backup") ||
	    !json_is_object(set) || !g) {
		snprintf(err, len, "record %lld is not a backup of a laser's settings", (long long)id);
		json_decref(rec);
		return NULL;
	}
	json_t *out = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(set, k, v) {
		double now = grbl_setting(g, atoi(k));
		if (!isfinite(now) || !same_setting(now, json_number_value(v)))
			json_array_append_new(out, json_pack("{s:i, s:o, s:f}", "setting", atoi(k),
			    "now", isfinite(now) ? json_real(now) : json_null(), "backup",
			    json_number_value(v)));
	}
	json_decref(rec);
	return out;
}

static int
start_writes(struct daemon *d, struct proc *p, char *err, size_t len);

static int
begin_restore(struct daemon *d, struct api_call *c, struct proc *p, char *err, size_t len)
{
	json_t *id = c->params ? json_object_get(c->params, "backup") : NULL;
	if (!json_is_integer(id)) {
		api_fail(c, API_ERR_INVALID_PARAMS, "'backup' (a record number) is required");
		return -2;
	}
	if (!connected(p->st)) {
		snprintf(err, len, "the laser%s is not connected", p->st->suffix);
		return -1;
	}
	json_t *diff = backup_diff(d, p->st, json_integer_value(id), err, len);
	if (!diff)
		return -1;
	if (json_array_size(diff) > MAX_WRITES) {
		snprintf(err, len, "%zu settings differ from backup %lld; at most %d are restored "
		    "in one go", json_array_size(diff),
		    (long long)json_integer_value(id), MAX_WRITES);
		json_decref(diff);
		return -1;
	}
	if (json_array_size(diff) == 0) {
		snprintf(err, len, "nothing differs from backup %lld", (long long)json_integer_value(id));
		json_decref(diff);
		return -1;
	}
	p->before = json_object();
	p->after = json_pack("{s:I}", "backup", json_integer_value(id));
	size_t i;
	json_t *e;
	json_array_foreach(diff, i, e) {
		int n = (int)json_integer_value(json_object_get(e, "setting"));
		double now = json_number_value(json_object_get(e, "now"));
		double to = json_number_value(json_object_get(e, "backup"));
		char k[16];
		snprintf(k, sizeof k, "%d", n);
		json_object_set_new(p->before, k, json_real(now));
		json_object_set_new(p->after, k, json_real(to));
		p->w[p->nw++] = (struct pwrite){ false, n, to, now, 0, 0, false };
	}
	json_decref(diff);
	return start_writes(d, p, err, len);
}

static json_t *
api_calib_begin(struct api_call *c, void *arg)
{
	(void)arg;
	struct daemon *d = D(c);
	const char *name = str(c, "procedure");
	const struct procdef *def = NULL;
	char err[sizeof ((struct err *)0)->msg] = "";
	for (size_t i = 0; name && i < ARRAY_LEN(procs); i++)
		if (strcmp(name, procs[i].name) == 0)
			def = &procs[i];
	if (!def) {
		struct buf names;
		buf_init(&names);
		for (size_t i = 0; i < ARRAY_LEN(procs); i++)
			buf_printf(&names, "%s%s", i ? ", " : "", procs[i].name);
		api_fail(c, API_ERR_INVALID_PARAMS, "'procedure' must be one of %s", names.data);
		buf_free(&names);
		return NULL;
	}
	if (active(P(d)))
		return api_fail(c, API_ERR_BUSY, "calibration %d (%s) is in progress: finish or abort "
		    "it first", P(d)->id, P(d)->def->name);
	struct station *st = station_param(c, (enum cfg_kind)cfg_kind_lookup(def->station));
	if (!st)
		return NULL;
	struct proc *p = xcalloc(1, sizeof *p);
	p->def = def;
	p->st = st;
	p->id = next_id++;
	p->touched = now_mono();
	technician(c, p->tech, sizeof p->tech);
	const char *instr = str(c, "instrument");
	snprintf(p->instr, sizeof p->instr, "%s", instr ? instr : "");
	if (def->type == P_TWO_POINT && !*p->instr) {
		free(p);
		return api_fail(c, API_ERR_INVALID_PARAMS, "'instrument' (the reference instrument, "
		    "e.g. its make and serial number) is required");
	}
	int rc;
	station_code = 0;
	switch (def->type) {
	case P_TWO_POINT: rc = begin_two_point(d, p, err, sizeof err); break;
	case P_SWEEP: rc = begin_sweep(d, c, p, err, sizeof err); break;
	case P_POWER: rc = begin_power(d, c, p, err, sizeof err); break;
	case P_GRID: rc = begin_grid(d, c, p, err, sizeof err); break;
	case P_FOCUS: rc = begin_focus(d, c, p, err, sizeof err); break;
	case P_SCALE: rc = begin_scale(d, c, p, err, sizeof err); break;
	case P_ROTARY: rc = begin_rotary(d, c, p, err, sizeof err); break;
	case P_RESTORE: rc = begin_restore(d, c, p, err, sizeof err); break;
	case P_ORIGIN:
		rc = connected(st) ? 0 : -1;
		if (rc < 0)
			snprintf(err, sizeof err, "the laser%s is not connected", st->suffix);
		else
			snprintf(p->msg, sizeof p->msg, "jog the head to the work origin (laser.jog), "
			    "then commit");
		break;
	default: rc = -1; break;
	}
	if (rc == 1) {          /* a preview only: nothing runs */
		json_t *out = json_incref(p->params);
		proc_free(p);
		return out;
	}
	if (rc < 0) {
		proc_free(p);
		if (rc == -2)
			return NULL;
		/* A station's refusal keeps the station's own code. */
		return api_fail(c, station_code ? (enum api_error)station_code :
		    strstr(err, "not connected") ? API_ERR_UNAVAILABLE : API_ERR_INVALID, "%s", err);
	}
	proc_free(P(d));
	d->calib->proc = p;
	run_procedure(d);
	log_info("calibration %d: %s of %s by %s", p->id, def->name, st->name, p->tech);
	return proc_json(d, p);
}

/* --- points -------------------------------------------------------------------- */

static json_t *
api_calib_drive(struct api_call *c, void *arg)
{
	(void)arg;
	struct daemon *d = D(c);
	struct proc *p = session(c);
	double v;
	struct err e;
	if (!p)
		return NULL;
	if (p->def->type != P_TWO_POINT || strcmp(p->def->station, "bath") || p->state != PS_READY)
		return api_fail(c, API_ERR_INVALID, "calibrate.drive is for the bath's voltage and "
		    "current calibrations, while they wait for a point");
	if (!num(c, "value", NAN, &v))
		return NULL;
	if (p->n >= 2)
		return api_fail(c, API_ERR_INVALID, "both points are taken: commit or abort");
	bool volts = strcmp(p->def->reg, "v_out") == 0;
	if (p->driving)
		station_stop(p->st, "next calibration point");
	p->driving = false;
	/* Voltage: the test voltage with the current limit at its maximum;
	 * current: the test current with the voltage limit at its maximum,
	 * so that the rectifier regulates the quantity being calibrated. */
	const struct cfg_bath *cb = &p->st->cfg->bath;
	if (station_bath_drive(p->st, volts ? v : cb->max_voltage, volts ? cb->max_current : v, 120,
	    &e) < 0)
		return api_fail(c, e.code, "%s", e.msg);
	p->driving = true;
	p->drive_value = v;
	p->drive_since = now_mono();
	snprintf(p->msg, sizeof p->msg, "the rectifier is at %g %s: enter the meter's reading",
	    v, p->def->unit);
	return proc_json(d, p);
}

static json_t *
api_calib_point(struct api_call *c, void *arg)
{
	(void)arg;
	struct daemon *d = D(c);
	struct proc *p = session(c);
	double ref, dev;
	if (!p)
		return NULL;
	if (p->def->type != P_TWO_POINT || p->state != PS_READY)
		return api_fail(c, API_ERR_INVALID, "%s takes no reference points now", p->def->name);
	if (!num(c, "reference", NAN, &ref))
		return NULL;
	if (p->n >= 2)
		return api_fail(c, API_ERR_INVALID, "both points are taken: commit or abort");
	bool bath = p->st->kind == KIND_BATH;
	if (bath && !p->driving)
		return api_fail(c, API_ERR_INVALID, "set the rectifier to a test value first "
		    "(calibrate.drive)");
	if (bath && p->st->state != ST_RUNNING)
		return api_fail(c, API_ERR_INTERLOCK, "the rectifier stopped before the reading "
		    "(%s): drive it again", p->st->detail);
	if (bath && now_mono() - p->drive_since < settle_time(d))
		return api_fail(c, API_ERR_BUSY, "the output is still settling: take the reading "
		    "again in a second");
	if (!device_value(p, p->def->reg, &dev))
		return api_fail(c, API_ERR_UNAVAILABLE, "the device's %s cannot be read now",
		    p->def->reg);
	/* A reading far from what the device says is a wrong unit or a probe
	 * out of the water: refused now, before it spoils the calibration. */
	double tol = p->def->lim.max_offset + p->def->lim.max_gain_error * fabs(dev);
	if (fabs(ref - dev) > tol)
		return api_fail(c, API_ERR_INVALID, "the reference reads %g %s where the device says "
		    "%.3f %s: more than %.3g apart; check the instrument, its unit and its placing",
		    ref, p->def->unit, dev, p->def->unit, tol);
	if (p->n == 1 && fabs(dev - p->dev[0]) < p->def->lim.min_span)
		return api_fail(c, API_ERR_INVALID, "this point is %.3g %s from the first; take it at "
		    "least %g %s away", fabs(dev - p->dev[0]), p->def->unit, p->def->lim.min_span,
		    p->def->unit);
	p->dev[p->n] = dev;
	p->ref[p->n] = ref;
	p->drive[p->n] = p->drive_value;
	p->n++;
	if (bath) {
		station_stop(p->st, "calibration point taken");
		p->driving = false;
	}
	snprintf(p->msg, sizeof p->msg, p->n < 2 ? "point 1 taken; now the second" :
	    "both points taken: commit to apply");
	return proc_json(d, p);
}

static json_t *
api_calib_status(struct api_call *c, void *arg)
{
	(void)arg;
	struct daemon *d = D(c);
	if (!c->params || !json_object_get(c->params, "session")) {
		if (!P(d))
			return json_pack("{s:s}", "state", "none");
		return proc_json(d, P(d));
	}
	struct proc *p = session(c);
	return p ? proc_json(d, p) : NULL;
}

/* --- settings writes (GRBL) -------------------------------------------------------- */

static int
send_write(struct daemon *d, struct proc *p, char *err, size_t len)
{
	(void)d;
	struct pwrite *w = &p->w[p->wi];
	double v = p->rollback ? w->old : w->value;
	double y = p->rollback ? w->old_y : w->y;
	p->t_w = now_mono();
	p->answer = 0;
	if (w->gcode) {
		char line[80];
		snprintf(line, sizeof line, "G10L2P1X%.3fY%.3f", v, y);
		return grbl_command(station_laser_grbl(p->st), line, err, len);
	}
	return grbl_write_setting(station_laser_grbl(p->st), w->num, v, err, len);
}

static int
start_writes(struct daemon *d, struct proc *p, char *err, size_t len)
{
	p->wi = 0;
	p->rollback = false;
	if (send_write(d, p, err, len) < 0)
		return -1;
	p->state = PS_WRITING;
	snprintf(p->msg, sizeof p->msg, "writing %d setting%s one at a time, each read back", p->nw,
	    p->nw > 1 ? "s" : "");
	return 0;
}

/* One write is settled (verified or not): the next, the rollback, or the end. */
static void
write_settled(struct daemon *d, struct proc *p, bool ok, const char *why)
{
	char err[300];
	if (p->rollback) {
		/* Going back over what was written, whatever each answer. */
		if (!ok)
			log_err("calibration %s: could not put back $%d: %s", p->def->name,
			    p->w[p->wi].num, why);
		while (--p->wi >= 0 && !p->w[p->wi].done)
			;
		if (p->wi < 0 || send_write(d, p, err, sizeof err) < 0) {
			finish(d, p, PS_FAILED, "%s; what was written before was put back", p->msg);
			return;
		}
		return;
	}
	if (!ok) {
		snprintf(p->msg, sizeof p->msg, "writing %s failed: %s", p->w[p->wi].gcode ? "the work "
		    "offset" : "a setting", why);
		p->rollback = true;
		p->w[p->wi].done = true;        /* it may have half-taken: put it back too */
		if (send_write(d, p, err, sizeof err) < 0)
			finish(d, p, PS_FAILED, "%s; putting back failed: %s", p->msg, err);
		return;
	}
	p->w[p->wi].done = true;
	if (++p->wi < p->nw) {
		if (send_write(d, p, err, sizeof err) < 0)
			write_settled(d, p, false, err);
		return;
	}
	if (record(d, p, NULL, err, sizeof err) < 0) {
		/* Written but not recorded: put back, so that the machine and the
		 * journal agree. */
		snprintf(p->msg, sizeof p->msg, "%s", err);
		p->rollback = true;
		p->wi = p->nw;
		write_settled(d, p, true, "");
		return;
	}
	finish(d, p, PS_RECORDED, "written, read back and recorded (record %lld)",
	    (long long)p->record);
}

/* Called from inside the driver, which is not done with the write yet:
 * the verdict is acted on at the next tick. */
static void
on_laser_setting(struct daemon *d, const struct station *st, int num_, double value,
    bool verified, void *ctx)
{
	struct proc *p = P(d);
	(void)ctx;
	if (!p || p->st != st || p->state != PS_WRITING || p->w[p->wi].gcode || p->w[p->wi].num != num_)
		return;
	snprintf(p->answer_why, sizeof p->answer_why, "$%d=%g was %s", num_, value, verified ?
	    "verified" : "refused or read back different");
	p->answer = verified ? 1 : -1;
}

/* --- commit ----------------------------------------------------------------------- */

static json_t *
commit_two_point(struct api_call *c, struct daemon *d, struct proc *p)
{
	struct calib_line l, *cur = line_of(d, p);
	char err[300];
	if (p->n < 2)
		return api_fail(c, API_ERR_INVALID, "%d of 2 points taken: take both first", p->n);
	if (calib_two_point(p->dev[0], p->ref[0], p->dev[1], p->ref[1], &p->def->lim, &l, err,
	    sizeof err) < 0) {
		finish(d, p, PS_FAILED, "refused, nothing changed: %s", err);
		return api_fail(c, API_ERR_INVALID, "%s", p->msg);
	}
	p->before = json_pack("{s:f, s:f}", "gain", cur->gain, "offset", cur->offset);
	json_t *pts = json_array();
	for (int i = 0; i < 2; i++)
		json_array_append_new(pts, json_pack("{s:f, s:f}", "device", p->dev[i], "reference",
		    p->ref[i]));
	p->after = json_pack("{s:f, s:f, s:s, s:o}", "gain", l.gain, "offset", l.offset, "unit",
	    p->def->unit, "points", pts);
	if (record(d, p, NULL, err, sizeof err) < 0) {
		finish(d, p, PS_FAILED, "not recorded, nothing changed: %s", err);
		return api_fail(c, API_ERR_STORE, "%s", p->msg);
	}
	*cur = l;       /* recorded first: applied only once it is in the journal */
	finish(d, p, PS_RECORDED, "gain %.5f, offset %+.4f %s applied and recorded", l.gain,
	    l.offset, p->def->unit);
	return proc_json(d, p);
}

static json_t *
commit_plain(struct api_call *c, struct daemon *d, struct proc *p, json_t *before, json_t *after,
    const char *done)
{
	char err[300];
	p->before = before;
	p->after = after;
	if (record(d, p, NULL, err, sizeof err) < 0) {
		finish(d, p, PS_FAILED, "not recorded, nothing changed: %s", err);
		return api_fail(c, API_ERR_STORE, "%s", p->msg);
	}
	finish(d, p, PS_RECORDED, "%s (record %lld)", done, (long long)p->record);
	return proc_json(d, p);
}

static json_t *
api_calib_commit(struct api_call *c, void *arg)
{
	(void)arg;
	struct daemon *d = D(c);
	struct proc *p = session(c);
	char err[300];
	if (!p)
		return NULL;
	if (p->state != PS_READY)
		return api_fail(c, API_ERR_BUSY, "calibration %d is %s: %s", p->id,
		    pstate_names[p->state], p->msg);
	if ((p->def->type == P_SCALE || p->def->type == P_ROTARY || p->def->type == P_ORIGIN) &&
	    !connected(p->st))
		return api_fail(c, API_ERR_UNAVAILABLE, "the laser%s is not connected: nothing written",
		    p->st->suffix);
	struct corrections *corr = &d->corr[p->st->index];
	switch (p->def->type) {
	case P_TWO_POINT:
		return commit_two_point(c, d, p);
	case P_SWEEP: {
		if (p->peak_khz <= 0)
			return api_fail(c, API_ERR_INVALID, "the sweep has no result yet");
		json_t *before = json_pack("{s:f}", "frequency", corrections_tank_frequency(corr,
		    p->st->cfg->tank.frequency));
		json_t *pts = json_array();
		for (size_t i = 0; i < p->npts; i++)
			json_array_append_new(pts, json_pack("[f, f]", p->khz[i], p->cur[i]));
		double khz = round(p->peak_khz * 10) / 10;     /* the register's resolution */
		json_t *after = json_pack("{s:f, s:f, s:f, s:o}", "frequency", khz, "current",
		    p->peak_ma, "power", p->power, "fine_sweep", pts);
		json_t *out = commit_plain(c, d, p, before, after, "working frequency recorded");
		if (out)
			corr->tank_khz = khz;
		return out;
	}
	case P_POWER: {
		double expect = p->rated * p->power / 100;
		bool pass = p->p_out >= 0.85 * expect;
		char done[120];
		snprintf(done, sizeof done, "%s: %.0f W of %.0f W expected", pass ? "passed" :
		    "FAILED", p->p_out, expect);
		return commit_plain(c, d, p, json_object(), json_pack("{s:f, s:f, s:f, s:f, s:f, s:b}",
		    "frequency", p->peak_khz, "power_set", p->power, "watts", p->p_out, "expected",
		    expect, "current", p->p_ma, "pass", pass), done);
	}
	case P_GRID: {
		double pw, sp;
		if (!num(c, "power", NAN, &pw) || !num(c, "speed", NAN, &sp))
			return NULL;
		json_t *after = json_deep_copy(p->params);
		json_object_set_new(after, "chosen", json_pack("{s:f, s:f}", "power", pw, "speed", sp));
		return commit_plain(c, d, p, json_object(), after, "test grid and choice recorded");
	}
	case P_FOCUS: {
		double line;
		int n = (int)json_integer_value(json_object_get(p->params, "steps"));
		if (!num(c, "line", NAN, &line))
			return NULL;
		if (line < 0 || line > 2 * n || line != floor(line))
			return api_fail(c, API_ERR_INVALID, "the line number is 0 to %d, as engraved", 2 * n);
		double z = json_number_value(json_object_get(p->params, "z0")) +
		    (line - n) * json_number_value(json_object_get(p->params, "dz"));
		json_t *after = json_deep_copy(p->params);
		json_object_set_new(after, "line", json_integer((int)line));
		json_object_set_new(after, "focus_z", json_real(z));
		return commit_plain(c, d, p, json_pack("{s:f}", "focus_z",
		    json_number_value(json_object_get(p->params, "z0"))), after, "focus recorded");
	}
	case P_SCALE: {
		double mx, my, nx, ny;
		if (!num(c, "measured_x", NAN, &mx) || !num(c, "measured_y", NAN, &my))
			return NULL;
		struct grbl *g = station_laser_grbl(p->st);
		double sx = grbl_setting(g, 100), sy = grbl_setting(g, 101);
		if (calib_steps_per_mm(sx, p->square, mx, 0.2, &nx, err, sizeof err) < 0 ||
		    calib_steps_per_mm(sy, p->square, my, 0.2, &ny, err, sizeof err) < 0) {
			finish(d, p, PS_FAILED, "refused, nothing changed: %s", err);
			return api_fail(c, API_ERR_INVALID, "%s", p->msg);
		}
		nx = round(nx * 1000) / 1000;
		ny = round(ny * 1000) / 1000;
		p->before = json_pack("{s:f, s:f}", "100", sx, "101", sy);
		p->after = json_pack("{s:f, s:f, s:f, s:f, s:f}", "100", nx, "101", ny, "square",
		    p->square, "measured_x", mx, "measured_y", my);
		p->nw = 0;
		p->w[p->nw++] = (struct pwrite){ false, 100, nx, sx, 0, 0, false };
		p->w[p->nw++] = (struct pwrite){ false, 101, ny, sy, 0, 0, false };
		if (start_writes(d, p, err, sizeof err) < 0) {
			finish(d, p, PS_FAILED, "nothing written: %s", err);
			return api_fail(c, API_ERR_UNAVAILABLE, "%s", p->msg);
		}
		return proc_json(d, p);
	}
	case P_ROTARY: {
		const struct cfg_rotary *r = &p->st->cfg->laser.rotary;
		double measured, next;
		if (!num(c, "measured", NAN, &measured))
			return NULL;
		struct grbl *g = station_laser_grbl(p->st);
		double steps = grbl_setting(g, r->mounted_setting);
		/* Within 10 %: further would be another rotary, or a wrong
		 * measure, and the mounted value says which rotary is on. */
		if (calib_steps_per_mm(steps, p->square, measured, 0.1, &next, err, sizeof err) < 0) {
			finish(d, p, PS_FAILED, "refused, nothing changed: %s", err);
			return api_fail(c, API_ERR_INVALID, "%s", p->msg);
		}
		next = round(next * 1000) / 1000;
		char key[8];
		snprintf(key, sizeof key, "%d", r->mounted_setting);
		p->before = json_pack("{s:f}", key, steps);
		p->after = json_pack("{s:f, s:f, s:f, s:f}", key, next, "length", p->square,
		    "measured", measured, "diameter",
		    json_number_value(json_object_get(p->params, "diameter")));
		p->nw = 0;
		p->w[p->nw++] = (struct pwrite){ false, r->mounted_setting, next, steps, 0, 0, false };
		if (start_writes(d, p, err, sizeof err) < 0) {
			finish(d, p, PS_FAILED, "nothing written: %s", err);
			return api_fail(c, API_ERR_UNAVAILABLE, "%s", p->msg);
		}
		return proc_json(d, p);
	}
	case P_ORIGIN: {
		const struct grbl_status *st = grbl_last_status(station_laser_grbl(p->st));
		double x, y;
		if (!num(c, "x", st->mpos[0], &x) || !num(c, "y", st->mpos[1], &y))
			return NULL;
		if (fabs(x) > p->st->cfg->laser.work_x || fabs(y) > p->st->cfg->laser.work_y)
			return api_fail(c, API_ERR_INVALID, "an origin at %g,%g is outside the work area", x, y);
		p->before = json_pack("{s:f, s:f}", "x", st->wco[0], "y", st->wco[1]);
		p->after = json_pack("{s:f, s:f}", "x", x, "y", y);
		p->nw = 0;
		p->w[p->nw++] = (struct pwrite){ true, 0, x, st->wco[0], y, st->wco[1], false };
		if (start_writes(d, p, err, sizeof err) < 0) {
			finish(d, p, PS_FAILED, "nothing written: %s", err);
			return api_fail(c, API_ERR_UNAVAILABLE, "%s", p->msg);
		}
		return proc_json(d, p);
	}
	default:
		return api_fail(c, API_ERR_INVALID, "%s has nothing to commit", p->def->name);
	}
}

static json_t *
api_calib_abort(struct api_call *c, void *arg)
{
	(void)arg;
	struct daemon *d = D(c);
	struct proc *p = session(c);
	if (!p)
		return NULL;
	if (p->state == PS_WRITING)
		return api_fail(c, API_ERR_BUSY, "settings are being written; wait for the read-back "
		    "(an abort now would leave the laser half-set)");
	if (active(p))
		finish(d, p, PS_ABORTED, "aborted by %s: nothing changed", p->tech);
	return proc_json(d, p);
}

/* --- the tick: sweeps, power check, programs, write time-outs ------------------------- */

static void
sweep_tick(struct daemon *d, struct proc *p, double now)
{
	char err[300];
	if (p->st->state != ST_RUNNING) {
		finish(d, p, PS_FAILED, "the sweep was interrupted (%s): nothing changed",
		    p->st->detail);
		return;
	}
	double f = round((p->f_lo + (double)p->i * p->f_step) * 10) / 10;
	if (!p->written) {
		if (tank_frequency(p, f, err, sizeof err) < 0) {
			finish(d, p, PS_FAILED, "%s", err);
			return;
		}
		p->written = true;
		p->t_write = now;
		return;
	}
	double fv, ma;
	/* The frequency and the current come in one poll: once the read-back
	 * frequency is the new one, so is the current. */
	if (now - p->t_write >= settle_time(d) / 2 &&
	    device_value(p, "frequency", &fv) && fabs(fv - f) < 0.06 &&
	    device_value(p, "current", &ma)) {
		p->khz[p->i] = f;
		p->cur[p->i] = ma;
		p->i++;
		p->written = false;
	} else if (now - p->t_write > 5) {
		finish(d, p, PS_FAILED, "the generator did not move to %.1f kHz: nothing changed", f);
		return;
	}
	if (p->i < p->npts)
		return;
	double pk, pc;
	if (calib_resonance(p->khz, p->cur, p->npts, &pk, &pc, err, sizeof err) < 0) {
		finish(d, p, PS_FAILED, "no resonance found, nothing changed: %s", err);
		return;
	}
	if (p->pass == 1 && p->f_step > 0.1 + 1e-9) {
		/* A finer pass around the coarse peak. */
		double step = fmax(0.1, round(p->f_step / 5 * 10) / 10);
		p->f_lo = fmax(20, round((pk - 1.5 * p->f_step) * 10) / 10);
		p->npts = (size_t)floor(3 * p->f_step / step + 1e-9) + 1;
		p->f_step = step;
		p->i = 0;
		p->pass = 2;
		return;
	}
	p->peak_khz = pk;
	p->peak_ma = pc;
	station_stop(p->st, "frequency sweep complete");
	p->state = PS_READY;
	snprintf(p->msg, sizeof p->msg, "resonance at %.2f kHz (%.0f mA): commit to make it the "
	    "working frequency", pk, pc);
}

static void
power_tick(struct daemon *d, struct proc *p, double now)
{
	double w, ma;
	if (p->st->state != ST_RUNNING) {
		finish(d, p, PS_FAILED, "the power check was interrupted (%s)", p->st->detail);
		return;
	}
	if (now - p->t_start < 2 * settle_time(d))
		return;
	if (!device_value(p, "power_out", &w) || !device_value(p, "current", &ma)) {
		finish(d, p, PS_FAILED, "the generator's power cannot be read");
		return;
	}
	p->p_out = w;
	p->p_ma = ma;
	station_stop(p->st, "power check complete");
	p->state = PS_READY;
	snprintf(p->msg, sizeof p->msg, "%.0f W and %.0f mA at %g %%: commit to record the check",
	    w, ma, p->power);
}

static void
laser_tick(struct daemon *d, struct proc *p)
{
	if (p->st->state == ST_RUNNING)
		return;
	if (p->st->state == ST_IDLE) {
		p->state = PS_READY;
		snprintf(p->msg, sizeof p->msg, "%s", p->def->type == P_SCALE ? "the square is "
		    "engraved: measure it and commit measured_x and measured_y" : p->def->type ==
		    P_FOCUS ? "the lines are engraved: commit the number of the sharpest" :
		    p->def->type == P_ROTARY ? "the line is burned around the gauge: measure it and "
		    "commit measured (mm)" : "the grid is engraved: commit the power and speed chosen");
		return;
	}
	finish(d, p, PS_FAILED, "the program stopped (%s): nothing changed", p->st->detail);
}

static void
procedure_tick(struct daemon *d, double now)
{
	struct proc *p = P(d);
	if (!p)
		return;
	if (p->state == PS_RUNNING) {
		if (p->def->type == P_SWEEP)
			sweep_tick(d, p, now);
		else if (p->def->type == P_POWER)
			power_tick(d, p, now);
		else
			laser_tick(d, p);
	} else if (p->state == PS_WRITING && !station_laser_grbl(p->st)) {
		/* A reload that could not reopen the laser: nothing more can be
		 * written, and what was may stand. Say so. */
		finish(d, p, PS_FAILED, "the laser went away while its settings were being written: "
		    "check them (calibrate laser diff) before engraving");
	} else if (p->state == PS_WRITING) {
		struct pwrite *w = &p->w[p->wi];
		if (w->gcode) {
			const struct grbl_status *st = grbl_last_status(station_laser_grbl(p->st));
			double x = p->rollback ? w->old : w->value, y = p->rollback ? w->old_y : w->y;
			if (fabs(st->wco[0] - x) < 0.002 && fabs(st->wco[1] - y) < 0.002)
				write_settled(d, p, true, "");
			else if (now - p->t_w > WRITE_TIMEOUT)
				write_settled(d, p, false, "the work offset did not read back");
		} else if (p->answer) {
			char why[sizeof p->answer_why];
			memcpy(why, p->answer_why, sizeof why);
			write_settled(d, p, p->answer > 0, why);
		} else if (now - p->t_w > WRITE_TIMEOUT) {
			write_settled(d, p, false, "no answer from the laser");
		}
	} else if (p->state == PS_READY && now - p->touched > IDLE_TIMEOUT) {
		finish(d, p, PS_ABORTED, "abandoned: no answer for %.0f minutes; nothing changed",
		    IDLE_TIMEOUT / 60);
	}
	if (p->driving && p->st->state != ST_RUNNING)
		p->driving = false;
}

static void
on_procedure_timer(struct loop *l, void *arg)
{
	struct daemon *d = arg;
	(void)l;
	d->calib->proc_timer = 0;
	procedure_tick(d, now_mono());
	run_procedure(d);
}

/* A procedure in progress runs every PROCEDURE_TICK s until it ends. */
static void
run_procedure(struct daemon *d)
{
	if (active(P(d)) && !d->calib->proc_timer)
		d->calib->proc_timer = loop_add_timer(d->loop, PROCEDURE_TICK, on_procedure_timer, d);
}

/* --- the part -------------------------------------------------------------------------- */

static int
calib_start(struct daemon *d, struct err *e)
{
	d->calib = xcalloc(1, sizeof *d->calib);
	calib_load(d);
	static const struct station_listener listener = { .laser_setting = on_laser_setting };
	if (daemon_listen(d, &listener) < 0)
		return err_set(e, API_ERR_INTERNAL, "no room for calibration's listener");
	return 0;
}

static void
calib_stop(struct daemon *d)
{
	struct proc *p = P(d);
	if (p && active(p))
		finish(d, p, PS_ABORTED, "the daemon is stopping: nothing changed");
	proc_free(p);
	if (d->calib->proc_timer)
		loop_cancel(d->loop, d->calib->proc_timer);
	json_decref(d->calib->due);
	free(d->calib);
	d->calib = NULL;
}

/* --- records, due, bath, laser settings ---------------------------------------------- */

static json_t *
api_calib_history(struct api_call *c, void *arg)
{
	(void)arg;
	char err[300];
	const char *station = str(c, "station");
	double limit;
	if (station && !daemon_station(D(c), station)) {
		struct buf names;
		buf_init(&names);
		for (size_t i = 0; i < D(c)->n_stations; i++)
			buf_printf(&names, "%s%s", i == 0 ? "" : i + 1 == D(c)->n_stations ? " or " : ", ",
			    D(c)->stations[i].name);
		api_fail(c, API_ERR_INVALID_PARAMS, "'station' must be a station of the workshop: %s",
		    names.data ? names.data : "none is configured");
		buf_free(&names);
		return NULL;
	}
	if (!num(c, "limit", 100, &limit))
		return NULL;
	json_t *h = calib_store_history(D(c)->store, station, (int)limit, err, sizeof err);
	return h ? h : api_fail(c, API_ERR_STORE, "%s", err);
}

static json_t *
api_calib_due(struct api_call *c, void *arg)
{
	(void)arg;
	return calib_due_json(D(c));
}

static json_t *
api_calib_rhodium(struct api_call *c, void *arg)
{
	(void)arg;
	struct station *st = station_param(c, KIND_BATH);
	if (!st)
		return NULL;
	json_t *r = calib_rhodium_json(D(c), st);
	return r ? r : api_fail(c, API_ERR_NOT_FOUND, "no replenishment of the bath%s is recorded: "
	    "record one (bath.replenish) to start the estimate", st->suffix);
}

static json_t *
api_calib_replenish(struct api_call *c, void *arg)
{
	(void)arg;
	struct daemon *d = D(c);
	double grams, ah;
	char tech[64], err[300];
	struct station *st = station_param(c, KIND_BATH);
	struct mb_bus *bus;
	int dev;
	if (!st || !num(c, "rhodium_grams", st->cfg->bath.rhodium_grams, &grams))
		return NULL;
	if (grams <= 0 || grams > 100)
		return api_fail(c, API_ERR_INVALID_PARAMS, "'rhodium_grams' must be 0-100 g");
	if (st->state == ST_RUNNING)
		return api_fail(c, API_ERR_BUSY, "the bath%s is plating: replenish it once it stops",
		    st->suffix);
	if (!station_device(st, 0, &bus, &dev) || !mb_bus_value(bus, dev, "ah", &ah))
		return api_fail(c, API_ERR_UNAVAILABLE, "the ampere-hour counter of %s's rectifier "
		    "cannot be read: the replenishment would have no starting count", st->name);
	technician(c, tech, sizeof tech);
	/* The Riden's counter is read-only over Modbus; Atelier keeps its value
	 * at the replenishment and counts from there. */
	json_t *before = calib_rhodium_json(d, st);
	if (!before)
		before = json_object();
	json_t *after = json_pack("{s:f, s:f}", "ah_counter", ah, "rhodium_grams", grams);
	char *bt = json_dumps(before, JSON_COMPACT), *at = json_dumps(after, JSON_COMPACT);
	const char *note = str(c, "note");
	struct calib_record r = { st->name, "bath.replenish", "maintenance", tech, NULL, bt, at, note,
		NULL };
	int64_t id = calib_store_add(d->store, &r, err, sizeof err);
	free(bt);
	free(at);
	json_decref(before);
	json_decref(after);
	if (id < 0)
		return api_fail(c, API_ERR_STORE, "%s", err);
	calib_changed(d);
	struct calib_bath *b = &d->calib->bath[st->index];
	b->replenished = true;
	b->ah_base = ah;
	b->rh_grams = grams;
	b->warned = false;
	return json_pack("{s:s, s:I, s:f, s:f}", "station", st->name, "record", (json_int_t)id,
	    "ah_counter", ah, "rhodium_grams", grams);
}

static json_t *
api_calib_backup(struct api_call *c, void *arg)
{
	(void)arg;
	struct daemon *d = D(c);
	char tech[64], err[300];
	struct station *st = station_param(c, KIND_LASER);
	if (!st)
		return NULL;
	if (!connected(st))
		return api_fail(c, API_ERR_UNAVAILABLE, "the laser%s is not connected", st->suffix);
	json_t *set = settings_json(station_laser_grbl(st));
	if (json_object_size(set) == 0) {
		json_decref(set);
		return api_fail(c, API_ERR_UNAVAILABLE, "the laser's settings have not been read yet");
	}
	technician(c, tech, sizeof tech);
	json_t *after = json_pack("{s:o}", "settings", set);
	char *at = json_dumps(after, JSON_COMPACT);
	struct calib_record r = { st->name, "laser.backup", "maintenance", tech, NULL, "{}", at,
		str(c, "note"), NULL };
	int64_t id = calib_store_add(d->store, &r, err, sizeof err);
	free(at);
	if (id < 0) {
		json_decref(after);
		return api_fail(c, API_ERR_STORE, "%s", err);
	}
	calib_changed(d);
	json_object_set_new(after, "record", json_integer(id));
	return after;
}

static json_t *
api_calib_diff(struct api_call *c, void *arg)
{
	(void)arg;
	struct daemon *d = D(c);
	char err[300];
	json_t *id = c->params ? json_object_get(c->params, "backup") : NULL;
	if (!json_is_integer(id))
		return api_fail(c, API_ERR_INVALID_PARAMS, "'backup' (a record number) is required");
	struct station *st = station_param(c, KIND_LASER);
	if (!st)
		return NULL;
	if (!connected(st))
		return api_fail(c, API_ERR_UNAVAILABLE, "the laser%s is not connected", st->suffix);
	json_t *diff = backup_diff(d, st, json_integer_value(id), err, sizeof err);
	return diff ? json_pack("{s:s, s:I, s:o}", "station", st->name, "backup",
	    json_integer_value(id), "differences", diff) :
	    api_fail(c, API_ERR_NOT_FOUND, "%s", err);
}

static const struct api_method calib_methods[] = {
	{ "calibrate.begin", API_ROLE_TECHNICIAN, api_calib_begin, NULL,
	    "start a guided calibration procedure (laser.*, tank.*, bath.*)" },
	{ "calibrate.drive", API_ROLE_TECHNICIAN, api_calib_drive, NULL,
	    "bath calibration: put the rectifier at a test value for the next point" },
	{ "calibrate.point", API_ROLE_TECHNICIAN, api_calib_point, NULL,
	    "record a point: the reference instrument's reading against the device's" },
	{ "calibrate.status", API_ROLE_TECHNICIAN, api_calib_status, NULL,
	    "the procedure in progress: state, points, progress, result" },
	{ "calibrate.commit", API_ROLE_TECHNICIAN, api_calib_commit, NULL,
	    "check the procedure's result, apply it and record it" },
	{ "calibrate.abort", API_ROLE_TECHNICIAN, api_calib_abort, NULL,
	    "abandon the procedure: station safe, nothing changed" },
	{ "calibration.history", API_ROLE_JEWELLER, api_calib_history, NULL,
	    "the calibration records, newest first (station optional)" },
	{ "calibration.due", API_ROLE_JEWELLER, api_calib_due, NULL,
	    "when each station was calibrated and whether it is overdue" },
	{ "bath.replenish", API_ROLE_TECHNICIAN, api_calib_replenish, NULL,
	    "the bath was replenished: restart the rhodium estimate from the Ah counter" },
	{ "bath.rhodium", API_ROLE_JEWELLER, api_calib_rhodium, NULL,
	    "rhodium left in the bath, estimated from ampere-hours" },
	{ "laser.settings.backup", API_ROLE_TECHNICIAN, api_calib_backup, NULL,
	    "record every GRBL setting of the laser in the journal" },
	{ "laser.settings.diff", API_ROLE_TECHNICIAN, api_calib_diff, NULL,
	    "the GRBL settings that differ from a backup" },
};

/* Status shows each bath's rhodium estimate in its station, and which
 * stations are due. */
static void
calib_status(struct daemon *d, json_t *out)
{
	json_t *stations = json_object_get(out, "stations");
	for (size_t i = 0; i < d->n_stations; i++) {
		struct station *st = &d->stations[i];
		json_t *rh = st->kind == KIND_BATH ? calib_rhodium_json(d, st) : NULL;
		if (rh)
			json_object_set_new(json_object_get(stations, st->name), "rhodium", rh);
	}
	json_object_set_new(out, "calibration", calib_due_status(d));
}

/* A reload may change or remove the station a procedure runs on: the
 * procedure ends, nothing changed, and the corrections are read again
 * for the stations as they now are. */
static void
calib_reload(struct daemon *d)
{
	struct proc *p = P(d);
	if (p && active(p)) {
		if (p->state == PS_RUNNING || p->driving)
			station_safe(d, p, "configuration reloaded");
		p->driving = false;
		p->state = PS_READY;    /* so that finish does not touch the station again */
		finish(d, p, PS_ABORTED, "the configuration was reloaded: nothing changed%s",
		    p->nw ? " (check the laser's settings: calibrate laser diff)" : "");
	}
	calib_load(d);
	calib_changed(d);
}

const struct daemon_part calib_part = {
	.name = "calibration",
	.start = calib_start,
	.reload = calib_reload,
	.stop = calib_stop,
	.status = calib_status,
	.methods = calib_methods,
	.n_methods = ARRAY_LEN(calib_methods),
};
