/*
 * What every station kind shares (station.h): its state and what the
 * bench is told of it, its outputs through the safety path, the policy
 * check of a load, the Modbus commands its start depends on, and the
 * generic entry points the parts call (station_start, station_stop,
 * daemon_station_for) that reach a kind only through its ops.
 */
#include "daemon/station.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "mb_devices.h"
#include "util.h"

static const char *const state_names[] = { "idle", "running", "stopping", "fault", "offline" };

const char *
station_state_name(enum station_state s)
{
	return (unsigned)s < ARRAY_LEN(state_names) ? state_names[s] : "?";
}

void
station_set(struct station *st, enum station_state state, const char *fmt, ...)
{
	va_list ap;
	char detail[200];
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	if (st->state == state && strcmp(st->detail, detail) == 0)
		return;
	/* A new state is news for the log; progress within one (a bath
	 * warming up degree by degree) only for its debug level. */
	if (st->state != state)
		log_info("%s: %s%s%s", st->name, state_names[state], *detail ? ": " : "", detail);
	else
		log_debug("%s: %s%s%s", st->name, state_names[state], *detail ? ": " : "", detail);
	st->state = state;
	snprintf(st->detail, sizeof st->detail, "%s", detail);
	daemon_notify(st->d, "station", json_pack("{s:s, s:s, s:s, s:s}", "station", st->name,
	    "kind", cfg_kind_name(st->kind), "state", state_names[state], "detail", detail));
}

int
station_relay(struct station *st, enum cfg_role role, int on, char *why, size_t len)
{
	struct daemon *d = st->d;
	int line = st->cfg->line[role];
	if (line < 0)
		return 0;
	if (!d->safety) {
		if (why)
			snprintf(why, len, "the safety inputs and relays cannot be reached");
		return on ? -1 : 0;
	}
	if (!on) {
		safety_release(d->safety, line);
		return 0;
	}
	char tmp[200];
	return safety_energise(d->safety, line, why ? why : tmp, why ? len : sizeof tmp);
}

const char *
station_forbidden(struct station *st, enum cfg_role role)
{
	const struct interlock *il = daemon_interlock(st->d);
	int line = st->cfg->line[role];
	if (line < 0)
		return NULL;
	if (!st->d->safety)
		return "the safety inputs and relays cannot be reached";
	return interlock_reason_line(il, line);
}

void
station_modbus_safe(struct mb_bus *b, int dev)
{
	char err[200];
	if (b && dev >= 0 && mb_safe_state(b, dev, err, sizeof err) < 0)
		log_warn("safe state of %s: %s", mb_bus_device_name(b, dev), err);
}

int
station_check_load(struct station *st, const struct policy_piece *pieces, size_t n,
    struct err *e)
{
	const struct cfg_gems *gems = st->d->catalog ? &st->d->catalog->gems : policy_default_gems();
	if (n == 0)
		return err_set(e, API_ERR_INVALID, "the load has no piece");
	for (size_t i = 0; i < n; i++) {
		struct policy_verdict v;
		policy_judge(gems, &pieces[i], st->ops->process, &v);
		if (!v.permitted)
			return err_set(e, API_ERR_REFUSED, "%s%s%s", v.reason,
			    n > 1 ? " (piece " : "", n > 1 ? "of the load)" : "");
	}
	return 0;
}

void
station_track_command(struct station *st, struct mb_bus *b, int id, const char *what)
{
	struct daemon *d = st->d;
	if (id <= 0 || !b)
		return;
	for (size_t i = 0; i < ARRAY_LEN(d->commands); i++) {
		if (d->commands[i].id == 0) {
			d->commands[i] = (struct station_command){ .bus = b, .id = id, .st = st };
			snprintf(d->commands[i].what, sizeof d->commands[i].what, "%s", what);
			return;
		}
	}
	log_warn("%s: too many commands in flight to follow", st->name);
}

void
station_forget_commands(struct station *st)
{
	struct daemon *d = st->d;
	for (size_t i = 0; i < ARRAY_LEN(d->commands); i++)
		if (d->commands[i].st == st)
			d->commands[i].id = 0;
}

const struct corrections *
station_corrections(const struct station *st)
{
	return &st->d->corr[st->index];
}

double
station_param(json_t *params, const char *key, double def)
{
	json_t *v = json_object_get(params, key);
	return json_is_number(v) ? json_number_value(v) : def;
}

