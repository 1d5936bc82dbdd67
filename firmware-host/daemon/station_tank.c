/*
 * The tank kind: an ultrasonic cleaning tank whose generator (heater and
 * transducer) speaks Modbus, its two relays under the interlock, its lid
 * guarding it alone. A load is every piece the jeweller put in at once,
 * each cleared by policy for ultrasound (no emerald, pearl or other stone
 * too delicate for it); a cycle ends by its time, a lid opened or a
 * device that stops answering.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/station.h"
#include "log.h"
#include "mb_devices.h"
#include "util.h"

struct tank {
	struct mb_bus *bus;     /* its generator's */
	int dev;                /* -1: not found on any bus */
};

static struct tank *
T(const struct station *st)
{
	return st->priv;
}

static bool
linked(const struct station *st)
{
	const struct tank *t = T(st);
	return t->bus && t->dev >= 0 && mb_bus_device_up(t->bus, t->dev);
}

static void
find_device(struct station *st)
{
	struct tank *t = T(st);
	t->bus = NULL;
	t->dev = -1;
	daemon_device(st->d, st->cfg->device, &t->bus, &t->dev);
}

static int
tank_open(struct station *st)
{
	st->priv = xcalloc(1, sizeof(struct tank));
	find_device(st);
	st->state = linked(st) ? ST_IDLE : ST_OFFLINE;
	snprintf(st->detail, sizeof st->detail, "%s", linked(st) ? "" : "connecting");
	return 0;
}

static void
tank_close(struct station *st)
{
	free(st->priv);
	st->priv = NULL;
}

static void
tank_reconfigure(struct station *st)
{
	find_device(st);
}

static void
tank_safe(struct station *st, const char *why)
{
	(void)why;
	station_forget_commands(st);
	station_relay(st, ROLE_ULTRASOUND_ENABLE, 0, NULL, 0);
	station_relay(st, ROLE_TANK_HEATER_ENABLE, 0, NULL, 0);
	station_modbus_safe(T(st)->bus, T(st)->dev);
	st->ends_at = 0;
}

static int
tank_ready(struct station *st, struct err *e)
{
	const char *why;
	if (st->state == ST_RUNNING)
		return err_set(e, API_ERR_BUSY, "the tank%s is already cleaning a load", st->suffix);
	if (!linked(st))
		return err_set(e, API_ERR_UNAVAILABLE, "the cleaning tank%s is not connected",
		    st->suffix);
	if ((why = station_forbidden(st, ROLE_ULTRASOUND_ENABLE)) != NULL ||
	    (why = station_forbidden(st, ROLE_TANK_HEATER_ENABLE)) != NULL)
		return err_set(e, API_ERR_INTERLOCK, "the tank%s cannot start: %s", st->suffix, why);
	return 0;
}

int
station_tank_start(struct station *st, const struct policy_piece *pieces, size_t n,
    double seconds, double power, double khz, double temperature, struct err *e)
{
	char err[200];
	if (st->kind != KIND_TANK)
		return err_set(e, API_ERR_INVALID_PARAMS, "%s is not a tank", st->name);
	struct tank *t = T(st);
	const struct cfg_tank *c = &st->cfg->tank;
	if (station_check_load(st, pieces, n, e) < 0)
		return -1;
	if (st->state == ST_RUNNING)
		return err_set(e, API_ERR_BUSY, "the tank%s is already cleaning a load", st->suffix);
	if (!(seconds >= 1 && seconds <= c->max_cycle))
		return err_set(e, API_ERR_INVALID, "a cycle of %g s is outside 1..%g s", seconds,
		    c->max_cycle);
	if (temperature > c->max_temperature || temperature < 20)
		return err_set(e, API_ERR_INVALID, "%g C is outside 20..%g C", temperature,
		    c->max_temperature);
	if (power < 10 || power > 100 || khz < 20 || khz > 80)
		return err_set(e, API_ERR_INVALID, "power %g %% or frequency %g kHz is out of range "
		    "(10..100 %%, 20..80 kHz)", power, khz);
	if (tank_ready(st, e) < 0)
		return -1;
	if (station_relay(st, ROLE_TANK_HEATER_ENABLE, 1, err, sizeof err) < 0 ||
	    station_relay(st, ROLE_ULTRASOUND_ENABLE, 1, err, sizeof err) < 0) {
		station_relay(st, ROLE_TANK_HEATER_ENABLE, 0, NULL, 0);
		return err_set(e, API_ERR_INTERLOCK, "the tank%s cannot start: %s", st->suffix, err);
	}
	int heat = mb_tank_heater(t->bus, t->dev, true, corrections_setpoint(station_corrections(st),
	    "tank-generator", "temperature_set", temperature), err, sizeof err);
	int sound = heat < 0 ? -1 : mb_tank_ultrasound(t->bus, t->dev, true, power, khz, seconds,
	    c->sweep, err, sizeof err);
	if (heat < 0 || sound < 0) {
		tank_safe(st, err);
		return err_set(e, API_ERR_INVALID, "%s", err);
	}
	station_track_command(st, t->bus, heat, "the tank heater's start");
	station_track_command(st, t->bus, sound, "the ultrasound's start");
	st->ends_at = now_mono() + seconds;
	station_set(st, ST_RUNNING, "cleaning %zu piece%s for %g s at %g C", n, n > 1 ? "s" : "",
	    seconds, temperature);
	return 0;
}

