/*
 * The bath kind: a rhodium plating cell, its rectifier (a Riden RD60xx)
 * and its heater controller (an Omron E5CC) on Modbus, each with a relay
 * under the interlock. A plating is a process: a cold bath is heated
 * through the E5CC first, then the rectifier is switched on at the
 * recipe's volts and amps for its time. The process faults, everything of
 * the bath off, when a start command fails, when no current flows, when
 * the heater runs away or the bath cools, or when it does not warm in
 * time. Only white gold and platinum pieces go in (policy).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/station.h"
#include "log.h"
#include "mb_devices.h"
#include "util.h"

/* Far enough from the setpoint that the heater no longer controls the bath:
 * above it a runaway, below it (once warm) a heater that does not heat. */
#define BATH_RUNAWAY 8.0
/* Plating current below this share of the limit (or 0.02 A) for this long
 * after it settled means no current flows through the bath. */
#define BATH_NO_CURRENT 0.02
#define BATH_SETTLE 3.0

struct bath {
	struct mb_bus *rect_bus, *heater_bus;
	int rect_dev, heater_dev;       /* -1: not found */
	/* The process: warming up, then plating. */
	double volts, amps, seconds;
	bool heat;              /* through the bath heater (not for calibration) */
	bool warming;
	double warm_deadline;
	double shown_pv;        /* the temperature the bench was last told */
	double plating_since, low_current_since;
};

static struct bath *
B(const struct station *st)
{
	return st->priv;
}

static bool
rect_up(const struct bath *b)
{
	return b->rect_bus && b->rect_dev >= 0 && mb_bus_device_up(b->rect_bus, b->rect_dev);
}

static bool
has_heater(const struct bath *b)
{
	return b->heater_bus && b->heater_dev >= 0;
}

static double
heater_pv(const struct bath *b, bool *known)
{
	double pv = NAN;
	*known = has_heater(b) && mb_bus_value(b->heater_bus, b->heater_dev, "pv", &pv);
	return pv;
}

static void
find_devices(struct station *st)
{
	struct bath *b = B(st);
	b->rect_bus = b->heater_bus = NULL;
	b->rect_dev = b->heater_dev = -1;
	daemon_device(st->d, st->cfg->rectifier, &b->rect_bus, &b->rect_dev);
	daemon_device(st->d, st->cfg->heater, &b->heater_bus, &b->heater_dev);
}

static int
bath_open(struct station *st)
{
	st->priv = xcalloc(1, sizeof(struct bath));
	find_devices(st);
	st->state = rect_up(B(st)) ? ST_IDLE : ST_OFFLINE;
	snprintf(st->detail, sizeof st->detail, "%s", rect_up(B(st)) ? "" : "connecting");
	return 0;
}

static void
bath_close(struct station *st)
{
	free(st->priv);
	st->priv = NULL;
}

static void
bath_reconfigure(struct station *st)
{
	find_devices(st);
}

/* Everything of the bath off: the rectifier, then the heater. */
static void
bath_safe(struct station *st, const char *why)
{
	struct bath *b = B(st);
	(void)why;
	station_relay(st, ROLE_RECTIFIER_ENABLE, 0, NULL, 0);
	station_relay(st, ROLE_BATH_HEATER_ENABLE, 0, NULL, 0);
	station_modbus_safe(b->rect_bus, b->rect_dev);
	station_modbus_safe(b->heater_bus, b->heater_dev);
	station_forget_commands(st);
	st->ends_at = 0;
	b->warming = false;
}

