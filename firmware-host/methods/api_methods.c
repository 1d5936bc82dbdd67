/*
 * The stations' JSON-RPC methods (documented in docs/api.md), with status,
 * watch and methods: a part of the daemon (api_methods.h). Parameters are
 * checked here, with an error that names the parameter; the stations then
 * apply policy and the interlock themselves, so that no method can bypass
 * them.
 */
#include "methods/api_methods.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "methods/offload.h"
#include "policy/laser_program.h"
#include "util.h"

#define MAX_PIECES 32
#define MAX_GEMS 16

static struct daemon *
D(struct api_call *c)
{
	return api_data(c->api);
}

/* The station a request names in 'station', or the only one of the kind;
 * NULL when there is none such (the call answered with why). */
static struct station *
station_of(struct api_call *c, int kind)
{
	return daemon_station_param(D(c), c, kind);
}

static json_t *
m_status(struct api_call *c, void *arg)
{
	(void)arg;
	return daemon_status_json(D(c));
}

static json_t *
m_watch(struct api_call *c, void *arg)
{
	(void)arg;
	api_client_subscribe(c->client, true);
	return json_pack("{s:b}", "watching", 1);
}

static json_t *
m_estop_reset(struct api_call *c, void *arg)
{
	(void)arg;
	switch (daemon_estop_reset(D(c))) {
	case IL_RESET_DONE:
		daemon_notify(D(c), "interlock", json_pack("{s:b, s:s}", "latched", 0, "by",
		    "technician reset"));
		return json_pack("{s:b}", "latched", 0);
	case IL_RESET_NOT_LATCHED:
		return api_fail(c, API_ERR_INVALID, "the emergency stop is not latched");
	default:
		return api_fail(c, API_ERR_INTERLOCK, "release the emergency stop button first");
	}
}

static json_t *
m_methods(struct api_call *c, void *arg)
{
	(void)arg;
	const struct daemon *d = D(c);
	json_t *list = json_array();
	for (size_t i = 0; i < d->n_methods; i++)
		json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "method",
		    d->methods[i].name, "role", api_role_name(d->methods[i].role),
		    "summary", d->methods[i].summary));
	return list;
}

static bool
number(struct api_call *c, const char *key, double def, double *out)
{
	json_t *v = c->params ? json_object_get(c->params, key) : NULL;
	if (!v) {
		*out = def;
		if (isnan(def)) {
			api_fail(c, API_ERR_INVALID_PARAMS, "'%s' is required", key);
			return false;
		}
		return true;
	}
	if (!json_is_number(v) || !isfinite(json_number_value(v))) {
		api_fail(c, API_ERR_INVALID_PARAMS, "'%s' must be a number", key);
		return false;
	}
	*out = json_number_value(v);
	return true;
}

/* A duration in seconds within its documented range, checked here before
 * the station checks it again: 1e-300 is not "1 to 600 s". */
static bool
seconds_in(struct api_call *c, double secs, double max, const char *limit)
{
	if (!isfinite(secs) || secs < 1 || secs > max) {
		api_fail(c, API_ERR_INVALID, "'seconds' must be from 1 to %g s (%s), not %g", max,
		    limit, secs);
		return false;
	}
	return true;
}

static json_t *
m_laser_stream(struct api_call *c, void *arg)
{
	(void)arg;
	struct err e;
	const char *gcode = json_string_value(c->params ? json_object_get(c->params, "gcode") : NULL);
	if (!gcode)
		return api_fail(c, API_ERR_INVALID_PARAMS, "'gcode' (the program text) is required");
	struct station *st = station_of(c, KIND_LASER);
	if (!st)
		return NULL;
	/* A program from outside: GRBL checks it first, the answer follows. */
	struct api_pending *answer = api_defer(c);
	if (station_laser_check_then_stream(st, gcode, c->uid, answer, &e) < 0) {
		api_pending_fail(answer, e.code, "%s", e.msg);
		return NULL;
	}
	return NULL;
}

