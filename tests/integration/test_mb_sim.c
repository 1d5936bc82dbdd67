/*
 * The Modbus layer against the simulated tank, rectifier and bath heater
 * over RTU, each on its own bus: devices come up, are identified and put
 * in their safe state, values decode with the model's scales, writes are
 * range-checked, never touch the calibration, and read back; the faults
 * the simulator injects (silence, exceptions, CRC bursts, reboot, unplug)
 * are reported and survived, and a device that comes back is put in its
 * safe state again before anything else; and a safe-state command
 * overtakes a queue of ordinary writes.
 */
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg/cfg.h"
#include "mb_bus.h"
#include "mb_devices.h"
#include "simproc.h"
#include "test.h"
#include "util.h"

static struct simproc sp;
static struct cfg *cfg;
static struct mb_bus *tank_bus, *rect_bus, *heat_bus;
static int tank, rect, heater;

#define LOG_MAX 512
static struct mb_event logv[LOG_MAX];
static size_t n_log;

static void
drain(struct mb_bus *b)
{
	struct mb_event ev[32];
	size_t n = mb_bus_drain(b, ev, 32);
	for (size_t i = 0; i < n; i++)
		if (ev[i].type != MB_EV_POLL && n_log < LOG_MAX)
			logv[n_log++] = ev[i];
}

static void
pump(double secs)
{
	double end = now_mono() + secs;
	do {
		struct pollfd p[3] = { { mb_bus_fd(tank_bus), POLLIN, 0 },
			{ mb_bus_fd(rect_bus), POLLIN, 0 }, { mb_bus_fd(heat_bus), POLLIN, 0 } };
		poll(p, 3, 10);
		drain(tank_bus);
		drain(rect_bus);
		drain(heat_bus);
	} while (now_mono() < end);
}

/* Index of the first logged event from `from` matching type/ok/text, or -1. */
static long
find(size_t from, enum mb_event_type type, int ok, const char *text)
{
	for (size_t i = from; i < n_log && i < LOG_MAX; i++)
		if (logv[i].type == type && (ok < 0 || logv[i].ok == ok) &&
		    (!text || strstr(logv[i].text, text)))
			return (long)i;
	return -1;
}

struct want {
	size_t from;
	enum mb_event_type type;
	int ok;
	const char *text;
};

static bool
seen(void *arg)
{
	struct want *w = arg;
	pump(0.01);
	return find(w->from, w->type, w->ok, w->text) >= 0;
}

static bool
done_cmd(int id, double timeout, bool *ok, char *text, size_t len)
{
	double end = now_mono() + timeout;
	while (now_mono() < end) {
		pump(0.01);
		for (size_t i = 0; i < n_log && i < LOG_MAX; i++)
			if (logv[i].type == MB_EV_DONE && logv[i].cmd == id) {
				*ok = logv[i].ok;
				if (text)
					snprintf(text, len, "%s", logv[i].text);
				return true;
			}
	}
	return false;
}

static bool
all_up(void *arg)
{
	(void)arg;
	pump(0.01);
	return mb_bus_device_up(tank_bus, tank) && mb_bus_device_up(rect_bus, rect) &&
	    mb_bus_device_up(heat_bus, heater) && mb_bus_variant(rect_bus, rect) != NULL;
}

static void
t_devices_come_up_and_decode(void)
{
	double v;
	CHECK(wait_until(all_up, NULL, 20));
	pump(0.6);
	CHECK(mb_bus_value(tank_bus, tank, "device_id", &v) && v == 0x5441);
	CHECK(mb_bus_value(tank_bus, tank, "frequency_set", &v) && fabs(v - 40.0) < 1e-9);
	CHECK(mb_bus_value(tank_bus, tank, "temperature", &v) && fabs(v - 21) < 1);
	CHECK_STR(mb_bus_variant(rect_bus, rect), "RD6006");
	CHECK(mb_bus_value(rect_bus, rect, "v_in", &v) && fabs(v - 24.0) < 1e-9);
	CHECK(mb_bus_value(heat_bus, heater, "sv", &v) && fabs(v - 48.0) < 1e-9);
	CHECK(!mb_bus_value(heat_bus, heater, "command", &v));   /* write-only */
	CHECK(mb_bus_value(tank_bus, tank, "ultrasound_active", &v) && v == 0);
	CHECK(mb_bus_value(rect_bus, rect, "power", &v) && v == 0);
	/* The E5CC's status, low word first: stopped at power-on (bit 24). */
	CHECK(mb_bus_value(heat_bus, heater, "status", &v) && ((uint32_t)v & 0x01000000u));
	/* Each came up into its safe state, read back where it can be. */
	CHECK(find(0, MB_EV_SAFE, 1, "tank came up: safe state written and read back "
	    "(ultrasound_run 0, heater_run 0)") >= 0);
	CHECK(find(0, MB_EV_SAFE, 1, "rectifier came up: safe state written and read back "
	    "(output 0)") >= 0);
	CHECK(find(0, MB_EV_SAFE, 1, "bath_heater came up: safe state written and read back "
	    "(command 1, command 257)") >= 0);
	CHECK(find(0, MB_EV_WARN, 1, "rectifier is model 60062 (RD6006)") >= 0);
}

