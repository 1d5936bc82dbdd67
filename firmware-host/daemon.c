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
#include "daemon.h"

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
#include "util.h"

#define TICK 0.1

static const char *const state_names[] = { "idle", "running", "stopping", "fault", "offline" };

static void station_set(struct daemon *d, struct station *s, enum station_state st,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

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
	s->state = st;
	snprintf(s->detail, sizeof s->detail, "%s", detail);
	log_info("%s: %s%s%s", s->name, state_names[st], *detail ? ": " : "", detail);
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

static void
relay(struct daemon *d, enum cfg_line_id line, int on)
{
	if (d->gpio && gpio_get(d->gpio, line) != on)
		gpio_set(d->gpio, line, on);
}

static void
modbus_safe(struct mb_bus *b, int dev)
{
	char err[200];
	if (b && dev >= 0 && mb_safe_state(b, dev, err, sizeof err) < 0)
		log_warn("safe state of %s: %s", mb_bus_device_name(b, dev), err);
}

static void
safe_everything(struct daemon *d, const char *why)
{
	for (int l = LINE_FIRST_OUTPUT; l < LINE_COUNT; l++)
		relay(d, (enum cfg_line_id)l, 0);
	if (d->laser && grbl_link_state(d->laser) != GRBL_DOWN) {
		if (grbl_streaming(d->laser))
			grbl_stream_cancel(d->laser, why);
		grbl_realtime(d->laser, GRBL_RT_RESET);
	}
	modbus_safe(d->tank_bus, d->tank_dev);
	modbus_safe(d->bath_bus, d->rect_dev);
	modbus_safe(d->bath_bus, d->heater_dev);
}

static void
interlock_inputs(struct daemon *d, struct il_inputs *in)
{
	memset(in, 0, sizeof *in);
	bool known = d->gpio && gpio_link_up(d->gpio);
	for (int i = 0; i < LINE_FIRST_OUTPUT && known; i++)
		if (gpio_get(d->gpio, (enum cfg_line_id)i) < 0)
			known = false;
	/* Inputs not yet read count as a lost GPIO link, which forbids
	 * everything without latching an e-stop nobody pressed. */
	in->link_ok[IL_LINK_GPIO] = known;
	if (known) {
		in->estop_pressed = gpio_get(d->gpio, LINE_ESTOP) == 1;
		in->laser_door_open = gpio_get(d->gpio, LINE_LASER_DOOR) == 1;
		in->tank_lid_open = gpio_get(d->gpio, LINE_TANK_LID) == 1;
		in->fume_ok = gpio_get(d->gpio, LINE_FUME_OK) == 1;
	}
	in->link_ok[IL_LINK_LASER] = d->laser && grbl_link_state(d->laser) == GRBL_READY;
	in->link_ok[IL_LINK_TANK] = d->tank_bus && mb_bus_device_up(d->tank_bus, d->tank_dev);
	in->link_ok[IL_LINK_RECTIFIER] = d->bath_bus && d->rect_dev >= 0 &&
	    mb_bus_device_up(d->bath_bus, d->rect_dev);
	in->link_ok[IL_LINK_BATH_HEATER] = d->bath_bus && d->heater_dev >= 0 &&
	    mb_bus_device_up(d->bath_bus, d->heater_dev);
}

static void
react(struct daemon *d, unsigned tripped)
{
	const struct il_inputs *in = &d->il.in;
	d->reacting = true;
	/* Relays first: they cut the power whatever the devices do. */
	if (tripped & (1u << IL_LASER)) {
		relay(d, LINE_LASER_ENABLE, 0);
		relay(d, LINE_BEACON, 0);
	}
	if (tripped & ((1u << IL_ULTRASOUND) | (1u << IL_TANK_HEATER))) {
		relay(d, LINE_ULTRASOUND_ENABLE, 0);
		relay(d, LINE_HEATER_ENABLE, 0);
	}
	if (tripped & (1u << IL_RECTIFIER))
		relay(d, LINE_RECTIFIER_ENABLE, 0);
	if (tripped & (1u << IL_LASER)) {
		const char *why = interlock_reason(&d->il, IL_LASER);
		if (d->laser && grbl_link_state(d->laser) != GRBL_DOWN) {
			/* The door byte holds the machine and keeps its position;
			 * the e-stop and a lost link reset it outright. */
			bool door_like = !in->estop_pressed && !d->il.latched &&
			    (in->laser_door_open || !in->fume_ok);
			grbl_realtime(d->laser, door_like ? GRBL_RT_DOOR : GRBL_RT_RESET);
			if (grbl_streaming(d->laser))
				grbl_stream_cancel(d->laser, why);
		}
		if (d->laser_st.state == ST_RUNNING)
			station_set(d, &d->laser_st, ST_FAULT, "stopped: %s", why);
	}
	if (tripped & ((1u << IL_ULTRASOUND) | (1u << IL_TANK_HEATER))) {
		modbus_safe(d->tank_bus, d->tank_dev);
		if (d->tank_st.state == ST_RUNNING)
			station_set(d, &d->tank_st, ST_FAULT, "stopped: %s",
			    interlock_reason(&d->il, IL_ULTRASOUND));
		d->tank_st.ends_at = 0;
	}
	if (tripped & (1u << IL_RECTIFIER)) {
		modbus_safe(d->bath_bus, d->rect_dev);
		if (d->bath_st.state == ST_RUNNING)
			station_set(d, &d->bath_st, ST_FAULT, "stopped: %s",
			    interlock_reason(&d->il, IL_RECTIFIER));
		d->bath_st.ends_at = 0;
	}
	if (tripped & (1u << IL_BATH_HEATER))
		modbus_safe(d->bath_bus, d->heater_dev);
	/* The journal last: its commits wait for the disk, the safe states
	 * above must not (a cancelled stream's callback leaves it here). */
	d->reacting = false;
	if (tripped & (1u << IL_LASER))
		jobs_station_finished(d, JS_LASER, false, interlock_reason(&d->il, IL_LASER));
	if (tripped & ((1u << IL_ULTRASOUND) | (1u << IL_TANK_HEATER)))
		jobs_station_finished(d, JS_TANK, false, interlock_reason(&d->il, IL_ULTRASOUND));
	if (tripped & (1u << IL_RECTIFIER))
		jobs_station_finished(d, JS_BATH, false, interlock_reason(&d->il, IL_RECTIFIER));
	json_t *list = json_array();
	for (int a = 0; a < IL_ACTUATOR_COUNT; a++)
		if (tripped & (1u << a))
			json_array_append_new(list, json_pack("{s:s, s:s}", "actuator",
			    interlock_actuator_name((enum il_actuator)a), "reason",
			    interlock_reason(&d->il, (enum il_actuator)a)));
	daemon_notify(d, "interlock", json_pack("{s:o, s:b}", "tripped", list, "latched",
	    d->il.latched));
}

static void
evaluate(struct daemon *d)
{
	struct il_inputs in;
	interlock_inputs(d, &in);
	bool was_latched = d->il.latched;
	unsigned tripped = interlock_update(&d->il, &in);
	if (tripped)
		react(d, tripped);
	if (d->il.latched && !was_latched)
		log_warn("emergency stop: latched until released and reset by a technician");
	/* Defence in depth: nothing stays energised that is not permitted. */
	static const struct { enum cfg_line_id line; enum il_actuator a; } map[] = {
		{ LINE_LASER_ENABLE, IL_LASER }, { LINE_ULTRASOUND_ENABLE, IL_ULTRASOUND },
		{ LINE_HEATER_ENABLE, IL_TANK_HEATER }, { LINE_RECTIFIER_ENABLE, IL_RECTIFIER },
	};
	for (size_t i = 0; i < ARRAY_LEN(map); i++)
		if (d->gpio && gpio_get(d->gpio, map[i].line) == 1 && !interlock_permits(&d->il, map[i].a))
			relay(d, map[i].line, 0);
}

/* --- driver callbacks ----------------------------------------------- */

static void
on_gpio_event(enum cfg_line_id line, int value, void *arg)
{
	struct daemon *d = arg;
	log_debug("input %s = %d", cfg_line_name(line), value);
	evaluate(d);
	daemon_notify(d, "input", json_pack("{s:s, s:i}", "line", cfg_line_name(line), "value", value));
}

static void
on_gpio_link(bool up, const char *why, void *arg)
{
	struct daemon *d = arg;
	if (up)
		log_info("GPIO link up");
	else
		log_warn("GPIO link lost: %s", why ? why : "");
	evaluate(d);
}

static void
on_laser_link(void *arg, enum grbl_link state, const char *why)
{
	struct daemon *d = arg;
	static const char *const names[] = { "down", "connecting", "ready" };
	log_info("laser link %s%s%s", names[state], why ? ": " : "", why ? why : "");
	if (state == GRBL_READY && d->laser_st.state == ST_OFFLINE)
		station_set(d, &d->laser_st, ST_IDLE, "%s", "");
	if (state == GRBL_DOWN)
		station_set(d, &d->laser_st, ST_OFFLINE, "%s", why ? why : "link down");
	daemon_notify(d, "device", json_pack("{s:s, s:s}", "device", "laser", "link", names[state]));
	evaluate(d);
}

static void
on_laser_error(void *arg, long line_no, const char *line, int code, const char *meaning)
{
	(void)arg;
	log_warn("laser: line %ld (%s): error:%d, %s", line_no, line, code, meaning);
}

static void
on_laser_alarm(void *arg, int code, const char *meaning)
{
	struct daemon *d = arg;
	log_warn("laser: ALARM:%d, %s", code, meaning);
	relay(d, LINE_LASER_ENABLE, 0);
	relay(d, LINE_BEACON, 0);
}

static void
on_laser_done(void *arg, bool ok, const char *why)
{
	struct daemon *d = arg;
	relay(d, LINE_LASER_ENABLE, 0);
	relay(d, LINE_BEACON, 0);
	if (!d->reacting)
		jobs_station_finished(d, JS_LASER, ok, ok ? "the engraving is complete" : why);
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
	calib_on_setting(arg, num, value, verified);
}

static const struct grbl_events laser_events = { on_laser_link, NULL, on_laser_error,
	on_laser_alarm, NULL, on_laser_done, on_laser_setting };

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
				if (ev[k].type == MB_EV_DONE && ev[k].ok)
					continue;
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
	evaluate(d);
}

