/*
 * The simulated Modbus buses through libmodbus as a client over the RTU
 * pty links: reads and writes, each injected fault as a client sees it
 * (silence, exceptions, corrupted CRC, reboot, unplug and replug), the
 * calibration-write counter, and the tank's communication watchdog
 * switching the ultrasound off when the heartbeat stops.
 */
#include <errno.h>
#include <modbus.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "simproc.h"
#include "test.h"
#include "util.h"

static struct simproc sp;

/* A client on one of config/sim.yaml's lines, at its baud: the tank at
 * 19200, the rectifier at the RD60xx's 115200, the bath heater at the
 * E5CC's 9600 (8N1 on a pty, which carries no parity). */
static modbus_t *
open_bus(const char *name, int slave)
{
	bool e5cc = strcmp(name, "bath_heater") == 0;
	int baud = strcmp(name, "rectifier") == 0 ? 115200 : e5cc ? 9600 : 19200;
	modbus_t *ctx = modbus_new_rtu(simproc_path(&sp, name), baud, 'N', 8, 1);
	if (!ctx)
		return NULL;
	modbus_set_slave(ctx, slave);
	modbus_set_response_timeout(ctx, 0, 300000);
	if (modbus_connect(ctx) < 0) {
		modbus_free(ctx);
		return NULL;
	}
	return ctx;
}

static void
close_bus(modbus_t *ctx)
{
	if (ctx) {
		modbus_close(ctx);
		modbus_free(ctx);
	}
}

static void
t_read_write(void)
{
	modbus_t *tank = open_bus("tank", 1);
	uint16_t r[8];
	CHECK(tank != NULL);
	if (!tank)
		return;
	CHECK_INT(modbus_read_registers(tank, 10, 8, r), 8);
	CHECK_INT(r[1], 80);
	CHECK_INT(r[2], 400);
	CHECK_INT(modbus_write_register(tank, 16, 455), 1);
	CHECK_INT(modbus_read_registers(tank, 16, 1, r), 1);
	CHECK_INT(r[0], 455);
	CHECK_INT(modbus_write_register(tank, 11, 500), -1);
	CHECK_INT(errno, EMBXILVAL);
	close_bus(tank);
	modbus_t *heater = open_bus("bath_heater", 1);
	CHECK(heater != NULL);
	if (!heater)
		return;
	CHECK_INT(modbus_write_register(heater, 0x2103, 500), -1);
	CHECK_INT(errno, EMBXSFAIL);               /* writing not enabled yet */
	CHECK_INT(modbus_write_register(heater, 0x0000, 0x0001), 1);
	CHECK_INT(modbus_write_register(heater, 0x2103, 500), 1);
	close_bus(heater);
}

static void
t_faults(void)
{
	char reply[512];
	uint16_t r[2];
	modbus_t *rect = open_bus("rectifier", 1);
	CHECK(rect != NULL);
	if (!rect)
		return;
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "silence rectifier 2"), 0);
	CHECK_INT(modbus_read_registers(rect, 0, 1, r), -1);
	CHECK_INT(errno, ETIMEDOUT);
	CHECK_INT(modbus_read_registers(rect, 0, 1, r), -1);
	CHECK_INT(modbus_read_registers(rect, 0, 1, r), 1);
	CHECK_INT(r[0], 60062);
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "exception rectifier 6 1"), 0);
	CHECK_INT(modbus_read_registers(rect, 0, 1, r), -1);
	CHECK_INT(errno, EMBXSBUSY);
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "crc rectifier 1"), 0);
	CHECK_INT(modbus_read_registers(rect, 0, 1, r), -1);
	CHECK_INT(errno, EMBBADCRC);
	modbus_flush(rect);
	CHECK_INT(modbus_read_registers(rect, 0, 1, r), 1);
	/* The bath heater, on a line of its own, was never affected. */
	modbus_t *heater = open_bus("bath_heater", 1);
	CHECK(heater != NULL);
	if (heater)
		CHECK_INT(modbus_read_registers(heater, 0x2103, 1, r), 1);
	close_bus(heater);
	/* Calibration registers: the simulator counts every write. */
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "calwrites rectifier"), 0);
	CHECK_STR(reply, "0");
	CHECK_INT(modbus_write_register(rect, 57, 1), 1);
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "calwrites rectifier"), 0);
	CHECK_STR(reply, "1");
	close_bus(rect);
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "exception rectifier 99"), -1);
	CHECK_CONTAINS(reply, "from 1 to 11");
}

static void
t_reboot_restores_power_on_values(void)
{
	char reply[512];
	uint16_t r[1];
	modbus_t *tank = open_bus("tank", 1);
	CHECK(tank != NULL);
	if (!tank)
		return;
	CHECK_INT(modbus_write_register(tank, 16, 500), 1);
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "reboot tank"), 0);
	CHECK_INT(modbus_read_registers(tank, 16, 1, r), 1);
	CHECK_INT(r[0], 480);
	close_bus(tank);
}

static bool
link_gone(void *arg)
{
	struct stat st;
	return (lstat(simproc_path(&sp, "tank"), &st) < 0) == (arg != NULL);
}

static void
t_unplug_replug(void)
{
	char reply[512];
	uint16_t r[1];
	modbus_t *tank = open_bus("tank", 1);
	CHECK(tank != NULL);
	if (!tank)
		return;
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "unplug tank"), 0);
	CHECK(wait_until(link_gone, "", 10));
	CHECK_INT(modbus_read_registers(tank, 0, 1, r), -1);
	close_bus(tank);
	CHECK(open_bus("tank", 1) == NULL);
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "replug tank"), 0);
	CHECK(wait_until(link_gone, NULL, 10));
	tank = open_bus("tank", 1);
	CHECK(tank != NULL);
	if (tank)
		CHECK_INT(modbus_read_registers(tank, 0, 1, r), 1);
	close_bus(tank);
}


static bool
ultrasound_off(void *arg)
{
	(void)arg;
	return simproc_actuator_count(&sp, "\"device\":\"tank\",\"actuator\":\"ultrasound\"",
	    "\"value\":0") >= 1;
}

static void
t_watchdog_stops_ultrasound(void)
{
	uint16_t r[1];
	int relay = simproc_gpio(&sp, "set tank.ultrasound_enable 1");
	modbus_t *tank = open_bus("tank", 1);
	CHECK(relay >= 0 && tank != NULL);
	if (relay < 0 || !tank)
		return;
	CHECK_INT(modbus_write_register(tank, 30, 1), 1);     /* heartbeat: armed, 3 s */
	CHECK_INT(modbus_write_register(tank, 17, 0), 1);     /* no cycle timer */
	CHECK_INT(modbus_write_register(tank, 10, 1), 1);
	CHECK_INT(modbus_write_register(tank, 30, 2), 1);
	/* The host goes quiet: no more heartbeats. */
	CHECK(wait_until(ultrasound_off, NULL, 20));
	CHECK_INT(simproc_actuator_count(&sp, "\"actuator\":\"ultrasound\"", "\"value\":1"), 1);
	CHECK_INT(modbus_read_registers(tank, 26, 1, r), 1);
	CHECK_INT(r[0] & 4, 4);
	close_bus(tank);
	close(relay);
}

int
main(void)
{
	if (simproc_start(&sp, NULL) < 0) {
		printf("FAIL: simulator start\n");
		return 1;
	}
	RUN(t_read_write);
	RUN(t_faults);
	RUN(t_reboot_restores_power_on_values);
	RUN(t_unplug_replug);
	RUN(t_watchdog_stops_ultrasound);
	CHECK_INT(simproc_stop(&sp), 0);
	return test_summary();
}
