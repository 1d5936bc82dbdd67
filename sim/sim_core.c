/*
 * The simulator's shared services: GPIO line state, the actuators log,
 * pseudo-terminal links and serial-line pacing. Device threads call these
 * concurrently, so the line table and the log each have a mutex; the GPIO
 * socket server and ctl dispatch that also live on this state are in
 * sim_server.c and run on the main thread.
 */
#include "sim_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

char *
sim_path(const struct sim *sim, const char *name)
{
	if (name[0] == '/')
		return xstrdup(name);
	return xasprintf("%s/%s", sim->run_dir, name);
}

const struct cfg *
sim_cfg(const struct sim *sim)
{
	return sim->cfg;
}

const char *
sim_laser_socket(const struct sim *sim)
{
	return sim->laser_socket;
}

bool
sim_stopping(const struct sim *sim)
{
	return atomic_load(&sim->stopping);
}

int
sim_line_get(struct sim *sim, int id)
{
	if (id < 0 || (size_t)id >= sim->cfg->n_lines)
		return 0;
	pthread_mutex_lock(&sim->lines_lock);
	int v = sim->lines[id];
	pthread_mutex_unlock(&sim->lines_lock);
	return v;
}

int
sim_station_line(struct sim *sim, int station, enum cfg_role role)
{
	if (station < 0 || (size_t)station >= sim->cfg->n_stations)
		return 0;
	return sim_line_get(sim, sim->cfg->stations[station].line[role]);
}

int
sim_station_of_device(const struct cfg *cfg, const char *device)
{
	for (size_t i = 0; device && i < cfg->n_stations; i++) {
		const struct cfg_station *st = &cfg->stations[i];
		if ((st->device && strcmp(st->device, device) == 0) ||
		    (st->rectifier && strcmp(st->rectifier, device) == 0) ||
		    (st->heater && strcmp(st->heater, device) == 0))
			return (int)i;
	}
	return -1;
}

/* Returns 1 if the value changed. */
int
sim_line_store(struct sim *sim, int id, int value)
{
	if (id < 0 || (size_t)id >= sim->cfg->n_lines)
		return 0;
	value = value ? 1 : 0;
	pthread_mutex_lock(&sim->lines_lock);
	int changed = sim->lines[id] != value;
	sim->lines[id] = value;
	pthread_mutex_unlock(&sim->lines_lock);
	return changed;
}

void
sim_line_set(struct sim *sim, int id, int value)
{
	if (sim_line_store(sim, id, value)) {
		char ev[160];
		snprintf(ev, sizeof ev, "\"event\":\"input\",\"name\":\"%s\",\"value\":%d",
		    cfg_line_name(sim->cfg, id), value ? 1 : 0);
		sim_event(sim, ev);
		sim_gpio_notify(sim, id);
	}
}

int
sim_line_physical(const struct sim *sim, int id, int logical)
{
	return sim->cfg->lines[id].gl->active_low ? !logical : !!logical;
}

void
sim_actuator(struct sim *sim, const char *device, const char *actuator,
    const char *value_json)
{
	char line[256];
	int n = snprintf(line, sizeof line,
	    "{\"t\":%.6f,\"device\":\"%s\",\"actuator\":\"%s\",\"value\":%s}\n",
	    now_wall(), device, actuator, value_json);
	if (n < 0 || (size_t)n >= sizeof line)
		return;
	pthread_mutex_lock(&sim->log_lock);
	/* One write per line on an O_APPEND file: readers never see half a
	 * line, even while the log is being tailed. */
	if (sim->log_fd >= 0 && write_all(sim->log_fd, line, (size_t)n) < 0)
		log_errno("actuators.log");
	pthread_mutex_unlock(&sim->log_lock);
}