static json_t *
m_laser_hold(struct api_call *c, void *arg)
{
	(void)arg;
	struct err e;
	struct station *st = station_of(c, KIND_LASER);
	if (!st)
		return NULL;
	if (station_laser_hold(st, c->uid, &e) < 0)
		return api_fail(c, e.code, "%s", e.msg);
	return json_pack("{s:s, s:b}", "station", st->name, "sent", 1);
}

static json_t *
m_laser_resume(struct api_call *c, void *arg)
{
	(void)arg;
	struct err e;
	struct station *st = station_of(c, KIND_LASER);
	if (!st)
		return NULL;
	if (station_laser_resume(st, c->uid, &e) < 0)
		return api_fail(c, e.code, "%s", e.msg);
	return json_pack("{s:s, s:b}", "station", st->name, "sent", 1);
}

static json_t *
m_laser_abort(struct api_call *c, void *arg)
{
	(void)arg;
	struct station *st = station_of(c, KIND_LASER);
	if (!st)
		return NULL;
	station_stop(st, "aborted");
	return json_pack("{s:s, s:s}", "station", st->name, "state", "idle");
}

static json_t *
m_laser_jog(struct api_call *c, void *arg)
{
	(void)arg;
	double x, y, feed;
	char line[80], err[200];
	struct station *st = station_of(c, KIND_LASER);
	if (!st || !number(c, "x", 0, &x) || !number(c, "y", 0, &y) ||
	    !number(c, "feed", 600, &feed))
		return NULL;
	const struct cfg_laser *lc = &st->cfg->laser;
	if (fabs(x) > lc->work_x || fabs(y) > lc->work_y || feed <= 0 || feed > lc->max_feed)
		return api_fail(c, API_ERR_INVALID, "the jog goes outside the work area or speed limits");
	snprintf(line, sizeof line, "$J=G91G21X%.3fY%.3fF%.0f", x, y, feed);
	struct grbl *g = station_laser_grbl(st);
	if (!g || grbl_command(g, line, err, sizeof err) < 0)
		return api_fail(c, API_ERR_UNAVAILABLE, "%s", g ? err : "no laser");
	return json_pack("{s:s, s:s}", "station", st->name, "sent", line);
}

/* After an alarm (an e-stop or a reset in motion) GRBL refuses G-code
 * until it is unlocked; a technician does it once the piece is checked.
 * The laser relay stays off: $X moves nothing and burns nothing. */
static json_t *
m_laser_unlock(struct api_call *c, void *arg)
{
	(void)arg;
	struct err e;
	struct station *st = station_of(c, KIND_LASER);
	if (!st)
		return NULL;
	if (station_laser_unlock(st, &e) < 0)
		return api_fail(c, e.code, "%s", e.msg);
	return json_pack("{s:s, s:s}", "station", st->name, "sent", "$X");
}

/* One GRBL setting ($N=V), written alone and read back (GRBL writes its
 * EEPROM); the answer follows the read-back. Laser mode ($32=1) is one. */
static json_t *
m_laser_setting(struct api_call *c, void *arg)
{
	(void)arg;
	json_t *n = c->params ? json_object_get(c->params, "setting") : NULL;
	double value;
	struct err e;
	if (!json_is_integer(n) || json_integer_value(n) < 0 || json_integer_value(n) > 255)
		return api_fail(c, API_ERR_INVALID_PARAMS, "'setting' must be a GRBL setting number, "
		    "0 to 255");
	if (!number(c, "value", NAN, &value))
		return NULL;
	if (!isfinite(value) || value < 0)
		return api_fail(c, API_ERR_INVALID_PARAMS, "'value' must be a finite number of 0 or more");
	struct station *st = station_of(c, KIND_LASER);
	if (!st)
		return NULL;
	struct api_pending *answer = api_defer(c);
	if (station_laser_setting(st, (int)json_integer_value(n), value, answer, &e) < 0)
		api_pending_fail(answer, e.code, "%s", e.msg);
	return NULL;
}

