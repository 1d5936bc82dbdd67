/*
 * The simulated ultrasonic tank generator with heater, on Atelier's own
 * register map (docs/tank-register-map.md). Physics: the water heats and
 * cools to ambient to first order; ultrasound warms it too; the transducer
 * current peaks at a resonance that moves down with temperature, so that a
 * frequency sweep can find it, and with the load in the basket. For the
 * calibration tests the probe can be given a gain and offset error
 * ("error tank GAIN OFFSET": it reads GAIN * true + OFFSET), the water can
 * be changed for water at another temperature ("water tank C") and a load
 * put in ("load tank GRAMS"). Ultrasound and heater run only while their
 * relays are energised, and ultrasound only with the lid closed. A
 * communication watchdog on the heartbeat register stops both.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_mbdev.h"

enum {
	R_ID = 0, R_FW = 1, R_RUN = 10, R_POWER = 11, R_FREQ = 12, R_SWEEP = 13, R_DEGAS = 14,
	R_HEAT = 15, R_TSET = 16, R_TIMER = 17, R_TEMP = 20, R_REMAIN = 21, R_FACT = 22,
	R_CURRENT = 23, R_POUT = 24, R_STATUS = 25, R_FAULT = 26, R_FCLEAR = 27, R_HB = 30,
	R_WD = 31, R_COUNT = 32,
};

enum { F_OVERHEAT = 1, F_DRY = 2, F_WATCHDOG = 4, F_RUNAWAY = 8, F_GENERATOR = 16 };

/* Which registers exist, and which a host may write. */
static const char reg_access[R_COUNT] = {
	[R_ID] = 'r', [R_FW] = 'r', [R_RUN] = 'w', [R_POWER] = 'w', [R_FREQ] = 'w',
	[R_SWEEP] = 'w', [R_DEGAS] = 'w', [R_HEAT] = 'w', [R_TSET] = 'w', [R_TIMER] = 'w',
	[R_TEMP] = 'r', [R_REMAIN] = 'r', [R_FACT] = 'r', [R_CURRENT] = 'r', [R_POUT] = 'r',
	[R_STATUS] = 'r', [R_FAULT] = 'r', [R_FCLEAR] = 'o', [R_HB] = 'w', [R_WD] = 'w',
};
static const struct { int reg, lo, hi; } reg_range[] = {
	{ R_RUN, 0, 1 }, { R_POWER, 10, 100 }, { R_FREQ, 200, 800 }, { R_SWEEP, 0, 1 },
	{ R_DEGAS, 0, 1 }, { R_HEAT, 0, 1 }, { R_TSET, 200, 700 }, { R_TIMER, 0, 3600 },
	{ R_FCLEAR, 1, 1 }, { R_HB, 0, 65535 }, { R_WD, 0, 600 },
};

/* The transducer: resonance 40.0 kHz at 25 C, 0.02 kHz lower per degree,
 * 0.5 kHz half-width; 800 mA at full power on resonance; 120 W rated. */
#define RES_KHZ 40.0
#define RES_PER_C 0.02
#define RES_WIDTH 0.5
#define I_MAX_MA 800.0
#define RATED_W 120.0
#define RES_PER_G 0.004         /* kHz lower per gram of load */

struct tank {
	uint16_t r[R_COUNT];
	double temp;            /* C */
	double remaining;       /* s of the cycle; < 0 = no timer */
	double sweep_phase;
	bool armed;             /* a heartbeat has been seen */
	double last_beat;
	bool runaway;
	bool us_on, heat_on;    /* what was logged */
	double probe_gain, probe_offset;
	double load_g;
};

static void
power_on(struct tank *t)
{
	memset(t->r, 0, sizeof t->r);
	t->r[R_ID] = 0x5441;
	t->r[R_FW] = 102;
	t->r[R_POWER] = 80;
	t->r[R_FREQ] = 400;
	t->r[R_TSET] = 480;
	t->r[R_TIMER] = 300;
	t->r[R_WD] = 30;
	t->remaining = -1;
	t->armed = false;
	t->runaway = false;
}

