/*
 * The simulated Modbus devices as models, on a fake clock: register maps
 * and exceptions, relays and lid gating the outputs, heating physics, the
 * transducer's resonance, watchdogs, the rectifier's CV/CC behaviour and
 * counters, and the E5CC's write enabling.
 */
#include <string.h>

#include "sim_mbdev.h"
#include "test.h"

static int lines[ROLE_COUNT];    /* by role: the lines of the device's station */
static char log_text[4096];

static int
fake_line(void *arg, const struct cfg_device *dev, enum cfg_role role)
{
	(void)arg;
	(void)dev;
	return lines[role];
}

static void
fake_actuator(void *arg, const char *device, const char *actuator, const char *value)
{
	(void)arg;
	size_t n = strlen(log_text);
	snprintf(log_text + n, sizeof log_text - n, "%s.%s=%s;", device, actuator, value);
}

static struct cfg cfg;
static struct cfg_device devcfg;

static void
setup(struct mbdev *d, const struct mbdev_ops *ops, const char *name)
{
	memset(lines, 0, sizeof lines);
	log_text[0] = '\0';
	memset(&cfg, 0, sizeof cfg);
	cfg.sim = (struct cfg_sim){ .ambient = 21, .tank_heater_power = 600,
		.tank_heat_capacity = 12000, .tank_loss = 4, .ultrasound_heating = 60,
		.bath_heater_power = 300, .bath_heat_capacity = 4000, .bath_loss = 2,
		.bath_resistance = 2, .turnaround = 0.002, .rectifier_model = 60062 };
	devcfg = (struct cfg_device){ .name = (char *)name, .slave = 1, .watchdog = 3 };
	struct mbdev_env env = { &cfg, fake_line, fake_actuator, NULL };
	mbdev_init(d, ops, &devcfg, &env, 0);
}

static int
rd(struct mbdev *d, uint16_t addr, uint16_t *v)
{
	return d->ops->read(d, addr, v);
}

static void
run(struct mbdev *d, double secs)
{
	for (double t = d->now; d->now < t + secs;)
		mbdev_step(d, d->now + 0.1);
}

static void
t_requests_and_exceptions(void)
{
	struct mbdev d;
	uint8_t resp[300];
	setup(&d, &mbdev_tank_ops, "tank");
	static const uint8_t read_id[] = { 0x03, 0x00, 0x00, 0x00, 0x02 };
	CHECK_INT(mbdev_handle(&d, read_id, sizeof read_id, resp), 6);
	CHECK(resp[0] == 0x03 && resp[1] == 4 && resp[2] == 0x54 && resp[3] == 0x41);
	static const uint8_t gap[] = { 0x03, 0x00, 0x00, 0x00, 0x03 };   /* reg 2 is not mapped */
	CHECK_INT(mbdev_handle(&d, gap, sizeof gap, resp), 2);
	CHECK(resp[0] == 0x83 && resp[1] == MBX_ADDRESS);
	static const uint8_t zero[] = { 0x03, 0x00, 0x00, 0x00, 0x00 };
	mbdev_handle(&d, zero, sizeof zero, resp);
	CHECK(resp[0] == 0x83 && resp[1] == MBX_VALUE);
	static const uint8_t fc43[] = { 0x2B, 0x0E, 0x01, 0x00 };
	mbdev_handle(&d, fc43, sizeof fc43, resp);
	CHECK(resp[0] == 0xAB && resp[1] == MBX_FUNCTION);
	static const uint8_t bad_power[] = { 0x06, 0x00, 0x0B, 0x00, 0xC8 };   /* 200 % */
	mbdev_handle(&d, bad_power, sizeof bad_power, resp);
	CHECK(resp[0] == 0x86 && resp[1] == MBX_VALUE);
	static const uint8_t ro[] = { 0x06, 0x00, 0x14, 0x00, 0x01 };          /* temperature */
	mbdev_handle(&d, ro, sizeof ro, resp);
	CHECK(resp[0] == 0x86 && resp[1] == MBX_VALUE);
	static const uint8_t multi[] = { 0x10, 0x00, 0x0B, 0x00, 0x02, 0x04, 0x00, 0x32, 0x01, 0xC2 };
	CHECK_INT(mbdev_handle(&d, multi, sizeof multi, resp), 5);
	uint16_t v;
	rd(&d, 11, &v);
	CHECK_INT(v, 50);
	rd(&d, 12, &v);
	CHECK_INT(v, 450);
	/* As docs/tank-register-map.md says: FC 04 reads the same registers,
	 * unmapped and write-only registers give 02 to reads and writes. */
	static const uint8_t fc04[] = { 0x04, 0x00, 0x0B, 0x00, 0x01 };
	CHECK_INT(mbdev_handle(&d, fc04, sizeof fc04, resp), 4);
	CHECK(resp[0] == 0x04 && resp[2] == 0 && resp[3] == 50);
	static const uint8_t read_wo[] = { 0x03, 0x00, 0x1B, 0x00, 0x01 };   /* fault_clear */
	mbdev_handle(&d, read_wo, sizeof read_wo, resp);
	CHECK(resp[0] == 0x83 && resp[1] == MBX_ADDRESS);
	static const uint8_t write_gap[] = { 0x06, 0x00, 0x12, 0x00, 0x01 };  /* 18 */
	mbdev_handle(&d, write_gap, sizeof write_gap, resp);
	CHECK(resp[0] == 0x86 && resp[1] == MBX_ADDRESS);
	static const uint8_t read_past[] = { 0x04, 0x00, 0x20, 0x00, 0x01 }; /* 32 */
	mbdev_handle(&d, read_past, sizeof read_past, resp);
	CHECK(resp[0] == 0x84 && resp[1] == MBX_ADDRESS);
	static const uint8_t fc05[] = { 0x05, 0x00, 0x0A, 0xFF, 0x00 };
	mbdev_handle(&d, fc05, sizeof fc05, resp);
	CHECK(resp[0] == 0x85 && resp[1] == MBX_FUNCTION);
	mbdev_free(&d);
}

