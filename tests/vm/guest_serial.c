/*
 * Inside the check-vm guest: the laser's serial path on a real UART. The
 * guest's /dev/ttyS1 is a 16550A (with a sysfs entry, so libserialport
 * lists and opens it: drivers/serial.c's open_real, never reached on a
 * pty); its far end is qemu's socket, on which the host's atelier-sim
 * serves its GRBL (--laser-socket). The GRBL driver (drivers/grbl.c)
 * runs over it: handshake, a stream with character counting, realtime
 * bytes, and an unplug (the host closes the socket) with reconnection.
 * What the host must do is asked on stdout, the guest console, as
 * "HOSTCTL <atelier-sim ctl command>" or "HOSTCTL mark NAME" (the host
 * notes how long events.log is, to check what the laser received after);
 * each case prints PASS:/FAIL:.
 *
 *   guest-serial CONFIG
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg/cfg.h"
#include "grbl.h"
#include "serial.h"
#include "simproc.h"
#include "test.h"
#include "util.h"

static struct cfg *cfg;
static struct grbl *g;

static struct {
	enum grbl_link link;
	int links_down, statuses, done, done_ok, banners_seen;
	char done_why[400], down_why[200], state[8];
} ev;

static void
on_link(void *arg, enum grbl_link l, const char *why)
{
	(void)arg;
	ev.link = l;
	if (l == GRBL_DOWN) {
		ev.links_down++;
		snprintf(ev.down_why, sizeof ev.down_why, "%s", why ? why : "");
	}
}

static void
on_status(void *arg, const struct grbl_status *st)
{
	(void)arg;
	ev.statuses++;
	snprintf(ev.state, sizeof ev.state, "%s", st->state);
}

static void
on_done(void *arg, bool ok, const char *why)
{
	(void)arg;
	ev.done++;
	ev.done_ok = ok;
	snprintf(ev.done_why, sizeof ev.done_why, "%s", why ? why : "");
}

static const struct grbl_events events = { .link = on_link, .status = on_status,
	.stream_done = on_done };

static void
host(const char *cmd)
{
	printf("HOSTCTL %s\n", cmd);
	fflush(stdout);
}

static void
pump(double secs)
{
	double end = now_mono() + secs;
	do {
		struct pollfd pfd;
		int n = grbl_pollfd(g, &pfd);
		double dl = grbl_next_deadline(g), now = now_mono();
		int ms = dl > now ? (int)((dl - now) * 1000) + 1 : 0;
		if (ms > 10)
			ms = 10;
		if (poll(&pfd, (nfds_t)n, ms) > 0)
			grbl_on_io(g, pfd.revents);
		if (now_mono() >= grbl_next_deadline(g))
			grbl_on_timer(g, now_mono());
	} while (now_mono() < end);
}

static bool
cond_ready(void *arg)
{
	(void)arg;
	pump(0.01);
	return ev.link == GRBL_READY;
}

static bool
cond_down(void *arg)
{
	(void)arg;
	pump(0.01);
	return ev.link == GRBL_DOWN;
}

static bool
cond_done(void *arg)
{
	pump(0.01);
	return ev.done >= *(int *)arg;
}

static bool
cond_state(void *arg)
{
	pump(0.01);
	return strcmp(ev.state, (const char *)arg) == 0;
}

static void
t_libserialport_lists_ttyS1(void)
{
	struct serial_info *list;
	size_t n;
	CHECK_INT(serial_list(&list, &n), 0);
	bool found = false;
	for (size_t i = 0; i < n; i++) {
		printf("  port %s (%s)\n", list[i].path, list[i].description ?
		    list[i].description : "");
		if (strcmp(list[i].path, "/dev/ttyS1") == 0)
			found = true;
		CHECK(list[i].vid == -1);       /* a 16550, not USB */
	}
	CHECK(found);
	serial_list_free(list, n);
}

static void
t_libserialport_opens_and_locks_ttyS1(void)
{
	char err[256] = "";
	struct serial *s = serial_open("/dev/ttyS1", 115200, err, sizeof err);
	CHECK(s != NULL);
	if (!s) {
		printf("  %s\n", err);
		return;
	}
	CHECK(!serial_is_pty(s));               /* libserialport's path, not termios */
	char err2[256] = "";
	struct serial *again = serial_open("/dev/ttyS1", 115200, err2, sizeof err2);
	CHECK(again == NULL);
	CHECK_CONTAINS(err2, "in use");
	serial_close(again);
	/* A soft reset straight on the port: the host's GRBL answers. */
	CHECK_INT(serial_write(s, "\x18", 1), 1);
	char buf[512];
	size_t len = 0;
	double end = now_mono() + 5;
	while (now_mono() < end && len < sizeof buf - 1) {
		struct pollfd p = { .fd = serial_fd(s), .events = POLLIN };
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t n = serial_read(s, buf + len, sizeof buf - 1 - len);
		if (n < 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "Grbl 1.1"))
			break;
	}
	buf[len] = '\0';
	CHECK_CONTAINS(buf, "Grbl 1.1");
	/* Once the banner is read, an idle port reads "nothing yet" (0),
	 * not a hang-up (-1): libserialport's VMIN = 0 made read() return 0
	 * here, which the driver took for a pulled cable. */
	struct pollfd p = { .fd = serial_fd(s), .events = POLLIN };
	while (poll(&p, 1, 300) > 0 && serial_read(s, buf, sizeof buf) > 0)
		;
	CHECK_INT(serial_read(s, buf, sizeof buf), 0);
	CHECK_INT(serial_read(s, buf, sizeof buf), 0);
	serial_close(s);
}