static void
t_writes_checked_and_read_back(void)
{
	char err[200], text[200];
	bool ok;
	struct mb_write bad[] = { { "power_set", 200 } };
	CHECK_INT(mb_bus_write(tank_bus, tank, bad, 1, false, err, sizeof err), -1);
	CHECK_CONTAINS(err, "power_set 200 % is outside 10..100");
	struct mb_write cal[] = { { "cal_57", 1 } };
	CHECK_INT(mb_bus_write(rect_bus, rect, cal, 1, false, err, sizeof err), -1);
	CHECK_CONTAINS(err, "never written");
	struct mb_write ro[] = { { "temperature", 30 } };
	CHECK_INT(mb_bus_write(tank_bus, tank, ro, 1, false, err, sizeof err), -1);
	CHECK_CONTAINS(err, "read-only");
	int id = mb_tank_heater(tank_bus, tank, true, 50, err, sizeof err);
	CHECK(id > 0);
	CHECK(done_cmd(id, 10, &ok, text, sizeof text) && ok);
	id = mb_rectifier(rect_bus, rect, 2.0, 1.5, false, err, sizeof err);
	CHECK(done_cmd(id, 10, &ok, text, sizeof text) && ok);
	id = mb_heater(heat_bus, heater, 49.5, true, err, sizeof err);
	CHECK(done_cmd(id, 10, &ok, text, sizeof text) && ok);
	pump(0.6);
	double v;
	CHECK(mb_bus_value(tank_bus, tank, "temperature_set", &v) && fabs(v - 50) < 1e-9);
	CHECK(mb_bus_value(rect_bus, rect, "v_set", &v) && fabs(v - 2.0) < 1e-9);
	CHECK(mb_bus_value(rect_bus, rect, "i_set", &v) && fabs(v - 1.5) < 1e-9);
	CHECK(mb_bus_value(heat_bus, heater, "sv", &v) && fabs(v - 49.5) < 1e-9);
	char reply[64];
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "calwrites rectifier"), 0);
	CHECK_STR(reply, "0");
	id = mb_safe_state(heat_bus, heater, err, sizeof err);
	CHECK(done_cmd(id, 10, &ok, text, sizeof text) && ok);
	CHECK_INT(mb_tank_heater(rect_bus, rect, true, 50, err, sizeof err), -1);
	CHECK_CONTAINS(err, "rectifier is a riden-rd60xx, not a tank-generator");
}

static void
t_silence_then_back(void)
{
	struct want down = { n_log, MB_EV_LINK, 0, "tank does not answer" };
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "silence tank 8"), 0);
	CHECK(wait_until(seen, &down, 20));
	struct want up = { n_log, MB_EV_LINK, 1, "tank answers" };
	CHECK(wait_until(seen, &up, 20));
	CHECK(mb_bus_device_up(rect_bus, rect));    /* the other buses never noticed */
}

/* A rectifier that went silent mid-plating and answers again is put in
 * its safe state before anything else, and that is read back. */