static void
t_tank_outputs_need_relays_and_closed_lid(void)
{
	struct mbdev d;
	uint16_t v;
	setup(&d, &mbdev_tank_ops, "tank");
	CHECK_INT(d.ops->write(&d, 10, 1), MBX_NONE);
	run(&d, 1);
	rd(&d, 25, &v);
	CHECK_INT(v & 1, 0);                    /* relay off: no ultrasound */
	lines[ROLE_ULTRASOUND_ENABLE] = 1;
	run(&d, 1);
	rd(&d, 25, &v);
	CHECK_INT(v & 1, 1);
	CHECK_STR(log_text, "tank.ultrasound=1;");
	lines[ROLE_LID] = 1;               /* lid opened: cycle aborted */
	run(&d, 0.5);
	rd(&d, 10, &v);
	CHECK_INT(v, 0);
	CHECK_STR(log_text, "tank.ultrasound=1;tank.ultrasound=0;");
	CHECK_INT(d.ops->write(&d, 10, 1), MBX_FAILURE);   /* refused with the lid open */
	mbdev_free(&d);
}

static void
t_tank_heats_to_setpoint_and_timer_ends_cycle(void)
{
	struct mbdev d;
	uint16_t v;
	setup(&d, &mbdev_tank_ops, "tank");
	lines[ROLE_TANK_HEATER_ENABLE] = 1;
	lines[ROLE_ULTRASOUND_ENABLE] = 1;
	d.ops->write(&d, 15, 1);
	d.ops->write(&d, 16, 480);
	d.ops->write(&d, 17, 30);
	d.ops->write(&d, 10, 1);
	run(&d, 10);
	rd(&d, 21, &v);
	CHECK(v >= 19 && v <= 21);              /* 30 s cycle, 10 s gone */
	run(&d, 25);
	rd(&d, 10, &v);
	CHECK_INT(v, 0);                        /* the cycle ended */
	run(&d, 3000);
	rd(&d, 20, &v);
	CHECK_NEAR((int16_t)v / 10.0, 48, 0.6); /* thermostat holds 48 C */
	mbdev_free(&d);
}

static void
t_tank_resonance_moves_with_temperature(void)
{
	struct mbdev d;
	uint16_t at_res, off_res;
	setup(&d, &mbdev_tank_ops, "tank");
	lines[ROLE_ULTRASOUND_ENABLE] = 1;
	d.ops->write(&d, 17, 0);
	d.ops->write(&d, 11, 100);
	d.ops->write(&d, 10, 1);
	/* At 21 C the resonance is 40.0 - 0.02 * (21 - 25) = 40.08 kHz. */
	d.ops->write(&d, 12, 401);
	run(&d, 0.2);
	rd(&d, 23, &at_res);
	d.ops->write(&d, 12, 410);
	run(&d, 0.2);
	rd(&d, 23, &off_res);
	CHECK(at_res > 780);
	CHECK(off_res < at_res / 2);
	mbdev_free(&d);
}

