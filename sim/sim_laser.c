/*
 * A simulated laser station: a GRBL 1.1h controller (grbl_sim.c) on a pty
 * link paced at the station's baud, with the machine around it: the
 * station's enclosure door wired to GRBL's door pin, and the beam, which
 * burns only when GRBL commands it AND the station's enable relay is
 * energised AND its door is closed. Each change of the beam goes to the
 * actuators log under the station's name. There is one per laser station.
 *
 * With --laser-socket PATH the first laser's link is a Unix stream socket
 * instead of the pty: the simulator connects to PATH as a client, as qemu's
 * `-chardev socket,server=on` waits for one, so that a guest's real 16550
 * UART has this GRBL on its far end. The connection is retried while
 * nobody listens; unplug closes it and replug connects again.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "grbl_sim.h"
#include "log.h"
#include "sim.h"

struct laser {
	struct sim_device *dev;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	struct grbl_sim g;
	struct sim_pty pty;
	char *link;
	char *sock_path;        /* --laser-socket, or NULL for the pty */
	int sock;               /* connected socket, -1 while not */
	double sock_retry;      /* monotonic s of the next connect attempt */
	bool plugged;
	struct sim_pace rx_pace, tx_pace;
	bool beam_logged;
	double power_logged;
	/* An Arduino resets when its port is opened (DTR): the opens of the
	 * pty's slave are watched, and each reboots GRBL, which meanwhile
	 * reads nothing and then says its power-up banner. */
	int open_watch;         /* inotify descriptor, or -1 */
	double booting_until;   /* monotonic s; 0 when not booting */
	/* The piece on the station's rotary (rotary: in its configuration),
	 * mm across where it turns: its outside on rollers. */
	double piece_diameter;
};

/* How long the bootloader holds an Arduino GRBL after its port opens. */
#define BOOT_TIME 0.5

/* The descriptor the host is on: the pty master or the socket; -1 when
 * none (unplugged, or the socket's far end not there yet). */
static int
link_fd(const struct laser *l)
{
	if (!l->plugged)
		return -1;
	return l->sock_path ? l->sock : l->pty.master;
}

static void
sock_drop(struct laser *l, double now)
{
	if (l->sock >= 0)
		close(l->sock);
	l->sock = -1;
	l->sock_retry = now + 0.1;
}

/* Connects to --laser-socket when due; returns true once connected. */
static bool
sock_connect(struct laser *l, double now)
{
	if (l->sock >= 0)
		return true;
	if (now < l->sock_retry)
		return false;
	l->sock_retry = now + 0.1;
	l->sock = unix_connect(l->sock_path);
	if (l->sock < 0)
		return false;
	fd_set_nonblock(l->sock);
	log_info("laser: connected to %s", l->sock_path);
	return true;
}

/* Reads what the wire has carried since the last call into GRBL. */
static void
pump_in(struct laser *l, double now)
{
	char tmp[512];
	int waiting = 0;
	int fd = link_fd(l);
	if (fd < 0)
		return;
	/* What the host wrote waits in the pty (or socket) as it would on
	 * the wire. */
	if (ioctl(fd, FIONREAD, &waiting) < 0 || waiting < 0)
		waiting = 0;
	if (l->sock_path && waiting == 0) {
		/* Nothing waiting may also mean the far end closed: a socket
		 * reads 0 then, where a pty kept open by the simulator never
		 * does. */
		char c;
		ssize_t r = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			log_info("laser: %s closed by its far end", l->sock_path);
			sock_drop(l, now);
			return;
		}
	}
	size_t allowed = sim_pace_take(&l->rx_pace, now,
	    (size_t)waiting < sizeof tmp ? (size_t)waiting : sizeof tmp);
	if (!allowed)
		return;
	ssize_t n = read(fd, tmp, allowed);
	size_t got = n > 0 ? (size_t)n : 0;
	for (size_t i = 0; i < got; i++) {
		unsigned char c = (unsigned char)tmp[i];
		/* The bytes that stop a machine are timed by the benchmarks. */
		if (c == 0x18 || c == 0x84 || c == '!') {
			char ev[128];
			snprintf(ev, sizeof ev, "\"event\":\"laser_realtime\",\"byte\":%u,\"laser\":\"%s\"",
			    c, l->dev->name);
			sim_event(l->dev->sim, ev);
		}
	}
	if (got)
		grbl_sim_receive(&l->g, tmp, got);
}

