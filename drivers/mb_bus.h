/*
 * A Modbus bus (one RTU line with its slaves, or one TCP endpoint) served
 * by a thread of its own, since libmodbus is blocking and a modbus_t is not
 * thread-safe (DESIGN.md, concurrency). The thread polls every device of
 * the bus each poll interval, reading contiguous registers in one
 * transaction, refreshes heartbeats, and runs commands from two lanes: the
 * priority lane (safe-state commands) overtakes the normal lane and the
 * poll cycle. Writes are range-checked against the profile, never touch
 * registers marked never_write, and are verified by reading them back.
 * Results come back to the daemon's loop through an eventfd.
 */
#ifndef ATELIER_MB_BUS_H
#define ATELIER_MB_BUS_H

#include <stdbool.h>
#include <stddef.h>

#include "cfg/cfg.h"

#define MB_MAX_WRITES 6

enum mb_event_type {
	MB_EV_LINK,             /* a device (or, with dev -1, the bus) came up or went down */
	MB_EV_DONE,             /* a command finished: ok, or text says why not */
	MB_EV_REBOOT,           /* a device lost the setpoints written to it */
	MB_EV_POLL,             /* a poll cycle of a device refreshed its values */
	MB_EV_WARN,             /* something worth logging (exceptions, bad frames) */
	MB_EV_SAFE,             /* a device came up and was put in its safe state (or not: ok) */
};

struct mb_event {
	enum mb_event_type type;
	int dev;                /* index in the bus's devices, or -1 for the bus */
	int cmd;                /* MB_EV_DONE: the id mb_bus_write returned */
	bool ok;                /* MB_EV_LINK: up; MB_EV_DONE: succeeded */
	bool cancelled;         /* MB_EV_DONE: never run, a safe state overtook it */
	char text[200];
};

struct mb_write {
	const char *reg;        /* register name in the device's profile */
	double value;           /* engineering units */
};

struct mb_bus;

/* Starts the thread of bus (devices from cfg); NULL with a reason in err
 * (a profile that does not load). Connection failures are not errors: the
 * thread keeps trying and reports the link. */
struct mb_bus *mb_bus_start(const struct cfg *cfg, const struct cfg_bus *bus, char *err,
    size_t errlen);
/* Stops the thread, closes the bus. */
void mb_bus_stop(struct mb_bus *b);

/* The descriptor to poll (readable when events wait) and the draining of
 * events; returns how many were written to out. */
int mb_bus_fd(const struct mb_bus *b);
size_t mb_bus_drain(struct mb_bus *b, struct mb_event *out, size_t max);

size_t mb_bus_devices(const struct mb_bus *b);
/* Index of a device by name, or -1. */
int mb_bus_device(const struct mb_bus *b, const char *name);
const char *mb_bus_device_name(const struct mb_bus *b, int dev);
/* The profile (device model) name: "tank-generator", "riden-rd60xx", "e5cc". */
const char *mb_bus_device_profile(const struct mb_bus *b, int dev);
bool mb_bus_device_up(const struct mb_bus *b, int dev);
/* The latest polled value of a register (engineering units); false when
 * not known (never read, or the device is down). */
bool mb_bus_value(const struct mb_bus *b, int dev, const char *reg, double *out);
/* The model variant read from the identify register ("RD6006"), or NULL
 * (not identified yet, or refused: no variant of the profile matches). */
const char *mb_bus_variant(const struct mb_bus *b, int dev);
/* The device's profile, loaded when the bus started. */
const struct profile *mb_bus_profile(const struct mb_bus *b, int dev);

/*
 * Queues writes to one device, done in order (a failure stops the rest).
 * Each is checked against the profile now, so a bad request fails at once
 * with the reason in err and nothing queued; so does any write to a device
 * whose identity matches no variant of its profile. Priority writes overtake
 * everything else, and cancel the device's writes still queued in the
 * normal lane (each reported done, not ok), so that a start queued before
 * a stop never runs after it. Returns a command id > 0, unique across buses.
 */
int mb_bus_write(struct mb_bus *b, int dev, const struct mb_write *w, size_t n, bool priority,
    char *err, size_t errlen);

/* The read blocks of a device's poll cycle (for the benchmark's theory). */
struct mb_block;
size_t mb_bus_blocks(const struct mb_bus *b, int dev, struct mb_block *out, size_t max);

/* Statistics for tests and benchmarks. */
struct mb_stats {
	unsigned long transactions, errors, timeouts, reconnects, cycles;
	unsigned long wakeups;  /* passes of the thread's loop (a spin shows here) */
	double last_cycle;      /* s the last full poll cycle of every device took */
	double cycle_total;     /* s all cycles took, for a mean */
};
void mb_bus_stats(const struct mb_bus *b, struct mb_stats *out);

#endif
