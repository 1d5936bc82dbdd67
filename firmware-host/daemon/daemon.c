/*
 * atelierd: the host of stations (see daemon.h). It brings up the safety
 * path, the Modbus buses and the station instances the configuration
 * names, ticks them, dispatches what the safety path and the buses report
 * to the station concerned, reloads and stops, and tells the parts what
 * the stations do. It knows no station kind by name: each is reached
 * through its ops table (station.h).
 *
 * A trip's safe state is the safety path's (relays, each laser's stop
 * byte, the Modbus safe states, in its own thread); what the host does on
 * a trip is the bookkeeping: each station whose outputs went hears why,
 * then the parts, then the clients.
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
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "daemon/station.h"
#include "log.h"
#include "mb_devices.h"
#include "util.h"

#define TICK 0.1

void
daemon_notify(struct daemon *d, const char *event, json_t *params)
{
	if (d->api)
		api_notify(d->api, event, params);
	else
		json_decref(params);
}

const struct interlock *
daemon_interlock(struct daemon *d)
{
	if (d->safety) {
		struct safety_state st;
		safety_snapshot(d->safety, &st);
		d->il = st.il;
	} else {
		/* No safety path: an empty layout, nothing permitted. */
		interlock_init(&d->il, &d->no_layout);
	}
	return &d->il;
}

static const struct station_ops *
ops_of(enum cfg_kind kind)
{
	static const struct station_ops *const all[KIND_COUNT] = {
		[KIND_LASER] = &station_laser_ops, [KIND_TANK] = &station_tank_ops,
		[KIND_BATH] = &station_bath_ops,
	};
	return (unsigned)kind < KIND_COUNT ? all[kind] : NULL;
}

/* Every output off, every laser reset, every Modbus device safe. */
static void
safe_everything(struct daemon *d, const char *why)
{
	for (size_t i = 0; i < d->n_stations; i++)
		d->stations[i].ops->safe(&d->stations[i], why);
	/* Outputs of stations that did not open are still the safety
	 * path's to release. */
	for (size_t l = 0; d->safety && l < d->cfg->n_lines; l++)
		if (d->cfg->lines[l].output)
			safety_release(d->safety, (int)l);
}

/* Pushes out the lasers' stop bytes the ports did not take at once, then
 * gives the bus threads a moment to send the safe-state commands that
 * overtook their queues. */
static void
let_safe_states_out(struct daemon *d)
{
	for (size_t i = 0; i < d->n_stations; i++)
		if (d->stations[i].ops->flush)
			d->stations[i].ops->flush(&d->stations[i]);
	struct timespec ts = { 0, 300000000 };
	nanosleep(&ts, NULL);
}

/* --- the safety path's news ------------------------------------------------ */

/* The safety path made the safe state already; what is left here is the
 * host's own bookkeeping: the stations, the steps and the clients. */
static void
on_trip(struct daemon *d, uint64_t tripped, const unsigned char *laser_byte)
{
	const struct interlock *il = daemon_interlock(d);
	const struct il_layout *l = il->layout;
	d->reacting = true;
	for (size_t i = 0; i < d->n_stations; i++) {
		struct station *st = &d->stations[i];
		const char *why = NULL;
		bool hit = false;
		for (size_t a = 0; a < l->n_actuators; a++) {
			if (!(tripped & (1ull << a)) || l->actuators[a].station != (int)i)
				continue;
			if (!hit || !why)
				why = interlock_reason(il, (int)a);
			hit = true;
		}
		if (!hit)
			continue;
		why = why ? why : "the interlock tripped";
		st->ops->tripped(st, why, laser_byte[i]);
		daemon_station_finished(d, st, false, why);
	}
	d->reacting = false;
	json_t *list = json_array();
	for (size_t a = 0; a < l->n_actuators; a++) {
		if (!(tripped & (1ull << a)))
			continue;
		const char *why = interlock_reason(il, (int)a);
		json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "actuator",
		    interlock_actuator_name(il, (int)a), "station",
		    d->stations[l->actuators[a].station].name, "reason", why ? why : "tripped"));
	}
	daemon_notify(d, "interlock", json_pack("{s:o, s:b}", "tripped", list, "latched", il->latched));
}