static void
t_grbl_handshake_over_uart(void)
{
	CHECK(wait_until(cond_ready, NULL, 20));
	CHECK_NEAR(grbl_setting(g, 30), 1000, 1e-9);   /* $$ read over the UART */
	CHECK_NEAR(grbl_setting(g, 32), 1, 1e-9);
	pump(0.6);
	CHECK(ev.statuses >= 1);
	CHECK_STR(ev.state, "Idle");
}

static void
t_grbl_stream_over_uart(void)
{
	char err[200];
	struct buf prog;
	buf_init(&prog);
	buf_printf(&prog, "; hatch fill over the UART\nG21 G90\nM4 S300\n");
	for (int i = 0; i < 200; i++)
		buf_printf(&prog, "G1 X%d.%03d Y%d F6000 (row %d)\n", i % 10, i, i % 7, i);
	buf_printf(&prog, "M5\nG0 X0 Y0\n");
	int want = ev.done + 1;
	CHECK_INT(grbl_stream_text(g, prog.data, err, sizeof err), 0);
	buf_free(&prog);
	struct grbl_progress p;
	size_t max_inflight = 0;
	double end = now_mono() + 90;
	while (ev.done < want && now_mono() < end) {
		pump(0.005);
		grbl_progress(g, &p);
		if (p.in_flight_bytes > max_inflight)
			max_inflight = p.in_flight_bytes;
	}
	CHECK(ev.done_ok);
	grbl_progress(g, &p);
	CHECK_INT(p.total, 204);
	CHECK_INT(p.acked, 204);
	CHECK(max_inflight <= GRBL_RX_BUFFER);
	CHECK(max_inflight > 60);       /* the buffer was kept full */
	/* The host checks at the end that GRBL's buffer never overran. */
}

static void
t_grbl_realtime_bytes_over_uart(void)
{
	char err[200];
	int want = ev.done + 1;
	/* The host notes where events.log is, to find the bytes after it;
	 * the console takes a moment to reach it. */
	host("mark realtime");
	pump(2.0);
	CHECK_INT(grbl_stream_text(g, "G1 X40 F200\nG1 X0\n", err, sizeof err), 0);
	CHECK(wait_until(cond_state, "Run", 10));
	/* Feed hold and resume ('!' '~'), seen in the status reports ('?'). */
	CHECK_INT(grbl_realtime(g, GRBL_RT_HOLD), 0);
	CHECK(wait_until(cond_state, "Hold", 10));
	CHECK_INT(grbl_realtime(g, GRBL_RT_RESUME), 0);
	CHECK(wait_until(cond_state, "Run", 10));
	/* The soft reset ends the stream; the banner brings the link back,
	 * in ALARM:3 since the machine was moving (its position is lost),
	 * until $X unlocks it. */
	CHECK_INT(grbl_realtime(g, GRBL_RT_RESET), 0);
	CHECK(wait_until(cond_done, &want, 10));
	CHECK(!ev.done_ok);
	CHECK_CONTAINS(ev.done_why, "reset");
	pump(1.0);
	CHECK_INT(ev.link, GRBL_READY);
	CHECK(wait_until(cond_state, "Alarm", 10));
	CHECK_INT(grbl_command(g, "$X", err, sizeof err), 0);
	CHECK(wait_until(cond_state, "Idle", 10));
	/* The host checks that events.log got 0x21 and 0x18 after the mark. */
}

static void
t_grbl_unplug_and_reconnect_over_uart(void)
{
	char err[200];
	int want = ev.done + 1, downs = ev.links_down;
	struct buf prog;
	buf_init(&prog);
	for (int i = 0; i < 40; i++)
		buf_printf(&prog, "G1 X%d F300\n", i % 2 ? 0 : 30);
	CHECK_INT(grbl_stream_text(g, prog.data, err, sizeof err), 0);
	buf_free(&prog);
	pump(0.5);
	/* A UART does not hang up: the driver sees silence, and calls the
	 * link lost after connect_timeout without an answer. */
	host("unplug laser");
	double t0 = now_mono();
	CHECK(wait_until(cond_done, &want, 20));
	CHECK(!ev.done_ok);
	CHECK_CONTAINS(ev.done_why, "the job is not resumed");
	CHECK(wait_until(cond_down, NULL, 20));
	CHECK_INT(ev.links_down, downs + 1);
	CHECK_CONTAINS(ev.down_why, "no answer from the laser");
	printf("  link lost %.1f s after the unplug\n", now_mono() - t0);
	CHECK(!grbl_streaming(g));
	/* Still unplugged: connection attempts fail, the link stays down. */
	pump(2.0);
	CHECK(ev.link != GRBL_READY);
	host("replug laser");
	CHECK(wait_until(cond_ready, NULL, 30));
	CHECK_NEAR(grbl_setting(g, 30), 1000, 1e-9);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: guest-serial CONFIG\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct cfg_errors e = { 0 };
	cfg = cfg_load(argv[1], &e);
	if (!cfg) {
		printf("FAIL: guest-serial configuration (%s)\n", e.n ? e.msgs[0] : "?");
		return 1;
	}
	RUN(t_libserialport_lists_ttyS1);
	RUN(t_libserialport_opens_and_locks_ttyS1);
	g = grbl_new(cfg, &cfg->stations[cfg_station_of_kind(cfg, KIND_LASER, 0)].laser, &events, NULL);
	RUN(t_grbl_handshake_over_uart);
	RUN(t_grbl_stream_over_uart);
	RUN(t_grbl_realtime_bytes_over_uart);
	RUN(t_grbl_unplug_and_reconnect_over_uart);
	grbl_free(g);
	cfg_free(cfg);
	return test_summary();
}