static int
tank_start(struct station *st, const struct policy_piece *pieces, size_t n, json_t *params,
    uid_t owner, struct err *e)
{
	const struct cfg_tank *c = &st->cfg->tank;
	(void)owner;
	return station_tank_start(st, pieces, n, station_param(params, "seconds", c->cycle),
	    station_param(params, "power", c->power), station_param(params, "frequency",
	    corrections_tank_frequency(station_corrections(st), c->frequency)),
	    station_param(params, "temperature", c->temperature), e);
}

static void
tank_stop(struct station *st, const char *why)
{
	daemon_station_finished(st->d, st, false, why);
	tank_safe(st, why);
	if (st->state == ST_RUNNING || st->state == ST_FAULT)
		station_set(st, ST_IDLE, "%s", why);
}

static void
tank_tripped(struct station *st, const char *why, unsigned char laser_byte)
{
	(void)laser_byte;
	if (st->state == ST_RUNNING)
		station_set(st, ST_FAULT, "stopped: %s", why);
	st->ends_at = 0;
}

static void
tank_command_failed(struct station *st, const char *why)
{
	if (st->state != ST_RUNNING)
		return;
	tank_stop(st, why);
	station_set(st, ST_FAULT, "%s", why);
}

static void
tank_tick(struct station *st, double now)
{
	if (st->state == ST_RUNNING && st->ends_at && now >= st->ends_at) {
		/* The steps are done before the stop, which would fail them. */
		daemon_station_finished(st->d, st, true, "the cleaning cycle is complete");
		tank_stop(st, "the cleaning cycle is complete");
		station_set(st, ST_IDLE, "the cleaning cycle is complete");
	}
	/* A tank whose device is gone is offline, and idle again once it
	 * answers: its status follows the link, as a laser's does. */
	bool up = linked(st);
	if (!up && st->state != ST_OFFLINE && st->state != ST_RUNNING)
		station_set(st, ST_OFFLINE, "the cleaning tank%s is not connected", st->suffix);
	else if (up && st->state == ST_OFFLINE)
		station_set(st, ST_IDLE, "%s", "connected");
}

static void
tank_safety_devices(struct station *st, struct safety_station *out)
{
	out->bus[0] = T(st)->bus;
	out->dev[0] = T(st)->dev;
}

static void
tank_status(struct station *st, json_t *devices)
{
	station_device_status(st, T(st)->bus, T(st)->dev, devices);
}

const struct station_ops station_tank_ops = {
	.kind = KIND_TANK,
	.process = PROC_ULTRASONIC,
	.open = tank_open,
	.close = tank_close,
	.reconfigure = tank_reconfigure,
	.safe = tank_safe,
	.start = tank_start,
	.stop = tank_stop,
	.ready = tank_ready,
	.tick = tank_tick,
	.tripped = tank_tripped,
	.command_failed = tank_command_failed,
	.safety_devices = tank_safety_devices,
	.status = tank_status,
};