bool
daemon_device(struct daemon *d, const char *name, struct mb_bus **bus, int *dev)
{
	*bus = NULL;
	*dev = -1;
	for (size_t i = 0; name && i < d->n_buses; i++)
		for (size_t k = 0; k < mb_bus_devices(d->buses[i]); k++)
			if (strcmp(mb_bus_device_name(d->buses[i], (int)k), name) == 0) {
				*bus = d->buses[i];
				*dev = (int)k;
				return true;
			}
	return false;
}

void
station_device_status(struct station *st, struct mb_bus *bus, int dev, json_t *devices)
{
	if (!bus || dev < 0)
		return;
	json_t *o = json_pack("{s:b}", "up", mb_bus_device_up(bus, dev));
	/* Each with the precision of its unit: C, V, A, Ah. */
	static const struct { const char *reg; int decimals; } shown[] = {
		{ "temperature", 1 }, { "v_out", 2 }, { "i_out", 3 }, { "ah", 3 }, { "pv", 1 },
		{ "sv", 1 },
	};
	for (size_t s = 0; s < ARRAY_LEN(shown); s++) {
		double v;
		if (mb_bus_value(bus, dev, shown[s].reg, &v))
			json_object_set_new(o, shown[s].reg, api_unit(corrections_reading(
			    station_corrections(st), mb_bus_device_profile(bus, dev), shown[s].reg, v),
			    shown[s].decimals));
	}
	json_object_set_new(o, "station", json_string(st->name));
	json_object_set_new(devices, mb_bus_device_name(bus, dev), o);
}

bool
station_device(const struct station *st, int which, struct mb_bus **bus, int *dev)
{
	struct safety_station ss = { .dev = { -1, -1 } };
	if (st->ops->safety_devices)
		st->ops->safety_devices((struct station *)st, &ss);
	*bus = which >= 0 && which < 2 ? ss.bus[which] : NULL;
	*dev = which >= 0 && which < 2 ? ss.dev[which] : -1;
	return *bus && *dev >= 0;
}

/* --- the parts' entry points ------------------------------------------------ */

struct station *
daemon_station(struct daemon *d, const char *name)
{
	for (size_t i = 0; name && i < d->n_stations; i++)
		if (strcmp(d->stations[i].name, name) == 0)
			return &d->stations[i];
	return NULL;
}

struct station *
daemon_station_for(struct daemon *d, const char *name, int kind, struct err *e)
{
	char names[400] = "";
	if (name) {
		struct station *st = daemon_station(d, name);
		for (size_t i = 0; i < d->n_stations; i++)
			snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
			    names[0] ? ", " : "", d->stations[i].name);
		if (!st)
			return err_null(e, API_ERR_INVALID_PARAMS, "there is no station '%.60s'; the "
			    "stations are %s", name, names[0] ? names : "none");
		if (kind >= 0 && st->kind != (enum cfg_kind)kind)
			return err_null(e, API_ERR_INVALID_PARAMS, "%s is a %s, not a %s", st->name,
			    cfg_kind_name(st->kind), cfg_kind_name((enum cfg_kind)kind));
		return st;
	}
	struct station *only = NULL;
	int count = 0;
	for (size_t i = 0; i < d->n_stations; i++) {
		if (kind >= 0 && d->stations[i].kind != (enum cfg_kind)kind)
			continue;
		only = &d->stations[i];
		count++;
		snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
		    names[0] ? ", " : "", d->stations[i].name);
	}
	if (count == 1)
		return only;
	if (count == 0)
		return err_null(e, API_ERR_UNAVAILABLE, "the workshop has no %s",
		    kind >= 0 ? cfg_kind_name((enum cfg_kind)kind) : "station");
	return err_null(e, API_ERR_INVALID_PARAMS, "the workshop has %d %ss (%s): name one with "
	    "'station'", count, kind >= 0 ? cfg_kind_name((enum cfg_kind)kind) : "station", names);
}

struct station *
daemon_station_param(struct daemon *d, struct api_call *c, int kind)
{
	struct err e;
	json_t *v = c->params ? json_object_get(c->params, "station") : NULL;
	if (v && !json_is_string(v)) {
		api_fail(c, API_ERR_INVALID_PARAMS, "'station' must be a station's name");
		return NULL;
	}
	struct station *st = daemon_station_for(d, json_string_value(v), kind, &e);
	if (!st)
		api_fail(c, e.code, "%s", e.msg);
	return st;
}

int
station_start(struct station *st, const struct policy_piece *pieces, size_t n, json_t *params,
    uid_t owner, struct err *e)
{
	return st->ops->start(st, pieces, n, params, owner, e);
}

void
station_stop(struct station *st, const char *why)
{
	st->ops->stop(st, why);
}

int
station_ready(struct station *st, struct err *e)
{
	return st->ops->ready(st, e);
}