/* The extent of a program's X/Y words, absolute coordinates assumed (the
 * programs Atelier writes are G90). Returns false when it has none. */
static bool
gcode_extent(const char *g, double *x0, double *y0, double *x1, double *y1)
{
	bool any_x = false, any_y = false;
	*x0 = *y0 = INFINITY;
	*x1 = *y1 = -INFINITY;
	for (const char *p = g; *p; p++) {
		if ((*p == 'X' || *p == 'x' || *p == 'Y' || *p == 'y') &&
		    (p == g || !isalpha((unsigned char)p[-1]))) {
			char *end;
			double v = strtod(p + 1, &end);
			if (end == p + 1)
				continue;
			if (*p == 'X' || *p == 'x') {
				any_x = true;
				*x0 = fmin(*x0, v);
				*x1 = fmax(*x1, v);
			} else {
				any_y = true;
				*y0 = fmin(*y0, v);
				*y1 = fmax(*y1, v);
			}
		}
	}
	return any_x && any_y;
}

/* Whether the program switches to relative moves (G91), which an extent
 * read from its words cannot describe. */
static bool
gcode_relative(const char *g)
{
	for (const char *p = g; *p; p++)
		if ((*p == 'G' || *p == 'g') && strtol(p + 1, NULL, 10) == 91 && p[1] != '.')
			return true;
	return false;
}

/* Traces the program's bounding box with the laser's power relay off and
 * no M3/M4 in the moves, so the jeweller sees where it will burn on the
 * piece. The box must lie inside the work area, as a jog must. */
static json_t *
m_laser_frame(struct api_call *c, void *arg)
{
	(void)arg;
	struct err e;
	char prog[400];
	double x0, y0, x1, y1;
	struct station *st = station_of(c, KIND_LASER);
	if (!st)
		return NULL;
	const char *gcode = json_string_value(c->params ? json_object_get(c->params, "gcode") : NULL);
	if (!gcode)
		return api_fail(c, API_ERR_INVALID_PARAMS, "'gcode' (the program to frame) is required");
	if (gcode_relative(gcode))
		return api_fail(c, API_ERR_INVALID, "the program uses relative moves (G91); only "
		    "absolute programs can be framed");
	if (!gcode_extent(gcode, &x0, &y0, &x1, &y1))
		return api_fail(c, API_ERR_INVALID, "the program has no X and Y coordinates to frame");
	double wx = st->cfg->laser.work_x, wy = st->cfg->laser.work_y;
	/* A program for the rotary: its Y turns the piece, so the frame
	 * turns it over the band's extent, and keeps the program's first
	 * line, which says it is for the rotary (the station checks that the
	 * rotary is mounted). */
	bool rotary = laser_program_for_rotary(gcode);
	char header[120] = "";
	if (rotary) {
		size_t n = strcspn(gcode, "\n");
		snprintf(header, sizeof header, "%.*s\n", (int)(n < 100 ? n : 100), gcode);
	}
	if (!isfinite(x0) || !isfinite(x1) || !isfinite(y0) || !isfinite(y1) || x0 < 0 ||
	    x1 > wx || (!rotary && (y0 < 0 || y1 > wy)))
		return api_fail(c, API_ERR_INVALID, "the program spans X %g..%g, Y %g..%g mm, outside "
		    "the work area 0..%g x 0..%g mm", x0, x1, y0, y1, wx, wy);
	snprintf(prog, sizeof prog, "%sG21G90M5\nG0X%.3fY%.3f\nG0X%.3f\nG0Y%.3f\nG0X%.3f\n"
	    "G0Y%.3f\n", header, x0, y0, x1, y1, x0, y0);
	/* Framing burns nothing, but goes through the station like any job:
	 * the interlock must allow the laser, whose power stays off. */
	if (station_laser_move(st, prog, c->uid, &e) < 0)
		return api_fail(c, e.code, "%s", e.msg);
	return json_pack("{s:s, s:[f,f,f,f]}", "station", st->name, "frame", x0, y0, x1, y1);
}

