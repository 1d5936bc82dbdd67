/*
 * The simulator's calibration faults as models, on a fake clock: the tank
 * probe's gain and offset error and fresh water, the resonance moving with
 * the load, the rectifier regulating on its own erroneous measurement (so
 * the true output is off), and the laser's mechanics making $100/$101
 * change the size of what burns.
 */
#include <math.h>
#include <string.h>

#include "grbl_sim.h"
#include "sim_mbdev.h"
#include "test.h"

static int lines[ROLE_COUNT];    /* by role: the lines of the device's station */
static struct cfg cfg;
static struct cfg_device devcfg;

static int
fake_line(void *arg, const struct cfg_device *dev, enum cfg_role role)
{
	(void)arg;
	(void)dev;
	return lines[role];
}

static void
setup(struct mbdev *d, const struct mbdev_ops *ops, const char *name)
{
	memset(lines, 0, sizeof lines);
	memset(&cfg, 0, sizeof cfg);
	cfg.sim = (struct cfg_sim){ .ambient = 21, .tank_heater_power = 600,
		.tank_heat_capacity = 12000, .tank_loss = 4, .ultrasound_heating = 60,
		.bath_heater_power = 300, .bath_heat_capacity = 4000, .bath_loss = 2,
		.bath_resistance = 2, .turnaround = 0.002, .rectifier_model = 60062 };
	devcfg = (struct cfg_device){ .name = (char *)name, .slave = 1, .watchdog = 0 };
	struct mbdev_env env = { &cfg, fake_line, NULL, NULL };
	mbdev_init(d, ops, &devcfg, &env, 0);
}

static int
ctl(struct mbdev *d, const char *a0, const char *a1, const char *a2, const char *a3,
    const char *a4, char *reply, size_t len)
{
	char *argv[] = { (char *)a0, (char *)a1, (char *)a2, (char *)a3, (char *)a4 };
	int argc = a4 ? 5 : a3 ? 4 : a2 ? 3 : 2;
	struct buf out;
	buf_init(&out);
	int rc = d->ops->ctl(d, argc, argv, &out);
	snprintf(reply, len, "%s", out.data ? out.data : "");
	buf_free(&out);
	return rc;
}

static double
reg(struct mbdev *d, uint16_t addr)
{
	uint16_t v = 0;
	d->ops->read(d, addr, &v);
	return (int16_t)v;
}

static void
step(struct mbdev *d, double secs)
{
	for (double t = d->now; d->now < t + secs;)
		mbdev_step(d, d->now + 0.1);
}

static void
t_tank_probe_error_and_water(void)
{
	struct mbdev d;
	char r[200];
	setup(&d, &mbdev_tank_ops, "tank");
	step(&d, 0.2);
	CHECK_NEAR(reg(&d, 20) / 10, 21, 0.05);
	CHECK_INT(ctl(&d, "error", "tank", "1.03", "0.8", NULL, r, sizeof r), 0);
	CHECK_INT(ctl(&d, "water", "tank", "45", NULL, NULL, r, sizeof r), 0);
	step(&d, 0.2);
	CHECK_NEAR(reg(&d, 20) / 10, 1.03 * 45 + 0.8, 0.06);
	/* The true temperature is what a reference thermometer would read. */
	struct buf out;
	buf_init(&out);
	d.ops->describe(&d, &out);
	CHECK_CONTAINS(out.data, "\"temperature\":45.0");
	buf_free(&out);
	CHECK_INT(ctl(&d, "error", "tank", "7", "0", NULL, r, sizeof r), -1);
	CHECK_INT(ctl(&d, "water", "tank", "hot", NULL, NULL, r, sizeof r), -1);
	CHECK_CONTAINS(r, "usage");
	CHECK_INT(ctl(&d, "unplug", "tank", NULL, NULL, NULL, r, sizeof r), 1);
	mbdev_free(&d);
}

/* The current at f with ultrasound running at 100 %. */
static double
current_at(struct mbdev *d, double khz)
{
	d->ops->write(d, 12, (uint16_t)lround(khz * 10));
	step(d, 0.2);
	return reg(d, 23);
}

