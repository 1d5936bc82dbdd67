/*
 * The simulated Riden RD60xx supply used as the plating rectifier (shared
 * domain facts §5). The bath is a resistance: the supply holds V_SET until
 * the current would pass I_SET, then limits the current (CC). Current
 * flows only while the output is enabled AND the rectifier relay is
 * energised. Ampere-hours and watt-hours integrate what flowed.
 *
 * For the calibration tests the unit can be given a measurement error
 * ("error rectifier voltage|current GAIN OFFSET": it measures GAIN * true +
 * OFFSET); it regulates on its own measurement, as a real supply does, so
 * the true output is off by the same error and a reference meter sees it.
 *
 * The model comes from sim.rectifier_model, any id, so that a test can
 * show an unknown one refused; each family has its scales and current
 * limit as the independent drivers know them, the RD6012P its current
 * range in register 20 (sim.rectifier_range). Power is 32 bits at 12-13.
 *
 * It accepts the writes a real unit accepts, so that third-party drivers
 * work against it: setpoints, output, keypad lock (15), preset (19), clock
 * (48-53), options (66-72), the presets M0-M9 with their OVP and OCP
 * (80-119). Registers 54-62 are the calibration commit and the factory
 * calibration: writes are accepted, as on the real unit, but counted, so
 * that tests prove nobody writes them.
 * Simulator extension: the real unit has no communication watchdog; this
 * one switches its output off when no request at all came for the
 * device's watchdog period, armed by the first request.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sim_mbdev.h"

#define N_REGS 120

enum { R_MODEL = 0, R_SN_H = 1, R_SN_L = 2, R_FW = 3, R_TSIGN = 4, R_TEMP = 5, R_VSET = 8,
	R_ISET = 9, R_VOUT = 10, R_IOUT = 11, R_POWER_H = 12, R_POWER_L = 13, R_VIN = 14,
	R_KEYLOCK = 15, R_PROT = 16, R_CC = 17, R_OUTPUT = 18, R_PRESET = 19, R_RANGE = 20,
	R_PSIGN = 34, R_PTEMP = 35, R_AH_H = 38, R_AH_L = 39, R_WH_H = 40, R_WH_L = 41,
	R_YEAR = 48, R_SECOND = 53, R_CAL_FIRST = 54, R_CAL_LAST = 62, R_OPT_FIRST = 66,
	R_OPT_LAST = 72, R_M0 = 80, R_M9_LAST = 119 };
#define N_CAL (R_CAL_LAST - R_CAL_FIRST + 1)

struct riden {
	uint16_t r[N_REGS];
	double v_scale, i_scale, p_scale;   /* engineering value per count */
	double i_max;               /* A the model can deliver */
	double ah, wh;
	bool armed;
	bool out_on;
	double volts_logged;
	double gv, ov, gi, oi;      /* measurement error: reads g * true + o */
	double true_v, true_i;
	bool open_circuit;          /* the piece or the anode out of the bath */
};

/* The families the independent drivers know; an id outside them gets
 * the RD6006's scales, as some unit with an unknown id might have. */
static const struct family {
	int first, last;
	double v, i, p, i_max, i_hi;    /* i_hi: RD6012P's 12 A range current scale */
} families[] = {
	{ 60060, 60064, 0.01, 0.001, 0.01, 6, 0 },          /* RD6006 */
	{ 60065, 60065, 0.001, 0.0001, 0.001, 6, 0 },       /* RD6006P */
	{ 60066, 60066, 0.01, 0.001, 0.01, 6, 0 },          /* RK6006 */
	{ 60120, 60124, 0.01, 0.01, 0.01, 12, 0 },          /* RD6012 */
	{ 60125, 60129, 0.001, 0.0001, 0.001, 6, 0.001 },   /* RD6012P */
	{ 60180, 60189, 0.01, 0.01, 0.01, 18, 0 },          /* RD6018 */
	{ 60241, 60249, 0.01, 0.01, 0.01, 24, 0 },          /* RD6024 */
};

static void
scales(struct riden *rd, int model, int range)
{
	const struct family *f = &families[0];
	for (size_t k = 0; k < sizeof families / sizeof families[0]; k++)
		if (model >= families[k].first && model <= families[k].last)
			f = &families[k];
	rd->v_scale = f->v;
	rd->i_scale = f->i;
	rd->p_scale = f->p;
	rd->i_max = f->i_max;
	rd->r[R_RANGE] = 0;
	if (f->i_hi > 0) {
		rd->r[R_RANGE] = (uint16_t)range;
		if (range) {
			rd->i_scale = f->i_hi;
			rd->i_max = 12;
		}
	}
}