/* Pieces: [{"metal": "...", "barrier_layer": bool,
 *           "gems": [{"species": "...", "treatment": "...", "count": n}]}] */
struct pieces {
	struct policy_piece p[MAX_PIECES];
	struct policy_gem g[MAX_PIECES][MAX_GEMS];
	size_t n;
};

/* Every field of a piece is read for what it says: a field of the wrong
 * type or a name not known is refused naming it, never taken as absent
 * (a treatment of 5 is not "none", and a diamond "fracture-filled" given
 * as a list must not go into the tank as an untreated one). */
static bool
known_fields(struct api_call *c, json_t *o, const char *where, const char *const *keys)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		size_t i;
		for (i = 0; keys[i] && strcmp(keys[i], k) != 0; i++)
			;
		if (!keys[i]) {
			api_fail(c, API_ERR_INVALID_PARAMS, "%s: unknown field '%.40s'", where, k);
			return false;
		}
	}
	return true;
}

/* An optional text field: *out is NULL when absent; false (the call
 * failed) when present and not a name of 1 to 40 characters. */
static bool
text_field(struct api_call *c, json_t *o, const char *key, const char *where, const char **out)
{
	json_t *v = json_object_get(o, key);
	*out = json_string_value(v);
	if (!v)
		return true;
	if (!json_is_string(v) || *out == NULL || **out == '\0' || strlen(*out) > 40) {
		api_fail(c, API_ERR_INVALID_PARAMS, "%s.%s must be a name (a string of 1 to 40 "
		    "characters)", where, key);
		return false;
	}
	return true;
}

static bool
parse_pieces(struct api_call *c, struct pieces *out)
{
	static const char *const pkeys[] = { "metal", "barrier_layer", "gems", NULL };
	static const char *const gkeys[] = { "species", "treatment", "count", NULL };
	json_t *arr = c->params ? json_object_get(c->params, "pieces") : NULL;
	memset(out, 0, sizeof *out);
	if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > MAX_PIECES) {
		api_fail(c, API_ERR_INVALID_PARAMS, "'pieces' must be a list of 1 to %d pieces", MAX_PIECES);
		return false;
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *pc = json_array_get(arr, i), *gems = json_object_get(pc, "gems");
		char where[64];
		snprintf(where, sizeof where, "pieces[%zu]", i);
		if (!json_is_object(pc) || (gems && !json_is_array(gems)) ||
		    json_array_size(gems) > MAX_GEMS) {
			api_fail(c, API_ERR_INVALID_PARAMS, "pieces[%zu] must be an object with a "
			    "'gems' list of at most %d entries", i, MAX_GEMS);
			return false;
		}
		struct policy_piece *p = &out->p[i];
		json_t *barrier = json_object_get(pc, "barrier_layer");
		if (!known_fields(c, pc, where, pkeys) || !text_field(c, pc, "metal", where, &p->metal))
			return false;
		if (barrier && !json_is_boolean(barrier)) {
			api_fail(c, API_ERR_INVALID_PARAMS, "%s.barrier_layer must be true or false",
			    where);
			return false;
		}
		p->barrier_layer = json_is_true(barrier);
		p->gems = out->g[i];
		for (size_t k = 0; k < json_array_size(gems); k++) {
			json_t *g = json_array_get(gems, k);
			const char *sp, *tr;
			snprintf(where, sizeof where, "pieces[%zu].gems[%zu]", i, k);
			if (!json_is_object(g)) {
				api_fail(c, API_ERR_INVALID_PARAMS, "%s must be an object {species, "
				    "treatment, count}", where);
				return false;
			}
			if (!known_fields(c, g, where, gkeys) ||
			    !text_field(c, g, "species", where, &sp) ||
			    !text_field(c, g, "treatment", where, &tr))
				return false;
			if (!sp) {
				api_fail(c, API_ERR_INVALID_PARAMS, "%s needs a 'species'", where);
				return false;
			}
			json_t *cnt = json_object_get(g, "count");
			if (cnt && (!json_is_integer(cnt) || json_integer_value(cnt) < 1 ||
			    json_integer_value(cnt) > 10000)) {
				api_fail(c, API_ERR_INVALID_PARAMS, "%s.count must be a whole number from 1 "
				    "to 10000", where);
				return false;
			}
			out->g[i][k] = (struct policy_gem){ sp, tr, cnt ? (int)json_integer_value(cnt) : 1 };
		}
		p->n_gems = json_array_size(gems);
		out->n++;
	}
	return true;
}