static void
pump_out(struct laser *l, double now)
{
	if (!l->g.out.len) {
		sim_pace_take(&l->tx_pace, now, 0);
		return;
	}
	int fd = link_fd(l);
	if (fd < 0) {
		buf_reset(&l->g.out);   /* nobody is on the other end */
		return;
	}
	size_t allowed = sim_pace_take(&l->tx_pace, now, l->g.out.len);
	if (!allowed)
		return;
	ssize_t n = l->sock_path ? send(fd, l->g.out.data, allowed, MSG_NOSIGNAL | MSG_DONTWAIT) :
	    write(fd, l->g.out.data, allowed);
	if (n < 0 && l->sock_path && errno != EAGAIN && errno != EINTR) {
		sock_drop(l, now);
		return;
	}
	size_t sent = n > 0 ? (size_t)n : 0;
	l->tx_pace.credit += (double)(allowed - sent);
	buf_consume(&l->g.out, sent);
}

static void
log_beam(struct laser *l)
{
	struct sim *sim = l->dev->sim;
	bool relay = sim_station_line(sim, l->dev->station, ROLE_LASER_ENABLE);
	bool door = sim_station_line(sim, l->dev->station, ROLE_DOOR);
	bool beam = l->g.emitting && relay && !door;
	double power = beam ? l->g.emit_power : 0;

	if (beam != l->beam_logged) {
		sim_actuator(sim, l->dev->name, "emission", beam ? "1" : "0");
		l->beam_logged = beam;
	}
	if (beam && power != l->power_logged)
		sim_actuator_num(sim, l->dev->name, "power", power);
	l->power_logged = power;
}

/* Someone opened the pty's slave: with reset_on_open, GRBL reboots. */
static void
watch_opens(struct laser *l, double now)
{
	char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	if (l->open_watch < 0)
		return;
	ssize_t n = read(l->open_watch, ev, sizeof ev);
	for (ssize_t off = 0; n > 0 && off < n;) {
		const struct inotify_event *e = (const struct inotify_event *)(ev + off);
		if (e->mask & IN_OPEN) {
			log_info("%s: its port was opened: rebooting, as an Arduino does", l->dev->name);
			l->booting_until = now + BOOT_TIME;
			buf_reset(&l->g.out);       /* the old session's output is gone */
		}
		off += (ssize_t)sizeof *e + e->len;
	}
}

static void
unwatch_opens(struct laser *l)
{
	if (l->open_watch >= 0)
		close(l->open_watch);
	l->open_watch = -1;
}

