/*
 * A station kind as an ops table (in the manner of libmodbus's backends
 * or chrony's refclock drivers), and what the kinds share inside the
 * daemon. One file per kind: station_laser.c, station_tank.c,
 * station_bath.c. The daemon (daemon.c) loops over its station instances
 * and calls them only through their ops; it knows no kind by name.
 */
#ifndef ATELIER_STATION_H
#define ATELIER_STATION_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/daemon.h"
#include "daemon/safety.h"

struct station_ops {
	enum cfg_kind kind;
	/* What policy judges the kind's loads for. */
	enum policy_process process;
	/* Sets up the station's own state and devices (a laser's port);
	 * the Modbus buses are the daemon's. Returns 0, or -1 logged. */
	int (*open)(struct station *st);
	/* Frees what open made; the station is already safe. */
	void (*close)(struct station *st);
	/* A reload kept the station with the same devices: its new
	 * configuration (limits, process settings). */
	void (*reconfigure)(struct station *st);
	/* Everything of the station off whatever it was doing: start-up,
	 * reload, stop. Quiet: nobody's steps are told. */
	void (*safe)(struct station *st, const char *why);
	/* Starts a load with the kind's parameters (daemon.h: station_start). */
	int (*start)(struct station *st, const struct policy_piece *pieces, size_t n,
	    json_t *params, uid_t owner, struct err *e);
	/* Stops what it runs; the listeners hear it finished with why. */
	void (*stop)(struct station *st, const char *why);
	/* Whether it could take a load now. */
	int (*ready)(struct station *st, struct err *e);
	/* Every daemon tick: timed ends, process supervision, links. */
	void (*tick)(struct station *st, double now);
	/* The safety path withdrew outputs of the station (and sent a laser
	 * this stop byte, 0: none); the safe state is made already. */
	void (*tripped)(struct station *st, const char *why, unsigned char laser_byte);
	/* A Modbus command tracked for its start failed (why says which). */
	void (*command_failed)(struct station *st, const char *why);
	/* Its devices, for the safety path's stop actions and links. */
	void (*safety_devices)(struct station *st, struct safety_station *out);
	/* Its devices' state, into status's "devices" object. */
	void (*status)(struct station *st, json_t *devices);
	/* The loop descriptors and deadline of its own devices (a laser's
	 * port); NULL for none. */
	void (*sync_fds)(struct station *st);
	double (*deadline)(struct station *st);
	void (*on_timer)(struct station *st, double now);
	/* Pushes out a stop byte not yet taken (shutdown); NULL: nothing. */
	void (*flush)(struct station *st);
};

extern const struct station_ops station_laser_ops, station_tank_ops, station_bath_ops;

/* --- shared by the kinds ------------------------------------------------- */

void station_set(struct station *st, enum station_state state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Drives one of the station's outputs (by role): on only if the safety
 * path's interlock permits it there and then; off at once. A role the
 * station does not have is left alone (an optional beacon). Returns 0,
 * or -1 with why. */
int station_relay(struct station *st, enum cfg_role role, int on, char *why, size_t len);
/* Why the interlock forbids the station's output now, or NULL. */
const char *station_forbidden(struct station *st, enum cfg_role role);
/* The safe state of one Modbus device, logged if it cannot be queued. */
void station_modbus_safe(struct mb_bus *b, int dev);
/* The station's own check, independent of the job engine's: every piece
 * of the load must be cleared by policy for the kind's process. */
int station_check_load(struct station *st, const struct policy_piece *pieces, size_t n,
    struct err *e);
/* Tracks a Modbus command of the station's start; forgets them all. */
void station_track_command(struct station *st, struct mb_bus *b, int id, const char *what);
void station_forget_commands(struct station *st);
/* The corrections in force for the station. */
const struct corrections *station_corrections(const struct station *st);
/* A number from a start's parameters, or def; NAN when neither. */
double station_param(json_t *params, const char *key, double def);
/* The Modbus device named in the configuration: its bus and index there.
 * Returns false (bus NULL, dev -1) when no bus has it. */
bool daemon_device(struct daemon *d, const char *name, struct mb_bus **bus, int *dev);
/* A Modbus device of the station into status's "devices" object: its
 * link and readings, each corrected and with its unit's precision. */
void station_device_status(struct station *st, struct mb_bus *bus, int dev, json_t *devices);

#endif