static void
power_on(struct mbdev *d)
{
	struct riden *rd = d->state;
	int model = d->env.cfg->sim.rectifier_model ? d->env.cfg->sim.rectifier_model : 60062;
	uint16_t cal[N_CAL];

	memcpy(cal, rd->r + R_CAL_FIRST, sizeof cal);
	memset(rd->r, 0, sizeof rd->r);
	rd->r[R_MODEL] = (uint16_t)model;
	rd->r[R_SN_H] = 0;
	rd->r[R_SN_L] = 12345;
	rd->r[R_FW] = 128;
	rd->r[R_TEMP] = 28;
	rd->r[R_VIN] = 2400;
	rd->r[R_PTEMP] = 25;
	rd->r[R_YEAR] = 2025;
	rd->r[R_YEAR + 1] = 1;
	rd->r[R_YEAR + 2] = 1;
	scales(rd, model, d->env.cfg->sim.rectifier_range);
	/* The counters and the calibration live in the unit's EEPROM. */
	uint32_t ah = (uint32_t)lround(rd->ah * 1000), wh = (uint32_t)lround(rd->wh * 1000);
	rd->r[R_AH_H] = (uint16_t)(ah >> 16);
	rd->r[R_AH_L] = (uint16_t)ah;
	rd->r[R_WH_H] = (uint16_t)(wh >> 16);
	rd->r[R_WH_L] = (uint16_t)wh;
	memcpy(rd->r + R_CAL_FIRST, cal, sizeof cal);
	rd->armed = false;
}

static void
riden_init(struct mbdev *d)
{
	struct riden *rd = calloc(1, sizeof *rd);
	if (!rd)
		abort();
	d->state = rd;
	static const uint16_t cal[N_CAL] = { 0, 1002, 998, 1001, 20, 999, 1003, 15, 1000 };
	rd->gv = rd->gi = 1;
	memcpy(rd->r + R_CAL_FIRST, cal, sizeof cal);
	power_on(d);
}

static int
riden_read(struct mbdev *d, uint16_t addr, uint16_t *v)
{
	struct riden *rd = d->state;
	rd->armed = true;
	if (addr >= N_REGS)
		return MBX_ADDRESS;
	*v = rd->r[addr];
	return MBX_NONE;
}

static int
riden_write(struct mbdev *d, uint16_t addr, uint16_t v)
{
	struct riden *rd = d->state;
	rd->armed = true;
	if (addr >= N_REGS)
		return MBX_ADDRESS;
	if (addr >= R_CAL_FIRST && addr <= R_CAL_LAST) {
		d->cal_writes++;
		log_warn("rectifier: factory calibration register %u written (%u): a real "
		    "unit would lose its calibration", addr, v);
		rd->r[addr] = v;
		return MBX_NONE;
	}
	switch (addr) {
	case R_VSET:
		if (v * rd->v_scale > 60.0 + 1e-9)
			return MBX_VALUE;
		break;
	case R_ISET:
		if (v * rd->i_scale > rd->i_max + 1e-9)
			return MBX_VALUE;
		break;
	case R_OUTPUT:
	case R_KEYLOCK:
		if (v > 1)
			return MBX_VALUE;
		break;
	case R_PRESET:
		if (v > 9)
			return MBX_VALUE;
		break;
	default:
		/* The clock, options and presets are stored as written, as the
		 * real unit does; measurements and identity are read-only. */
		if (!((addr >= R_YEAR && addr <= R_SECOND) || (addr >= R_OPT_FIRST &&
		    addr <= R_OPT_LAST) || (addr >= R_M0 && addr <= R_M9_LAST)))
			return MBX_VALUE;
		break;
	}
	rd->r[addr] = v;
	return MBX_NONE;
}