/* --- loop plumbing ----------------------------------------------------- */

static void on_laser_io(struct loop *l, int fd, short revents, void *arg);
static void on_gpio_io(struct loop *l, int fd, short revents, void *arg);
static void schedule_tick(struct daemon *d);

/* The laser and GPIO descriptors change when their links come and go. A
 * number may even pass from one to the other, so each registration
 * remembers whose it is. */
static void
sync_fds(struct daemon *d)
{
	struct pollfd want[16];
	size_t n = 0;
	if (d->laser && grbl_pollfd(d->laser, &want[n]) == 1)
		want[n++].revents = 0;          /* revents marks the owner: 0 laser */
	if (d->gpio) {
		size_t g = (size_t)gpio_pollfds(d->gpio, &want[n], (int)(16 - n - 1));
		for (size_t k = n; k < n + g; k++)
			want[k].revents = 1;    /* 1 GPIO */
		n += g;
	}
	for (size_t i = 0; i < d->n_registered; i++) {
		bool keep = false;
		for (size_t k = 0; k < n; k++)
			if (want[k].fd == d->registered[i].fd && want[k].revents == d->registered[i].revents)
				keep = true;
		if (!keep)
			loop_del_fd(d->loop, d->registered[i].fd);
	}
	for (size_t k = 0; k < n; k++) {
		bool have = false;
		for (size_t i = 0; i < d->n_registered; i++)
			if (d->registered[i].fd == want[k].fd && d->registered[i].revents == want[k].revents)
				have = true;
		if (!have)
			loop_add_fd(d->loop, want[k].fd, want[k].events,
			    want[k].revents == 0 ? on_laser_io : on_gpio_io, d);
		else
			loop_set_events(d->loop, want[k].fd, want[k].events);
	}
	memcpy(d->registered, want, n * sizeof want[0]);
	d->n_registered = n;
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

static void
on_gpio_io(struct loop *l, int fd, short revents, void *arg)
{
	struct daemon *d = arg;
	(void)l;
	gpio_on_readable(d->gpio, fd, revents);
	sync_fds(d);
	schedule_tick(d);
}

static void
stations_tick(struct daemon *d, double now)
{
	if (d->tank_st.state == ST_RUNNING && d->tank_st.ends_at && now >= d->tank_st.ends_at) {
		/* The steps are done before the stop, which would fail them. */
		jobs_station_finished(d, JS_TANK, true, "the cleaning cycle is complete");
		station_tank_stop(d, "the cleaning cycle is complete");
		station_set(d, &d->tank_st, ST_IDLE, "the cleaning cycle is complete");
	}
	if (d->bath_st.state == ST_RUNNING && d->bath_st.ends_at && now >= d->bath_st.ends_at) {
		jobs_station_finished(d, JS_BATH, true, "the plating time is complete");
		station_bath_stop(d, "the plating time is complete");
		station_set(d, &d->bath_st, ST_IDLE, "the plating time is complete");
	}
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
	if (d->gpio) {
		double g = gpio_next_deadline(d->gpio);
		if (g > 0 && now >= g)
			gpio_on_timer(d->gpio, now);
	}
	stations_tick(d, now);
	calib_tick(d, now);
	evaluate(d);
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
	if (d->gpio) {
		double g = gpio_next_deadline(d->gpio);
		if (g > 0 && g < next)
			next = g;
	}
	if (d->tick_timer)
		loop_cancel(d->loop, d->tick_timer);
	d->tick_timer = loop_add_timer(d->loop, next > now ? next - now : 0, on_tick, d);
}

/* --- start, reload, stop ----------------------------------------------- */

static int
start_drivers(struct daemon *d)
{
	char err[256];
	d->tank_bus = d->bath_bus = NULL;
	d->tank_dev = d->rect_dev = d->heater_dev = -1;
	d->gpio = gpio_open(d->cfg, on_gpio_event, on_gpio_link, d);
	if (!d->gpio)
		return -1;
	d->laser = grbl_new(d->cfg, &laser_events, d);
	d->n_buses = 0;
	for (size_t i = 0; i < d->cfg->n_buses && i < ARRAY_LEN(d->buses); i++) {
		struct mb_bus *b = mb_bus_start(d->cfg, &d->cfg->buses[i], err, sizeof err);
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
				d->bath_bus = b;
				d->rect_dev = (int)k;
			} else if (strcmp(p, "e5cc") == 0) {
				d->heater_dev = (int)k;
				if (!d->bath_bus)
					d->bath_bus = b;
			}
		}
	}
	interlock_init(&d->il);
	/* Safe state before anything else may happen. */
	safe_everything(d, "start-up");
	d->laser_st = (struct station){ .name = "laser", .state = ST_OFFLINE };
	d->tank_st = (struct station){ .name = "tank", .state = ST_IDLE };
	d->bath_st = (struct station){ .name = "bath", .state = ST_IDLE };
	sync_fds(d);
	schedule_tick(d);
	return 0;
}

