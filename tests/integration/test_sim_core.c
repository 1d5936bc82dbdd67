/*
 * The simulator core against its contract: the run directory's links and
 * sockets, the GPIO socket protocol with physical levels, fault injection
 * through ctl, the actuators log, outputs released when a client goes, and
 * a clean exit on SIGTERM that removes what the simulator created.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <poll.h>
#include <unistd.h>

#include "cfg/cfg.h"
#include "simproc.h"
#include "test.h"
#include "util.h"

static struct simproc sp;

static int
gpio_connect(void)
{
	return unix_connect(simproc_path(&sp, "gpio.sock"));
}

/* Reads one line (without the newline) within 10 s; returns 0 or -1. */
static int
read_line(int fd, char *line, size_t len)
{
	size_t n = 0;
	while (n + 1 < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 10000) <= 0)
			return -1;
		char c;
		if (read(fd, &c, 1) != 1)
			return -1;
		if (c == '\n')
			break;
		line[n++] = c;
	}
	line[n] = '\0';
	return 0;
}

static int
request(int fd, const char *req, char *reply, size_t len)
{
	if (write_all(fd, req, strlen(req)) < 0)
		return -1;
	return read_line(fd, reply, len);
}

static bool
exists(const char *name)
{
	struct stat st;
	return lstat(simproc_path(&sp, name), &st) == 0;
}

static void
t_run_dir_content(void)
{
	CHECK(exists("laser"));
	CHECK(exists("tank"));
	CHECK(exists("rectifier"));
	CHECK(exists("bath_heater"));
	CHECK(exists("gpio.sock"));
	CHECK(exists("ctl.sock"));
	CHECK(exists("actuators.log"));
}

static void
t_gpio_protocol(void)
{
	char line[256];
	int fd = gpio_connect();
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(request(fd, "get laser.enable\n", line, sizeof line) == 0);
	CHECK_STR(line, "value laser.enable 0");
	CHECK(request(fd, "set estop 1\n", line, sizeof line) == 0);
	CHECK_CONTAINS(line, "error line 'estop' is an input");
	CHECK(request(fd, "set nosuch 1\n", line, sizeof line) == 0);
	CHECK_CONTAINS(line, "error no line named 'nosuch'");
	CHECK(request(fd, "set laser.enable 2\n", line, sizeof line) == 0);
	CHECK_CONTAINS(line, "error level must be 0 or 1");
	CHECK(request(fd, "frobnicate\n", line, sizeof line) == 0);
	CHECK_CONTAINS(line, "error unknown request");
	CHECK(request(fd, "list\n", line, sizeof line) == 0);
	CHECK_STR(line, "line estop in 1");  /* released e-stop, active low */
	int lines = 1;
	while (read_line(fd, line, sizeof line) == 0 && strcmp(line, "end") != 0)
		lines++;
	CHECK_INT(lines, 10);   /* config/sim.yaml: 2 of the workshop, 3 + 3 + 2 of the stations */
	close(fd);
}

static void
t_watch_events_follow_ctl(void)
{
	char line[256], reply[256];
	int fd = gpio_connect();
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(request(fd, "watch\n", line, sizeof line) == 0);
	CHECK_STR(line, "ok");
	for (int i = 0; i < 4; i++)     /* estop, fume_ok, laser.door, tank.lid */
		CHECK(read_line(fd, line, sizeof line) == 0);
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "estop press"), 0);
	CHECK(read_line(fd, line, sizeof line) == 0);
	CHECK_STR(line, "event estop 0");     /* pressed: active low reads 0 */
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "door open"), 0);
	CHECK(read_line(fd, line, sizeof line) == 0);
	CHECK_STR(line, "event laser.door 1");
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "fume fault"), 0);
	CHECK(read_line(fd, line, sizeof line) == 0);
	CHECK_STR(line, "event fume_ok 0");
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "lines"), 0);
	CHECK_CONTAINS(reply, "\"estop\":1,\"fume_ok\":0,\"laser.door\":1");
	CHECK_CONTAINS(reply, "\"tank.lid\":0");
	simproc_ctl(&sp, NULL, 0, "estop release");
	simproc_ctl(&sp, NULL, 0, "door close");
	simproc_ctl(&sp, NULL, 0, "fume ok");
	close(fd);
}

static void
t_ctl_errors(void)
{
	char reply[512];
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "estop sideways"), -1);
	CHECK_CONTAINS(reply, "usage: estop press|release");
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "unplug nowhere"), -1);
	CHECK_CONTAINS(reply, "no device or bus named 'nowhere'");
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "line laser.enable 1"), -1);
	CHECK_CONTAINS(reply, "is an output");
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "devices"), 0);
	CHECK_STR(reply, "laser tank rectifier bath_heater");
}

static bool
released(void *arg)
{
	(void)arg;
	return simproc_actuator_count(&sp, "\"actuator\":\"tank.ultrasound_enable\"", "\"value\":0") == 1;
}

static void
t_outputs_logged_and_released_on_disconnect(void)
{
	char line[256];
	int fd = gpio_connect();
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(request(fd, "set tank.ultrasound_enable 1\n", line, sizeof line) == 0);
	CHECK_STR(line, "ok");
	/* Setting it again is no physical change: no second log line. */
	CHECK(request(fd, "set tank.ultrasound_enable 1\n", line, sizeof line) == 0);
	CHECK_INT(simproc_actuator_count(&sp, "\"actuator\":\"tank.ultrasound_enable\"", "\"value\":1"), 1);
	close(fd);
	CHECK(wait_until(released, NULL, 10));
	CHECK_CONTAINS(line, "ok");
}

static void
t_sigterm_cleans_up(void)
{
	CHECK_INT(simproc_stop(&sp), 0);
	CHECK(!exists("laser"));
	CHECK(!exists("tank"));
	CHECK(!exists("rectifier"));
	CHECK(!exists("bath_heater"));
	CHECK(!exists("gpio.sock"));
	CHECK(!exists("ctl.sock"));
	/* The record of what physically happened stays for the test. */
	CHECK(exists("actuators.log"));
}

int
main(void)
{
	if (simproc_start(&sp, NULL) < 0) {
		printf("FAIL: simulator start\n");
		return 1;
	}
	RUN(t_run_dir_content);
	RUN(t_gpio_protocol);
	RUN(t_watch_events_follow_ctl);
	RUN(t_ctl_errors);
	RUN(t_outputs_logged_and_released_on_disconnect);
	RUN(t_sigterm_cleans_up);
	return test_summary();
}