static void
t_rectifier_back_from_silence_is_safe(void)
{
	char err[200], reply[512];
	bool ok;
	int id = mb_rectifier(rect_bus, rect, 2.0, 1.0, true, err, sizeof err);
	CHECK(done_cmd(id, 10, &ok, NULL, 0) && ok);
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "regs rectifier"), 0);
	CHECK_CONTAINS(reply, "\"18\":1");
	struct want down = { n_log, MB_EV_LINK, 0, "rectifier does not answer" };
	struct want safe = { n_log, MB_EV_SAFE, 1, "rectifier came up: safe state written" };
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "silence rectifier 8"), 0);
	CHECK(wait_until(seen, &down, 20));
	CHECK(wait_until(seen, &safe, 20));
	long up = find(down.from, MB_EV_LINK, 1, "rectifier answers");
	CHECK(up >= 0 && up < find(safe.from, MB_EV_SAFE, 1, "rectifier came up"));
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "regs rectifier"), 0);
	CHECK_CONTAINS(reply, "\"18\":0");
	pump(0.6);
	double v;
	CHECK(mb_bus_value(rect_bus, rect, "output", &v) && v == 0);
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "calwrites rectifier"), 0);
	CHECK_STR(reply, "0");
}

static void
t_exceptions_and_crc(void)
{
	char err[200], text[200];
	bool ok;
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "exception tank 4 3"), 0);
	int id = mb_tank_heater(tank_bus, tank, true, 47, err, sizeof err);
	CHECK(done_cmd(id, 10, &ok, text, sizeof text));
	/* The poll may have met the exceptions first; either way the bus
	 * goes on, and a later write succeeds. */
	pump(1.0);
	id = mb_tank_heater(tank_bus, tank, true, 47, err, sizeof err);
	CHECK(done_cmd(id, 10, &ok, text, sizeof text) && ok);
	struct mb_stats before, after;
	mb_bus_stats(tank_bus, &before);
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "crc tank 2"), 0);
	id = mb_tank_heater(tank_bus, tank, true, 46, err, sizeof err);
	CHECK(done_cmd(id, 10, &ok, text, sizeof text) && ok);  /* retries absorb it */
	mb_bus_stats(tank_bus, &after);
	CHECK(after.transactions > before.transactions);
	CHECK(mb_bus_device_up(tank_bus, tank));
}

static void
t_reboot_noticed(void)
{
	char err[200];
	bool ok;
	int id = mb_tank_heater(tank_bus, tank, true, 52, err, sizeof err);
	CHECK(done_cmd(id, 10, &ok, NULL, 0) && ok);
	struct want w = { n_log, MB_EV_REBOOT, -1, "tank rebooted: setpoints lost" };
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "reboot tank"), 0);
	CHECK(wait_until(seen, &w, 10));
	long i = find(w.from, MB_EV_REBOOT, -1, NULL);
	if (i >= 0)
		CHECK_CONTAINS(logv[i].text, "temperature_set was 52 C, now 48 C");
}

static void
t_unplug_and_replug(void)
{
	char err[200], reply[512];
	bool ok;
	int id = mb_heater(heat_bus, heater, 45, true, err, sizeof err);
	CHECK(done_cmd(id, 10, &ok, NULL, 0) && ok);
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "status bath_heater"), 0);
	CHECK_CONTAINS(reply, "\"running\":1");
	struct want down = { n_log, MB_EV_LINK, 0, "bus bath_heater" };
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "unplug bath_heater"), 0);
	CHECK(wait_until(seen, &down, 20));
	CHECK(!mb_bus_device_up(heat_bus, heater));
	CHECK(mb_bus_device_up(rect_bus, rect));    /* the rectifier's line never noticed */
	pump(1.0);
	struct want up = { n_log, MB_EV_LINK, 1, "bath_heater answers" };
	struct want safe = { n_log, MB_EV_SAFE, 1, "bath_heater came up" };
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "replug bath_heater"), 0);
	CHECK(wait_until(seen, &up, 20));
	CHECK(wait_until(seen, &safe, 20));
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "status bath_heater"), 0);
	CHECK_CONTAINS(reply, "\"running\":0");   /* STOP again on reconnection */
	CHECK(wait_until(all_up, NULL, 20));
}

