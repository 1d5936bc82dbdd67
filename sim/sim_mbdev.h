/*
 * Simulated Modbus slave devices as pure models: registers read and
 * written through the functions below, physics advanced by step(). The
 * transport (RTU framing on a pty, MBAP on TCP) and fault injection live
 * in sim_modbus.c; the models never see a byte on the wire, so the unit
 * tests and the fuzz target drive them directly.
 */
#ifndef ATELIER_SIM_MBDEV_H
#define ATELIER_SIM_MBDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "cfg/cfg.h"
#include "util.h"

/* Modbus exception codes. */
enum { MBX_NONE = 0, MBX_FUNCTION = 1, MBX_ADDRESS = 2, MBX_VALUE = 3, MBX_FAILURE = 4 };

/* What a model sees of the world: the relays and lid, and where to log. */
struct mbdev_env {
	const struct cfg *cfg;
	/* Returns the logical level of the line of that role of the station
	 * the device belongs to (a tank's lid, a bath's rectifier relay). */
	int (*line)(void *arg, const struct cfg_device *dev, enum cfg_role role);
	/* Logs an actuator change ("1"/"0" or a number as text). */
	void (*actuator)(void *arg, const char *device, const char *actuator, const char *value);
	void *arg;
};

struct mbdev;
struct mbdev_ops {
	const char *profile;    /* the profile name that selects this model */
	void (*init)(struct mbdev *d);
	/* Returns MBX_NONE and the value, or an exception code. */
	int (*read)(struct mbdev *d, uint16_t addr, uint16_t *value);
	int (*write)(struct mbdev *d, uint16_t addr, uint16_t value);
	void (*step)(struct mbdev *d, double dt);
	void (*reboot)(struct mbdev *d);
	void (*runaway)(struct mbdev *d);
	void (*describe)(struct mbdev *d, struct buf *out);
	/* Optional: a ctl command for this model only (e.g. "water tank 45"),
	 * argv as in sim_device_ops.ctl. Returns 0 with a reply, -1 with an
	 * error sentence, or 1 when the command is not the model's. */
	int (*ctl)(struct mbdev *d, int argc, char **argv, struct buf *out);
};

struct mbdev {
	const struct mbdev_ops *ops;
	const struct cfg_device *cfg;
	struct mbdev_env env;
	double now;
	double last_request;    /* for communication watchdogs */
	void *state;
	/* Fault injection, counted down per request to this device. */
	int silence, exception_n, exception_code, crc;
	bool unplugged;         /* taken off a shared line: silent until replugged */
	double slow;
	unsigned long requests, cal_writes;
	unsigned long writes;   /* write requests (FC 06, 16) that reached the model */
};

/* Finds the model for a profile name; NULL if none simulates it. */
const struct mbdev_ops *mbdev_model(const char *profile);
/* Sets up a device; env is copied. */
void mbdev_init(struct mbdev *d, const struct mbdev_ops *ops, const struct cfg_device *cfg,
    const struct mbdev_env *env, double now);
void mbdev_free(struct mbdev *d);
/* Advances physics to now. */
void mbdev_step(struct mbdev *d, double now);

/*
 * Handles one request PDU (function code and data) for this device and
 * writes the response PDU (an exception response when it fails). Returns
 * the response length. Supports FC 03, 04, 06 and 16.
 */
size_t mbdev_handle(struct mbdev *d, const uint8_t *req, size_t len, uint8_t *resp);

/* Helpers for models: log an actuator when its value changes. */
void mbdev_log_bool(struct mbdev *d, const char *actuator, bool *last, bool now_on);
int mbdev_line(struct mbdev *d, enum cfg_role role);

extern const struct mbdev_ops mbdev_tank_ops, mbdev_riden_ops, mbdev_e5cc_ops;

#endif