static void
tank_init(struct mbdev *d)
{
	struct tank *t = calloc(1, sizeof *t);
	if (!t)
		abort();
	d->state = t;
	t->temp = d->env.cfg->sim.ambient;
	t->probe_gain = 1;
	power_on(t);
}

static int
tank_read(struct mbdev *d, uint16_t addr, uint16_t *v)
{
	struct tank *t = d->state;
	if (addr >= R_COUNT || !reg_access[addr] || reg_access[addr] == 'o')
		return MBX_ADDRESS;
	*v = t->r[addr];
	return MBX_NONE;
}

static int
tank_write(struct mbdev *d, uint16_t addr, uint16_t v)
{
	struct tank *t = d->state;
	if (addr >= R_COUNT || !reg_access[addr])
		return MBX_ADDRESS;
	if (reg_access[addr] == 'r')
		return MBX_VALUE;
	for (size_t i = 0; i < sizeof reg_range / sizeof reg_range[0]; i++)
		if (reg_range[i].reg == addr && (v < reg_range[i].lo || v > reg_range[i].hi))
			return MBX_VALUE;
	switch (addr) {
	case R_RUN:
		/* The generator refuses to start with the lid open. */
		if (v && mbdev_line(d, ROLE_LID))
			return MBX_FAILURE;
		if (v && !t->r[R_RUN])
			t->remaining = t->r[R_TIMER] ? t->r[R_TIMER] : -1;
		break;
	case R_FCLEAR: {
		uint16_t keep = 0;
		if (t->runaway)
			keep |= F_RUNAWAY;
		t->r[R_FAULT] = keep;
		return MBX_NONE;
	}
	case R_HB:
		if (!t->armed || v != t->r[R_HB]) {
			t->armed = true;
			t->last_beat = d->now;
		}
		break;
	default:
		break;
	}
	t->r[addr] = v;
	return MBX_NONE;
}

static void
tank_step(struct mbdev *d, double dt)
{
	struct tank *t = d->state;
	const struct cfg_sim *s = &d->env.cfg->sim;
	bool lid = mbdev_line(d, ROLE_LID);

	/* Communication watchdog: the host went quiet. */
	double period = t->r[R_WD] / 10.0;
	if (t->armed && period > 0 && d->now - t->last_beat > period) {
		t->r[R_RUN] = 0;
		t->r[R_HEAT] = 0;
		t->r[R_FAULT] |= F_WATCHDOG;
		t->armed = false;
	}
	if (lid)
		t->r[R_RUN] = 0;
	if (t->temp > 65) {
		t->r[R_FAULT] |= F_OVERHEAT;
		t->r[R_RUN] = 0;
		t->r[R_HEAT] = 0;
	}
	bool us = t->r[R_RUN] && mbdev_line(d, ROLE_ULTRASOUND_ENABLE) && !lid;
	if (us && t->remaining >= 0) {
		t->remaining -= dt;
		if (t->remaining <= 0) {
			t->remaining = -1;
			t->r[R_RUN] = 0;
			us = false;
		}
	}
	double set = t->r[R_TSET] / 10.0;
	bool want_heat = t->r[R_HEAT] && (t->heat_on ? t->temp < set + 0.3 : t->temp < set - 0.3);
	bool heat = (want_heat || t->runaway) && mbdev_line(d, ROLE_TANK_HEATER_ENABLE);

	double p_us = us ? s->ultrasound_heating * t->r[R_POWER] / 100.0 : 0;
	double p_heat = heat ? s->tank_heater_power : 0;
	t->temp += dt * (p_heat + p_us - s->tank_loss * (t->temp - s->ambient)) / s->tank_heat_capacity;

	double f = t->r[R_FREQ] / 10.0;
	if (us && t->r[R_SWEEP]) {
		t->sweep_phase += dt;
		f += 0.5 * sin(2 * M_PI * t->sweep_phase);
	}
	double res = RES_KHZ - RES_PER_C * (t->temp - 25) - RES_PER_G * t->load_g;
	double x = (f - res) / RES_WIDTH;
	double current = us ? I_MAX_MA * t->r[R_POWER] / 100.0 / (1 + x * x) : 0;

	t->r[R_TEMP] = (uint16_t)(int16_t)lround((t->probe_gain * t->temp + t->probe_offset) * 10);
	t->r[R_REMAIN] = t->remaining > 0 ? (uint16_t)ceil(t->remaining) : 0;
	t->r[R_FACT] = (uint16_t)lround(f * 10);
	t->r[R_CURRENT] = (uint16_t)lround(current);
	t->r[R_POUT] = (uint16_t)lround(us ? RATED_W * t->r[R_POWER] / 100.0 / (1 + x * x) : 0);
	t->r[R_STATUS] = (uint16_t)((us ? 1 : 0) | (heat ? 2 : 0) | (us && t->r[R_DEGAS] ? 4 : 0));
	if (t->runaway)
		t->r[R_FAULT] |= F_RUNAWAY;
	mbdev_log_bool(d, "ultrasound", &t->us_on, us);
	mbdev_log_bool(d, "heater", &t->heat_on, heat);
}