static json_t *
m_tank_start(struct api_call *c, void *arg)
{
	(void)arg;
	static struct pieces pc;        /* the loop is single-threaded */
	double secs, power, khz, temp;
	struct err e;
	struct station *st = station_of(c, KIND_TANK);
	if (!st)
		return NULL;
	const struct cfg_tank *t = &st->cfg->tank;
	if (!parse_pieces(c, &pc) || !number(c, "seconds", t->cycle, &secs) ||
	    !number(c, "power", t->power, &power) ||
	    !number(c, "frequency", corrections_tank_frequency(&D(c)->corr[st->index],
	    t->frequency), &khz) ||
	    !number(c, "temperature", t->temperature, &temp) ||
	    !seconds_in(c, secs, t->max_cycle, "the tank's max_cycle"))
		return NULL;
	if (station_tank_start(st, pc.p, pc.n, secs, power, khz, temp, &e) < 0)
		return api_fail(c, e.code, "%s", e.msg);
	return json_pack("{s:s, s:s, s:f}", "station", st->name, "state", "running", "seconds",
	    secs);
}

static json_t *
m_tank_stop(struct api_call *c, void *arg)
{
	(void)arg;
	struct station *st = station_of(c, KIND_TANK);
	if (!st)
		return NULL;
	station_stop(st, "stopped at the bench");
	return json_pack("{s:s, s:s}", "station", st->name, "state", "idle");
}

static json_t *
m_bath_plate(struct api_call *c, void *arg)
{
	(void)arg;
	static struct pieces pc;
	double volts, amps, secs;
	struct err e;
	struct station *st = station_of(c, KIND_BATH);
	if (!st)
		return NULL;
	if (!parse_pieces(c, &pc) || !number(c, "volts", NAN, &volts) ||
	    !number(c, "amps", NAN, &amps) || !number(c, "seconds", NAN, &secs) ||
	    !seconds_in(c, secs, 3600, "a plating phase"))
		return NULL;
	if (station_bath_plate(st, pc.p, pc.n, volts, amps, secs, &e) < 0)
		return api_fail(c, e.code, "%s", e.msg);
	/* A cold bath is heated first; the plating follows by itself. */
	return json_pack("{s:s, s:s, s:s}", "station", st->name, "state",
	    station_bath_warming(st) ? "heating" : "running", "detail", st->detail);
}

static json_t *
m_bath_stop(struct api_call *c, void *arg)
{
	(void)arg;
	struct station *st = station_of(c, KIND_BATH);
	if (!st)
		return NULL;
	station_stop(st, "stopped at the bench");
	return json_pack("{s:s, s:s}", "station", st->name, "state", "idle");
}

/* The layout runs in the layout worker (offload.c); the answer follows. */
static json_t *
m_engrave_preview(struct api_call *c, void *arg)
{
	(void)arg;
	return offload_layout(c, OFFLOAD_PREVIEW, NULL);
}

