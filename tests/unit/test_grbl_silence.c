/*
 * The GRBL driver on a link that falls silent without hanging up, as a
 * real UART does when the laser's far end goes (found in the qemu guest
 * of make check-vm: a 16550 never reads EIO). This test is the far end,
 * on a pty it keeps open: it answers the handshake and status requests,
 * then stops answering; the driver must call the link lost, end the
 * stream it was running, and connect again once GRBL answers again.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg/cfg.h"
#include "grbl.h"
#include "simproc.h"
#include "test.h"
#include "util.h"

static int master = -1;
static bool answering = true;
static struct grbl *g;
static enum grbl_link link_state;
static int downs, dones;
static char why_down[200], why_done[400];
static char rx[4096];
static size_t rx_len;

static void
on_link(void *arg, enum grbl_link l, const char *why)
{
	(void)arg;
	link_state = l;
	if (l == GRBL_DOWN) {
		downs++;
		snprintf(why_down, sizeof why_down, "%s", why ? why : "");
	}
}

static void
on_done(void *arg, bool ok, const char *why)
{
	(void)arg;
	(void)ok;
	dones++;
	snprintf(why_done, sizeof why_done, "%s", why ? why : "");
}

static const struct grbl_events events = { .link = on_link, .stream_done = on_done };

static void
say(const char *s)
{
	if (write_all(master, s, strlen(s)) < 0)
		perror("write to the pty");
}

/* The fake GRBL: a reset gets the banner, '?' a status report, each line
 * an ok ($$ with one setting first) except motions, which it keeps as a
 * full planner would; nothing at all while !answering. */
static void
fake_grbl(void)
{
	char tmp[512];
	ssize_t n = read(master, tmp, sizeof tmp);
	for (ssize_t i = 0; i < n; i++) {
		char c = tmp[i];
		if (!answering)
			continue;
		if (c == 0x18) {
			rx_len = 0;
			say("\r\nGrbl 1.1h ['$' for help]\r\n");
		} else if (c == '?') {
			say("<Idle|MPos:0.000,0.000,0.000|FS:0,0>\r\n");
		} else if (c == '\n') {
			rx[rx_len] = '\0';
			if (strcmp(rx, "$$") == 0)
				say("$30=1000\r\n");
			if (strncmp(rx, "G1", 2) != 0)
				say("ok\r\n");
			rx_len = 0;
		} else if (rx_len < sizeof rx - 1 && (unsigned char)c < 0x80) {
			rx[rx_len++] = c;
		}
	}
}

static void
pump(double secs)
{
	double end = now_mono() + secs;
	do {
		struct pollfd pfd[2];
		int n = grbl_pollfd(g, &pfd[0]);
		pfd[n] = (struct pollfd){ .fd = master, .events = POLLIN };
		if (poll(pfd, (nfds_t)n + 1, 5) > 0) {
			if (n && pfd[0].revents)
				grbl_on_io(g, pfd[0].revents);
			if (pfd[n].revents & POLLIN)
				fake_grbl();
		}
		if (now_mono() >= grbl_next_deadline(g))
			grbl_on_timer(g, now_mono());
	} while (now_mono() < end);
}

static bool
until_state(void *want)
{
	pump(0.01);
	return link_state == *(enum grbl_link *)want;
}

static void
t_ready_on_the_pty(void)
{
	enum grbl_link want = GRBL_READY;
	CHECK(wait_until(until_state, &want, 10));
	CHECK_NEAR(grbl_setting(g, 30), 1000, 1e-9);
	/* Answered status requests keep the link up well past the timeout. */
	pump(2.5);
	CHECK_INT(link_state, GRBL_READY);
	CHECK_INT(downs, 0);
}

static void
t_silence_is_a_lost_link(void)
{
	char err[200];
	enum grbl_link want = GRBL_DOWN;
	CHECK_INT(grbl_stream_text(g, "G1 X10 F100\nG1 X0\n", err, sizeof err), 0);
	pump(0.2);
	answering = false;
	double t0 = now_mono();
	CHECK(wait_until(until_state, &want, 10));
	double took = now_mono() - t0;
	CHECK(took >= 0.7);             /* connect_timeout since the last line, not a missed poll */
	CHECK(took < 4.0);
	CHECK_INT(downs, 1);
	CHECK_CONTAINS(why_down, "no answer from the laser for 1 s");
	CHECK_INT(dones, 1);
	CHECK_CONTAINS(why_done, "the job is not resumed");
}

static void
t_reconnects_once_answering_again(void)
{
	enum grbl_link want = GRBL_READY;
	answering = true;
	CHECK(wait_until(until_state, &want, 15));
	CHECK(!grbl_streaming(g));
}

int
main(void)
{
	master = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
	char slave[64];
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
	    ptsname_r(master, slave, sizeof slave) != 0) {
		printf("FAIL: no pty (%s)\n", strerror(errno));
		return 1;
	}
	/* Kept open so that the master never reads EIO between the driver's
	 * closing and reopening: the link must look like a UART, never
	 * hanging up. */
	int keep = open(slave, O_RDWR | O_NOCTTY);
	char yaml[800];
	snprintf(yaml, sizeof yaml,
	    "device_dir: /tmp\n"
	    "stations:\n  - {name: laser, kind: laser, port: %s, baud: 115200, connect_timeout: 1,"
	    " status_hz: 5, lines: {door: {}, enable: {}}}\n"
	    "gpio:\n  backend: sim\n  lines: {estop: {}, fume_ok: {}}\n"
	    "gems_file: config/gems.yaml\nservices_file: config/services.yaml\n", slave);
	struct cfg_errors e = { 0 };
	struct cfg *cfg = cfg_load_buffer("silence.yaml", yaml, strlen(yaml), &e);
	if (!cfg) {
		printf("FAIL: configuration: %s\n", e.n ? e.msgs[0] : "?");
		return 1;
	}
	g = grbl_new(cfg, &cfg->stations[0].laser, &events, NULL);
	RUN(t_ready_on_the_pty);
	RUN(t_silence_is_a_lost_link);
	RUN(t_reconnects_once_answering_again);
	grbl_free(g);
	cfg_free(cfg);
	close(keep);
	close(master);
	return test_summary();
}