static void
t_resonance_moves_with_load(void)
{
	struct mbdev d;
	char r[200];
	setup(&d, &mbdev_tank_ops, "tank");
	lines[ROLE_ULTRASOUND_ENABLE] = 1;
	d.ops->write(&d, 11, 100);
	d.ops->write(&d, 17, 0);
	d.ops->write(&d, 10, 1);
	double empty = current_at(&d, 40.1);
	CHECK(empty > 700);
	CHECK_INT(ctl(&d, "load", "tank", "200", NULL, NULL, r, sizeof r), 0);
	/* 200 g pulls the resonance 0.8 kHz down: 40.1 kHz is off it now. */
	CHECK(current_at(&d, 40.1) < 0.5 * empty);
	CHECK(current_at(&d, 39.3) > 700);
	mbdev_free(&d);
}

static void
t_rectifier_error(void)
{
	struct mbdev d;
	char r[200];
	setup(&d, &mbdev_riden_ops, "rectifier");
	lines[ROLE_RECTIFIER_ENABLE] = 1;
	CHECK_INT(ctl(&d, "error", "rectifier", "voltage", "1.02", "0.05", r, sizeof r), 0);
	CHECK_INT(ctl(&d, "error", "rectifier", "current", "0.97", "-0.01", r, sizeof r), 0);
	CHECK_INT(ctl(&d, "error", "rectifier", "power", "1", "0", r, sizeof r), -1);
	d.ops->write(&d, 8, 250);       /* 2.50 V */
	d.ops->write(&d, 9, 2000);      /* 2 A limit */
	d.ops->write(&d, 18, 1);
	step(&d, 0.3);
	/* CV: the unit reads 2.50 V; really (2.50 - 0.05) / 1.02. */
	CHECK_NEAR(reg(&d, 10) / 100, 2.50, 0.011);
	struct buf out;
	buf_init(&out);
	d.ops->describe(&d, &out);
	char want[64];
	snprintf(want, sizeof want, "\"true_v\":%.4f", (2.50 - 0.05) / 1.02);
	CHECK_CONTAINS(out.data, want);
	buf_free(&out);
	/* CC: 0.5 A limit, read 0.5 A; really (0.5 + 0.01) / 0.97. */
	d.ops->write(&d, 9, 500);
	step(&d, 0.3);
	CHECK_NEAR((uint16_t)reg(&d, 11) / 1000.0, 0.5, 0.0011);
	buf_init(&out);
	d.ops->describe(&d, &out);
	snprintf(want, sizeof want, "\"true_i\":%.4f", 0.51 / 0.97);
	CHECK_CONTAINS(out.data, want);
	buf_free(&out);
	mbdev_free(&d);
}

static void
t_laser_mechanics(void)
{
	static struct grbl_sim g;
	double t = 1;
	grbl_sim_init(&g, t, 500);
	g.parse_rate = 100000;
	g.time_scale = 20;
	g.mech_steps[0] = 255;      /* $100 is 250: the head travels 250/255 of each mm */
	g.mech_steps[1] = 250;
	const char *prog = "G21G90\nM4S500\nG1X20F3000\nG1Y20\nG1X0\nG1Y0\nM5\n";
	grbl_sim_receive(&g, prog, strlen(prog));
	for (int i = 0; i < 20000; i++) {
		t += 0.001;
		grbl_sim_step(&g, t);
	}
	CHECK(g.burned);
	CHECK_NEAR(g.burn_hi[0] - g.burn_lo[0], 20 * 250.0 / 255, 0.01);
	CHECK_NEAR(g.burn_hi[1] - g.burn_lo[1], 20, 0.01);
	grbl_sim_burn_clear(&g);
	CHECK(!g.burned);
	grbl_sim_free(&g);
}

int
main(void)
{
	RUN(t_tank_probe_error_and_water);
	RUN(t_resonance_moves_with_load);
	RUN(t_rectifier_error);
	RUN(t_laser_mechanics);
	return test_summary();
}
