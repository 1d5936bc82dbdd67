/*
 * The station simulator's shared core: the run directory, the GPIO lines,
 * the actuators log and the device table. Each simulated device (the GRBL
 * laser, each Modbus bus with its slaves) runs in a thread of its own and
 * talks to the core only through the functions here, which are thread-safe.
 * Fault injection arrives on DIR/ctl.sock and is routed to the device it
 * names through the device's ctl callback.
 */
#ifndef ATELIER_SIM_H
#define ATELIER_SIM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "cfg/cfg.h"
#include "util.h"

struct sim;
struct sim_device;

/*
 * A simulated device. start() creates its link (pty or TCP listener) and
 * its thread; stop() ends the thread and removes what start() created.
 * ctl() handles a fault-injection or inspection command aimed at this
 * device: the ctl line is "COMMAND TARGET [ARGS...]" and argv holds it
 * whole, so argv[0] is the command ("unplug", "alarm"), argv[1] the target
 * as written (the laser, this bus, or a device on this bus, e.g. "tank",
 * "rectifier") and argv[2..] the arguments ("alarm laser 1"); it
 * appends a one-line reply to out and returns 0, or returns -1 with an
 * error sentence in out. It runs on the ctl thread: lock your own state.
 */
struct sim_device_ops {
	const char *kind;
	int (*start)(struct sim_device *dev);
	void (*stop)(struct sim_device *dev);
	int (*ctl)(struct sim_device *dev, int argc, char **argv, struct buf *out);
};

struct sim_device {
	const struct sim_device_ops *ops;
	struct sim *sim;
	char *name;             /* a laser station's name, or a Modbus bus's */
	const struct cfg_bus *bus;  /* NULL for a laser */
	int station;            /* a laser's index in cfg->stations; -1 for a bus */
	void *priv;
};

/* Paths inside the run directory; returns a new string. */
char *sim_path(const struct sim *sim, const char *name);
const struct cfg *sim_cfg(const struct sim *sim);
/* --laser-socket: the Unix socket the first laser station connects to
 * instead of making its pty, or NULL. */
const char *sim_laser_socket(const struct sim *sim);
/* The simulator is shutting down: device threads poll this and return. */
bool sim_stopping(const struct sim *sim);

/*
 * GPIO: lines are indexed as in cfg->lines (the workshop's, then each
 * station's). Levels are logical (1 = active: e-stop pressed, door open,
 * relay energised); the active_low of the configuration is applied at the
 * socket, where lines carry physical levels as a kernel chip would.
 */
int sim_line_get(struct sim *sim, int line);
/* Sets an input (from fault injection) and notifies watchers. */
void sim_line_set(struct sim *sim, int line, int value);
/* The level of a station's line of that role; 0 when it has none. */
int sim_station_line(struct sim *sim, int station, enum cfg_role role);
/* The station that names a Modbus device (a tank's generator, a bath's
 * rectifier or heater), or -1. */
int sim_station_of_device(const struct cfg *cfg, const char *device);

/*
 * Appends one JSON line to DIR/actuators.log:
 *   {"t":<wall clock s>,"device":"tank","actuator":"ultrasound","value":1}
 * value_json is a JSON value as text ("1", "0", "true", "40.0").
 * Call it only when the physical state changes.
 */
void sim_actuator(struct sim *sim, const char *device, const char *actuator,
    const char *value_json);
void sim_actuator_num(struct sim *sim, const char *device, const char *actuator,
    double value);

/*
 * Appends one JSON line to DIR/events.log: what the devices received and
 * when ("input", "laser_realtime", "modbus_write"), for benchmarks that
 * time the daemon's reactions. fields_json is the rest of the object, e.g.
 * "\"event\":\"input\",\"name\":\"estop\",\"value\":1".
 */
void sim_event(struct sim *sim, const char *fields_json);

/* Device constructors (sim_laser.c, sim_modbus.c). */
extern const struct sim_device_ops sim_laser_ops;
extern const struct sim_device_ops sim_modbus_ops;

/*
 * A pseudo-terminal link as a device sees it: the simulator owns the
 * master; a symlink DIR/NAME points at the slave, which the simulator also
 * keeps open so the master never reads EIO while no host is attached.
 * Unplugging closes both and removes the link; replugging makes a new pair.
 */
struct sim_pty {
	int master;             /* -1 while unplugged */
	int keep_slave;
	char *link;             /* DIR/NAME */
	char slave_path[64];
};
/* Returns 0, or -1 with errno. The master is non-blocking, raw, 8N1. */
int sim_pty_open(struct sim_pty *p, const char *link_path);
void sim_pty_close(struct sim_pty *p);

/*
 * Paces a serial link at its baud rate: a pty moves bytes as fast as the
 * kernel can, but a UART carries baud/bits_per_char characters a second.
 * sim_pace_take(p, now, want) returns how many of want characters the line
 * has carried since the last call (at most want), so a reader consumes
 * input, or a writer releases output, no faster than the wire would. want
 * must be what is really waiting: calling with 0 marks the line idle, and
 * idle time is not banked.
 */
struct sim_pace {
	double chars_per_s;
	double credit;          /* characters the line could have carried */
	double last;            /* monotonic s of the last update */
	double burst;           /* credit cap, characters */
	bool idle;              /* nothing was waiting at the last call */
};
void sim_pace_init(struct sim_pace *p, int baud, int bits_per_char);
size_t sim_pace_take(struct sim_pace *p, double now, size_t want);
/* Seconds until n characters can be carried (0 if already). */
double sim_pace_wait(const struct sim_pace *p, double now, size_t n);

#endif
