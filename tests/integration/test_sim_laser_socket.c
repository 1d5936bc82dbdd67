/*
 * The simulator's laser served on a Unix socket (--laser-socket), as the
 * qemu guest tests use it: this test listens where qemu would, and checks
 * that the simulator connects, speaks GRBL on the socket, drops the
 * connection on "unplug laser", connects again on "replug laser", and
 * reconnects by itself after the far end closed.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "simproc.h"
#include "test.h"
#include "util.h"

static struct simproc sp;
static int lsn = -1;
static char sock_path[400];

/* Accepts the simulator's connection; -1 after timeout seconds. */
static int
accept_within(double timeout)
{
	struct pollfd p = { .fd = lsn, .events = POLLIN };
	if (poll(&p, 1, (int)(timeout * 1000)) <= 0)
		return -1;
	return accept(lsn, NULL, NULL);
}

/* Reads from fd until the text holds want; returns true if it did within
 * timeout seconds. eof is set when the far end closed. */
static bool
read_until(int fd, const char *want, double timeout, bool *eof)
{
	char text[4096];
	size_t len = 0;
	double end = now_mono() + timeout;
	if (eof)
		*eof = false;
	text[0] = '\0';
	while (now_mono() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 20) <= 0)
			continue;
		ssize_t n = read(fd, text + len, sizeof text - 1 - len);
		if (n <= 0) {
			if (eof)
				*eof = true;
			return false;
		}
		len += (size_t)n;
		text[len] = '\0';
		if (want && strstr(text, want))
			return true;
		if (len > sizeof text / 2) {
			memmove(text, text + len / 2, len - len / 2 + 1);
			len -= len / 2;
		}
	}
	return false;
}

static int
start_sim(void)
{
	char bin[512];
	snprintf(bin, sizeof bin, "%s/atelier-sim", simproc_bindir());
	sp.pid = fork();
	if (sp.pid == 0) {
		char log[400];
		snprintf(log, sizeof log, "%s/sim.stderr", sp.dir);
		if (!freopen(log, "w", stderr))
			_exit(126);
		execl(bin, "atelier-sim", "--run-dir", sp.dir, "--config", sp.config,
		    "--laser-socket", sock_path, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 3000; i++) {
		struct stat st;
		if (stat(simproc_path(&sp, "ctl.sock"), &st) == 0)
			return 0;
		usleep(10000);
	}
	return -1;
}

static int conn = -1;

static void
t_connects_and_speaks_grbl(void)
{
	conn = accept_within(10);
	CHECK(conn >= 0);
	if (conn < 0)
		return;
	CHECK_INT(write_all(conn, "\x18", 1), 0);
	CHECK(read_until(conn, "Grbl 1.1", 5, NULL));
	CHECK_INT(write_all(conn, "?", 1), 0);
	CHECK(read_until(conn, "<Idle", 5, NULL));
	CHECK_INT(write_all(conn, "$I\n", 3), 0);
	CHECK(read_until(conn, "ok", 5, NULL));
	char reply[64];
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "connected laser"), 0);
	CHECK_STR(reply, "yes");
	/* No pty is made when the laser is on a socket. */
	struct stat st;
	CHECK(lstat(simproc_path(&sp, "laser"), &st) < 0);
}

static void
t_unplug_closes_replug_connects(void)
{
	bool eof = false;
	char reply[64];
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "unplug laser"), 0);
	CHECK(!read_until(conn, NULL, 5, &eof));
	CHECK(eof);
	close(conn);
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "connected laser"), 0);
	CHECK_STR(reply, "no");
	/* Unplugged means no connection attempt either. */
	CHECK(accept_within(0.5) < 0);
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "replug laser"), 0);
	conn = accept_within(5);
	CHECK(conn >= 0);
	if (conn < 0)
		return;
	CHECK_INT(write_all(conn, "\x18", 1), 0);
	CHECK(read_until(conn, "Grbl 1.1", 5, NULL));
}

static void
t_reconnects_after_the_far_end_closed(void)
{
	char reply[64];
	close(conn);
	conn = accept_within(5);
	CHECK(conn >= 0);
	if (conn < 0)
		return;
	CHECK_INT(write_all(conn, "?", 1), 0);
	CHECK(read_until(conn, "<Idle", 5, NULL));
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "connected laser"), 0);
	CHECK_STR(reply, "yes");
	/* The realtime stop bytes are in events.log, as for the pty. */
	CHECK_INT(write_all(conn, "\x18", 1), 0);
	CHECK(read_until(conn, "Grbl 1.1", 5, NULL));
	FILE *f = fopen(simproc_path(&sp, "events.log"), "r");
	CHECK(f != NULL);
	int resets = 0;
	char line[512];
	while (f && fgets(line, sizeof line, f))
		if (strstr(line, "\"laser_realtime\",\"byte\":24"))
			resets++;
	if (f)
		fclose(f);
	CHECK(resets >= 3);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(sp.dir, sizeof sp.dir, "/tmp/atelier-test-XXXXXX");
	if (!test_mkdtemp(sp.dir)) {
		printf("FAIL: mkdtemp\n");
		return 1;
	}
	snprintf(sp.config, sizeof sp.config, "config/sim.yaml");
	snprintf(sock_path, sizeof sock_path, "%s/uart.sock", sp.dir);
	lsn = unix_listen(sock_path, 4);
	if (lsn < 0 || start_sim() < 0) {
		printf("FAIL: simulator start with --laser-socket\n");
		return 1;
	}
	RUN(t_connects_and_speaks_grbl);
	RUN(t_unplug_closes_replug_connects);
	RUN(t_reconnects_after_the_far_end_closed);
	if (conn >= 0)
		close(conn);
	CHECK_INT(simproc_stop(&sp), 0);
	close(lsn);
	unlink(sock_path);
	return test_summary();
}
