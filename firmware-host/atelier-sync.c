/*
 * atelier-sync: the workshop's link to the maison (docs/fleet.md). A
 * program of its own beside atelierd, run as an unprivileged user: it
 * sends the journal's events to the shared history in PostgreSQL
 * (sync_send.c) and publishes the stations' states to an MQTT broker
 * (sync_mqtt.c). atelierd never waits for it and never depends on it:
 * the journal is the workshop's record, and this program only reads it.
 * Its state is in a status file that `atelierctl fleet status` shows.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "cfg/cfg.h"
#include "log.h"
#include "sync/sync.h"
#include "util.h"

/* The status file is rewritten when something changed, and at least this
 * often as a heartbeat (fleet_status.c calls it stale after 15 s). */
#define HEARTBEAT 5.0

void
sync_error(struct sync_state *s, bool pg, const char *msg)
{
	pthread_mutex_lock(&s->lock);
	bool mine = pg ? s->pg_error : s->mqtt_error;
	if (msg && (!mine || strcmp(s->status.error, msg) != 0)) {
		if (!s->status.error[0] || !mine)
			s->status.error_since = now_wall();
		snprintf(s->status.error, sizeof s->status.error, "%s", msg);
		s->pg_error = pg;
		s->mqtt_error = !pg;
		s->changed = true;
		log_warn("%s", msg);
	} else if (!msg && mine) {
		log_info("%s: working again", pg ? "shared history" : "telemetry");
		s->status.error[0] = '\0';
		s->status.error_since = 0;
		s->pg_error = s->mqtt_error = false;
		s->changed = true;
	}
	pthread_mutex_unlock(&s->lock);
}

bool
sync_sleep(struct sync_state *s, double seconds)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	double t = (double)until.tv_sec + until.tv_nsec / 1e9 + seconds;
	until.tv_sec = (time_t)t;
	until.tv_nsec = (long)((t - (double)until.tv_sec) * 1e9);
	pthread_mutex_lock(&s->lock);
	if (atomic_load(&s->running))
		pthread_cond_timedwait(&s->wake, &s->lock, &until);
	pthread_mutex_unlock(&s->lock);
	return atomic_load(&s->running);
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: atelier-sync [-n] [-c FILE] [--device-dir DIR] [--once]\n"
	    "  -c, --config F   atelier.yaml (default /etc/atelier/atelier.yaml): fleet, api,\n"
	    "                   state_dir\n"
	    "  -n, --check      check the configuration, then exit\n"
	    "  --device-dir D   resolve relative paths (socket, state) in D (the simulator's)\n"
	    "  --once           send every event there is, then exit (0 when all are sent)\n");
}

static void
write_status(struct sync_state *s, const char *path)
{
	pthread_mutex_lock(&s->lock);
	s->status.updated = now_wall();
	struct fleet_status copy = s->status;
	s->changed = false;
	pthread_mutex_unlock(&s->lock);
	if (fleet_status_write(path, &copy) < 0)
		log_errno("cannot write the status file %s", path);
}

int
main(int argc, char **argv)
{
	const char *file = "/etc/atelier/atelier.yaml", *device_dir = NULL;
	bool check = false, once = false;
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "device-dir", required_argument, NULL, 'D' },
		{ "once", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "c:nh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': file = optarg; break;
		case 'n': check = true; break;
		case 'D': device_dir = optarg; break;
		case 'o': once = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	struct cfg *cfg = cfg_load_main(file, device_dir);
	if (!cfg)
		return 1;
	log_init("atelier-sync", (enum log_level)cfg->log_level_id);
	if (!cfg->fleet.workshop) {
		fprintf(stderr, "atelier-sync: %s has no 'fleet' section: this workshop works alone, "
		    "there is nothing to send (docs/fleet.md)\n", file);
		cfg_free(cfg);
		return 1;
	}
	struct sync_state s = { .cfg = cfg, .once = once };
	char *state = cfg_device_path(cfg, cfg->state_dir);
	s.journal = xasprintf("%s/journal.db", state);
	free(state);
	s.socket = cfg_device_path(cfg, cfg->api.socket);
	char *status_path = fleet_status_path(cfg);
	if (check) {
		printf("configuration OK: workshop %s (%s); shared history %s; telemetry %s; journal "
		    "%s; status in %s\n", cfg->fleet.workshop, cfg->fleet.name,
		    cfg->fleet.postgres ? cfg->fleet.postgres : "not configured",
		    cfg->fleet.mqtt.host ? cfg->fleet.mqtt.host : "not configured", s.journal,
		    status_path);
		free(status_path);
		free(s.journal);
		free(s.socket);
		cfg_free(cfg);
		return 0;
	}

	/* Signals by sigwait in this thread only; the others inherit the mask. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	pthread_mutex_init(&s.lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_cond_init(&s.wake, &ca);
	pthread_condattr_destroy(&ca);
	atomic_store(&s.running, true);
	s.status.pid = (int)getpid();
	s.status.postgres = cfg->fleet.postgres != NULL;
	s.status.mqtt = cfg->fleet.mqtt.host != NULL && !once;
	pthread_t sender, telemetry;
	bool have_sender = s.status.postgres, have_telemetry = s.status.mqtt;
	if (have_sender)
		pthread_create(&sender, NULL, sync_send_thread, &s);
	if (have_telemetry)
		pthread_create(&telemetry, NULL, sync_mqtt_thread, &s);
	write_status(&s, status_path);
	sd_notify(0, "READY=1");
	log_info("workshop %s: shared history %s, telemetry %s", cfg->fleet.workshop,
	    have_sender ? "on" : "off", have_telemetry ? "on" : "off");

	double last_write = now_mono();
	struct timespec tick = { 0, 200 * 1000 * 1000 };
	while (atomic_load(&s.running)) {
		int sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGINT || sig == SIGTERM)
			break;
		pthread_mutex_lock(&s.lock);
		bool changed = s.changed;
		pthread_mutex_unlock(&s.lock);
		if (changed || now_mono() - last_write >= HEARTBEAT) {
			write_status(&s, status_path);
			last_write = now_mono();
			sd_notify(0, "WATCHDOG=1");
		}
	}
	pthread_mutex_lock(&s.lock);
	atomic_store(&s.running, false);
	pthread_cond_broadcast(&s.wake);
	pthread_mutex_unlock(&s.lock);
	sd_notify(0, "STOPPING=1");
	if (have_sender)
		pthread_join(sender, NULL);
	if (have_telemetry)
		pthread_join(telemetry, NULL);
	s.status.stopped = true;
	write_status(&s, status_path);
	int rc = once ? s.exit_code : 0;
	pthread_cond_destroy(&s.wake);
	pthread_mutex_destroy(&s.lock);
	free(status_path);
	free(s.journal);
	free(s.socket);
	cfg_free(cfg);
	return rc;
}