void
sim_event(struct sim *sim, const char *fields_json)
{
	char line[320];
	int n = snprintf(line, sizeof line, "{\"t\":%.6f,%s}\n", now_wall(), fields_json);
	if (n < 0 || (size_t)n >= sizeof line)
		return;
	pthread_mutex_lock(&sim->log_lock);
	if (sim->events_fd >= 0 && write_all(sim->events_fd, line, (size_t)n) < 0)
		log_errno("events.log");
	pthread_mutex_unlock(&sim->log_lock);
}

void
sim_actuator_num(struct sim *sim, const char *device, const char *actuator,
    double value)
{
	char v[64];
	snprintf(v, sizeof v, "%.6g", value);
	sim_actuator(sim, device, actuator, v);
}

int
sim_pty_open(struct sim_pty *p, const char *link_path)
{
	struct termios tio;
	int master = -1, slave = -1;

	p->master = -1;
	p->keep_slave = -1;
	master = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (master < 0)
		return -1;
	if (grantpt(master) < 0 || unlockpt(master) < 0 ||
	    ptsname_r(master, p->slave_path, sizeof p->slave_path) != 0)
		goto fail;
	slave = open(p->slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		goto fail;
	/* Raw 8N1 on the line discipline, so every byte passes untouched in
	 * both directions whatever the host sets later. */
	if (tcgetattr(slave, &tio) < 0)
		goto fail;
	cfmakeraw(&tio);
	tio.c_cflag |= CLOCAL | CREAD;
	if (tcsetattr(slave, TCSANOW, &tio) < 0)
		goto fail;
	unlink(link_path);
	if (symlink(p->slave_path, link_path) < 0)
		goto fail;
	free(p->link);
	p->link = xstrdup(link_path);
	p->master = master;
	p->keep_slave = slave;
	return 0;
fail:;
	int saved = errno;
	if (slave >= 0)
		close(slave);
	close(master);
	errno = saved;
	return -1;
}

void
sim_pty_close(struct sim_pty *p)
{
	if (p->link)
		unlink(p->link);
	if (p->master >= 0)
		close(p->master);
	if (p->keep_slave >= 0)
		close(p->keep_slave);
	p->master = -1;
	p->keep_slave = -1;
}

void
sim_pace_init(struct sim_pace *p, int baud, int bits_per_char)
{
	p->chars_per_s = (double)baud / (double)bits_per_char;
	p->credit = 0;
	p->last = now_mono();
	p->idle = true;
	/* Line time is banked for at most 2 ms (and at least 4 characters):
	 * enough to absorb a loop waking a little late, while a line that was
	 * idle cannot later deliver a burst faster than its baud rate. */
	p->burst = p->chars_per_s * 0.002;
	if (p->burst < 4)
		p->burst = 4;
}

static void
pace_update(struct sim_pace *p, double now)
{
	if (now > p->last) {
		p->credit += (now - p->last) * p->chars_per_s;
		p->last = now;
	}
	if (p->credit > p->burst)
		p->credit = p->burst;
}

size_t
sim_pace_take(struct sim_pace *p, double now, size_t want)
{
	if (want == 0) {
		/* An idle line banks nothing: the next byte still takes its
		 * full character time on the wire. */
		p->credit = 0;
		p->last = now;
		p->idle = true;
		return 0;
	}
	if (p->idle) {
		/* Data is seen for the first time now: its first character
		 * starts on the wire now, not at the last idle check. */
		p->idle = false;
		p->credit = 0;
		p->last = now;
		return 0;
	}
	pace_update(p, now);
	size_t can = (size_t)p->credit;
	if (can > want)
		can = want;
	p->credit -= (double)can;
	return can;
}

double
sim_pace_wait(const struct sim_pace *p, double now, size_t n)
{
	double credit = p->credit;
	if ((double)n > p->burst)
		n = (size_t)p->burst;
	if (now > p->last)
		credit += (now - p->last) * p->chars_per_s;
	if (credit > p->burst)
		credit = p->burst;
	if (credit >= (double)n)
		return 0;
	return ((double)n - credit) / p->chars_per_s;
}