static void
t_tank_watchdog(void)
{
	struct mbdev d;
	uint16_t v;
	setup(&d, &mbdev_tank_ops, "tank");
	lines[ROLE_ULTRASOUND_ENABLE] = 1;
	d.ops->write(&d, 30, 1);               /* arms the watchdog (3.0 s) */
	d.ops->write(&d, 17, 0);
	d.ops->write(&d, 10, 1);
	run(&d, 2);
	d.ops->write(&d, 30, 2);               /* a fresh heartbeat */
	run(&d, 2);
	rd(&d, 10, &v);
	CHECK_INT(v, 1);
	run(&d, 2);                            /* 4 s without a heartbeat */
	rd(&d, 10, &v);
	CHECK_INT(v, 0);
	rd(&d, 26, &v);
	CHECK_INT(v & 4, 4);
	d.ops->write(&d, 27, 1);
	rd(&d, 26, &v);
	CHECK_INT(v, 0);
	d.ops->write(&d, 11, 55);
	d.ops->reboot(&d);
	rd(&d, 11, &v);
	CHECK_INT(v, 80);                       /* power-on value after a reboot */
	mbdev_free(&d);
}

static void
t_rectifier_cv_cc_and_counters(void)
{
	struct mbdev d;
	uint16_t v;
	setup(&d, &mbdev_riden_ops, "rectifier");
	devcfg.watchdog = 0;    /* no requests come during these long runs */
	rd(&d, 0, &v);
	CHECK_INT(v, 60062);
	d.ops->write(&d, 8, 200);              /* 2.00 V */
	d.ops->write(&d, 9, 2000);             /* 2.000 A */
	d.ops->write(&d, 18, 1);
	run(&d, 1);
	rd(&d, 11, &v);
	CHECK_INT(v, 0);                        /* relay off: no current */
	lines[ROLE_RECTIFIER_ENABLE] = 1;
	run(&d, 360);
	rd(&d, 10, &v);
	CHECK_INT(v, 200);
	rd(&d, 11, &v);
	CHECK_INT(v, 1000);                     /* 2 V over 2 ohm: 1 A, CV */
	rd(&d, 17, &v);
	CHECK_INT(v, 0);
	uint16_t hi, lo;
	rd(&d, 38, &hi);
	rd(&d, 39, &lo);
	CHECK_NEAR((hi << 16 | lo) / 1000.0, 0.1, 0.002);   /* 1 A for 360 s */
	d.ops->write(&d, 9, 500);              /* 0.5 A limit: CC at 1 V */
	run(&d, 1);
	rd(&d, 17, &v);
	CHECK_INT(v, 1);
	rd(&d, 10, &v);
	CHECK_INT(v, 100);
	CHECK_INT(d.cal_writes, 0);
	CHECK_INT(d.ops->write(&d, 57, 1), MBX_NONE);
	CHECK_INT(d.cal_writes, 1);
	CHECK_INT(d.ops->write(&d, 10, 5), MBX_VALUE);
	CHECK_CONTAINS(log_text, "rectifier.output=1;");
	CHECK_CONTAINS(log_text, "rectifier.voltage=2.00;");
	/* With a watchdog, a host that goes quiet loses the output. */
	devcfg.watchdog = 3;
	d.last_request = d.now;
	run(&d, 2);
	rd(&d, 18, &v);
	CHECK_INT(v, 1);
	run(&d, 2);
	rd(&d, 18, &v);
	CHECK_INT(v, 0);
	CHECK_CONTAINS(log_text, "rectifier.output=0;");
	mbdev_free(&d);
}

/* The families' scales and limits, the RD6012P's range register, power as
 * 32 bits at 12-13, and the writes a real unit accepts (issue 20). */
