/*
 * Calibration maths and the corrections in force (see calib.h). The maths
 * is free of I/O so that the unit tests can hold each formula to its
 * numbers; the corrections are reloaded from the journal at start-up, so
 * a restart keeps them, and nothing but a committed record changes them.
 */
#include "calib/calib.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon/daemon.h"
#include "log.h"

int
calib_two_point(double dev1, double ref1, double dev2, double ref2,
    const struct calib_limits *lim, struct calib_line *out, char *err, size_t errlen)
{
	if (!isfinite(dev1) || !isfinite(ref1) || !isfinite(dev2) || !isfinite(ref2)) {
		snprintf(err, errlen, "a reading is not a number");
		return -1;
	}
	if (fabs(dev2 - dev1) < lim->min_span) {
		snprintf(err, errlen, "the two points are %.3g apart; they must be at least %g apart "
		    "for the calibration to mean anything", fabs(dev2 - dev1), lim->min_span);
		return -1;
	}
	double gain = (ref2 - ref1) / (dev2 - dev1);
	double offset = ref1 - gain * dev1;
	if (gain <= 0) {
		snprintf(err, errlen, "the reference goes down when the device goes up (gain %.3g): "
		    "the readings are swapped or wrong", gain);
		return -1;
	}
	if (fabs(gain - 1) > lim->max_gain_error) {
		snprintf(err, errlen, "the readings give a gain of %.4g, more than %g %% from 1: "
		    "check the reference instrument and its unit", gain, lim->max_gain_error * 100);
		return -1;
	}
	if (fabs(offset) > lim->max_offset) {
		snprintf(err, errlen, "the readings give an offset of %.4g, more than %g: check the "
		    "reference instrument and its unit", offset, lim->max_offset);
		return -1;
	}
	out->gain = gain;
	out->offset = offset;
	return 0;
}

int
calib_resonance(const double *khz, const double *current, size_t n, double *peak_khz,
    double *peak_current, char *err, size_t errlen)
{
	if (n < 3) {
		snprintf(err, errlen, "a sweep needs at least 3 points, not %zu", n);
		return -1;
	}
	size_t best = 0;
	double lo = current[0];
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(khz[i]) || !isfinite(current[i]) || (i && khz[i] <= khz[i - 1])) {
			snprintf(err, errlen, "the sweep's point %zu is not in increasing frequency", i);
			return -1;
		}
		if (current[i] > current[best])
			best = i;
		if (current[i] < lo)
			lo = current[i];
	}
	/* A resonance stands well above both ends of a sweep that brackets
	 * it; a maximum barely above them is noise on a flank or a dead tank. */
	double edge = fmax(current[0], current[n - 1]);
	if (current[best] <= 0 || current[best] < 1.2 * lo ||
	    (best != 0 && best != n - 1 && current[best] < 1.5 * edge)) {
		snprintf(err, errlen, "the current hardly changes over the sweep (%.0f to %.0f): no "
		    "resonance (is the tank filled and the transducer connected?)", lo, current[best]);
		return -1;
	}
	if (best == 0 || best == n - 1) {
		snprintf(err, errlen, "the current is highest at the edge of the sweep (%.2f kHz): the "
		    "resonance lies outside %.2f-%.2f kHz", khz[best], khz[0], khz[n - 1]);
		return -1;
	}
	/* Vertex of the parabola through the peak and its neighbours, which
	 * places the resonance between the sweep's steps. */
	double x0 = khz[best - 1], x1 = khz[best], x2 = khz[best + 1];
	double y0 = current[best - 1], y1 = current[best], y2 = current[best + 1];
	double den = (x0 - x1) * (x0 - x2) * (x1 - x2);
	double a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / den;
	double b = (x2 * x2 * (y0 - y1) + x1 * x1 * (y2 - y0) + x0 * x0 * (y1 - y2)) / den;
	double c = (x1 * x2 * (x1 - x2) * y0 + x2 * x0 * (x2 - x0) * y1 +
	    x0 * x1 * (x0 - x1) * y2) / den;
	double xv = a < 0 ? -b / (2 * a) : x1;
	if (!(xv >= x0 && xv <= x2))
		xv = x1;
	*peak_khz = xv;
	*peak_current = a < 0 ? a * xv * xv + b * xv + c : y1;
	return 0;
}

int
calib_steps_per_mm(double steps, double commanded, double measured, double max_error,
    double *out, char *err, size_t errlen)
{
	if (!isfinite(measured) || measured <= 0 || !isfinite(commanded) || commanded <= 0) {
		snprintf(err, errlen, "a measured size must be a positive number of mm");
		return -1;
	}
	if (!isfinite(steps) || steps <= 0) {
		snprintf(err, errlen, "the laser's steps per mm are not known (%g)", steps);
		return -1;
	}
	double ratio = commanded / measured;
	if (fabs(ratio - 1) > max_error) {
		snprintf(err, errlen, "%.3f mm measured for a %.3f mm square is %.0f %% off; more than "
		    "%.0f %% is a misread rule or the wrong square, not a scale error", measured,
		    commanded, fabs(measured / commanded - 1) * 100, max_error * 100);
		return -1;
	}
	*out = steps * ratio;
	return 0;
}