static void
stop_drivers(struct daemon *d)
{
	safe_everything(d, "the daemon is stopping");
	/* Push the laser's reset byte out if the port did not take it at once,
	 * then give the bus threads a moment to send the safe-state commands
	 * that overtook their queues, before they are stopped. */
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
	for (size_t i = 0; i < d->n_registered; i++)
		loop_del_fd(d->loop, d->registered[i].fd);
	d->n_registered = 0;
	for (size_t i = 0; i < d->n_buses; i++) {
		loop_del_fd(d->loop, mb_bus_fd(d->buses[i]));
		mb_bus_stop(d->buses[i]);
	}
	d->n_buses = 0;
	grbl_free(d->laser);
	d->laser = NULL;
	gpio_close(d->gpio);
	d->gpio = NULL;
	d->tank_bus = d->bath_bus = NULL;
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
	for (int st = 0; st < JS_COUNT; st++)
		jobs_station_finished(d, (enum job_station)st, false, "the configuration was reloaded");
	stop_drivers(d);
	cfg_free(d->cfg);
	cfg_catalog_free(d->catalog);
	d->cfg = cfg;
	d->catalog = cat;
	if (start_drivers(d) < 0)
		log_err("the reloaded configuration cannot open its devices; stations stay safe");
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
daemon_start(struct daemon *d, const char *config, const char *device_dir)
{
	memset(d, 0, sizeof *d);
	d->config_path = xstrdup(config);
	d->device_dir_override = device_dir;
	d->sigfd = -1;
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
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	loop_add_fd(d->loop, d->sigfd, POLLIN, on_signal, d);

	if (start_drivers(d) < 0)
		return -1;

	/* Every station is safe; now the journal says what a crash cut short. */
	char *state = cfg_device_path(d->cfg, d->cfg->state_dir);
	char *journal = xasprintf("%s/journal.db", state);
	char err[300];
	if (mkdir(state, 0750) < 0 && errno != EEXIST)
		log_errno("cannot create the state folder %s", state);
	d->store = store_open(journal, err, sizeof err);
	free(state);
	free(journal);
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
	/* The technicians' corrections, before anything reads or sets a value. */
	if (calib_load(d, err, sizeof err) < 0) {
		log_err("%s", err);
		return -1;
	}

	/* The API comes last, once every station is safe. */
	d->groups.jeweller = d->cfg->api.jeweller_groups;
	d->groups.technician = d->cfg->api.technician_groups;
	struct api_limits lim = { (size_t)d->cfg->api.max_request, 1 << 20, d->cfg->api.max_clients };
	d->methods = xcalloc(daemon_n_methods + jobs_n_methods, sizeof *d->methods);
	memcpy(d->methods, daemon_methods, daemon_n_methods * sizeof *d->methods);
	memcpy(d->methods + daemon_n_methods, jobs_methods, jobs_n_methods * sizeof *d->methods);
	d->api = api_new(&lim, d->methods, daemon_n_methods + jobs_n_methods, api_role_from_groups,
	    &d->groups);
	api_set_data(d->api, d);
	char *sock = cfg_device_path(d->cfg, d->cfg->api.socket);
	int rc = api_listen(d->api, d->loop, sock, d->cfg->api.mode, d->cfg->api.group);
	if (rc < 0)
		log_errno("cannot listen on %s", sock);
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
	calib_stop(d);
	jobs_shutdown(d);
	if (d->loop)
		stop_drivers(d);
	api_free(d->api);
	free(d->methods);
	store_close(d->store);
	if (d->sigfd >= 0)
		close(d->sigfd);
	loop_free(d->loop);
	cfg_catalog_free(d->catalog);
	cfg_free(d->cfg);
	free(d->config_path);
}

/* --- stations ------------------------------------------------------------ */

static int
fail(int *code, char *msg, size_t len, int c, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
fail(int *code, char *msg, size_t len, int c, const char *fmt, ...)
{
	va_list ap;
	*code = c;
	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return -1;
}

int
station_laser_stream(struct daemon *d, const char *gcode, int *code, char *msg, size_t len)
{
	char err[300];
	if (d->laser_st.state == ST_RUNNING)
		return fail(code, msg, len, API_ERR_BUSY, "the laser is already engraving");
	if (!d->laser || grbl_link_state(d->laser) != GRBL_READY)
		return fail(code, msg, len, API_ERR_UNAVAILABLE, "the laser is not connected");
	const char *why = interlock_reason(&d->il, IL_LASER);
	if (why)
		return fail(code, msg, len, API_ERR_INTERLOCK, "the laser cannot start: %s", why);
	relay(d, LINE_BEACON, 1);       /* emission indicator lit before emission */
	relay(d, LINE_LASER_ENABLE, 1);
	if (grbl_stream_text(d->laser, gcode, err, sizeof err) < 0) {
		relay(d, LINE_LASER_ENABLE, 0);
		relay(d, LINE_BEACON, 0);
		return fail(code, msg, len, API_ERR_INVALID, "the program is refused: %s", err);
	}
	station_set(d, &d->laser_st, ST_RUNNING, "engraving");
	return 0;
}

int
station_laser_stop(struct daemon *d, const char *why)
{
	jobs_station_finished(d, JS_LASER, false, why);
	if (d->laser && grbl_link_state(d->laser) != GRBL_DOWN) {
		if (grbl_streaming(d->laser))
			grbl_stream_cancel(d->laser, why);
		grbl_realtime(d->laser, GRBL_RT_HOLD);
		grbl_realtime(d->laser, GRBL_RT_RESET);
	}
	relay(d, LINE_LASER_ENABLE, 0);
	relay(d, LINE_BEACON, 0);
	if (d->laser_st.state == ST_RUNNING || d->laser_st.state == ST_FAULT)
		station_set(d, &d->laser_st, ST_IDLE, "%s", why);
	return 0;
}

/* The station's own check, independent of the job engine's: every piece
 * of the load must be cleared by policy for this process. */
static int
check_load(struct daemon *d, const struct policy_piece *pieces, size_t n,
    enum policy_process proc, int *code, char *msg, size_t len)
{
	const struct cfg_gems *gems = d->catalog ? &d->catalog->gems : policy_default_gems();
	if (n == 0)
		return fail(code, msg, len, API_ERR_INVALID, "the load has no piece");
	for (size_t i = 0; i < n; i++) {
		struct policy_verdict v;
		policy_judge(gems, &pieces[i], proc, &v);
		if (!v.permitted)
			return fail(code, msg, len, API_ERR_REFUSED, "%s%s%s", v.reason,
			    n > 1 ? " (piece " : "", n > 1 ? "of the load)" : "");
	}
	return 0;
}

int
station_tank_start(struct daemon *d, const struct policy_piece *pieces, size_t n, double seconds,
    double power, double khz, double temperature, int *code, char *msg, size_t len)
{
	char err[200];
	const struct cfg_tank *t = &d->cfg->tank;
	if (check_load(d, pieces, n, PROC_ULTRASONIC, code, msg, len) < 0)
		return -1;
	if (d->tank_st.state == ST_RUNNING)
		return fail(code, msg, len, API_ERR_BUSY, "the tank is already cleaning a load");
	if (!(seconds >= 1 && seconds <= t->max_cycle))
		return fail(code, msg, len, API_ERR_INVALID, "a cycle of %g s is outside 1..%g s",
		    seconds, t->max_cycle);
	if (temperature > t->max_temperature || temperature < 20)
		return fail(code, msg, len, API_ERR_INVALID, "%g C is outside 20..%g C", temperature,
		    t->max_temperature);
	if (power < 10 || power > 100 || khz < 20 || khz > 80)
		return fail(code, msg, len, API_ERR_INVALID, "power %g %% or frequency %g kHz is out "
		    "of range (10..100 %%, 20..80 kHz)", power, khz);
	if (!d->tank_bus || !mb_bus_device_up(d->tank_bus, d->tank_dev))
		return fail(code, msg, len, API_ERR_UNAVAILABLE, "the cleaning tank is not connected");
	const char *why = interlock_reason(&d->il, IL_ULTRASOUND);
	if (!why)
		why = interlock_reason(&d->il, IL_TANK_HEATER);
	if (why)
		return fail(code, msg, len, API_ERR_INTERLOCK, "the tank cannot start: %s", why);
	relay(d, LINE_HEATER_ENABLE, 1);
	relay(d, LINE_ULTRASOUND_ENABLE, 1);
	if (mb_tank_heater(d->tank_bus, d->tank_dev, true, calib_setpoint(d, "tank-generator",
	    "temperature_set", temperature), err, sizeof err) < 0 ||
	    mb_tank_ultrasound(d->tank_bus, d->tank_dev, true, power, khz, seconds,
	    d->cfg->tank.sweep, err, sizeof err) < 0) {
		station_tank_stop(d, err);
		return fail(code, msg, len, API_ERR_INVALID, "%s", err);
	}
	d->tank_st.ends_at = now_mono() + seconds;
	station_set(d, &d->tank_st, ST_RUNNING, "cleaning %zu piece%s for %g s at %g C", n,
	    n > 1 ? "s" : "", seconds, temperature);
	return 0;
}

int
station_tank_stop(struct daemon *d, const char *why)
{
	jobs_station_finished(d, JS_TANK, false, why);
	relay(d, LINE_ULTRASOUND_ENABLE, 0);
	relay(d, LINE_HEATER_ENABLE, 0);
	modbus_safe(d->tank_bus, d->tank_dev);
	d->tank_st.ends_at = 0;
	if (d->tank_st.state == ST_RUNNING || d->tank_st.state == ST_FAULT)
		station_set(d, &d->tank_st, ST_IDLE, "%s", why);
	return 0;
}

int
station_bath_plate(struct daemon *d, const struct policy_piece *pieces, size_t n, double volts,
    double amps, double seconds, int *code, char *msg, size_t len)
{
	char err[200];
	const struct cfg_bath *b = &d->cfg->bath;
	if (check_load(d, pieces, n, PROC_ACID_BATH, code, msg, len) < 0)
		return -1;
	if (d->bath_st.state == ST_RUNNING)
		return fail(code, msg, len, API_ERR_BUSY, "the bath is already plating");
	if (volts <= 0 || volts > b->max_voltage)
		return fail(code, msg, len, API_ERR_INVALID, "%g V is outside 0..%g V (never more, "
		    "whatever the recipe)", volts, b->max_voltage);
	if (amps <= 0 || amps > b->max_current)
		return fail(code, msg, len, API_ERR_INVALID, "%g A is outside 0..%g A", amps, b->max_current);
	if (!(seconds >= 1 && seconds <= 3600))
		return fail(code, msg, len, API_ERR_INVALID, "%g s is outside 1..3600 s", seconds);
	if (!d->bath_bus || d->rect_dev < 0 || !mb_bus_device_up(d->bath_bus, d->rect_dev))
		return fail(code, msg, len, API_ERR_UNAVAILABLE, "the plating rectifier is not connected");
	const char *why = interlock_reason(&d->il, IL_RECTIFIER);
	if (why)
		return fail(code, msg, len, API_ERR_INTERLOCK, "the bath cannot start: %s", why);
	relay(d, LINE_RECTIFIER_ENABLE, 1);
	/* The limits above are in true volts and amps; the unit is told what
	 * gives them by the technician's calibration. */
	if (mb_rectifier(d->bath_bus, d->rect_dev, calib_setpoint(d, "riden-rd60xx", "v_set", volts),
	    calib_setpoint(d, "riden-rd60xx", "i_set", amps), true, err, sizeof err) < 0) {
		station_bath_stop(d, err);
		return fail(code, msg, len, API_ERR_INVALID, "%s", err);
	}
	d->bath_st.ends_at = now_mono() + seconds;
	station_set(d, &d->bath_st, ST_RUNNING, "plating at %g V, %g A for %g s", volts, amps, seconds);
	return 0;
}

int
station_bath_stop(struct daemon *d, const char *why)
{
	jobs_station_finished(d, JS_BATH, false, why);
	relay(d, LINE_RECTIFIER_ENABLE, 0);
	modbus_safe(d->bath_bus, d->rect_dev);
	d->bath_st.ends_at = 0;
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
	json_t *perm = json_object(), *reasons = json_object();
	for (int a = 0; a < IL_ACTUATOR_COUNT; a++) {
		const char *name = interlock_actuator_name((enum il_actuator)a);
		json_object_set_new(perm, name, json_boolean(interlock_permits(&d->il, (enum il_actuator)a)));
		const char *why = interlock_reason(&d->il, (enum il_actuator)a);
		if (why)
			json_object_set_new(reasons, name, json_string(why));
	}
	json_t *lines = json_object();
	for (int l = 0; l < LINE_COUNT; l++)
		json_object_set_new(lines, cfg_line_name((enum cfg_line_id)l),
		    json_integer(d->gpio ? gpio_get(d->gpio, (enum cfg_line_id)l) : -1));
	json_t *devices = json_object();
	if (d->laser) {
		const struct grbl_status *st = grbl_last_status(d->laser);
		static const char *const links[] = { "down", "connecting", "ready" };
		json_object_set_new(devices, "laser", json_pack("{s:s, s:s, s:[f,f,f]}", "link",
		    links[grbl_link_state(d->laser)], "state", st->state, "wpos", st->wpos[0],
		    st->wpos[1], st->wpos[2]));
	}
	for (size_t i = 0; i < d->n_buses; i++)
		for (size_t k = 0; k < mb_bus_devices(d->buses[i]); k++) {
			json_t *o = json_pack("{s:b}", "up", mb_bus_device_up(d->buses[i], (int)k));
			static const char *const shown[] = { "temperature", "v_out", "i_out", "ah", "pv", "sv" };
			for (size_t s = 0; s < ARRAY_LEN(shown); s++) {
				double v;
				if (mb_bus_value(d->buses[i], (int)k, shown[s], &v))
					json_object_set_new(o, shown[s], json_real(calib_reading(d,
					    mb_bus_device_profile(d->buses[i], (int)k), shown[s], v)));
			}
			json_object_set_new(devices, mb_bus_device_name(d->buses[i], (int)k), o);
		}
	json_t *out = json_pack("{s:{s:b, s:o, s:o}, s:o, s:{s:o, s:o, s:o}, s:o, s:o}",
	    "interlock", "latched", d->il.latched, "permitted", perm, "reasons", reasons,
	    "lines", lines,
	    "stations", "laser", station_json(&d->laser_st), "tank", station_json(&d->tank_st),
	    "bath", station_json(&d->bath_st), "devices", devices, "queues", jobs_queues(d));
	json_t *rh = calib_rhodium_json(d);
	if (rh)
		json_object_set_new(out, "rhodium", rh);
	json_object_set_new(out, "calibration", calib_due_status(d));
	return out;
}