static void
t_rectifier_families_and_writes(void)
{
	struct mbdev d;
	uint16_t v, hi, lo;
	setup(&d, &mbdev_riden_ops, "rectifier");
	cfg.sim.rectifier_model = 60241;        /* RD6024: I/100, up to 24 A */
	d.ops->reboot(&d);
	devcfg.watchdog = 0;
	rd(&d, 0, &v);
	CHECK_INT(v, 60241);
	CHECK_INT(d.ops->write(&d, 9, 2400), MBX_NONE);
	CHECK_INT(d.ops->write(&d, 9, 2401), MBX_VALUE);
	CHECK_INT(d.ops->write(&d, 8, 6000), MBX_NONE);  /* 60 V into 2 ohm: CC at 24 A */
	d.ops->write(&d, 18, 1);
	lines[ROLE_RECTIFIER_ENABLE] = 1;
	run(&d, 1);
	rd(&d, 11, &v);
	CHECK_INT(v, 2400);
	rd(&d, 12, &hi);
	rd(&d, 13, &lo);
	CHECK_NEAR(((uint32_t)hi << 16 | lo) * 0.01, 48.0 * 24, 0.1);   /* past 655.35 W */
	CHECK(hi > 0);
	/* Clock, keypad lock, preset, options, presets with OVP/OCP: stored. */
	static const uint16_t ok[][2] = { { 15, 1 }, { 19, 3 }, { 48, 2026 }, { 53, 59 },
		{ 66, 1 }, { 72, 4 }, { 80, 500 }, { 82, 6100 }, { 119, 1000 } };
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		CHECK_INT(d.ops->write(&d, ok[i][0], ok[i][1]), MBX_NONE);
		rd(&d, ok[i][0], &v);
		CHECK_INT(v, ok[i][1]);
	}
	CHECK_INT(d.ops->write(&d, 19, 10), MBX_VALUE);
	CHECK_INT(d.ops->write(&d, 20, 1), MBX_VALUE);  /* the range is the panel's */
	CHECK_INT(d.ops->write(&d, 54, 1), MBX_NONE);   /* commits calibration: counted */
	CHECK_INT(d.cal_writes, 1);
	mbdev_free(&d);
	setup(&d, &mbdev_riden_ops, "rectifier");
	cfg.sim.rectifier_model = 60125;        /* RD6012P, 6 A range: V/1000, I/10000 */
	d.ops->reboot(&d);
	rd(&d, 20, &v);
	CHECK_INT(v, 0);
	CHECK_INT(d.ops->write(&d, 9, 60000), MBX_NONE);
	CHECK_INT(d.ops->write(&d, 9, 60001), MBX_VALUE);
	cfg.sim.rectifier_range = 1;            /* 12 A range: I/1000 */
	d.ops->reboot(&d);
	rd(&d, 20, &v);
	CHECK_INT(v, 1);
	CHECK_INT(d.ops->write(&d, 9, 12000), MBX_NONE);
	CHECK_INT(d.ops->write(&d, 9, 12001), MBX_VALUE);
	mbdev_free(&d);
}

static void
t_e5cc_write_enable_run_stop(void)
{
	struct mbdev d;
	uint16_t hi, lo, pv;
	setup(&d, &mbdev_e5cc_ops, "bath_heater");
	CHECK_INT(d.ops->write(&d, 0x2103, 500), MBX_FAILURE);
	CHECK_INT(d.ops->write(&d, 0x0000, 0x0100), MBX_FAILURE);
	/* The heater's relay is on: the controller alone decides. */
	lines[ROLE_BATH_HEATER_ENABLE] = 1;
	CHECK_INT(d.ops->write(&d, 0x0000, 0x0001), MBX_NONE);
	CHECK_INT(d.ops->write(&d, 0x2103, 500), MBX_NONE);
	/* Two-byte mode puts the rightmost 16 bits first (Omron's manuals):
	 * STOP, bit 24, is bit 8 of 0x2407. */
	rd(&d, 0x2406, &lo);
	rd(&d, 0x2407, &hi);
	CHECK_INT(((uint32_t)hi << 16 | lo) & 0x01000000u, 0x01000000u);   /* stopped */
	CHECK_INT(hi, 0x0100);
	CHECK_INT(d.ops->write(&d, 0x0000, 0x0100), MBX_NONE);
	rd(&d, 0x2407, &hi);
	CHECK_INT(hi & 0x0100, 0);
	run(&d, 4000);
	rd(&d, 0x2000, &pv);
	CHECK_NEAR((int16_t)pv / 10.0, 50, 0.6);
	d.ops->write(&d, 0x0000, 0x0101);
	d.ops->runaway(&d);
	run(&d, 600);
	rd(&d, 0x2000, &pv);
	CHECK((int16_t)pv / 10.0 > 55);         /* heater stuck on, climbing */
	CHECK_INT(rd(&d, 0x1234, &pv), MBX_ADDRESS);
	mbdev_free(&d);
}

int
main(void)
{
	RUN(t_requests_and_exceptions);
	RUN(t_tank_outputs_need_relays_and_closed_lid);
	RUN(t_tank_heats_to_setpoint_and_timer_ends_cycle);
	RUN(t_tank_resonance_moves_with_temperature);
	RUN(t_tank_watchdog);
	RUN(t_rectifier_cv_cc_and_counters);
	RUN(t_rectifier_families_and_writes);
	RUN(t_e5cc_write_enable_run_stop);
	return test_summary();
}
