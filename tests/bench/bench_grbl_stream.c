/*
 * Streaming benchmark: a hatch-fill job of many short G1 segments sent to
 * the simulated GRBL at 115200 baud (11,520 B/s on the wire), by the
 * driver's character counting and by a send-one-line-and-wait-for-ok
 * sender, side by side. Motion is sped up in the simulator so that the
 * link, not the head, is the limit; the parser rate is shown both at an
 * AVR's ~450 lines/s and at a fast controller's, since short lines make
 * the AVR's parser the limit before the link. Prints figures; asserts
 * nothing about time.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg/cfg.h"
#include "grbl.h"
#include "serial.h"
#include "simproc.h"
#include "util.h"

#define LINES 2000
#define LINE_RATE 11520.0

static struct simproc sp;
static struct cfg *cfg;
static bool done;

static void
on_done(void *arg, bool ok, const char *why)
{
	(void)arg;
	if (!ok)
		fprintf(stderr, "stream failed: %s\n", why);
	done = true;
}

static char *
hatch_job(size_t *bytes)
{
	struct buf b;
	buf_init(&b);
	*bytes = 0;
	for (int i = 0; i < LINES; i++) {
		char line[64];
		/* Alternate rows of a 0.05 mm hatch over a 12 mm field. */
		int n = snprintf(line, sizeof line, "G1X%.2fY%.2f", (i % 2) ? 12.0 : 0.0, 0.05 * (i / 2));
		buf_printf(&b, "%s\n", line);
		*bytes += (size_t)n + 1;
	}
	return b.data;
}

static double
run_counted(const char *job)
{
	struct grbl_events ev = { .stream_done = on_done };
	struct grbl *g = grbl_new(cfg, &cfg->stations[cfg_station_of_kind(cfg, KIND_LASER, 0)].laser,
	    &ev, NULL);
	char err[200];
	double end = now_mono() + 30;
	while (grbl_link_state(g) != GRBL_READY && now_mono() < end) {
		struct pollfd p;
		int n = grbl_pollfd(g, &p);
		poll(&p, (nfds_t)n, 5);
		if (n)
			grbl_on_io(g, p.revents);
		grbl_on_timer(g, now_mono());
	}
	grbl_command(g, "G21G90M4S100F6000", err, sizeof err);
	done = false;
	if (grbl_stream_text(g, job, err, sizeof err) < 0) {
		fprintf(stderr, "stream refused: %s\n", err);
		grbl_free(g);
		return 0;
	}
	double t0 = now_mono();
	while (!done && now_mono() < t0 + 300) {
		struct pollfd p;
		int n = grbl_pollfd(g, &p);
		poll(&p, (nfds_t)n, 2);
		if (n)
			grbl_on_io(g, p.revents);
		if (now_mono() >= grbl_next_deadline(g))
			grbl_on_timer(g, now_mono());
	}
	double t = now_mono() - t0;
	grbl_free(g);
	return t;
}

/* The naive sender: one line, wait for its ok, next line. */
static double
run_ping_pong(const char *job)
{
	char err[200];
	struct serial *s = serial_open(simproc_path(&sp, "laser"), 115200, err, sizeof err);
	if (!s) {
		fprintf(stderr, "%s\n", err);
		return 0;
	}
	int fd = serial_fd(s);
	char rx[4096];
	size_t rl = 0;
	serial_write(s, "\x18", 1);
	usleep(200000);
	while (serial_read(s, rx, sizeof rx) > 0)
		;
	double t0 = now_mono();
	const char *p = job;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = (size_t)(nl - p) + 1;
		if (write_all(fd, p, len) < 0)
			break;
		p += len;
		for (;;) {
			struct pollfd pf = { fd, POLLIN, 0 };
			poll(&pf, 1, 1000);
			ssize_t n = serial_read(s, rx + rl, sizeof rx - rl - 1);
			if (n < 0)
				goto out;
			rl += (size_t)n;
			rx[rl] = '\0';
			char *ok = strstr(rx, "ok\r\n");
			char *er = strstr(rx, "error:");
			if (ok || er) {
				rl = 0;
				break;
			}
			if (rl > sizeof rx - 100)
				rl = 0;
		}
	}
out:;
	double t = now_mono() - t0;
	serial_close(s);
	return t;
}

static long
overruns(void)
{
	char reply[64];
	return simproc_ctl(&sp, reply, sizeof reply, "overruns laser") == 0 ? atol(reply) : -1;
}

int
main(void)
{
	size_t bytes;
	char *job = hatch_job(&bytes);
	if (simproc_start(&sp, NULL) < 0)
		return 1;
	struct cfg_errors e = { 0 };
	cfg = cfg_load("config/sim.yaml", &e);
	if (!cfg)
		return 1;
	free(cfg->device_dir);
	cfg->device_dir = xstrdup(sp.dir);
	simproc_ctl(&sp, NULL, 0, "timescale laser 1000");

	printf("GRBL streaming, %d hatch lines, %zu bytes, 115200 baud (line rate %.0f B/s)\n",
	    LINES, bytes, LINE_RATE);
	printf("%-22s %-22s %10s %10s %9s %9s\n", "sender", "simulated parser", "seconds",
	    "bytes/s", "of line", "overruns");
	static const struct { const char *name; double rate; } parsers[] = {
		{ "AVR, 450 lines/s", 450 }, { "fast, 5000 lines/s", 5000 },
	};
	for (size_t k = 0; k < 2; k++) {
		simproc_ctl(&sp, NULL, 0, "rate laser %g", parsers[k].rate);
		long o0 = overruns();
		double tc = run_counted(job);
		long o1 = overruns();
		double tp = run_ping_pong(job);
		long o2 = overruns();
		printf("%-22s %-22s %10.2f %10.0f %8.1f%% %9ld\n", "character counting",
		    parsers[k].name, tc, bytes / tc, 100 * bytes / tc / LINE_RATE, o1 - o0);
		printf("%-22s %-22s %10.2f %10.0f %8.1f%% %9ld\n", "line and wait for ok",
		    parsers[k].name, tp, bytes / tp, 100 * bytes / tp / LINE_RATE, o2 - o1);
	}
	printf("goal: character counting at >= 95%% of the line rate with 0 overruns "
	    "(fast parser row; an AVR's parser caps lines this short)\n");
	simproc_stop(&sp);
	cfg_free(cfg);
	free(job);
	return 0;
}