static void
on_safety(struct loop *lp, int fd, short revents, void *arg)
{
	struct daemon *d = arg;
	struct safety_event ev[16];
	size_t n;
	(void)lp;
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
				log_debug("input %s = %d", cfg_line_name(d->gpio_cfg, ev[i].line),
				    ev[i].value);
				daemon_notify(d, "input", json_pack("{s:s, s:i}", "line",
				    cfg_line_name(d->gpio_cfg, ev[i].line), "value", ev[i].value));
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

/* --- the buses' news --------------------------------------------------------- */

/* A Modbus command a station's start depends on has finished: a failure
 * fails the process, which never ran as it says. */
static void
command_done(struct daemon *d, struct mb_bus *b, const struct mb_event *ev)
{
	for (size_t i = 0; i < ARRAY_LEN(d->commands); i++) {
		struct station_command *c = &d->commands[i];
		if (c->id != ev->cmd || c->bus != b)
			continue;
		c->id = 0;
		/* A command a safe state overtook was stopped on purpose (a trip,
		 * a stop): that is said by whoever stopped it. */
		if (ev->ok || ev->cancelled || !c->st->ops->command_failed)
			return;
		char why[300];
		snprintf(why, sizeof why, "%s failed: %s", c->what, ev->text);
		c->st->ops->command_failed(c->st, why);
		return;
	}
}

static void
on_bus(struct loop *lp, int fd, short revents, void *arg)
{
	struct daemon *d = arg;
	(void)lp;
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
					command_done(d, d->buses[i], &ev[k]);
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
}

/* --- the tick ---------------------------------------------------------------- */

static void schedule_tick(struct daemon *d);

static void
sync_fds(struct daemon *d)
{
	for (size_t i = 0; i < d->n_stations; i++)
		if (d->stations[i].ops->sync_fds)
			d->stations[i].ops->sync_fds(&d->stations[i]);
}

static void
on_tick(struct loop *lp, void *arg)
{
	struct daemon *d = arg;
	(void)lp;
	d->tick_timer = 0;
	double now = now_mono();
	for (size_t i = 0; i < d->n_stations; i++)
		if (d->stations[i].ops->on_timer)
			d->stations[i].ops->on_timer(&d->stations[i], now);
	daemon_interlock(d);
	for (size_t i = 0; i < d->n_stations; i++)
		d->stations[i].ops->tick(&d->stations[i], now);
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
	for (size_t i = 0; i < d->n_stations; i++) {
		double t = d->stations[i].ops->deadline ? d->stations[i].ops->deadline(&d->stations[i]) : 0;
		if (t > 0 && t < next)
			next = t;
	}
	if (d->tick_timer)
		loop_cancel(d->loop, d->tick_timer);
	d->tick_timer = loop_add_timer(d->loop, next > now ? next - now : 0, on_tick, d);
}

/* --- start, reload, stop ----------------------------------------------- */

/* The configuration the GPIO lines and the buses were opened with stays
 * alive as long as they run, even once a reload has replaced d->cfg: a
 * reload keeps the devices whose configuration did not change, since the
 * daemon may no longer have the privileges to open them again. */
static void
free_cfg_if_unused(struct daemon *d, struct cfg *cfg)
{
	if (cfg && cfg != d->cfg && cfg != d->gpio_cfg && cfg != d->bus_cfg)
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
	struct safety_devices dev;
	safety_devices_none(&dev);
	for (size_t i = 0; i < d->n_stations; i++)
		if (d->stations[i].ops->safety_devices)
			d->stations[i].ops->safety_devices(&d->stations[i], &dev.st[i]);
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

static int
start_buses(struct daemon *d, struct cfg *cfg)
{
	char err[256];
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
	memset(d->commands, 0, sizeof d->commands);
	let_go_of_cfg(d, &d->bus_cfg);
}

/* Every station of d->cfg, each through its kind's ops. */
static void
open_stations(struct daemon *d)
{
	d->n_stations = 0;
	for (size_t i = 0; i < d->cfg->n_stations; i++) {
		const struct cfg_station *c = &d->cfg->stations[i];
		struct station *st = &d->stations[d->n_stations];
		*st = (struct station){ .kind = (enum cfg_kind)c->kind, .index = (int)i, .cfg = c,
			.ops = ops_of((enum cfg_kind)c->kind), .d = d };
		snprintf(st->name, sizeof st->name, "%s", c->name);
		if (strcmp(c->name, cfg_kind_name(st->kind)) != 0)
			snprintf(st->suffix, sizeof st->suffix, " %s", c->name);
		d->n_stations++;
		if (st->ops->open(st) < 0)
			st->state = ST_OFFLINE;
	}
}

static void
close_stations(struct daemon *d)
{
	for (size_t i = 0; i < d->n_stations; i++)
		d->stations[i].ops->close(&d->stations[i]);
	d->n_stations = 0;
	memset(d->commands, 0, sizeof d->commands);
}

static void
stop_drivers(struct daemon *d)
{
	safe_everything(d, "the daemon is stopping");
	let_safe_states_out(d);
	if (d->safety)
		safety_set_devices(d->safety, NULL);
	close_stations(d);
	stop_buses(d);
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

static bool
same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* The same stations, by name, kind and devices. */
static bool
same_stations(const struct cfg *a, const struct cfg *b)
{
	if (a->n_stations != b->n_stations)
		return false;
	for (size_t i = 0; i < a->n_stations; i++) {
		const struct cfg_station *x = &a->stations[i], *y = &b->stations[i];
		if (!same_str(x->name, y->name) || x->kind != y->kind ||
		    !same_str(x->device, y->device) || !same_str(x->rectifier, y->rectifier) ||
		    !same_str(x->heater, y->heater))
			return false;
	}
	return true;
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
	for (size_t i = 0; i < d->n_stations; i++)
		daemon_station_finished(d, &d->stations[i], false, "the configuration was reloaded");
	safe_everything(d, "the configuration was reloaded");
	let_safe_states_out(d);
	bool same_st = same_stations(d->cfg, cfg);
	bool same_gpio = same_st && d->gpio_cfg && cfg_same_gpio(d->gpio_cfg, cfg);
	bool same_buses = d->bus_cfg && cfg_same_buses(d->bus_cfg, cfg);
	bool keep_stations = same_st && same_buses;
	if (d->safety)
		safety_set_devices(d->safety, NULL);
	if (!keep_stations)
		close_stations(d);
	if (!same_buses)
		stop_buses(d);
	if (!same_gpio)
		stop_safety(d);

	struct cfg *old = d->cfg;
	cfg_catalog_free(d->catalog);
	d->cfg = cfg;
	d->catalog = cat;
	d->groups.jeweller = cfg->api.jeweller_groups;
	d->groups.technician = cfg->api.technician_groups;

	const char *who = geteuid() == 0 ? "" : ": atelierd runs unprivileged now, restart it "
	    "to open changed devices";
	if (!same_gpio && start_safety(d, cfg) < 0)
		log_err("the changed GPIO lines cannot be opened%s; nothing can be energised", who);
	if (!same_buses && start_buses(d, cfg) < 0)
		log_err("the changed Modbus buses cannot be started%s", who);
	int reopened = 0;
	if (keep_stations) {
		for (size_t i = 0; i < d->n_stations; i++) {
			struct station *st = &d->stations[i];
			const struct cfg_station *was = st->cfg;
			st->cfg = &cfg->stations[i];
			if (st->kind == KIND_LASER && !cfg_same_laser_port(old, was, cfg, st->cfg)) {
				st->ops->close(st);
				if (st->ops->open(st) < 0)
					st->state = ST_OFFLINE;
				reopened++;
			} else if (st->ops->reconfigure) {
				st->ops->reconfigure(st);
			}
		}
	} else {
		open_stations(d);
	}
	free_cfg_if_unused(d, old);
	tell_safety_devices(d);
	log_info("reloaded: %s GPIO lines, %s Modbus buses, %s stations (%d laser port%s "
	    "reopened)", same_gpio ? "kept the" : "reopened the", same_buses ? "kept the" :
	    "restarted the", keep_stations ? "kept the" : "reopened the", keep_stations ?
	    reopened : cfg_stations_of_kind(cfg, KIND_LASER), reopened == 1 ? "" : "s");
	/* What the parts had under way used the old settings. */
	for (size_t i = 0; i < d->n_started; i++)
		if (d->parts[i]->reload)
			d->parts[i]->reload(d);
	sync_fds(d);
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

/*
 * The journal is opened as root, before the privileges drop: its files
 * then belong to the user the daemon becomes, so that it can go on
 * writing them, its workers can open them again, and atelier-sync (the
 * same user) can read them (WAL readers write the -shm file).
 */
static void
give_journal(const struct cfg *cfg, const char *state, const char *journal)
{
	if (!cfg->user || geteuid() != 0)
		return;
	struct passwd *pw = getpwnam(cfg->user);
	if (!pw)
		return;                 /* drop_privileges says so */
	const char *suffix[] = { "", "-wal", "-shm" };
	if (chown(state, pw->pw_uid, pw->pw_gid) < 0)
		log_errno("cannot give the state folder %s to %s", state, cfg->user);
	for (size_t i = 0; i < ARRAY_LEN(suffix); i++) {
		char *f = xasprintf("%s%s", journal, suffix[i]);
		if (chown(f, pw->pw_uid, pw->pw_gid) < 0 && errno != ENOENT)
			log_errno("cannot give %s to %s", f, cfg->user);
		free(f);
	}
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
	for (size_t i = 0; i < CFG_MAX_STATIONS; i++)
		corrections_reset(&d->corr[i]);
	d->config_path = xstrdup(config);
	d->device_dir_override = device_dir;
	d->sigfd = -1;
	interlock_init(&d->il, &d->no_layout);
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
	if (start_safety(d, d->cfg) < 0)
		return -1;
	if (start_buses(d, d->cfg) < 0)
		return -1;
	/* Devices are opened as root, before the privilege drop: each
	 * laser's port here, the Modbus lines in mb_bus_start. */
	open_stations(d);
	tell_safety_devices(d);
	/* Safe state before anything else may happen. */
	safe_everything(d, "start-up");
	sync_fds(d);
	schedule_tick(d);

	/* Every station is safe; now the journal says what a crash cut short. */
	char *state = cfg_device_path(d->cfg, d->cfg->state_dir);
	char *journal = xasprintf("%s/journal.db", state);
	char err[300];
	if (mkdir(state, 0750) < 0 && errno != EEXIST)
		log_errno("cannot create the state folder %s", state);
	d->store = store_open(journal, err, sizeof err);
	if (d->store)
		give_journal(d->cfg, state, journal);
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
	sync_fds(d);
	if (rc < 0 || drop_privileges(d->cfg) < 0)
		return -1;
	sd_notify(0, "READY=1\nSTATUS=stations safe; waiting for jobs");
	log_info("ready: %zu station%s", d->n_stations, d->n_stations == 1 ? "" : "s");
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

/* --- status ---------------------------------------------------------------- */

json_t *
daemon_status_json(struct daemon *d)
{
	struct safety_state ss;
	memset(&ss, 0, sizeof ss);
	if (d->safety)
		safety_snapshot(d->safety, &ss);
	else
		for (size_t l = 0; l < CFG_MAX_LINES; l++)
			ss.lines[l] = -1;
	const struct interlock *il = daemon_interlock(d);
	json_t *perm = json_object(), *reasons = json_object();
	for (size_t a = 0; a < il->layout->n_actuators; a++) {
		const char *name = interlock_actuator_name(il, (int)a);
		json_object_set_new(perm, name, json_boolean(interlock_permits(il, (int)a)));
		const char *why = interlock_reason(il, (int)a);
		if (why)
			json_object_set_new(reasons, name, json_string(why));
	}
	json_t *lines = json_object();
	for (size_t l = 0; l < d->cfg->n_lines; l++)
		json_object_set_new(lines, d->cfg->lines[l].name, json_integer(ss.lines[l]));
	json_t *devices = json_object(), *stations = json_object();
	for (size_t i = 0; i < d->n_stations; i++) {
		struct station *st = &d->stations[i];
		json_object_set_new(stations, st->name, json_pack("{s:s, s:s, s:s}", "kind",
		    cfg_kind_name(st->kind), "state", station_state_name(st->state), "detail",
		    st->detail));
		if (st->ops->status)
			st->ops->status(st, devices);
	}
	/* Devices no station names still show their link. */
	for (size_t i = 0; i < d->n_buses; i++)
		for (size_t k = 0; k < mb_bus_devices(d->buses[i]); k++)
			if (!json_object_get(devices, mb_bus_device_name(d->buses[i], (int)k)))
				json_object_set_new(devices, mb_bus_device_name(d->buses[i], (int)k),
				    json_pack("{s:b}", "up", mb_bus_device_up(d->buses[i], (int)k)));
	json_t *out = json_pack("{s:{s:b, s:o, s:o, s:s}, s:o, s:o, s:o}",
	    "interlock", "latched", il->latched, "permitted", perm, "reasons", reasons,
	    "safety_path", !d->safety ? "stopped" : ss.realtime ? "real-time thread" : "thread",
	    "lines", lines, "stations", stations, "devices", devices);
	for (size_t i = 0; i < d->n_started; i++)
		if (d->parts[i]->status)
			d->parts[i]->status(d, out);
	return out;
}