static json_t *
m_engrave_start(struct api_call *c, void *arg)
{
	(void)arg;
	static struct pieces pc;
	/* Laser heat near a stone that must never meet the tank needs a
	 * technician's override, given with the piece; judged before any
	 * layout is made. */
	if (json_object_get(c->params, "pieces")) {
		json_t *ov = json_object_get(c->params, "override");
		if (!parse_pieces(c, &pc))
			return NULL;
		if (ov && !json_is_boolean(ov))
			return api_fail(c, API_ERR_INVALID_PARAMS, "'override' must be true or false");
		bool override = json_is_true(ov);
		const struct cfg_gems *gems = D(c)->catalog ? &D(c)->catalog->gems : policy_default_gems();
		for (size_t i = 0; i < pc.n; i++) {
			struct policy_verdict v;
			pc.p[i].engraving_override = override;
			policy_judge(gems, &pc.p[i], PROC_ENGRAVING, &v);
			if (!v.permitted)
				return api_fail(c, API_ERR_REFUSED, "%s", v.reason);
		}
	}
	/* Not ready now: say so before any layout is made (the start after
	 * the layout checks it all again). */
	struct err e;
	struct station *st = station_of(c, KIND_LASER);
	if (!st)
		return NULL;
	if (station_laser_ready(st, true, &e) < 0)
		return api_fail(c, e.code, "%s", e.msg);
	/* Exactly the toolpath of the preview goes to the laser. */
	return offload_layout(c, OFFLOAD_ENGRAVE, NULL);
}

static const struct api_method station_methods[] = {
	{ "engrave.preview", API_ROLE_JEWELLER, m_engrave_preview, NULL,
	    "lay out an engraving: fit decision, SVG preview, G-code on request" },
	{ "engrave.start", API_ROLE_TECHNICIAN, m_engrave_start, NULL,
	    "engrave exactly the previewed toolpath on the laser" },
	{ "status", API_ROLE_NONE, m_status, NULL, "interlock, stations and devices" },
	{ "watch", API_ROLE_NONE, m_watch, NULL, "receive station, interlock and device events" },
	{ "methods", API_ROLE_NONE, m_methods, NULL, "the methods, with the role each needs" },
	{ "estop.reset", API_ROLE_TECHNICIAN, m_estop_reset, NULL,
	    "clear a latched emergency stop once the button is released" },
	{ "laser.stream", API_ROLE_TECHNICIAN, m_laser_stream, NULL, "engrave a G-code program" },
	{ "laser.hold", API_ROLE_JEWELLER, m_laser_hold, NULL,
	    "feed hold" },
	{ "laser.resume", API_ROLE_JEWELLER, m_laser_resume, NULL,
	    "resume after a hold" },
	{ "laser.abort", API_ROLE_JEWELLER, m_laser_abort, NULL, "stop the engraving, laser off" },
	{ "laser.jog", API_ROLE_TECHNICIAN, m_laser_jog, NULL, "jog the head by x, y mm" },
	{ "laser.unlock", API_ROLE_TECHNICIAN, m_laser_unlock, NULL,
	    "unlock GRBL after an alarm ($X), once the piece is checked" },
	{ "laser.setting", API_ROLE_TECHNICIAN, m_laser_setting, NULL,
	    "write one GRBL setting ($N=V) and read it back" },
	{ "laser.frame", API_ROLE_JEWELLER, m_laser_frame, NULL,
	    "trace a program's bounding box with the laser off" },
	{ "tank.start", API_ROLE_TECHNICIAN, m_tank_start, NULL,
	    "clean a load of pieces by ultrasound (each piece checked by policy)" },
	{ "tank.stop", API_ROLE_JEWELLER, m_tank_stop, NULL, "stop the tank" },
	{ "bath.plate", API_ROLE_TECHNICIAN, m_bath_plate, NULL,
	    "rhodium-plate a load at volts and amps for seconds (checked by policy)" },
	{ "bath.stop", API_ROLE_JEWELLER, m_bath_stop, NULL, "stop the rectifier" },
};

const struct daemon_part stations_api_part = {
	.name = "stations API",
	.methods = station_methods,
	.n_methods = ARRAY_LEN(station_methods),
};
