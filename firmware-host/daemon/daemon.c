/*
 * atelierd: the event loop that ties the drivers, the interlock, the
 * stations and the API together (see daemon.h).
 *
 * Reactions to a trip are made in the same pass of the loop that saw the
 * input change, GPIO first (the enable relays are the cut-off that does
 * not depend on any firmware), then the realtime byte to the laser, then
 * the Modbus safe-state commands, which overtake everything queued on
 * their bus. Every tick also re-checks that no relay is energised that the
 * interlock does not permit.
 */
#include "daemon/daemon.h"

#include <errno.h>
#include <grp.h>
#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "log.h"
#include "mb_devices.h"
#include "policy/laser_program.h"
#include "util.h"

#define TICK 0.1

static const char *const state_names[] = { "idle", "running", "stopping", "fault", "offline" };

static void station_set(struct daemon *d, struct station *s, enum station_state st,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void stations_links(struct daemon *d);
static void station_command_done(struct daemon *d, struct mb_bus *b, const struct mb_event *ev);
static void bath_tick(struct daemon *d, double now);

static void
station_set(struct daemon *d, struct station *s, enum station_state st, const char *fmt, ...)
{
	va_list ap;
	char detail[200];
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	if (s->state == st && strcmp(s->detail, detail) == 0)
		return;
	/* A new state is news for the log; progress within one (a bath
	 * warming up degree by degree) only for its debug level. */
	if (s->state != st)
		log_info("%s: %s%s%s", s->name, state_names[st], *detail ? ": " : "", detail);
	else
		log_debug("%s: %s%s%s", s->name, state_names[st], *detail ? ": " : "", detail);
	s->state = st;
	snprintf(s->detail, sizeof s->detail, "%s", detail);
	daemon_notify(d, "station", json_pack("{s:s, s:s, s:s}", "station", s->name, "state",
	    state_names[st], "detail", detail));
}

void
daemon_notify(struct daemon *d, const char *event, json_t *params)
{
	if (d->api)
		api_notify(d->api, event, params);
	else
		json_decref(params);
}

/* --- outputs and the interlock -------------------------------------- */

/* Outputs are the safety path's: on only if the interlock permits it
 * there and then; off at once. */
static int
relay(struct daemon *d, enum cfg_line_id line, int on, char *why, size_t len)
{
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

static void
modbus_safe(struct mb_bus *b, int dev)
{
	char err[200];
	if (b && dev >= 0 && mb_safe_state(b, dev, err, sizeof err) < 0)
		log_warn("safe state of %s: %s", mb_bus_device_name(b, dev), err);
}

const struct interlock *
daemon_interlock(struct daemon *d)
{
	if (d->safety) {
		struct safety_state st;
		safety_snapshot(d->safety, &st);
		d->il = st.il;
	} else {
		interlock_init(&d->il);
	}
	return &d->il;
}

static void
safe_everything(struct daemon *d, const char *why)
{
	for (int l = LINE_FIRST_OUTPUT; l < LINE_COUNT; l++)
		relay(d, (enum cfg_line_id)l, 0, NULL, 0);
	if (d->laser && grbl_link_state(d->laser) != GRBL_DOWN) {
		if (grbl_streaming(d->laser))
			grbl_stream_cancel(d->laser, why);
		grbl_realtime(d->laser, GRBL_RT_RESET);
	}
	d->laser_flush_until = 0;
	modbus_safe(d->tank_bus, d->tank_dev);
	modbus_safe(d->rect_bus, d->rect_dev);
	modbus_safe(d->heater_bus, d->heater_dev);
}

/* The safety path made the safe state already (relays, stop byte, Modbus
 * safe states); what is left here is the daemon's own bookkeeping: the
 * stream, the stations, the steps and the clients. */
static void
on_trip(struct daemon *d, unsigned tripped, unsigned char laser_byte)
{
	const struct interlock *il = daemon_interlock(d);
	const unsigned tank = (1u << IL_ULTRASOUND) | (1u << IL_TANK_HEATER);
	d->reacting = true;
	if (tripped & (1u << IL_LASER)) {
		const char *why = interlock_reason(il, IL_LASER);
		why = why ? why : "the interlock tripped";
		bool was_streaming = d->laser && grbl_streaming(d->laser);
		if (was_streaming)
			grbl_stream_cancel(d->laser, why);
		/* A door byte holds GRBL with the rest of the program still
		 * planned: once the hold is complete (no step lost), a reset
		 * empties its buffers, so that no resume can run them. */
		if (laser_byte == GRBL_RT_DOOR && d->laser)
			d->laser_flush_until = now_mono() + 10;
		d->laser_hold_by = (uid_t)-1;
		if (d->laser_st.state == ST_RUNNING)
			station_set(d, &d->laser_st, ST_FAULT, "stopped: %s", why);
	}
	if (tripped & tank) {
		if (d->tank_st.state == ST_RUNNING)
			station_set(d, &d->tank_st, ST_FAULT, "stopped: %s",
			    interlock_reason(il, IL_ULTRASOUND) ? interlock_reason(il, IL_ULTRASOUND) :
			    "the interlock tripped");
		d->tank_st.ends_at = 0;
	}
	if (tripped & (1u << IL_RECTIFIER)) {
		if (d->bath_st.state == ST_RUNNING)
			station_set(d, &d->bath_st, ST_FAULT, "stopped: %s",
			    interlock_reason(il, IL_RECTIFIER) ? interlock_reason(il, IL_RECTIFIER) :
			    "the interlock tripped");
		d->bath_st.ends_at = 0;
	}
	d->reacting = false;
	const struct { unsigned mask; const struct station *st; enum il_actuator a; } ends[] = {
		{ 1u << IL_LASER, &d->laser_st, IL_LASER },
		{ (1u << IL_ULTRASOUND) | (1u << IL_TANK_HEATER), &d->tank_st, IL_ULTRASOUND },
		{ 1u << IL_RECTIFIER, &d->bath_st, IL_RECTIFIER },
	};
	for (size_t i = 0; i < ARRAY_LEN(ends); i++) {
		if (!(tripped & ends[i].mask))
			continue;
		const char *why = interlock_reason(il, ends[i].a);
		daemon_station_finished(d, ends[i].st, false, why ? why : "the interlock tripped");
	}
	json_t *list = json_array();
	for (int a = 0; a < IL_ACTUATOR_COUNT; a++) {
		if (!(tripped & (1u << a)))
			continue;
		const char *why = interlock_reason(il, (enum il_actuator)a);
		json_array_append_new(list, json_pack("{s:s, s:s}", "actuator",
		    interlock_actuator_name((enum il_actuator)a), "reason", why ? why : "tripped"));
	}
	daemon_notify(d, "interlock", json_pack("{s:o, s:b}", "tripped", list, "latched", il->latched));
}

static void
on_safety(struct loop *l, int fd, short revents, void *arg)
{
	struct daemon *d = arg;
	struct safety_event ev[32];
	size_t n;
	(void)l;
	(void)fd;
	(void)revents;
	while (d->safety && (n = safety_drain(d->safety, ev, ARRAY_LEN(ev))) > 0) {
		bool was_latched = d->il.latched;
		for (size_t i = 0; i < n; i++) {
			switch (ev[i].type) {
			case SAFETY_EV_TRIP:
				on_trip(d, ev[i].tripped, ev[i].laser_byte);
				break;
			case SAFETY_EV_INPUT:
				log_debug("input %s = %d", cfg_line_name(ev[i].line), ev[i].value);
				daemon_notify(d, "input", json_pack("{s:s, s:i}", "line",
				    cfg_line_name(ev[i].line), "value", ev[i].value));
				break;
			case SAFETY_EV_GPIO_LINK:
				if (ev[i].up)
					log_info("GPIO link up");
				else
					log_warn("GPIO link lost: %s", ev[i].why);
				break;
			}
		}
		if (daemon_interlock(d)->latched && !was_latched)
			log_warn("emergency stop: latched until released and reset by a technician");
	}
}

enum il_reset_result
daemon_estop_reset(struct daemon *d)
{
	if (!d->safety)
		return IL_RESET_NOT_LATCHED;
	enum il_reset_result r = safety_reset(d->safety);
	daemon_interlock(d);
	return r;
}

/* --- driver callbacks ----------------------------------------------- */

static void
on_laser_link(void *arg, enum grbl_link state, const char *why)
{
	struct daemon *d = arg;
	static const char *const names[] = { "down", "connecting", "ready" };
	log_info("laser link %s%s%s", names[state], why ? ": " : "", why ? why : "");
	d->laser_alarm[0] = '\0';     /* a new link: GRBL says its state afresh */
	if (state == GRBL_READY && d->laser_st.state == ST_OFFLINE)
		station_set(d, &d->laser_st, ST_IDLE, "%s", "");
	if (state == GRBL_DOWN)
		station_set(d, &d->laser_st, ST_OFFLINE, "%s", why ? why : "link down");
	daemon_notify(d, "device", json_pack("{s:s, s:s}", "device", "laser", "link", names[state]));
	if (d->safety)
		safety_poke(d->safety);
}

static void
on_laser_error(void *arg, long line_no, const char *line, int code, const char *meaning)
{
	struct daemon *d = arg;
	log_warn("laser: line %ld (%s): error:%d, %s", line_no, line, code, meaning);
	if (grbl_streaming(d->laser))
		d->laser_error = true;
}

static void
on_laser_alarm(void *arg, int code, const char *meaning)
{
	struct daemon *d = arg;
	log_warn("laser: ALARM:%d, %s", code, meaning);
	snprintf(d->laser_alarm, sizeof d->laser_alarm, "ALARM:%d, %s", code, meaning);
	relay(d, LINE_LASER_ENABLE, 0, NULL, 0);
	relay(d, LINE_BEACON, 0, NULL, 0);
}

static void
on_laser_done(void *arg, bool ok, const char *why)
{
	struct daemon *d = arg;
	relay(d, LINE_LASER_ENABLE, 0, NULL, 0);
	relay(d, LINE_BEACON, 0, NULL, 0);
	d->laser_hold_by = (uid_t)-1;
	/* GRBL runs on past an error with what it has buffered; the driver
	 * held it. Once the hold is complete a reset empties its buffers
	 * (keeping the position), so that nothing of the program can run. */
	if (!ok && d->laser_error && grbl_link_state(d->laser) == GRBL_READY)
		d->laser_flush_until = now_mono() + 10;
	d->laser_error = false;
	if (!d->reacting)
		daemon_station_finished(d, &d->laser_st, ok, ok ? "the engraving is complete" : why);
	if (d->laser_st.state == ST_RUNNING) {
		if (ok)
			station_set(d, &d->laser_st, ST_IDLE, "the engraving is complete");
		else
			station_set(d, &d->laser_st, ST_FAULT, "%s", why);
	}
}

static void
on_laser_setting(void *arg, int num, double value, bool verified)
{
	struct daemon *d = arg;
	for (size_t i = 0; i < d->n_listeners; i++)
		if (d->listeners[i].laser_setting)
			d->listeners[i].laser_setting(d, num, value, verified, d->listeners[i].ctx);
	if (d->laser_setting.answer && d->laser_setting.num == num) {
		if (verified)
			api_pending_result(d->laser_setting.answer, json_pack("{s:i, s:f, s:b}",
			    "setting", num, "value", value, "verified", 1));
		else
			api_pending_fail(d->laser_setting.answer, API_ERR_UNAVAILABLE, "GRBL refused "
			    "$%d=%g, or read it back different", num, value);
		d->laser_setting.answer = NULL;
	}
}

static void on_laser_checked(void *arg, bool ok, const char *why);

static const struct grbl_events laser_events = { on_laser_link, NULL, on_laser_error,
	on_laser_alarm, NULL, on_laser_done, on_laser_setting, on_laser_checked };

static void
on_bus(struct loop *l, int fd, short revents, void *arg)
{
	struct daemon *d = arg;
	(void)l;
	(void)revents;
	for (size_t i = 0; i < d->n_buses; i++) {
		if (mb_bus_fd(d->buses[i]) != fd)
			continue;
		struct mb_event ev[32];
		size_t n;
		while ((n = mb_bus_drain(d->buses[i], ev, 32)) > 0) {
			for (size_t k = 0; k < n; k++) {
				if (ev[k].type == MB_EV_POLL)
					continue;
				if (ev[k].type == MB_EV_DONE)
					station_command_done(d, d->buses[i], &ev[k]);
				if (ev[k].type == MB_EV_DONE && ev[k].ok)
					continue;
				if (ev[k].type == MB_EV_LINK && d->safety)
					safety_poke(d->safety);
				if (ev[k].type == MB_EV_REBOOT || !ev[k].ok)
					log_warn("%s", ev[k].text);
				else
					log_info("%s", ev[k].text);
				daemon_notify(d, "device", json_pack("{s:s, s:b, s:s}", "device",
				    ev[k].dev >= 0 ? mb_bus_device_name(d->buses[i], ev[k].dev) : "bus",
				    "ok", ev[k].ok, "text", ev[k].text));
			}
		}
	}
	stations_links(d);
}

/* --- loop plumbing ----------------------------------------------------- */

static void on_laser_io(struct loop *l, int fd, short revents, void *arg);
static void schedule_tick(struct daemon *d);

/* The laser's descriptor changes when its link comes and goes. */
static void
sync_fds(struct daemon *d)
{
	struct pollfd want;
	bool have = d->laser && grbl_pollfd(d->laser, &want) == 1;
	if (d->laser_fd >= 0 && (!have || want.fd != d->laser_fd)) {
		loop_del_fd(d->loop, d->laser_fd);
		d->laser_fd = -1;
	}
	if (!have)
		return;
	if (d->laser_fd < 0) {
		loop_add_fd(d->loop, want.fd, want.events, on_laser_io, d);
		d->laser_fd = want.fd;
	} else {
		loop_set_events(d->loop, want.fd, want.events);
	}
}

static void
on_laser_io(struct loop *l, int fd, short revents, void *arg)
{
	struct daemon *d = arg;
	(void)l;
	(void)fd;
	grbl_on_io(d->laser, revents);
	sync_fds(d);
}

/* A tank or bath whose device is gone is offline, and idle again once it
 * answers: its status follows the link, as the laser's does. */
static void
station_link(struct daemon *d, struct station *s, bool up, const char *down_why)
{
	if (!up && s->state != ST_OFFLINE && s->state != ST_RUNNING)
		station_set(d, s, ST_OFFLINE, "%s", down_why);
	else if (up && s->state == ST_OFFLINE)
		station_set(d, s, ST_IDLE, "%s", "connected");
}

static void
stations_links(struct daemon *d)
{
	station_link(d, &d->tank_st, d->tank_bus && d->tank_dev >= 0 &&
	    mb_bus_device_up(d->tank_bus, d->tank_dev), "the cleaning tank is not connected");
	station_link(d, &d->bath_st, d->rect_bus && d->rect_dev >= 0 &&
	    mb_bus_device_up(d->rect_bus, d->rect_dev), "the plating rectifier is not connected");
}

/* Hold complete (GRBL's Hold:0, Door:0 or Door:1), or nothing to hold. */
static bool
laser_settled(const struct grbl_status *st)
{
	if (!strcmp(st->state, "Hold") || !strcmp(st->state, "Door"))
		return st->substate == 0 || st->substate == 1;
	return strcmp(st->state, "Run") != 0 && strcmp(st->state, "Jog") != 0;
}

static void
stations_tick(struct daemon *d, double now)
{
	if (d->laser_flush_until > 0 && d->laser) {
		const struct grbl_status *st = grbl_last_status(d->laser);
		bool settled = laser_settled(st);
		if (settled || now >= d->laser_flush_until) {
			if (!settled)
				log_warn("laser: the hold did not complete; resetting GRBL anyway");
			if (strcmp(st->state, "Alarm") != 0)
				grbl_realtime(d->laser, GRBL_RT_RESET);
			d->laser_flush_until = 0;
		}
	}
	/* In alarm, the laser is not ready, and says why; out of it, it is. */
	if (d->laser && grbl_link_state(d->laser) == GRBL_READY && d->laser_st.state != ST_RUNNING) {
		const struct grbl_status *st = grbl_last_status(d->laser);
		bool alarm = !strcmp(st->state, "Alarm");
		if (alarm)
			station_set(d, &d->laser_st, ST_FAULT, "in alarm%s%s: the position may be lost; "
			    "a technician checks the piece and unlocks it (laser.unlock)",
			    d->laser_alarm[0] ? ", " : "", d->laser_alarm);
		else if (d->laser_st.state == ST_FAULT && !strncmp(d->laser_st.detail, "in alarm", 8))
			station_set(d, &d->laser_st, ST_IDLE, "unlocked");
	}
	/* After a door trip GRBL waits in Door:0 for a cycle start once the
	 * door is closed, with nothing planned (the trip cleared it): a reset
	 * brings it back to Idle. Never a resume. */
	if (d->laser && d->laser_flush_until == 0 && !grbl_streaming(d->laser) &&
	    now >= d->laser_door_reset_at && grbl_link_state(d->laser) == GRBL_READY) {
		const struct grbl_status *st = grbl_last_status(d->laser);
		if (!strcmp(st->state, "Door") && st->substate == 0 &&
		    interlock_permits(&d->il, IL_LASER)) {
			grbl_realtime(d->laser, GRBL_RT_RESET);
			d->laser_door_reset_at = now + 2;
		}
	}
	if (d->tank_st.state == ST_RUNNING && d->tank_st.ends_at && now >= d->tank_st.ends_at) {
		/* The steps are done before the stop, which would fail them. */
		daemon_station_finished(d, &d->tank_st, true, "the cleaning cycle is complete");
		station_tank_stop(d, "the cleaning cycle is complete");
		station_set(d, &d->tank_st, ST_IDLE, "the cleaning cycle is complete");
	}
	bath_tick(d, now);
	if (d->bath_st.state == ST_RUNNING && d->bath_st.ends_at && now >= d->bath_st.ends_at) {
		daemon_station_finished(d, &d->bath_st, true, "the plating time is complete");
		station_bath_stop(d, "the plating time is complete");
		station_set(d, &d->bath_st, ST_IDLE, "the plating time is complete");
	}
	stations_links(d);
}

static void
on_tick(struct loop *l, void *arg)
{
	struct daemon *d = arg;
	(void)l;
	d->tick_timer = 0;
	double now = now_mono();
	if (d->laser && now >= grbl_next_deadline(d->laser))
		grbl_on_timer(d->laser, now);
	daemon_interlock(d);
	stations_tick(d, now);
	uint64_t usec;
	if (sd_watchdog_enabled(0, &usec) > 0 && now - d->last_watchdog > usec / 2e6) {
		sd_notify(0, "WATCHDOG=1");
		d->last_watchdog = now;
	}
	sync_fds(d);
	schedule_tick(d);
}

static void
schedule_tick(struct daemon *d)
{
	double now = now_mono(), next = now + TICK;
	if (d->laser && grbl_next_deadline(d->laser) < next)
		next = grbl_next_deadline(d->laser);
	if (d->tick_timer)
		loop_cancel(d->loop, d->tick_timer);
	d->tick_timer = loop_add_timer(d->loop, next > now ? next - now : 0, on_tick, d);
}

/* --- start, reload, stop ----------------------------------------------- */

/* The configuration each group of devices was opened with stays alive as
 * long as the group runs, even once a reload has replaced d->cfg: a
 * reload keeps the devices whose configuration did not change, since the
 * daemon may no longer have the privileges to open them again. */
static void
free_cfg_if_unused(struct daemon *d, struct cfg *cfg)
{
	if (cfg && cfg != d->cfg && cfg != d->gpio_cfg && cfg != d->laser_cfg && cfg != d->bus_cfg)
		cfg_free(cfg);
}

/* A group of devices stopped: the configuration it held may go. */
static void
let_go_of_cfg(struct daemon *d, struct cfg **held)
{
	struct cfg *old = *held;
	*held = NULL;
	free_cfg_if_unused(d, old);
}

static void
tell_safety_devices(struct daemon *d)
{
	if (!d->safety)
		return;
	struct safety_devices dev = { d->laser ? d->stopline : NULL, d->tank_bus, d->tank_dev,
		d->rect_bus, d->rect_dev, d->heater_bus, d->heater_dev };
	safety_set_devices(d->safety, &dev);
}

static int
start_safety(struct daemon *d, struct cfg *cfg)
{
	d->safety = safety_start(cfg);
	if (!d->safety)
		return -1;
	d->gpio_cfg = cfg;
	loop_add_fd(d->loop, safety_fd(d->safety), POLLIN, on_safety, d);
	return 0;
}

static void
stop_safety(struct daemon *d)
{
	if (!d->safety)
		return;
	loop_del_fd(d->loop, safety_fd(d->safety));
	safety_stop(d->safety);
	d->safety = NULL;
	let_go_of_cfg(d, &d->gpio_cfg);
}

static void
start_laser(struct daemon *d, struct cfg *cfg)
{
	d->laser = grbl_new(cfg, &laser_events, d);
	grbl_set_stopline(d->laser, d->stopline);
	d->laser_cfg = cfg;
}

/* A check whose driver goes away will never end: its answer must. */
static void
laser_check_abandon(struct daemon *d, const char *why)
{
	if (d->laser_setting.answer)
		api_pending_fail(d->laser_setting.answer, API_ERR_UNAVAILABLE, "the setting was not "
		    "confirmed: %s", why);
	d->laser_setting.answer = NULL;
	if (d->laser_check.answer)
		api_pending_fail(d->laser_check.answer, API_ERR_UNAVAILABLE, "the program was not "
		    "burnt: %s", why);
	d->laser_check.answer = NULL;
	free(d->laser_check.gcode);
	d->laser_check.gcode = NULL;
}

static void
stop_laser(struct daemon *d)
{
	laser_check_abandon(d, "the laser's driver was stopped");
	if (d->laser_fd >= 0)
		loop_del_fd(d->loop, d->laser_fd);
	d->laser_fd = -1;
	grbl_free(d->laser);
	d->laser = NULL;
	let_go_of_cfg(d, &d->laser_cfg);
}

static int
start_buses(struct daemon *d, struct cfg *cfg)
{
	char err[256];
	d->tank_bus = d->rect_bus = d->heater_bus = NULL;
	d->tank_dev = d->rect_dev = d->heater_dev = -1;
	d->n_buses = 0;
	d->bus_cfg = cfg;
	for (size_t i = 0; i < cfg->n_buses && i < ARRAY_LEN(d->buses); i++) {
		struct mb_bus *b = mb_bus_start(cfg, &cfg->buses[i], err, sizeof err);
		if (!b) {
			log_err("%s", err);
			return -1;
		}
		d->buses[d->n_buses++] = b;
		loop_add_fd(d->loop, mb_bus_fd(b), POLLIN, on_bus, d);
		for (size_t k = 0; k < mb_bus_devices(b); k++) {
			const char *p = mb_bus_device_profile(b, (int)k);
			if (strcmp(p, "tank-generator") == 0) {
				d->tank_bus = b;
				d->tank_dev = (int)k;
			} else if (strcmp(p, "riden-rd60xx") == 0) {
				d->rect_bus = b;
				d->rect_dev = (int)k;
			} else if (strcmp(p, "e5cc") == 0) {
				d->heater_bus = b;
				d->heater_dev = (int)k;
			}
		}
	}
	return 0;
}

static void
stop_buses(struct daemon *d)
{
	for (size_t i = 0; i < d->n_buses; i++) {
		loop_del_fd(d->loop, mb_bus_fd(d->buses[i]));
		mb_bus_stop(d->buses[i]);
	}
	d->n_buses = 0;
	d->tank_bus = d->rect_bus = d->heater_bus = NULL;
	d->tank_dev = d->rect_dev = d->heater_dev = -1;
	let_go_of_cfg(d, &d->bus_cfg);
}

static void
init_stations(struct daemon *d)
{
	bool laser_up = d->laser && grbl_link_state(d->laser) == GRBL_READY;
	d->laser_st = (struct station){ .name = "laser", .kind = STATION_LASER,
		.state = laser_up ? ST_IDLE : ST_OFFLINE };
	d->tank_st = (struct station){ .name = "tank", .kind = STATION_TANK, .state = ST_IDLE };
	d->bath_st = (struct station){ .name = "bath", .kind = STATION_BATH, .state = ST_IDLE };
	d->laser_hold_by = (uid_t)-1;
}

/* Pushes the laser's reset byte out if the port did not take it at once,
 * then gives the bus threads a moment to send the safe-state commands
 * that overtook their queues. */
static void
let_safe_states_out(struct daemon *d)
{
	double end = now_mono() + 0.5;
	while (now_mono() < end && d->laser && grbl_link_state(d->laser) != GRBL_DOWN) {
		struct pollfd p;
		if (grbl_pollfd(d->laser, &p) && p.events & POLLOUT)
			grbl_on_io(d->laser, POLLOUT);
		else
			break;
	}
	struct timespec ts = { 0, 300000000 };
	nanosleep(&ts, NULL);
}

static void
stop_drivers(struct daemon *d)
{
	safe_everything(d, "the daemon is stopping");
	let_safe_states_out(d);
	if (d->safety)
		safety_set_devices(d->safety, NULL);
	stop_buses(d);
	stop_laser(d);
	stop_safety(d);
}

static struct cfg *
load_config(const char *path, const char *device_dir, struct cfg_catalog **cat)
{
	struct cfg_errors e = { 0 };
	struct cfg *cfg = cfg_load(path, &e);
	*cat = cfg ? cfg_catalog_load(cfg, &e) : NULL;
	if (e.n) {
		for (size_t i = 0; i < e.n; i++)
			log_err("%s", e.msgs[i]);
		cfg_errors_free(&e);
		cfg_catalog_free(*cat);
		cfg_free(cfg);
		return NULL;
	}
	if (device_dir) {
		free(cfg->device_dir);
		cfg->device_dir = xstrdup(device_dir);
	}
	return cfg;
}

/*
 * SIGHUP: a valid new file replaces the old; every station is stopped
 * safely first. Devices whose configuration is the same are kept open
 * (after the privilege drop the daemon may not be able to open them
 * again); those that changed are reopened, which may need a restart when
 * the daemon runs as an unprivileged user, and says so.
 */
static void
reload(struct daemon *d)
{
	struct cfg_catalog *cat;
	log_info("reloading %s", d->config_path);
	struct cfg *cfg = load_config(d->config_path, d->device_dir_override, &cat);
	if (!cfg) {
		log_err("the new configuration has errors: keeping the one in use");
		return;
	}
	/* Whatever the parts have under way used the old settings. */
	for (size_t i = 0; i < d->n_started; i++)
		if (d->parts[i]->reload)
			d->parts[i]->reload(d);
	const struct station *all[] = { &d->laser_st, &d->tank_st, &d->bath_st };
	for (size_t i = 0; i < ARRAY_LEN(all); i++)
		daemon_station_finished(d, all[i], false, "the configuration was reloaded");
	safe_everything(d, "the configuration was reloaded");
	let_safe_states_out(d);
	bool same_gpio = d->gpio_cfg && cfg_same_gpio(d->gpio_cfg, cfg);
	bool same_laser = d->laser_cfg && cfg_same_laser_port(d->laser_cfg, cfg);
	bool same_buses = d->bus_cfg && cfg_same_buses(d->bus_cfg, cfg);
	if (d->safety && (!same_laser || !same_buses))
		safety_set_devices(d->safety, NULL);
	if (!same_buses)
		stop_buses(d);
	if (!same_laser)
		stop_laser(d);
	if (!same_gpio)
		stop_safety(d);

	struct cfg *old = d->cfg;
	cfg_catalog_free(d->catalog);
	d->cfg = cfg;
	d->catalog = cat;
	d->groups.jeweller = cfg->api.jeweller_groups;
	d->groups.technician = cfg->api.technician_groups;
	free_cfg_if_unused(d, old);

	const char *who = geteuid() == 0 ? "" : ": atelierd runs unprivileged now, restart it "
	    "to open changed devices";
	if (!same_gpio && start_safety(d, cfg) < 0)
		log_err("the changed GPIO lines cannot be opened%s; nothing can be energised", who);
	if (!same_laser)
		start_laser(d, cfg);
	if (!same_buses && start_buses(d, cfg) < 0)
		log_err("the changed Modbus buses cannot be started%s", who);
	tell_safety_devices(d);
	log_info("reloaded: %s GPIO lines, %s laser port, %s Modbus buses",
	    same_gpio ? "kept the" : "reopened the", same_laser ? "kept the" : "reopened the",
	    same_buses ? "kept the" : "restarted the");
	if (d->laser && !same_laser)
		grbl_on_timer(d->laser, now_mono());
	sync_fds(d);
	stations_links(d);
	sd_notify(0, "STATUS=configuration reloaded");
}

static void
on_signal(struct loop *l, int fd, short revents, void *arg)
{
	struct daemon *d = arg;
	struct signalfd_siginfo si;
	(void)revents;
	if (read(fd, &si, sizeof si) != sizeof si)
		return;
	if (si.ssi_signo == SIGHUP) {
		reload(d);
		return;
	}
	log_info("signal %u: putting every station in its safe state and stopping", si.ssi_signo);
	d->stopping = true;
	loop_stop(l);
}

static int
drop_privileges(const struct cfg *cfg)
{
	if (!cfg->user || geteuid() != 0)
		return 0;
	struct passwd *pw = getpwnam(cfg->user);
	if (!pw) {
		log_err("user '%s' does not exist", cfg->user);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0) {
		log_errno("cannot become user %s", cfg->user);
		return -1;
	}
	log_info("running as %s", cfg->user);
	return 0;
}

int
daemon_start(struct daemon *d, const char *config, const char *device_dir,
    const struct daemon_part *const *parts, size_t n_parts)
{
	memset(d, 0, sizeof *d);
	d->parts = parts;
	d->n_parts = n_parts;
	corrections_reset(&d->corr);
	d->config_path = xstrdup(config);
	d->device_dir_override = device_dir;
	d->sigfd = -1;
	d->laser_fd = -1;
	d->tank_dev = d->rect_dev = d->heater_dev = -1;
	interlock_init(&d->il);
	d->cfg = load_config(config, device_dir, &d->catalog);
	if (!d->cfg)
		return -1;
	enum log_level lvl;
	if (log_level_parse(d->cfg->log_level, &lvl) == 0)
		log_set_level(lvl);
	d->loop = loop_new();

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked before any thread starts, so that every thread inherits
	 * the mask and the signals reach the loop's signalfd alone. */
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	loop_add_fd(d->loop, d->sigfd, POLLIN, on_signal, d);

	/* The safety path first: every output inactive, the inputs watched,
	 * before any device that could be energised is opened. */
	d->stopline = grbl_stopline_new();
	if (start_safety(d, d->cfg) < 0)
		return -1;
	start_laser(d, d->cfg);
	if (start_buses(d, d->cfg) < 0)
		return -1;
	tell_safety_devices(d);
	/* Safe state before anything else may happen. */
	safe_everything(d, "start-up");
	init_stations(d);
	sync_fds(d);
	schedule_tick(d);

	/* Every station is safe; now the journal says what a crash cut short. */
	char *state = cfg_device_path(d->cfg, d->cfg->state_dir);
	char *journal = xasprintf("%s/journal.db", state);
	char err[300];
	if (mkdir(state, 0750) < 0 && errno != EEXIST)
		log_errno("cannot create the state folder %s", state);
	d->store = store_open(journal, err, sizeof err);
	free(state);
	d->journal_path = journal;
	if (!d->store) {
		log_err("%s", err);
		return -1;
	}
	int cut = store_recover(d->store, err, sizeof err);
	if (cut < 0) {
		log_err("%s", err);
		return -1;
	}
	if (cut > 0)
		log_warn("%d step%s found running after a crash: marked interrupted", cut,
		    cut > 1 ? "s were" : " was");
	/* The parts built on the stations (the technicians' corrections come
	 * in with calibration, before anything reads or sets a value). */
	for (size_t i = 0; i < d->n_parts; i++) {
		struct err e;
		if (d->parts[i]->start && d->parts[i]->start(d, &e) < 0) {
			log_err("%s: %s", d->parts[i]->name, e.msg);
			return -1;
		}
		d->n_started = i + 1;
	}
	/* The API comes last, once every station is safe. */
	d->groups.jeweller = d->cfg->api.jeweller_groups;
	d->groups.technician = d->cfg->api.technician_groups;
	struct api_limits lim = { .max_request = (size_t)d->cfg->api.max_request,
		.max_clients = d->cfg->api.max_clients,
		.max_per_user = d->cfg->api.max_clients_per_user,
		.technician_slots = d->cfg->api.technician_slots };
	for (size_t i = 0; i < d->n_parts; i++)
		d->n_methods += d->parts[i]->n_methods;
	d->methods = xcalloc(d->n_methods ? d->n_methods : 1, sizeof *d->methods);
	for (size_t i = 0, at = 0; i < d->n_parts; i++)
		for (size_t k = 0; k < d->parts[i]->n_methods; k++)
			d->methods[at++] = d->parts[i]->methods[k];
	d->api = api_new(&lim, d->methods, d->n_methods, api_role_from_groups, &d->groups);
	api_set_data(d->api, d);
	char *sock = cfg_device_path(d->cfg, d->cfg->api.socket);
	int rc = api_listen(d->api, d->loop, sock, d->cfg->api.mode, d->cfg->api.group);
	if (rc < 0) {
		log_errno("cannot listen on %s", sock);
	} else {
		/* Every role group may connect, and the daemon's own user. */
		struct passwd *pw = d->cfg->user && geteuid() == 0 ? getpwnam(d->cfg->user) : NULL;
		if (api_socket_grant(sock, pw ? pw->pw_uid : (uid_t)-1, d->cfg->api.jeweller_groups,
		    d->cfg->api.technician_groups, err, sizeof err) < 0)
			log_warn("%s", err);
	}
	free(sock);
	/* Devices are opened as root, before the drop: the laser's port now,
	 * the Modbus lines already in mb_bus_start. */
	if (d->laser)
		grbl_on_timer(d->laser, now_mono());
	sync_fds(d);
	if (rc < 0 || drop_privileges(d->cfg) < 0)
		return -1;
	sd_notify(0, "READY=1\nSTATUS=stations safe; waiting for jobs");
	log_info("ready");
	return 0;
}

int
daemon_run(struct daemon *d)
{
	return loop_run(d->loop) < 0 ? 1 : 0;
}

void
daemon_stop(struct daemon *d)
{
	sd_notify(0, "STOPPING=1");
	/* The parts stop in the reverse order of their starts, while the API
	 * is there (answers still owed go out, as cancelled) and the stations
	 * still run. */
	for (size_t i = d->n_started; i-- > 0;)
		if (d->parts[i]->stop)
			d->parts[i]->stop(d);
	if (d->loop)
		stop_drivers(d);
	api_free(d->api);
	free(d->methods);
	store_close(d->store);
	free(d->journal_path);
	if (d->sigfd >= 0)
		close(d->sigfd);
	loop_free(d->loop);
	grbl_stopline_free(d->stopline);
	cfg_catalog_free(d->catalog);
	struct cfg *cfg = d->cfg;
	d->cfg = NULL;
	free_cfg_if_unused(d, cfg);
	free(d->config_path);
}

/* --- listeners ----------------------------------------------------------- */

int
daemon_listen(struct daemon *d, const struct station_listener *l)
{
	if (d->n_listeners >= ARRAY_LEN(d->listeners))
		return -1;
	d->listeners[d->n_listeners++] = *l;
	return 0;
}

void
daemon_station_finished(struct daemon *d, const struct station *st, bool ok, const char *why)
{
	for (size_t i = 0; i < d->n_listeners; i++)
		if (d->listeners[i].finished)
			d->listeners[i].finished(d, st, ok, why, d->listeners[i].ctx);
}

/* --- stations ------------------------------------------------------------ */

int
station_laser_ready(struct daemon *d, bool emit, struct err *e)
{
	if (d->laser_st.state == ST_RUNNING)
		return err_set(e, API_ERR_BUSY, "the laser is %s",
		    d->laser && grbl_checking(d->laser) ? "checking a program" : "already engraving");
	if (!d->laser || grbl_link_state(d->laser) != GRBL_READY)
		return err_set(e, API_ERR_UNAVAILABLE, "the laser is not connected");
	const char *why = interlock_reason(daemon_interlock(d), IL_LASER);
	if (why)
		return err_set(e, API_ERR_INTERLOCK, "the laser cannot start: %s", why);
	const struct grbl_status *st = grbl_last_status(d->laser);
	if (!strcmp(st->state, "Alarm"))
		return err_set(e, API_ERR_UNAVAILABLE, "the laser is in alarm%s%s and has "
		    "lost its position: a technician must check the piece and unlock it (laser.unlock)",
		    d->laser_alarm[0] ? ": " : "", d->laser_alarm);
	if (d->laser_flush_until > 0)
		return err_set(e, API_ERR_BUSY, "the laser is still clearing the program "
		    "a trip or an error stopped; try again in a moment");
	/* Atelier's programs turn the beam off in G0 moves by laser mode
	 * (M4): without it the beam would stay on between the letters. */
	if (emit && grbl_setting(d->laser, 32) != 1)
		return err_set(e, API_ERR_UNAVAILABLE, "GRBL's laser mode is off ($32=%g): "
		    "the beam would stay on across moves; a technician sets $32=1 (atelierctl laser "
		    "setting 32 1)", grbl_setting(d->laser, 32));
	return 0;
}

/* The content check every program passes (laser_program.h). */
static int
laser_content_or_say(const char *gcode, bool emit, struct err *e)
{
	struct laser_program_info info;
	char err[300];
	if (laser_program_check(gcode, &info, err, sizeof err) < 0)
		return err_set(e, API_ERR_INVALID, "the program is refused: %s", err);
	if (!emit && info.emits)
		return err_set(e, API_ERR_INVALID, "a program that only moves the head may "
		    "not turn the laser on (M3 or M4)");
	return 0;
}

static int
laser_start(struct daemon *d, const char *gcode, uid_t owner, bool emit, struct err *e)
{
	char err[300];
	if (laser_content_or_say(gcode, emit, e) < 0 ||
	    station_laser_ready(d, emit, e) < 0)
		return -1;
	if (emit) {
		/* The emission indicator is lit before the source is powered. */
		if (relay(d, LINE_BEACON, 1, err, sizeof err) < 0 ||
		    relay(d, LINE_LASER_ENABLE, 1, err, sizeof err) < 0) {
			relay(d, LINE_BEACON, 0, NULL, 0);
			return err_set(e, API_ERR_INTERLOCK, "the laser cannot start: %s", err);
		}
	}
	if (grbl_stream_text(d->laser, gcode, err, sizeof err) < 0) {
		relay(d, LINE_LASER_ENABLE, 0, NULL, 0);
		relay(d, LINE_BEACON, 0, NULL, 0);
		return err_set(e, API_ERR_INVALID, "the program is refused: %s", err);
	}
	d->laser_owner = owner;
	d->laser_stream_id++;
	d->laser_hold_by = (uid_t)-1;
	d->laser_error = false;
	station_set(d, &d->laser_st, ST_RUNNING, "%s", emit ? "engraving" : "framing (laser off)");
	return 0;
}

int
station_laser_stream(struct daemon *d, const char *gcode, uid_t owner, struct err *e)
{
	return laser_start(d, gcode, owner, true, e);
}

int
station_laser_move(struct daemon *d, const char *gcode, uid_t owner, struct err *e)
{
	return laser_start(d, gcode, owner, false, e);
}

int
station_laser_check_then_stream(struct daemon *d, const char *gcode, uid_t owner, struct err *e)
{
	char err[300];
	if (laser_content_or_say(gcode, true, e) < 0 ||
	    station_laser_ready(d, true, e) < 0)
		return -1;
	if (grbl_check_text(d->laser, gcode, err, sizeof err) < 0)
		return err_set(e, API_ERR_INVALID, "the program is refused: %s", err);
	free(d->laser_check.gcode);
	d->laser_check.gcode = xstrdup(gcode);
	d->laser_check.owner = owner;
	d->laser_check.answer = NULL;
	station_set(d, &d->laser_st, ST_RUNNING, "checking the program in GRBL's check mode "
	    "(nothing moves, nothing burns)");
	return 0;
}

/* The check of an outside program ended: burn it if it passed, with every
 * check of the station made again, else say which line GRBL refused. */
static void
on_laser_checked(void *arg, bool ok, const char *why)
{
	struct daemon *d = arg;
	struct api_pending *answer = d->laser_check.answer;
	char *gcode = d->laser_check.gcode;
	uid_t owner = d->laser_check.owner;
	d->laser_check.answer = NULL;
	d->laser_check.gcode = NULL;
	struct err e;
	int rc = -1;
	if (!ok) {
		err_set(&e, API_ERR_INVALID, "the program was not burnt: %s (checked in GRBL's check "
		    "mode: nothing moved)", why);
		station_set(d, &d->laser_st, ST_IDLE, "%s", e.msg);
	} else if (answer && !api_pending_alive(answer)) {
		err_set(&e, API_ERR_INVALID, "the program passed the check, but whoever sent it left: "
		    "nothing was burnt");
		station_set(d, &d->laser_st, ST_IDLE, "%s", e.msg);
	} else {
		/* Idle again for the burn's own start, which checks it all anew. */
		station_set(d, &d->laser_st, ST_IDLE, "the program passed GRBL's check mode");
		rc = laser_start(d, gcode, owner, true, &e);
	}
	if (answer) {
		if (rc == 0)
			api_pending_result(answer, json_pack("{s:s, s:b}", "state", "running", "checked", 1));
		else
			api_pending_fail(answer, e.code, "%s", e.msg);
	}
	free(gcode);
}

int
station_laser_hold(struct daemon *d, uid_t who, struct err *e)
{
	if (!d->laser || grbl_realtime(d->laser, GRBL_RT_HOLD) < 0)
		return err_set(e, API_ERR_UNAVAILABLE, "the laser is not connected");
	if (grbl_streaming(d->laser) && d->laser_hold_by == (uid_t)-1) {
		d->laser_hold_by = who;
		d->laser_hold_stream = d->laser_stream_id;
	}
	return 0;
}

int
station_laser_resume(struct daemon *d, uid_t who, struct err *e)
{
	if (!d->laser || grbl_link_state(d->laser) != GRBL_READY)
		return err_set(e, API_ERR_UNAVAILABLE, "the laser is not connected");
	if (!grbl_streaming(d->laser) || d->laser_st.state != ST_RUNNING)
		return err_set(e, API_ERR_INVALID, "there is no held engraving to resume%s%s",
		    d->laser_st.detail[0] ? ": " : "", d->laser_st.detail);
	if (d->laser_hold_by == (uid_t)-1 || d->laser_hold_stream != d->laser_stream_id)
		return err_set(e, API_ERR_INVALID, "the engraving was not held with "
		    "laser.hold, so it cannot be resumed");
	if (d->laser_hold_by != d->laser_owner || who != d->laser_owner)
		return err_set(e, API_ERR_FORBIDDEN, "only the one who started this engraving "
		    "and held it may resume it");
	const struct grbl_status *st = grbl_last_status(d->laser);
	if (strcmp(st->state, "Hold") != 0 || st->substate != 0)
		return err_set(e, API_ERR_BUSY, "the laser is %s%s, not in a completed hold",
		    st->state, strcmp(st->state, "Hold") == 0 ? " (still stopping)" : "");
	const char *why = interlock_reason(daemon_interlock(d), IL_LASER);
	if (why)
		return err_set(e, API_ERR_INTERLOCK, "the laser cannot resume: %s", why);
	if (grbl_realtime(d->laser, GRBL_RT_RESUME) < 0)
		return err_set(e, API_ERR_UNAVAILABLE, "the laser is not connected");
	d->laser_hold_by = (uid_t)-1;
	return 0;
}

int
station_laser_stop(struct daemon *d, const char *why)
{
	daemon_station_finished(d, &d->laser_st, false, why);
	if (d->laser && grbl_link_state(d->laser) != GRBL_DOWN) {
		if (grbl_streaming(d->laser))
			grbl_stream_cancel(d->laser, why);
		grbl_realtime(d->laser, GRBL_RT_HOLD);
		grbl_realtime(d->laser, GRBL_RT_RESET);
	}
	d->laser_flush_until = 0;
	d->laser_hold_by = (uid_t)-1;
	relay(d, LINE_LASER_ENABLE, 0, NULL, 0);
	relay(d, LINE_BEACON, 0, NULL, 0);
	/* In alarm it stays not ready (stations_tick says why) until unlocked. */
	bool alarm = d->laser && !strcmp(grbl_last_status(d->laser)->state, "Alarm");
	if ((d->laser_st.state == ST_RUNNING || d->laser_st.state == ST_FAULT) && !alarm)
		station_set(d, &d->laser_st, ST_IDLE, "%s", why);
	return 0;
}

/* Tracks a Modbus command of a station's start: its failure faults it. */
static void
track_command(struct daemon *d, struct station *st, struct mb_bus *b, int id, const char *what)
{
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

static void
forget_commands(struct daemon *d, const struct station *st)
{
	for (size_t i = 0; i < ARRAY_LEN(d->commands); i++)
		if (d->commands[i].st == st)
			d->commands[i].id = 0;
}

/* The station's own check, independent of the job engine's: every piece
 * of the load must be cleared by policy for this process. */
static int
check_load(struct daemon *d, const struct policy_piece *pieces, size_t n,
    enum policy_process proc, struct err *e)
{
	const struct cfg_gems *gems = d->catalog ? &d->catalog->gems : policy_default_gems();
	if (n == 0)
		return err_set(e, API_ERR_INVALID, "the load has no piece");
	for (size_t i = 0; i < n; i++) {
		struct policy_verdict v;
		policy_judge(gems, &pieces[i], proc, &v);
		if (!v.permitted)
			return err_set(e, API_ERR_REFUSED, "%s%s%s", v.reason,
			    n > 1 ? " (piece " : "", n > 1 ? "of the load)" : "");
	}
	return 0;
}

int
station_tank_start(struct daemon *d, const struct policy_piece *pieces, size_t n, double seconds,
    double power, double khz, double temperature, struct err *e)
{
	char err[200];
	const struct cfg_tank *t = &d->cfg->tank;
	if (check_load(d, pieces, n, PROC_ULTRASONIC, e) < 0)
		return -1;
	if (d->tank_st.state == ST_RUNNING)
		return err_set(e, API_ERR_BUSY, "the tank is already cleaning a load");
	if (!(seconds >= 1 && seconds <= t->max_cycle))
		return err_set(e, API_ERR_INVALID, "a cycle of %g s is outside 1..%g s",
		    seconds, t->max_cycle);
	if (temperature > t->max_temperature || temperature < 20)
		return err_set(e, API_ERR_INVALID, "%g C is outside 20..%g C", temperature,
		    t->max_temperature);
	if (power < 10 || power > 100 || khz < 20 || khz > 80)
		return err_set(e, API_ERR_INVALID, "power %g %% or frequency %g kHz is out "
		    "of range (10..100 %%, 20..80 kHz)", power, khz);
	if (!d->tank_bus || !mb_bus_device_up(d->tank_bus, d->tank_dev))
		return err_set(e, API_ERR_UNAVAILABLE, "the cleaning tank is not connected");
	const struct interlock *il = daemon_interlock(d);
	const char *why = interlock_reason(il, IL_ULTRASOUND);
	if (!why)
		why = interlock_reason(il, IL_TANK_HEATER);
	if (why)
		return err_set(e, API_ERR_INTERLOCK, "the tank cannot start: %s", why);
	if (relay(d, LINE_HEATER_ENABLE, 1, err, sizeof err) < 0 ||
	    relay(d, LINE_ULTRASOUND_ENABLE, 1, err, sizeof err) < 0) {
		relay(d, LINE_HEATER_ENABLE, 0, NULL, 0);
		return err_set(e, API_ERR_INTERLOCK, "the tank cannot start: %s", err);
	}
	int heat = mb_tank_heater(d->tank_bus, d->tank_dev, true, corrections_setpoint(&d->corr,
	    "tank-generator", "temperature_set", temperature), err, sizeof err);
	int sound = heat < 0 ? -1 : mb_tank_ultrasound(d->tank_bus, d->tank_dev, true, power, khz,
	    seconds, d->cfg->tank.sweep, err, sizeof err);
	if (heat < 0 || sound < 0) {
		station_tank_stop(d, err);
		return err_set(e, API_ERR_INVALID, "%s", err);
	}
	track_command(d, &d->tank_st, d->tank_bus, heat, "the tank heater's start");
	track_command(d, &d->tank_st, d->tank_bus, sound, "the ultrasound's start");
	d->tank_st.ends_at = now_mono() + seconds;
	station_set(d, &d->tank_st, ST_RUNNING, "cleaning %zu piece%s for %g s at %g C", n,
	    n > 1 ? "s" : "", seconds, temperature);
	return 0;
}

int
station_tank_stop(struct daemon *d, const char *why)
{
	daemon_station_finished(d, &d->tank_st, false, why);
	forget_commands(d, &d->tank_st);
	relay(d, LINE_ULTRASOUND_ENABLE, 0, NULL, 0);
	relay(d, LINE_HEATER_ENABLE, 0, NULL, 0);
	modbus_safe(d->tank_bus, d->tank_dev);
	d->tank_st.ends_at = 0;
	if (d->tank_st.state == ST_RUNNING || d->tank_st.state == ST_FAULT)
		station_set(d, &d->tank_st, ST_IDLE, "%s", why);
	return 0;
}

/* --- the bath -------------------------------------------------------------- */

/* Far enough from the setpoint that the heater no longer controls the bath:
 * above it a runaway, below it (once warm) a heater that does not heat. */
#define BATH_RUNAWAY 8.0
/* Plating current below this share of the limit (or 0.02 A) for this long
 * after it settled means no current flows through the bath. */
#define BATH_NO_CURRENT 0.02
#define BATH_SETTLE 3.0

static double
heater_pv(struct daemon *d, bool *known)
{
	double pv = NAN;
	*known = d->heater_bus && d->heater_dev >= 0 &&
	    mb_bus_value(d->heater_bus, d->heater_dev, "pv", &pv);
	return pv;
}

static bool
has_bath_heater(const struct daemon *d)
{
	return d->heater_bus && d->heater_dev >= 0;
}

/* Everything of the bath off: the rectifier, then the heater. */
static void
bath_off(struct daemon *d)
{
	relay(d, LINE_RECTIFIER_ENABLE, 0, NULL, 0);
	relay(d, LINE_BATH_HEATER_ENABLE, 0, NULL, 0);
	modbus_safe(d->rect_bus, d->rect_dev);
	modbus_safe(d->heater_bus, d->heater_dev);
	forget_commands(d, &d->bath_st);
	d->bath_st.ends_at = 0;
	d->bath_run.warming = false;
}

/* The bath stopped on a fault: safe, the steps failed, the reason shown. */
static void
bath_fault(struct daemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
bath_fault(struct daemon *d, const char *fmt, ...)
{
	char why[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	bath_off(d);
	log_warn("bath: %s", why);
	daemon_station_finished(d, &d->bath_st, false, why);
	station_set(d, &d->bath_st, ST_FAULT, "%s", why);
}

/* The rectifier on: the plating proper, once the bath is warm. */
static int
bath_start_plating(struct daemon *d, char *err, size_t len)
{
	struct bath_run *r = &d->bath_run;
	if (relay(d, LINE_RECTIFIER_ENABLE, 1, err, len) < 0)
		return -1;
	/* The limits are in true volts and amps; the unit is told what gives
	 * them by the technician's calibration. */
	int id = mb_rectifier(d->rect_bus, d->rect_dev, corrections_setpoint(&d->corr,
	    "riden-rd60xx", "v_set", r->volts), corrections_setpoint(&d->corr, "riden-rd60xx", "i_set",
	    r->amps), true, err, len);
	if (id < 0) {
		relay(d, LINE_RECTIFIER_ENABLE, 0, NULL, 0);
		return -1;
	}
	track_command(d, &d->bath_st, d->rect_bus, id, "the rectifier's start (V-SET, I-SET, output)");
	r->warming = false;
	r->plating_since = now_mono();
	r->low_current_since = 0;
	d->bath_st.ends_at = now_mono() + r->seconds;
	station_set(d, &d->bath_st, ST_RUNNING, "plating at %g V, %g A for %g s", r->volts, r->amps,
	    r->seconds);
	return 0;
}

static int
bath_start(struct daemon *d, const struct policy_piece *pieces, size_t n, double volts,
    double amps, double seconds, bool heat, struct err *e)
{
	char err[200];
	const struct cfg_bath *b = &d->cfg->bath;
	if (check_load(d, pieces, n, PROC_ACID_BATH, e) < 0)
		return -1;
	if (d->bath_st.state == ST_RUNNING)
		return err_set(e, API_ERR_BUSY, "the bath is already %s",
		    d->bath_run.warming ? "heating for a plating" : "plating");
	if (!(volts > 0 && volts <= b->max_voltage))
		return err_set(e, API_ERR_INVALID, "%g V is outside 0..%g V (never more, "
		    "whatever the recipe)", volts, b->max_voltage);
	if (!(amps > 0 && amps <= b->max_current))
		return err_set(e, API_ERR_INVALID, "%g A is outside 0..%g A", amps, b->max_current);
	if (!(seconds >= 1 && seconds <= 3600))
		return err_set(e, API_ERR_INVALID, "%g s is outside 1..3600 s", seconds);
	if (!d->rect_bus || d->rect_dev < 0 || !mb_bus_device_up(d->rect_bus, d->rect_dev))
		return err_set(e, API_ERR_UNAVAILABLE, "the plating rectifier is not connected");
	const struct interlock *il = daemon_interlock(d);
	const char *why = interlock_reason(il, IL_RECTIFIER);
	if (why)
		return err_set(e, API_ERR_INTERLOCK, "the bath cannot start: %s", why);
	heat = heat && has_bath_heater(d);
	if (heat) {
		if (!mb_bus_device_up(d->heater_bus, d->heater_dev))
			return err_set(e, API_ERR_UNAVAILABLE, "the bath heater is not connected");
		if ((why = interlock_reason(il, IL_BATH_HEATER)) != NULL)
			return err_set(e, API_ERR_INTERLOCK, "the bath cannot heat: %s", why);
	}
	struct bath_run *r = &d->bath_run;
	*r = (struct bath_run){ .volts = volts, .amps = amps, .seconds = seconds, .heat = heat };
	if (heat) {
		/* The heater first: the bath plates at its temperature, the
		 * heater's relay under the interlock like every output. */
		if (relay(d, LINE_BATH_HEATER_ENABLE, 1, err, sizeof err) < 0)
			return err_set(e, API_ERR_INTERLOCK, "the bath cannot heat: %s", err);
		int id = mb_heater(d->heater_bus, d->heater_dev, b->temperature, true, err, sizeof err);
		if (id < 0) {
			bath_off(d);
			return err_set(e, API_ERR_INVALID, "%s", err);
		}
		track_command(d, &d->bath_st, d->heater_bus, id, "the bath heater's start (SV, RUN)");
		bool known;
		double pv = heater_pv(d, &known);
		if (!known || fabs(pv - b->temperature) > b->temperature_tolerance) {
			/* Warming up: the rectifier waits, the bench sees it. */
			r->warming = true;
			r->warm_deadline = now_mono() + b->max_warmup;
			r->shown_pv = known ? pv : NAN;
			char now[40] = "its temperature not read yet";
			if (known)
				snprintf(now, sizeof now, "now %.1f C", pv);
			station_set(d, &d->bath_st, ST_RUNNING, "heating the bath to %g C (%s) before "
			    "plating at %g V, %g A for %g s", b->temperature, now, volts, amps, seconds);
			return 0;
		}
	}
	if (bath_start_plating(d, err, sizeof err) < 0) {
		bath_off(d);
		return err_set(e, API_ERR_INTERLOCK, "the bath cannot start: %s", err);
	}
	return 0;
}

int
station_bath_plate(struct daemon *d, const struct policy_piece *pieces, size_t n, double volts,
    double amps, double seconds, struct err *e)
{
	return bath_start(d, pieces, n, volts, amps, seconds, true, e);
}

int
station_bath_drive(struct daemon *d, double volts, double amps, double seconds, struct err *e)
{
	static const struct policy_piece nothing = { .metal = "platinum" };
	return bath_start(d, &nothing, 1, volts, amps, seconds, false, e);
}

/* The bath while it runs: warming up to plating, the heater kept in hand,
 * and current flowing through the bath once plating. */
static void
bath_tick(struct daemon *d, double now)
{
	struct bath_run *r = &d->bath_run;
	const struct cfg_bath *b = &d->cfg->bath;
	char err[200];
	if (d->bath_st.state != ST_RUNNING)
		return;
	bool known = false;
	double pv = r->heat ? heater_pv(d, &known) : NAN;
	if (r->heat && known && pv > b->temperature + BATH_RUNAWAY) {
		bath_fault(d, "the bath heater runs away: %.1f C for %g C; the heater is cut",
		    pv, b->temperature);
		return;
	}
	if (r->warming) {
		if (known && fabs(pv - b->temperature) <= b->temperature_tolerance) {
			if (bath_start_plating(d, err, sizeof err) < 0)
				bath_fault(d, "the bath cannot start plating: %s", err);
			return;
		}
		if (now >= r->warm_deadline) {
			bath_fault(d, "the bath did not reach %g C within %g s (%.1f C): the heater "
			    "does not heat", b->temperature, b->max_warmup, pv);
			return;
		}
		if (known && !(fabs(pv - r->shown_pv) < 0.5)) {
			r->shown_pv = pv;
			station_set(d, &d->bath_st, ST_RUNNING, "heating the bath to %g C (now %.1f C) "
			    "before plating at %g V, %g A for %g s", b->temperature, pv, r->volts,
			    r->amps, r->seconds);
		}
		return;
	}
	if (r->heat && known && pv < b->temperature - BATH_RUNAWAY) {
		bath_fault(d, "the bath has cooled to %.1f C during plating (%g C wanted): the "
		    "heater does not heat", pv, b->temperature);
		return;
	}
	/* No current through the bath: a piece not in contact, an anode
	 * out of the bath, a rectifier that did not switch on. */
	double i;
	if (now - r->plating_since < BATH_SETTLE || !mb_bus_value(d->rect_bus, d->rect_dev, "i_out", &i))
		return;
	i = corrections_reading(&d->corr, "riden-rd60xx", "i_out", i);
	if (i >= fmax(BATH_NO_CURRENT, 0.02 * r->amps)) {
		r->low_current_since = 0;
	} else if (!r->low_current_since) {
		r->low_current_since = now;
	} else if (now - r->low_current_since >= BATH_SETTLE) {
		double v = NAN;
		mb_bus_value(d->rect_bus, d->rect_dev, "v_out", &v);
		bath_fault(d, "no current flows through the bath (%.3f A at %.2f V, %g A asked): "
		    "check the piece's contact and the anode", i, corrections_reading(&d->corr,
		    "riden-rd60xx", "v_out", v), r->amps);
	}
}

/* A Modbus command a station's start depends on has finished: a failure
 * fails the process, which never ran as it says. */
static void
station_command_done(struct daemon *d, struct mb_bus *b, const struct mb_event *ev)
{
	for (size_t i = 0; i < ARRAY_LEN(d->commands); i++) {
		struct station_command *c = &d->commands[i];
		if (c->id != ev->cmd || c->bus != b)
			continue;
		c->id = 0;
		/* A command a safe state overtook was stopped on purpose (a trip,
		 * a stop): that is said by whoever stopped it. */
		if (ev->ok || ev->cancelled)
			return;
		if (c->st == &d->bath_st && d->bath_st.state == ST_RUNNING)
			bath_fault(d, "%s failed: %s", c->what, ev->text);
		else if (c->st == &d->tank_st && d->tank_st.state == ST_RUNNING) {
			char why[300];
			snprintf(why, sizeof why, "%s failed: %s", c->what, ev->text);
			station_tank_stop(d, why);
			station_set(d, &d->tank_st, ST_FAULT, "%s", why);
		}
		return;
	}
}

int
station_bath_stop(struct daemon *d, const char *why)
{
	daemon_station_finished(d, &d->bath_st, false, why);
	bath_off(d);
	if (d->bath_st.state == ST_RUNNING || d->bath_st.state == ST_FAULT)
		station_set(d, &d->bath_st, ST_IDLE, "%s", why);
	return 0;
}

/* --- status ---------------------------------------------------------------- */

static json_t *
station_json(const struct station *s)
{
	return json_pack("{s:s, s:s}", "state", state_names[s->state], "detail", s->detail);
}

json_t *
daemon_status_json(struct daemon *d)
{
	struct safety_state ss = { .lines = { 0 } };
	if (d->safety)
		safety_snapshot(d->safety, &ss);
	else
		for (int l = 0; l < LINE_COUNT; l++)
			ss.lines[l] = -1;
	const struct interlock *il = daemon_interlock(d);
	json_t *perm = json_object(), *reasons = json_object();
	for (int a = 0; a < IL_ACTUATOR_COUNT; a++) {
		const char *name = interlock_actuator_name((enum il_actuator)a);
		json_object_set_new(perm, name, json_boolean(interlock_permits(il, (enum il_actuator)a)));
		const char *why = interlock_reason(il, (enum il_actuator)a);
		if (why)
			json_object_set_new(reasons, name, json_string(why));
	}
	json_t *lines = json_object();
	for (int l = 0; l < LINE_COUNT; l++)
		json_object_set_new(lines, cfg_line_name((enum cfg_line_id)l), json_integer(ss.lines[l]));
	json_t *devices = json_object();
	if (d->laser) {
		const struct grbl_status *st = grbl_last_status(d->laser);
		static const char *const links[] = { "down", "connecting", "ready" };
		bool up = grbl_link_state(d->laser) == GRBL_READY;
		/* With the link down, what GRBL last said is no longer known. */
		json_object_set_new(devices, "laser", json_pack("{s:s, s:s, s:i, s:o, s:b}", "link",
		    links[grbl_link_state(d->laser)], "state", up ? st->state : "unknown",
		    "substate", up ? st->substate : -1, "wpos", up ? json_pack("[o,o,o]",
		    api_unit(st->wpos[0], 3), api_unit(st->wpos[1], 3), api_unit(st->wpos[2], 3)) :
		    json_null(), "laser_mode", up && grbl_setting(d->laser, 32) == 1));
	}
	for (size_t i = 0; i < d->n_buses; i++)
		for (size_t k = 0; k < mb_bus_devices(d->buses[i]); k++) {
			json_t *o = json_pack("{s:b}", "up", mb_bus_device_up(d->buses[i], (int)k));
			/* Each with the precision of its unit: C, V, A, Ah. */
			static const struct { const char *reg; int decimals; } shown[] = {
				{ "temperature", 1 }, { "v_out", 2 }, { "i_out", 3 }, { "ah", 3 },
				{ "pv", 1 }, { "sv", 1 },
			};
			for (size_t s = 0; s < ARRAY_LEN(shown); s++) {
				double v;
				if (mb_bus_value(d->buses[i], (int)k, shown[s].reg, &v))
					json_object_set_new(o, shown[s].reg, api_unit(corrections_reading(&d->corr,
					    mb_bus_device_profile(d->buses[i], (int)k), shown[s].reg, v),
					    shown[s].decimals));
			}
			json_object_set_new(devices, mb_bus_device_name(d->buses[i], (int)k), o);
		}
	json_t *out = json_pack("{s:{s:b, s:o, s:o, s:s}, s:o, s:{s:o, s:o, s:o}, s:o}",
	    "interlock", "latched", il->latched, "permitted", perm, "reasons", reasons,
	    "safety_path", !d->safety ? "stopped" : ss.realtime ? "real-time thread" : "thread",
	    "lines", lines,
	    "stations", "laser", station_json(&d->laser_st), "tank", station_json(&d->tank_st),
	    "bath", station_json(&d->bath_st), "devices", devices);
	for (size_t i = 0; i < d->n_started; i++)
		if (d->parts[i]->status)
			d->parts[i]->status(d, out);
	return out;
}