/* The bath stopped on a fault: safe, the steps failed, the reason shown. */
static void
bath_fault(struct station *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
bath_fault(struct station *st, const char *fmt, ...)
{
	char why[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	bath_safe(st, why);
	log_warn("%s: %s", st->name, why);
	daemon_station_finished(st->d, st, false, why);
	station_set(st, ST_FAULT, "%s", why);
}

/* The rectifier on: the plating proper, once the bath is warm. */
static int
start_plating(struct station *st, char *err, size_t len)
{
	struct bath *b = B(st);
	const struct corrections *k = station_corrections(st);
	if (station_relay(st, ROLE_RECTIFIER_ENABLE, 1, err, len) < 0)
		return -1;
	/* The limits are in true volts and amps; the unit is told what gives
	 * them by the technician's calibration. */
	int id = mb_rectifier(b->rect_bus, b->rect_dev, corrections_setpoint(k, "riden-rd60xx",
	    "v_set", b->volts), corrections_setpoint(k, "riden-rd60xx", "i_set", b->amps), true,
	    err, len);
	if (id < 0) {
		station_relay(st, ROLE_RECTIFIER_ENABLE, 0, NULL, 0);
		return -1;
	}
	station_track_command(st, b->rect_bus, id, "the rectifier's start (V-SET, I-SET, output)");
	b->warming = false;
	b->plating_since = now_mono();
	b->low_current_since = 0;
	st->ends_at = now_mono() + b->seconds;
	station_set(st, ST_RUNNING, "plating at %g V, %g A for %g s", b->volts, b->amps, b->seconds);
	return 0;
}

static int
bath_ready(struct station *st, struct err *e)
{
	struct bath *b = B(st);
	if (st->state == ST_RUNNING)
		return err_set(e, API_ERR_BUSY, "the bath%s is already %s", st->suffix,
		    b->warming ? "heating for a plating" : "plating");
	if (!rect_up(b))
		return err_set(e, API_ERR_UNAVAILABLE, "the plating rectifier%s%s is not connected",
		    st->suffix[0] ? " of the bath" : "", st->suffix);
	const char *why = station_forbidden(st, ROLE_RECTIFIER_ENABLE);
	if (why)
		return err_set(e, API_ERR_INTERLOCK, "the bath%s cannot start: %s", st->suffix, why);
	return 0;
}

static int
plate(struct station *st, const struct policy_piece *pieces, size_t n, double volts,
    double amps, double seconds, bool heat, struct err *e)
{
	char err[200];
	struct bath *b = B(st);
	const struct cfg_bath *c = &st->cfg->bath;
	if (st->kind != KIND_BATH)
		return err_set(e, API_ERR_INVALID_PARAMS, "%s is not a bath", st->name);
	if (station_check_load(st, pieces, n, e) < 0)
		return -1;
	if (st->state == ST_RUNNING)
		return bath_ready(st, e);
	if (!(volts > 0 && volts <= c->max_voltage))
		return err_set(e, API_ERR_INVALID, "%g V is outside 0..%g V (never more, whatever the "
		    "recipe)", volts, c->max_voltage);
	if (!(amps > 0 && amps <= c->max_current))
		return err_set(e, API_ERR_INVALID, "%g A is outside 0..%g A", amps, c->max_current);
	if (!(seconds >= 1 && seconds <= 3600))
		return err_set(e, API_ERR_INVALID, "%g s is outside 1..3600 s", seconds);
	if (bath_ready(st, e) < 0)
		return -1;
	const char *why;
	heat = heat && has_heater(b);
	if (heat) {
		if (!mb_bus_device_up(b->heater_bus, b->heater_dev))
			return err_set(e, API_ERR_UNAVAILABLE, "the bath heater%s%s is not connected",
			    st->suffix[0] ? " of the bath" : "", st->suffix);
		if ((why = station_forbidden(st, ROLE_BATH_HEATER_ENABLE)) != NULL)
			return err_set(e, API_ERR_INTERLOCK, "the bath%s cannot heat: %s", st->suffix,
			    why);
	}
	b->volts = volts;
	b->amps = amps;
	b->seconds = seconds;
	b->heat = heat;
	b->warming = false;
	if (heat) {
		/* The heater first: the bath plates at its temperature, the
		 * heater's relay under the interlock like every output. */
		if (station_relay(st, ROLE_BATH_HEATER_ENABLE, 1, err, sizeof err) < 0)
			return err_set(e, API_ERR_INTERLOCK, "the bath%s cannot heat: %s", st->suffix,
			    err);
		int id = mb_heater(b->heater_bus, b->heater_dev, c->temperature, true, err, sizeof err);
		if (id < 0) {
			bath_safe(st, err);
			return err_set(e, API_ERR_INVALID, "%s", err);
		}
		station_track_command(st, b->heater_bus, id, "the bath heater's start (SV, RUN)");
		bool known;
		double pv = heater_pv(b, &known);
		if (!known || fabs(pv - c->temperature) > c->temperature_tolerance) {
			/* Warming up: the rectifier waits, the bench sees it. */
			b->warming = true;
			b->warm_deadline = now_mono() + c->max_warmup;
			b->shown_pv = known ? pv : NAN;
			char now[40] = "its temperature not read yet";
			if (known)
				snprintf(now, sizeof now, "now %.1f C", pv);
			station_set(st, ST_RUNNING, "heating the bath to %g C (%s) before plating at "
			    "%g V, %g A for %g s", c->temperature, now, volts, amps, seconds);
			return 0;
		}
	}
	if (start_plating(st, err, sizeof err) < 0) {
		bath_safe(st, err);
		return err_set(e, API_ERR_INTERLOCK, "the bath%s cannot start: %s", st->suffix, err);
	}
	return 0;
}

int
station_bath_plate(struct station *st, const struct policy_piece *pieces, size_t n,
    double volts, double amps, double seconds, struct err *e)
{
	return plate(st, pieces, n, volts, amps, seconds, true, e);
}

int
station_bath_drive(struct station *st, double volts, double amps, double seconds,
    struct err *e)
{
	static const struct policy_piece nothing = { .metal = "platinum" };
	return plate(st, &nothing, 1, volts, amps, seconds, false, e);
}

bool
station_bath_warming(const struct station *st)
{
	return st->kind == KIND_BATH && B(st) && B(st)->warming;
}

static int
bath_start(struct station *st, const struct policy_piece *pieces, size_t n, json_t *params,
    uid_t owner, struct err *e)
{
	(void)owner;
	return station_bath_plate(st, pieces, n, station_param(params, "volts", NAN),
	    station_param(params, "amps", NAN), station_param(params, "seconds", NAN), e);
}

static void
bath_stop(struct station *st, const char *why)
{
	daemon_station_finished(st->d, st, false, why);
	bath_safe(st, why);
	if (st->state == ST_RUNNING || st->state == ST_FAULT)
		station_set(st, ST_IDLE, "%s", why);
}

static void
bath_tripped(struct station *st, const char *why, unsigned char laser_byte)
{
	(void)laser_byte;
	/* Only the rectifier's or the heater's relay went; whatever the
	 * process was doing, it cannot go on as it said. */
	if (st->state == ST_RUNNING)
		station_set(st, ST_FAULT, "stopped: %s", why);
	bath_safe(st, why);
}

static void
bath_command_failed(struct station *st, const char *why)
{
	if (st->state == ST_RUNNING)
		bath_fault(st, "%s", why);
}

/* The bath while it runs: warming up to plating, the heater kept in hand,
 * and current flowing through the bath once plating. */
static void
process_tick(struct station *st, double now)
{
	struct bath *b = B(st);
	const struct cfg_bath *c = &st->cfg->bath;
	const struct corrections *k = station_corrections(st);
	char err[200];
	bool known = false;
	double pv = b->heat ? heater_pv(b, &known) : NAN;
	if (b->heat && known && pv > c->temperature + BATH_RUNAWAY) {
		bath_fault(st, "the bath heater runs away: %.1f C for %g C; the heater is cut", pv,
		    c->temperature);
		return;
	}
	if (b->warming) {
		if (known && fabs(pv - c->temperature) <= c->temperature_tolerance) {
			if (start_plating(st, err, sizeof err) < 0)
				bath_fault(st, "the bath cannot start plating: %s", err);
			return;
		}
		if (now >= b->warm_deadline) {
			bath_fault(st, "the bath did not reach %g C within %g s (%.1f C): the heater "
			    "does not heat", c->temperature, c->max_warmup, pv);
			return;
		}
		if (known && !(fabs(pv - b->shown_pv) < 0.5)) {
			b->shown_pv = pv;
			station_set(st, ST_RUNNING, "heating the bath to %g C (now %.1f C) before "
			    "plating at %g V, %g A for %g s", c->temperature, pv, b->volts, b->amps,
			    b->seconds);
		}
		return;
	}
	if (b->heat && known && pv < c->temperature - BATH_RUNAWAY) {
		bath_fault(st, "the bath has cooled to %.1f C during plating (%g C wanted): the "
		    "heater does not heat", pv, c->temperature);
		return;
	}
	/* No current through the bath: a piece not in contact, an anode
	 * out of the bath, a rectifier that did not switch on. */
	double i;
	if (now - b->plating_since < BATH_SETTLE ||
	    !mb_bus_value(b->rect_bus, b->rect_dev, "i_out", &i))
		return;
	i = corrections_reading(k, "riden-rd60xx", "i_out", i);
	if (i >= fmax(BATH_NO_CURRENT, 0.02 * b->amps)) {
		b->low_current_since = 0;
	} else if (!b->low_current_since) {
		b->low_current_since = now;
	} else if (now - b->low_current_since >= BATH_SETTLE) {
		double v = NAN;
		mb_bus_value(b->rect_bus, b->rect_dev, "v_out", &v);
		bath_fault(st, "no current flows through the bath (%.3f A at %.2f V, %g A asked): "
		    "check the piece's contact and the anode", i, corrections_reading(k,
		    "riden-rd60xx", "v_out", v), b->amps);
	}
}

static void
bath_tick(struct station *st, double now)
{
	if (st->state == ST_RUNNING)
		process_tick(st, now);
	if (st->state == ST_RUNNING && st->ends_at && now >= st->ends_at) {
		daemon_station_finished(st->d, st, true, "the plating time is complete");
		bath_stop(st, "the plating time is complete");
		station_set(st, ST_IDLE, "the plating time is complete");
	}
	bool up = rect_up(B(st));
	if (!up && st->state != ST_OFFLINE && st->state != ST_RUNNING)
		station_set(st, ST_OFFLINE, "the plating rectifier%s%s is not connected",
		    st->suffix[0] ? " of the bath" : "", st->suffix);
	else if (up && st->state == ST_OFFLINE)
		station_set(st, ST_IDLE, "%s", "connected");
}

static void
bath_safety_devices(struct station *st, struct safety_station *out)
{
	out->bus[0] = B(st)->rect_bus;
	out->dev[0] = B(st)->rect_dev;
	out->bus[1] = B(st)->heater_bus;
	out->dev[1] = B(st)->heater_dev;
}

static void
bath_status(struct station *st, json_t *devices)
{
	station_device_status(st, B(st)->rect_bus, B(st)->rect_dev, devices);
	station_device_status(st, B(st)->heater_bus, B(st)->heater_dev, devices);
}

const struct station_ops station_bath_ops = {
	.kind = KIND_BATH,
	.process = PROC_ACID_BATH,
	.open = bath_open,
	.close = bath_close,
	.reconfigure = bath_reconfigure,
	.safe = bath_safe,
	.start = bath_start,
	.stop = bath_stop,
	.ready = bath_ready,
	.tick = bath_tick,
	.tripped = bath_tripped,
	.command_failed = bath_command_failed,
	.safety_devices = bath_safety_devices,
	.status = bath_status,
};
