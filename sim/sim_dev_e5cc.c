/*
 * The simulated Omron E5CC-style temperature controller of the rhodium
 * bath heater (shared domain facts §5): PV at 0x2000, SV at 0x2103, status
 * at 0x2406-0x2407 (32 bits, STOP bit 0x01000000; in two-byte mode the
 * rightmost 16 bits come first, at 0x2406, as Omron's manuals give them),
 * operation commands written to
 * 0x0000: 0x0001 enables communications writing, which every other write
 * needs first; 0x0100 RUN, 0x0101 STOP. Values in 0.1 C. While running it
 * switches the heater on and off around SV, through the bath heater relay
 * (bath_heater_enable), which cuts it whatever the controller does; a
 * heater runaway leaves the controller's output on whatever it commands.
 * It has no communication watchdog.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_mbdev.h"

#define A_CMD 0x0000
#define A_PV 0x2000
#define A_SV 0x2103
#define A_STATUS 0x2406
#define STATUS_STOP 0x01000000u

struct e5cc {
	double pv;              /* C */
	int16_t sv;             /* 0.1 C */
	bool writable;          /* communications writing enabled */
	bool running;
	bool runaway;
	bool heat_on;
};

static void
e5cc_power_on(struct e5cc *e)
{
	e->sv = 480;
	e->writable = false;
	e->running = false;
	e->runaway = false;
}

static void
e5cc_init(struct mbdev *d)
{
	struct e5cc *e = calloc(1, sizeof *e);
	if (!e)
		abort();
	d->state = e;
	e->pv = d->env.cfg->sim.ambient;
	e5cc_power_on(e);
}

static int
e5cc_read(struct mbdev *d, uint16_t addr, uint16_t *v)
{
	struct e5cc *e = d->state;
	uint32_t status = (e->running ? 0 : STATUS_STOP) | (e->heat_on ? 0x1u : 0);
	switch (addr) {
	case A_PV: *v = (uint16_t)(int16_t)lround(e->pv * 10); return MBX_NONE;
	case A_SV: *v = (uint16_t)e->sv; return MBX_NONE;
	case A_STATUS: *v = (uint16_t)status; return MBX_NONE;
	case A_STATUS + 1: *v = (uint16_t)(status >> 16); return MBX_NONE;
	default: return MBX_ADDRESS;
	}
}

static int
e5cc_write(struct mbdev *d, uint16_t addr, uint16_t v)
{
	struct e5cc *e = d->state;
	if (addr == A_CMD) {
		if (v == 0x0001) {
			e->writable = true;
			return MBX_NONE;
		}
		if (!e->writable)
			return MBX_FAILURE;
		if (v == 0x0100)
			e->running = true;
		else if (v == 0x0101)
			e->running = false;
		else
			return MBX_VALUE;
		return MBX_NONE;
	}
	if (addr == A_SV) {
		if (!e->writable)
			return MBX_FAILURE;
		if ((int16_t)v < 0 || (int16_t)v > 700)
			return MBX_VALUE;
		e->sv = (int16_t)v;
		return MBX_NONE;
	}
	if (addr == A_PV || addr == A_STATUS || addr == A_STATUS + 1)
		return MBX_VALUE;
	return MBX_ADDRESS;
}

static void
e5cc_step(struct mbdev *d, double dt)
{
	struct e5cc *e = d->state;
	const struct cfg_sim *s = &d->env.cfg->sim;
	double sv = e->sv / 10.0;
	/* The controller's output drives the heater through the bath heater
	 * relay: a runaway controller heats only while the relay is on. */
	bool heat = (e->runaway || (e->running && (e->heat_on ? e->pv < sv + 0.3 :
	    e->pv < sv - 0.3))) && mbdev_line(d, ROLE_BATH_HEATER_ENABLE);
	e->pv += dt * ((heat ? s->bath_heater_power : 0) - s->bath_loss * (e->pv - s->ambient)) /
	    s->bath_heat_capacity;
	mbdev_log_bool(d, "heater", &e->heat_on, heat);
}

static void
e5cc_reboot(struct mbdev *d)
{
	e5cc_power_on(d->state);
}

static void
e5cc_runaway(struct mbdev *d)
{
	((struct e5cc *)d->state)->runaway = true;
}

static void
e5cc_describe(struct mbdev *d, struct buf *out)
{
	struct e5cc *e = d->state;
	buf_printf(out, "{\"pv\":%.2f,\"sv\":%.1f,\"running\":%d,\"writable\":%d,\"heater\":%d,"
	    "\"runaway\":%d}", e->pv, e->sv / 10.0, e->running, e->writable, e->heat_on, e->runaway);
}

/* "water bath_heater C": the bath at C now (a bath already warm, or a
 * fresh one), so that tests need not wait for the physics. */
static int
e5cc_ctl(struct mbdev *d, int argc, char **argv, struct buf *out)
{
	struct e5cc *e = d->state;
	if (strcmp(argv[0], "water") != 0)
		return 1;
	char *end = NULL;
	double c = argc == 3 ? strtod(argv[2], &end) : NAN;
	if (argc != 3 || *end || !(c >= 0 && c <= 90)) {
		buf_printf(out, "usage: water BATH_HEATER C (0-90)");
		return -1;
	}
	e->pv = c;
	buf_printf(out, "%s: the bath at %g C", argv[1], c);
	return 0;
}

const struct mbdev_ops mbdev_e5cc_ops = { "e5cc", e5cc_init, e5cc_read, e5cc_write, e5cc_step,
	e5cc_reboot, e5cc_runaway, e5cc_describe, e5cc_ctl };