static void
t_priority_overtakes(void)
{
	char err[200];
	int ids[30];
	for (int i = 0; i < 30; i++) {
		struct mb_write w[] = { { "power_set", 20 + i } };
		ids[i] = mb_bus_write(tank_bus, tank, w, 1, false, err, sizeof err);
	}
	int safe = mb_safe_state(tank_bus, tank, err, sizeof err);
	CHECK(safe > 0);
	bool ok;
	CHECK(done_cmd(ids[29], 60, &ok, NULL, 0));
	CHECK(done_cmd(safe, 60, &ok, NULL, 0) && ok);
	long at_safe = -1, at_last = -1;
	for (size_t i = 0; i < n_log && i < LOG_MAX; i++) {
		if (logv[i].type == MB_EV_DONE && logv[i].cmd == safe)
			at_safe = (long)i;
		if (logv[i].type == MB_EV_DONE && logv[i].cmd == ids[29])
			at_last = (long)i;
	}
	CHECK(at_safe >= 0 && at_last >= 0);
	/* It overtook them all: those still queued were cancelled (a start
	 * must never run after the stop), at most the one running went first. */
	int ran = 0, cancelled = 0;
	for (size_t i = 0; i < n_log && i < LOG_MAX; i++)
		for (int k = 0; k < 30; k++)
			if (logv[i].type == MB_EV_DONE && logv[i].cmd == ids[k]) {
				if (logv[i].ok)
					ran++;
				else if (strstr(logv[i].text, "cancelled by a safe-state command"))
					cancelled++;
			}
	CHECK(ran <= 2);
	CHECK(cancelled >= 28);
}

/* A bus whose device is not there keeps retrying with back-off, and a
 * safe state queued meanwhile (the daemon queues one at start-up) waits
 * for the link without keeping the thread awake. */
static void
t_absent_device_does_not_spin(void)
{
	char err[200];
	struct cfg_errors e = { 0 };
	struct cfg *c = cfg_load("config/sim.yaml", &e);
	CHECK(c != NULL);
	if (!c)
		return;
	free(c->device_dir);
	c->device_dir = xstrdup("/nonexistent-atelier-devices");
	struct mb_bus *b = mb_bus_start(c, cfg_bus_find(c, "tank"), err, sizeof err);
	CHECK(b != NULL);
	if (b) {
		CHECK(mb_safe_state(b, mb_bus_device(b, "tank"), err, sizeof err) > 0);
		double end = now_mono() + 1.5;
		while (now_mono() < end) {
			struct pollfd p = { mb_bus_fd(b), POLLIN, 0 };
			poll(&p, 1, 50);
			struct mb_event ev[32];
			mb_bus_drain(b, ev, 32);
		}
		struct mb_stats st;
		mb_bus_stats(b, &st);
		/* Back-off from 0.25 s: a handful of attempts; a spin makes millions. */
		CHECK(st.wakeups < 100);
		CHECK_INT(st.reconnects, 0);
		CHECK(!mb_bus_device_up(b, mb_bus_device(b, "tank")));
		mb_bus_stop(b);
	}
	cfg_free(c);
}

int
main(void)
{
	char err[200];
	if (simproc_start(&sp, NULL) < 0) {
		printf("FAIL: simulator start\n");
		return 1;
	}
	struct cfg_errors e = { 0 };
	cfg = cfg_load("config/sim.yaml", &e);
	free(cfg->device_dir);
	cfg->device_dir = xstrdup(sp.dir);
	tank_bus = mb_bus_start(cfg, cfg_bus_find(cfg, "tank"), err, sizeof err);
	rect_bus = mb_bus_start(cfg, cfg_bus_find(cfg, "rectifier"), err, sizeof err);
	heat_bus = mb_bus_start(cfg, cfg_bus_find(cfg, "bath_heater"), err, sizeof err);
	if (!tank_bus || !rect_bus || !heat_bus) {
		printf("FAIL: bus start: %s\n", err);
		return 1;
	}
	tank = mb_bus_device(tank_bus, "tank");
	rect = mb_bus_device(rect_bus, "rectifier");
	heater = mb_bus_device(heat_bus, "bath_heater");
	RUN(t_devices_come_up_and_decode);
	RUN(t_writes_checked_and_read_back);
	RUN(t_silence_then_back);
	RUN(t_rectifier_back_from_silence_is_safe);
	RUN(t_exceptions_and_crc);
	RUN(t_reboot_noticed);
	RUN(t_unplug_and_replug);
	RUN(t_priority_overtakes);
	RUN(t_absent_device_does_not_spin);
	mb_bus_stop(tank_bus);
	mb_bus_stop(rect_bus);
	mb_bus_stop(heat_bus);
	CHECK_INT(simproc_stop(&sp), 0);
	cfg_free(cfg);
	return test_summary();
}
