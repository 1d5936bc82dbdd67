/*
 * The simulated laser through its pty, as a host sees it: the receive
 * buffer that overruns when a host ignores character counting, the door
 * input, alarms and unplugging injected through ctl, and a beam that the
 * actuators log shows only while the laser.enable relay is energised.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "simproc.h"
#include "test.h"
#include "util.h"

static struct simproc sp;
static int fd = -1;

static int
open_laser(void)
{
	int f = open(simproc_path(&sp, "laser"), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	struct termios tio;
	if (f < 0)
		return -1;
	tcgetattr(f, &tio);
	cfmakeraw(&tio);
	tcsetattr(f, TCSANOW, &tio);
	return f;
}

/* Reads until needle appears (or 10 s); returns the text read. */
static const char *
read_until(const char *needle)
{
	static char got[8192];
	size_t n = 0;
	double end = now_mono() + 10;
	got[0] = '\0';
	while (now_mono() < end && !strstr(got, needle) && n < sizeof got - 1) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t r = read(fd, got + n, sizeof got - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		got[n] = '\0';
	}
	return got;
}

static void
say(const char *s)
{
	CHECK(write_all(fd, s, strlen(s)) == 0);
}

static void
t_handshake(void)
{
	fd = open_laser();
	CHECK(fd >= 0);
	say("\x18");
	CHECK_CONTAINS(read_until("help]"), "Grbl 1.1h ['$' for help]");
	say("$10=3\n");
	CHECK_CONTAINS(read_until("ok"), "ok");
}

static void
t_overrun_without_character_counting(void)
{
	char reply[256];
	/* Twenty 10 mm moves at 60 mm/min fill the planner for minutes;
	 * then a careless host sends 400 more bytes at once. */
	for (int i = 1; i <= 20; i++) {
		char l[32];
		snprintf(l, sizeof l, "G1X%dF60\n", i);
		say(l);
	}
	char junk[401];
	memset(junk, 'G', sizeof junk - 1);
	junk[sizeof junk - 1] = '\0';
	say(junk);
	double end = now_mono() + 10;
	long overruns = 0;
	while (now_mono() < end && overruns == 0) {
		if (simproc_ctl(&sp, reply, sizeof reply, "overruns laser") == 0)
			overruns = atol(reply);
	}
	CHECK(overruns > 0);
	say("\x18");
	CHECK_CONTAINS(read_until("unlock]"), "ALARM:3");
	say("$X\n");
	CHECK_CONTAINS(read_until("ok"), "Caution: Unlocked");
}

static void
t_door_input(void)
{
	char reply[512];
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "door open"), 0);
	double end = now_mono() + 10;
	const char *st = "";
	while (now_mono() < end && !strstr(st, "<Door:1")) {
		say("?");
		st = read_until(">");
	}
	CHECK_CONTAINS(st, "<Door:1");
	CHECK_CONTAINS(st, "Pn:D");
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "door close"), 0);
	say("~");
	end = now_mono() + 10;
	st = "";
	while (now_mono() < end && !strstr(st, "<Idle")) {
		say("?");
		st = read_until(">");
	}
	CHECK_CONTAINS(st, "<Idle");
}

static void
t_alarm_injected(void)
{
	char reply[256];
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "alarm laser 1"), 0);
	CHECK_CONTAINS(read_until("continue]"), "ALARM:1\r\n[MSG:Reset to continue]");
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "alarm laser 99"), -1);
	CHECK_CONTAINS(reply, "between 1 and 10");
	say("\x18");
	read_until("unlock]");
	say("$X\n");
	CHECK_CONTAINS(read_until("ok"), "ok");
}


static void
t_beam_needs_the_relay(void)
{
	/* Without the relay, GRBL "fires" but nothing burns. */
	say("G0X0Y0\nM4S500\nG1X5F3000\nG4P0.01\n");
	read_until("ok\r\nok\r\nok\r\nok");
	CHECK_INT(simproc_actuator_count(&sp, "\"actuator\":\"emission\"", NULL), 0);
	int g = simproc_gpio(&sp, "set laser.enable 1");
	CHECK(g >= 0);
	say("G1X10F3000\nG4P0.01\n");
	read_until("ok\r\nok");
	CHECK_INT(simproc_actuator_count(&sp, "\"actuator\":\"emission\"", "\"value\":1"), 1);
	CHECK_INT(simproc_actuator_count(&sp, "\"actuator\":\"emission\"", "\"value\":0"), 1);
	CHECK(simproc_actuator_count(&sp, "\"actuator\":\"power\"", "\"value\":500") >= 1);
	if (g >= 0)
		close(g);
}

static bool
link_state(void *want)
{
	struct stat st;
	return (lstat(simproc_path(&sp, "laser"), &st) == 0) == (want != NULL);
}

static void
t_unplug_and_replug(void)
{
	char reply[256];
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "unplug laser"), 0);
	CHECK(wait_until(link_state, NULL, 10));
	/* The host side sees the line hang up. */
	struct pollfd p = { fd, POLLIN, 0 };
	CHECK(poll(&p, 1, 5000) == 1 && (p.revents & (POLLHUP | POLLERR | POLLIN)));
	char c;
	ssize_t r = read(fd, &c, 1);
	CHECK(r == 0 || (r < 0 && errno == EIO));
	close(fd);
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "replug laser"), 0);
	CHECK(wait_until(link_state, "", 10));
	fd = open_laser();
	CHECK(fd >= 0);
	say("?");
	CHECK_CONTAINS(read_until(">"), "<Idle|MPos:0.000,0.000,0.000");   /* power cycled */
}

int
main(void)
{
	if (simproc_start(&sp, NULL) < 0) {
		printf("FAIL: simulator start\n");
		return 1;
	}
	RUN(t_handshake);
	RUN(t_overrun_without_character_counting);
	RUN(t_door_input);
	RUN(t_alarm_injected);
	RUN(t_beam_needs_the_relay);
	RUN(t_unplug_and_replug);
	close(fd);
	CHECK_INT(simproc_stop(&sp), 0);
	return test_summary();
}