double
calib_rhodium_used(double ah, double efficiency_pct)
{
	return ah > 0 ? ah * CALIB_RH_G_PER_AH * efficiency_pct / 100.0 : 0;
}

/* --- corrections in force ------------------------------------------------- */

static void
load_line(struct store *s, const char *station, const char *procedure, struct calib_line *l)
{
	json_t *a = calib_store_latest(s, station, procedure);
	*l = CALIB_IDENTITY;
	if (a) {
		json_t *g = json_object_get(a, "gain"), *o = json_object_get(a, "offset");
		if (json_is_number(g) && json_is_number(o) && json_number_value(g) > 0) {
			l->gain = json_number_value(g);
			l->offset = json_number_value(o);
		}
		json_decref(a);
	}
}

void
calib_load(struct daemon *d)
{
	struct calib_state *c = d->calib;
	memset(c->bath, 0, sizeof c->bath);
	json_decref(c->due);
	c->due = NULL;
	for (size_t i = 0; i < d->cfg->n_stations && i < CFG_MAX_STATIONS; i++) {
		const struct cfg_station *st = &d->cfg->stations[i];
		struct corrections *k = &d->corr[i];
		corrections_reset(k);
		if (st->kind == KIND_TANK) {
			load_line(d->store, st->name, "tank.temperature", &k->tank_temp);
			json_t *a = calib_store_latest(d->store, st->name, "tank.sweep");
			if (a) {
				k->tank_khz = json_number_value(json_object_get(a, "frequency"));
				json_decref(a);
			}
			if (k->tank_temp.gain != 1 || k->tank_temp.offset != 0)
				log_info("%s: temperature corrected: gain %.5g, offset %.4g C", st->name,
				    k->tank_temp.gain, k->tank_temp.offset);
		} else if (st->kind == KIND_BATH) {
			load_line(d->store, st->name, "bath.voltage", &k->rect_v);
			load_line(d->store, st->name, "bath.current", &k->rect_i);
			json_t *a = calib_store_latest(d->store, st->name, "bath.replenish");
			if (a) {
				c->bath[i].replenished = true;
				c->bath[i].ah_base = json_number_value(json_object_get(a, "ah_counter"));
				c->bath[i].rh_grams = json_number_value(json_object_get(a, "rhodium_grams"));
				json_decref(a);
			}
			if (k->rect_v.gain != 1 || k->rect_v.offset != 0 || k->rect_i.gain != 1 ||
			    k->rect_i.offset != 0)
				log_info("%s: rectifier corrected: V gain %.5g offset %.4g, A gain %.5g "
				    "offset %.4g", st->name, k->rect_v.gain, k->rect_v.offset, k->rect_i.gain,
				    k->rect_i.offset);
		}
	}
}

/* --- due ---------------------------------------------------------------- */

/* The days a station's calibration holds, by its kind; -1 for a name
 * that is no station of the workshop. */
static double
due_days(const struct daemon *d, const char *station)
{
	const struct cfg_station *st = cfg_station_find(d->cfg, station);
	switch (st ? st->kind : -1) {
	case KIND_LASER: return d->cfg->calibration.laser_days;
	case KIND_TANK: return d->cfg->calibration.tank_days;
	case KIND_BATH: return d->cfg->calibration.bath_days;
	default: return -1;
	}
}