static void *
laser_thread(void *arg)
{
	struct laser *l = arg;
	struct sim *sim = l->dev->sim;

	while (!sim_stopping(sim)) {
		pthread_mutex_lock(&l->lock);
		double now = now_mono();
		if (l->plugged && l->sock_path)
			sock_connect(l, now);
		grbl_sim_door(&l->g, sim_station_line(sim, l->dev->station, ROLE_DOOR));
		watch_opens(l, now);
		if (l->booting_until && now >= l->booting_until) {
			/* Booted: the power-up banner. What the host sent meanwhile
			 * waits on the wire and is read now. */
			l->booting_until = 0;
			grbl_sim_reset(&l->g, true);
		}
		if (l->plugged && !l->booting_until)
			pump_in(l, now);
		grbl_sim_step(&l->g, now);
		pump_out(l, now);
		log_beam(l);
		pthread_mutex_unlock(&l->lock);
		/* A 0.5 ms tick: fine enough that a reply's wire time is
		 * seen by a host waiting for it, coarse enough to cost little
		 * CPU; pacing banks up to 2 ms against late wake-ups. */
		struct timespec ts = { 0, 500000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static int
plug(struct laser *l)
{
	if (l->sock_path) {
		/* The laser thread connects (and reconnects) on its own. */
		l->sock_retry = 0;
	} else if (sim_pty_open(&l->pty, l->link) < 0) {
		log_errno("%s: cannot create the pty link %s", l->dev->name, l->link);
		return -1;
	} else if (sim_cfg(l->dev->sim)->sim.laser_reset_on_open) {
		/* Watched after the simulator's own open of the slave. */
		unwatch_opens(l);
		l->open_watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (l->open_watch < 0 || inotify_add_watch(l->open_watch, l->pty.slave_path,
		    IN_OPEN) < 0) {
			log_errno("%s: cannot watch %s for opens", l->dev->name, l->pty.slave_path);
			unwatch_opens(l);
		}
	}
	l->plugged = true;
	const struct cfg_laser *laser = &sim_cfg(l->dev->sim)->stations[l->dev->station].laser;
	sim_pace_init(&l->rx_pace, laser->baud, 10);
	sim_pace_init(&l->tx_pace, laser->baud, 10);
	return 0;
}

static int
laser_start(struct sim_device *dev)
{
	const struct cfg *cfg = sim_cfg(dev->sim);
	struct laser *l = xcalloc(1, sizeof *l);

	l->dev = dev;
	dev->priv = l;
	pthread_mutex_init(&l->lock, NULL);
	l->pty.master = l->pty.keep_slave = -1;
	l->sock = -1;
	l->open_watch = -1;
	const struct cfg_laser *laser = &cfg->stations[dev->station].laser;
	l->link = sim_path(dev->sim, laser->port ? laser->port : dev->name);
	if (sim_laser_socket(dev->sim) && dev->station == cfg_station_of_kind(cfg, KIND_LASER, 0))
		l->sock_path = xstrdup(sim_laser_socket(dev->sim));
	grbl_sim_init(&l->g, now_mono(), cfg->sim.laser_accel);
	if (plug(l) < 0)
		return -1;
	if (pthread_create(&l->thread, NULL, laser_thread, l) != 0) {
		log_err("%s: cannot start its thread", dev->name);
		return -1;
	}
	l->started = true;
	return 0;
}

static void
laser_stop(struct sim_device *dev)
{
	struct laser *l = dev->priv;
	if (!l)
		return;
	if (l->started)
		pthread_join(l->thread, NULL);
	/* Whatever was burning stops with the simulator. */
	if (l->beam_logged)
		sim_actuator(dev->sim, dev->name, "emission", "0");
	sim_pty_close(&l->pty);
	unwatch_opens(l);
	if (l->sock >= 0)
		close(l->sock);
	free(l->sock_path);
	free(l->pty.link);
	free(l->link);
	grbl_sim_free(&l->g);
	pthread_mutex_destroy(&l->lock);
	free(l);
	dev->priv = NULL;
}

/* On a station with a rotary in place of Y, what burned in Y is a turn
 * of the piece: its extent in degrees and, with the piece's diameter
 * known (`piece`), in mm around it. A chuck turns the piece with it;
 * rollers turn it by their circumference over the piece's. */
static void
rotary_burn(const struct laser *l, struct buf *out)
{
	const struct cfg_rotary *r =
	    &sim_cfg(l->dev->sim)->stations[l->dev->station].laser.rotary;
	if (r->kind == ROTARY_NONE)
		return;
	double turns = (l->g.burn_hi[1] - l->g.burn_lo[1]) / r->travel_per_turn;
	double d = l->piece_diameter;
	if (r->kind == ROTARY_ROLLERS)
		turns = d > 0 ? turns * r->roller_diameter / d : NAN;
	buf_printf(out, ",\"rotary\":\"%s\",\"angle\":%.4f", r->kind == ROTARY_ROLLERS ?
	    "rollers" : "chuck", isfinite(turns) ? turns * 360 : -1.0);
	if (d > 0 && isfinite(turns))
		buf_printf(out, ",\"arc_mm\":%.4f,\"piece_diameter\":%.4f", turns * M_PI * d, d);
}

static int
laser_ctl(struct sim_device *dev, int argc, char **argv, struct buf *out)
{
	struct laser *l = dev->priv;
	const char *cmd = argv[0];
	int rc = 0;

	pthread_mutex_lock(&l->lock);
	if (strcmp(cmd, "alarm") == 0 && argc == 3) {
		int code = atoi(argv[2]);
		if (code < 1 || code > 10) {
			buf_printf(out, "alarm code must be between 1 and 10");
			rc = -1;
		} else {
			grbl_sim_alarm(&l->g, code);
			buf_printf(out, "ALARM:%d raised", code);
		}
	} else if (strcmp(cmd, "unplug") == 0) {
		if (l->plugged) {
			sim_pty_close(&l->pty);
			if (l->sock >= 0)
				close(l->sock);
			l->sock = -1;
			l->plugged = false;
		}
		buf_printf(out, "%s unplugged", dev->name);
	} else if (strcmp(cmd, "replug") == 0) {
		if (!l->plugged) {
			/* Plugging a USB GRBL in resets its controller. */
			grbl_sim_reset(&l->g, true);
			rc = plug(l);
		}
		buf_printf(out, rc == 0 ? "%s plugged in" : "cannot create the pty of %s", dev->name);
	} else if (strcmp(cmd, "connected") == 0) {
		/* Whether a host is on the socket link (always "yes" on a pty). */
		buf_printf(out, "%s", link_fd(l) >= 0 ? "yes" : "no");
	} else if ((strcmp(cmd, "rate") == 0 || strcmp(cmd, "slow") == 0) && argc == 3) {
		double r = atof(argv[2]);
		if (r < 1 || r > 100000) {
			buf_printf(out, "rate must be between 1 and 100000 lines per second");
			rc = -1;
		} else {
			l->g.parse_rate = r;
			buf_printf(out, "%s parses at most %g lines/s", dev->name, r);
		}
	} else if (strcmp(cmd, "timescale") == 0 && argc == 3) {
		double k = atof(argv[2]);
		if (k < 0.01 || k > 10000) {
			buf_printf(out, "time scale must be between 0.01 and 10000");
			rc = -1;
		} else {
			l->g.time_scale = k;
			buf_printf(out, "%s motion runs %gx", dev->name, k);
		}
	} else if (strcmp(cmd, "status") == 0) {
		grbl_sim_describe(&l->g, out);
	} else if (strcmp(cmd, "mechanics") == 0 && argc == 4) {
		/* The steps per mm the machine really needs (scale calibration). */
		double sx = atof(argv[2]), sy = atof(argv[3]);
		if (!(sx >= 1 && sx <= 10000 && sy >= 1 && sy <= 10000)) {
			buf_printf(out, "mechanics takes X and Y steps per mm from 1 to 10000");
			rc = -1;
		} else {
			l->g.mech_steps[0] = sx;
			l->g.mech_steps[1] = sy;
			buf_printf(out, "%s needs %g x %g steps per mm", dev->name, sx, sy);
		}
	} else if (strcmp(cmd, "burn") == 0) {
		if (argc == 3 && strcmp(argv[2], "clear") == 0) {
			grbl_sim_burn_clear(&l->g);
			buf_printf(out, "burn cleared");
		} else {
			buf_printf(out, "{\"burned\":%s,\"x\":[%.4f,%.4f],\"y\":[%.4f,%.4f],"
			    "\"width\":%.4f,\"height\":%.4f", l->g.burned ? "true" : "false",
			    l->g.burn_lo[0], l->g.burn_hi[0], l->g.burn_lo[1], l->g.burn_hi[1],
			    l->g.burn_hi[0] - l->g.burn_lo[0], l->g.burn_hi[1] - l->g.burn_lo[1]);
			rotary_burn(l, out);
			buf_printf(out, "}");
		}
	} else if (strcmp(cmd, "piece") == 0 && argc == 3) {
		double d = atof(argv[2]);
		if (!(d >= 1 && d <= 500)) {
			buf_printf(out, "piece LASER DIAMETER: the piece on the rotary, 1 to 500 mm");
			rc = -1;
		} else {
			l->piece_diameter = d;
			buf_printf(out, "a piece of %g mm on the rotary of %s", d, dev->name);
		}
	} else if (strcmp(cmd, "refuse") == 0 && (argc == 3 || argc == 4)) {
		/* The next N G-code lines are answered error:CODE and not run,
		 * as GRBL answers a line it cannot take (the rest still runs). */
		int code = atoi(argv[2]), n = argc == 4 ? atoi(argv[3]) : 1;
		if (code < 1 || code > 38 || n < 1 || n > 1000) {
			buf_printf(out, "refuse LASER CODE [N]: CODE 1-38, N 1-1000");
			rc = -1;
		} else {
			l->g.refuse_code = code;
			l->g.refuse_lines = n;
			buf_printf(out, "the next %d line%s answer error:%d", n, n > 1 ? "s" : "", code);
		}
	} else if (strcmp(cmd, "setting") == 0 && argc == 4) {
		/* The bench's commissioning, in GRBL's EEPROM before any host. */
		if (grbl_sim_set(&l->g, atoi(argv[2]), atof(argv[3])) < 0) {
			buf_printf(out, "GRBL has no setting $%s, or %s is not a value for it", argv[2],
			    argv[3]);
			rc = -1;
		} else {
			buf_printf(out, "$%s=%s stored", argv[2], argv[3]);
		}
	} else if (strcmp(cmd, "overruns") == 0) {
		buf_printf(out, "%lu", l->g.overruns);
	} else {
		buf_printf(out, "commands for a laser station LASER: alarm LASER N, unplug LASER, "
		    "replug LASER, rate LASER LINES_PER_S, timescale LASER K, status LASER, "
		    "overruns LASER, connected LASER, mechanics LASER SX SY, burn LASER [clear], "
		    "setting LASER N V, refuse LASER CODE [N], piece LASER DIAMETER (on its rotary)");
		rc = -1;
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}

const struct sim_device_ops sim_laser_ops = { "laser", laser_start, laser_stop, laser_ctl };