static void
riden_step(struct mbdev *d, double dt)
{
	struct riden *rd = d->state;
	double period = d->cfg->watchdog;
	if (rd->armed && period > 0 && d->now - d->last_request > period && rd->r[R_OUTPUT]) {
		rd->r[R_OUTPUT] = 0;
		rd->armed = false;
	}
	bool on = rd->r[R_OUTPUT] && mbdev_line(d, ROLE_RECTIFIER_ENABLE);
	double vset = rd->r[R_VSET] * rd->v_scale, iset = rd->r[R_ISET] * rd->i_scale;
	double r = d->env.cfg->sim.bath_resistance > 0 ? d->env.cfg->sim.bath_resistance : 2;
	double v = 0, i = 0, tv = 0, ti = 0;
	bool cc = false;
	if (on) {
		/* Regulated on the unit's own measurements. */
		tv = fmax(0, (vset - rd->ov) / rd->gv);
		ti = rd->open_circuit ? 0 : tv / r;
		if (rd->gi * ti + rd->oi > iset) {
			ti = fmax(0, (iset - rd->oi) / rd->gi);
			tv = ti * r;
			cc = true;
		}
		v = fmax(0, rd->gv * tv + rd->ov);
		i = fmax(0, rd->gi * ti + rd->oi);
	}
	rd->true_v = tv;
	rd->true_i = ti;
	rd->ah += i * dt / 3600.0;
	rd->wh += v * i * dt / 3600.0;
	rd->r[R_VOUT] = (uint16_t)lround(v / rd->v_scale);
	rd->r[R_IOUT] = (uint16_t)lround(i / rd->i_scale);
	uint32_t p = (uint32_t)lround(v * i / rd->p_scale);
	rd->r[R_POWER_H] = (uint16_t)(p >> 16);
	rd->r[R_POWER_L] = (uint16_t)p;
	rd->r[R_CC] = cc;
	uint32_t ah = (uint32_t)lround(rd->ah * 1000), wh = (uint32_t)lround(rd->wh * 1000);
	rd->r[R_AH_H] = (uint16_t)(ah >> 16);
	rd->r[R_AH_L] = (uint16_t)ah;
	rd->r[R_WH_H] = (uint16_t)(wh >> 16);
	rd->r[R_WH_L] = (uint16_t)wh;
	mbdev_log_bool(d, "output", &rd->out_on, on);
	double vq = round(tv * 100) / 100;
	if (vq != rd->volts_logged && d->env.actuator) {
		char text[32];
		snprintf(text, sizeof text, "%.2f", vq);
		d->env.actuator(d->env.arg, d->cfg->name, "voltage", text);
		rd->volts_logged = vq;
	}
}

static void
riden_reboot(struct mbdev *d)
{
	power_on(d);
}

static void
riden_runaway(struct mbdev *d)
{
	(void)d;    /* a supply has no heater */
}

static void
riden_describe(struct mbdev *d, struct buf *out)
{
	struct riden *rd = d->state;
	buf_printf(out, "{\"output\":%d,\"ah\":%.4f,\"wh\":%.4f,\"calwrites\":%lu,\"true_v\":%.4f,"
	    "\"true_i\":%.4f,\"regs\":{", rd->out_on, rd->ah, rd->wh, d->cal_writes, rd->true_v,
	    rd->true_i);
	static const int shown[] = { R_MODEL, R_VSET, R_ISET, R_VOUT, R_IOUT, R_POWER_H, R_POWER_L,
		R_CC, R_OUTPUT, R_RANGE, R_AH_H, R_AH_L };
	for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++)
		buf_printf(out, "%s\"%d\":%u", i ? "," : "", shown[i], rd->r[shown[i]]);
	buf_printf(out, "}}");
}

static int
riden_ctl(struct mbdev *d, int argc, char **argv, struct buf *out)
{
	struct riden *rd = d->state;
	char *e1, *e2;
	if ((strcmp(argv[0], "open") == 0 || strcmp(argv[0], "close") == 0) && argc == 2) {
		/* The circuit through the bath opened (a piece off its hook, an
		 * anode out) or closed again: no current flows while open. */
		rd->open_circuit = argv[0][0] == 'o';
		buf_printf(out, "%s: the circuit through the bath is %s", argv[1],
		    rd->open_circuit ? "open" : "closed");
		return 0;
	}
	if (strcmp(argv[0], "error") != 0)
		return 1;
	double g = argc == 5 ? strtod(argv[3], &e1) : NAN, o = argc == 5 ? strtod(argv[4], &e2) : NAN;
	bool volts = argc == 5 && strcmp(argv[2], "voltage") == 0;
	if (argc != 5 || (!volts && strcmp(argv[2], "current") != 0) || *e1 || *e2 ||
	    !(g > 0.5 && g < 2) || !(fabs(o) < 5)) {
		buf_printf(out, "usage: error RECTIFIER voltage|current GAIN OFFSET (gain 0.5-2, "
		    "offset within 5)");
		return -1;
	}
	if (volts) {
		rd->gv = g;
		rd->ov = o;
	} else {
		rd->gi = g;
		rd->oi = o;
	}
	buf_printf(out, "%s: measures %s as %g x true %+g", argv[1], argv[2], g, o);
	return 0;
}

const struct mbdev_ops mbdev_riden_ops = { "riden-rd60xx", riden_init, riden_read, riden_write,
	riden_step, riden_reboot, riden_runaway, riden_describe, riden_ctl };