/* The date `days` after the ISO time t, as YYYY-MM-DD. */
static void
date_after(const char *t, double days, char *out, size_t len)
{
	struct tm tm = { 0 };
	int y, mo, da;
	if (sscanf(t, "%d-%d-%d", &y, &mo, &da) != 3) {
		snprintf(out, len, "?");
		return;
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = da + (int)ceil(days);
	tm.tm_hour = 12;
	time_t tt = timegm(&tm);
	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%d", &tm);
}

int
calib_due_check(struct daemon *d, const char *station, char *msg, size_t len)
{
	double days = station ? due_days(d, station) : -1;
	if (days < 0) {
		snprintf(msg, len, "'%s' is not a station of the workshop", station ? station : "");
		return -1;
	}
	char t[40], since[16];
	double age;
	int found = calib_store_last(d->store, station, t, sizeof t, &age);
	int overdue = d->cfg->calibration.refuse_overdue ? 2 : 1;
	if (found < 0) {
		snprintf(msg, len, "the calibration records of the %s cannot be read", station);
		return -1;
	}
	if (found == 0) {
		snprintf(msg, len, "the %s has never been calibrated (due every %g days)%s", station,
		    days, overdue == 2 ? ": refused until a technician calibrates it" : "");
		return overdue;
	}
	date_after(t, days, since, sizeof since);
	if (age <= days) {
		snprintf(msg, len, "the %s was calibrated on %.10s; next due on %s", station, t, since);
		return 0;
	}
	snprintf(msg, len, "the %s was last calibrated on %.10s and %g days are allowed: overdue "
	    "since %s%s", station, t, days, since,
	    overdue == 2 ? "; refused until a technician calibrates it" : "");
	return overdue;
}

int
calib_plan_check(struct daemon *d, json_t *plan, char *err, size_t errlen)
{
	json_t *steps = json_object_get(plan, "steps"), *warnings = json_object_get(plan, "warnings");
	for (int k = 0; k < KIND_COUNT; k++) {
		bool used = false;
		size_t i;
		json_t *s;
		json_array_foreach(steps, i, s) {
			const char *st = json_string_value(json_object_get(s, "station"));
			const char *state = json_string_value(json_object_get(s, "state"));
			if (st && cfg_kind_lookup(st) == k && (!state || strcmp(state, "pending") == 0))
				used = true;
		}
		/* A step runs at any station of its kind: each is checked. */
		for (size_t n = 0; used && n < d->cfg->n_stations; n++) {
			const struct cfg_station *st = &d->cfg->stations[n];
			if (st->kind != k)
				continue;
			char msg[300];
			int rc = calib_due_check(d, st->name, msg, sizeof msg);
			/* A journal that cannot say counts as overdue. */
			if (rc < 0)
				rc = d->cfg->calibration.refuse_overdue ? 2 : 1;
			if (rc == 2) {
				snprintf(err, errlen, "calibration overdue: %s", msg);
				return 2;
			}
			if (rc == 1 && json_is_array(warnings))
				json_array_append_new(warnings, json_sprintf("calibration overdue: %s", msg));
		}
	}
	return 0;
}

json_t *
calib_due_json(struct daemon *d)
{
	static const char *const states[] = { "ok", "overdue", "refused" };
	json_t *out = json_array();
	for (size_t i = 0; i < d->cfg->n_stations; i++) {
		const char *name = d->cfg->stations[i].name;
		char msg[300], t[40];
		double age = 0;
		int rc = calib_due_check(d, name, msg, sizeof msg);
		int found = calib_store_last(d->store, name, t, sizeof t, &age);
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:f}", "station", name, "kind",
		    cfg_kind_name((enum cfg_kind)d->cfg->stations[i].kind), "state",
		    rc < 0 ? "unknown" : states[rc], "message", msg, "due_days", due_days(d, name));
		if (found == 1) {
			json_object_set_new(o, "last", json_string(t));
			json_object_set_new(o, "age_days", json_real(age));
		}
		json_array_append_new(out, o);
	}
	return out;
}

json_t *
calib_due_status(struct daemon *d)
{
	double now = now_mono();
	struct calib_state *c = d->calib;
	if (!c->due || now >= c->due_until) {
		json_decref(c->due);
		c->due = calib_due_json(d);
		c->due_until = now + 60;
	}
	return json_incref(c->due);
}

void
calib_changed(struct daemon *d)
{
	d->calib->due_until = 0;
}

json_t *
calib_rhodium_json(struct daemon *d, struct station *bath)
{
	struct calib_bath *c = &d->calib->bath[bath->index];
	const struct cfg_bath *cb = &bath->cfg->bath;
	struct mb_bus *bus;
	int dev;
	double ah;
	if (!c->replenished)
		return NULL;
	if (!station_device(bath, 0, &bus, &dev) || !mb_bus_value(bus, dev, "ah", &ah))
		return json_pack("{s:s, s:b, s:f, s:s}", "station", bath->name, "known", 0,
		    "rhodium_grams", c->rh_grams, "message",
		    "the rectifier's ampere-hour counter cannot be read now");
	/* The unit counts its own measured current; the technician's current
	 * gain corrects the count (its offset cannot be, not knowing for how
	 * long the output was on). */
	double since = (ah - c->ah_base) * d->corr[bath->index].rect_i.gain;
	/* The counter went backwards: the unit lost it (a power cycle on some
	 * firmware). What it counted before is lost; say so, never guess. */
	bool lost = since < -1e-6;
	double used = calib_rhodium_used(lost ? 0 : since, cb->efficiency);
	double left = c->rh_grams - used;
	bool warn = lost || left <= cb->rhodium_warning;
	char msg[200];
	if (lost)
		snprintf(msg, sizeof msg, "the rectifier's counter went back (%.3f Ah, was %.3f at "
		    "the replenishment): replenish or record the bath again", ah, c->ah_base);
	else if (warn)
		snprintf(msg, sizeof msg, "about %.2f g of rhodium left, at or below the warning of "
		    "%g g: replenish the bath", left < 0 ? 0 : left, cb->rhodium_warning);
	else
		snprintf(msg, sizeof msg, "about %.2f g of rhodium left", left);
	if (warn && !c->warned) {
		log_warn("%s: %s", bath->name, msg);
		c->warned = true;
	}
	return json_pack("{s:s, s:b, s:f, s:f, s:f, s:f, s:f, s:b, s:s}", "station", bath->name,
	    "known", !lost, "ah_since", lost ? 0 : since, "used_grams", used, "left_grams",
	    left < 0 ? 0 : left, "rhodium_grams", c->rh_grams, "efficiency", cb->efficiency,
	    "warning", warn, "message", msg);
}