static void
tank_reboot(struct mbdev *d)
{
	power_on(d->state);
}

static void
tank_runaway(struct mbdev *d)
{
	((struct tank *)d->state)->runaway = true;
}

static void
tank_describe(struct mbdev *d, struct buf *out)
{
	struct tank *t = d->state;
	double res = RES_KHZ - RES_PER_C * (t->temp - 25) - RES_PER_G * t->load_g;
	buf_printf(out, "{\"temperature\":%.2f,\"resonance\":%.3f,\"load\":%.0f,\"ultrasound\":%d,"
	    "\"heater\":%d,\"regs\":{", t->temp, res, t->load_g, t->us_on, t->heat_on);
	bool first = true;
	for (int i = 0; i < R_COUNT; i++) {
		if (!reg_access[i] || reg_access[i] == 'o')
			continue;
		buf_printf(out, "%s\"%d\":%u", first ? "" : ",", i, t->r[i]);
		first = false;
	}
	buf_printf(out, "}}");
}

static int
tank_ctl(struct mbdev *d, int argc, char **argv, struct buf *out)
{
	struct tank *t = d->state;
	char *e1 = NULL, *e2 = NULL;
	double a = argc > 2 ? strtod(argv[2], &e1) : NAN, b = argc > 3 ? strtod(argv[3], &e2) : NAN;
	if (strcmp(argv[0], "water") == 0) {
		if (argc != 3 || *e1 || !(a >= 0 && a <= 90)) {
			buf_printf(out, "usage: water TANK C (0-90)");
			return -1;
		}
		t->temp = a;
		buf_printf(out, "%s: fresh water at %g C", argv[1], a);
		return 0;
	}
	if (strcmp(argv[0], "load") == 0) {
		if (argc != 3 || *e1 || !(a >= 0 && a <= 5000)) {
			buf_printf(out, "usage: load TANK GRAMS (0-5000)");
			return -1;
		}
		t->load_g = a;
		buf_printf(out, "%s: %g g in the basket", argv[1], a);
		return 0;
	}
	if (strcmp(argv[0], "error") == 0) {
		if (argc != 4 || *e1 || *e2 || !(a > 0.5 && a < 2) || !(fabs(b) < 20)) {
			buf_printf(out, "usage: error TANK GAIN OFFSET (gain 0.5-2, offset within 20 C)");
			return -1;
		}
		t->probe_gain = a;
		t->probe_offset = b;
		buf_printf(out, "%s: the probe reads %g x true %+g C", argv[1], a, b);
		return 0;
	}
	return 1;
}

const struct mbdev_ops mbdev_tank_ops = { "tank-generator", tank_init, tank_read, tank_write,
	tank_step, tank_reboot, tank_runaway, tank_describe, tank_ctl };
