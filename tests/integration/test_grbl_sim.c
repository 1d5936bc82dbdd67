/*
 * The GRBL driver against the simulated laser: handshake, settings read
 * and written one at a time with read-back, status polling, a G-code file
 * streamed end to end with character counting (no overrun), and the
 * faults: an error line, an alarm, the door, an unplug mid-stream with
 * reconnection, and refusals of bad programs before anything is sent.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg/cfg.h"
#include "grbl.h"
#include "simproc.h"
#include "test.h"
#include "util.h"

static struct simproc sp;
static struct cfg *cfg;
static struct grbl *g;

static struct {
	enum grbl_link link;
	int links_down, statuses, alarms, errors, done, done_ok, settings_ok, settings_bad;
	long err_line;
	int err_code;
	char err_text[100], done_why[400], last_state[8], message[128];
	int checks, check_ok;
	char check_why[400];
} ev;

static void
on_link(void *arg, enum grbl_link l, const char *why)
{
	(void)arg;
	(void)why;
	ev.link = l;
	if (l == GRBL_DOWN)
		ev.links_down++;
}

static void
on_status(void *arg, const struct grbl_status *st)
{
	(void)arg;
	ev.statuses++;
	snprintf(ev.last_state, sizeof ev.last_state, "%s", st->state);
}

static void
on_error(void *arg, long line_no, const char *line, int code, const char *meaning)
{
	(void)arg;
	(void)meaning;
	ev.errors++;
	ev.err_line = line_no;
	ev.err_code = code;
	snprintf(ev.err_text, sizeof ev.err_text, "%s", line);
}

static void
on_alarm(void *arg, int code, const char *meaning)
{
	(void)arg;
	(void)code;
	(void)meaning;
	ev.alarms++;
}

static void
on_message(void *arg, const char *text)
{
	(void)arg;
	snprintf(ev.message, sizeof ev.message, "%s", text);
}

static void
on_done(void *arg, bool ok, const char *why)
{
	(void)arg;
	ev.done++;
	ev.done_ok = ok;
	snprintf(ev.done_why, sizeof ev.done_why, "%s", why ? why : "");
}

static void
on_setting(void *arg, int num, double value, bool verified)
{
	(void)arg;
	(void)num;
	(void)value;
	if (verified)
		ev.settings_ok++;
	else
		ev.settings_bad++;
}

static void
on_checked(void *arg, bool ok, const char *why)
{
	(void)arg;
	ev.checks++;
	ev.check_ok = ok;
	snprintf(ev.check_why, sizeof ev.check_why, "%s", why ? why : "");
}

static const struct grbl_events events = { .link = on_link, .status = on_status,
	.error = on_error, .alarm = on_alarm, .message = on_message, .stream_done = on_done,
	.setting = on_setting, .checked = on_checked };

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
cond_done(void *arg)
{
	int want = *(int *)arg;
	pump(0.01);
	return ev.done >= want;
}

static void
t_handshake(void)
{
	CHECK(wait_until(cond_ready, NULL, 20));
	CHECK_NEAR(grbl_setting(g, 30), 1000, 1e-9);   /* $$ was read */
	CHECK_NEAR(grbl_setting(g, 32), 1, 1e-9);
	pump(0.5);
	CHECK(ev.statuses >= 1);
	CHECK_STR(ev.last_state, "Idle");
}

static void
t_setting_written_and_read_back(void)
{
	char err[200];
	CHECK_INT(grbl_write_setting(g, 10, 3, err, sizeof err), 0);
	CHECK_INT(grbl_write_setting(g, 11, 0.02, err, sizeof err), -1);  /* one at a time */
	CHECK_CONTAINS(err, "another setting");
	double end = now_mono() + 10;
	while (ev.settings_ok + ev.settings_bad == 0 && now_mono() < end)
		pump(0.01);
	CHECK_INT(ev.settings_ok, 1);
	CHECK_NEAR(grbl_setting(g, 10), 3, 1e-9);
	pump(0.5);
	CHECK(grbl_last_status(g)->has_bf);             /* $10=3 asks for Bf: */
	CHECK_INT(grbl_command(g, "$10=1", err, sizeof err), -1);
}

static void
t_stream_file_end_to_end(void)
{
	char err[200], reply[512];
	char path[300];
	snprintf(path, sizeof path, "%s/job.gcode", sp.dir);
	FILE *f = fopen(path, "w");
	fprintf(f, "; hatch fill test\nG21 G90\nM4 S300\n");
	for (int i = 0; i < 300; i++)
		fprintf(f, "G1 X%d.%03d Y%d F6000 (row %d)\n", i % 10, i, i % 7, i);
	fprintf(f, "M5\nG0 X0 Y0\n");
	fclose(f);
	int want = ev.done + 1;
	CHECK_INT(grbl_stream_file(g, path, err, sizeof err), 0);
	CHECK(grbl_streaming(g));
	CHECK_INT(grbl_command(g, "G0 X1", err, sizeof err), -1);
	CHECK_CONTAINS(err, "running a job");
	struct grbl_progress p;
	double end = now_mono() + 120;
	size_t max_inflight = 0;
	while (ev.done < want && now_mono() < end) {
		pump(0.005);
		grbl_progress(g, &p);
		if (p.in_flight_bytes > max_inflight)
			max_inflight = p.in_flight_bytes;
	}
	CHECK(ev.done_ok);
	grbl_progress(g, &p);
	CHECK_INT(p.total, 304);
	CHECK_INT(p.acked, 304);
	CHECK(max_inflight <= GRBL_RX_BUFFER);
	CHECK(max_inflight > 60);       /* the buffer was kept full, not one line at a time */
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "overruns laser"), 0);
	CHECK_STR(reply, "0");
}

static void
t_error_mid_stream_stops_and_names_the_line(void)
{
	char err[200];
	int want = ev.done + 1;
	int errors = ev.errors;
	CHECK_INT(grbl_stream_text(g, "G21\nG1 X1 F600\nG5 X2\nG1 X3\nG1 X4\n", err, sizeof err), 0);
	CHECK(wait_until(cond_done, &want, 30));
	CHECK(!ev.done_ok);
	CHECK_INT(ev.errors, errors + 1);
	CHECK_INT(ev.err_line, 3);
	CHECK_STR(ev.err_text, "G5X2");
	CHECK_INT(ev.err_code, 20);
	CHECK_CONTAINS(ev.done_why, "line 3 (G5X2): error:20, unsupported command");
	/* The driver held the machine; resume it for the next tests. */
	grbl_realtime(g, GRBL_RT_RESUME);
	pump(1.5);
}

static void
t_bad_programs_refused_before_sending(void)
{
	char err[200];
	char longl[200];
	memset(longl, 'X', 100);
	longl[100] = '\0';
	char prog[300];
	snprintf(prog, sizeof prog, "G21\nG1 X1 F100\n%s\n", longl);
	CHECK_INT(grbl_stream_text(g, prog, err, sizeof err), -1);
	CHECK_CONTAINS(err, "line 3");
	CHECK_INT(grbl_stream_text(g, "G1 X1\nG1 Y\xe9\n", err, sizeof err), -1);
	CHECK_CONTAINS(err, "line 2 is not printable ASCII");
	CHECK_INT(grbl_stream_text(g, "(nothing)\n\n", err, sizeof err), -1);
	CHECK_CONTAINS(err, "no G-code line");
	CHECK(!grbl_streaming(g));
}

static void
t_alarm_mid_stream(void)
{
	char err[200];
	int want = ev.done + 1, alarms = ev.alarms;
	CHECK_INT(grbl_stream_text(g, "G1 X50 F300\nG1 X0\nG1 X50\n", err, sizeof err), 0);
	pump(0.3);
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "alarm laser 1"), 0);
	CHECK(wait_until(cond_done, &want, 30));
	CHECK(!ev.done_ok);
	CHECK_INT(ev.alarms, alarms + 1);
	CHECK_CONTAINS(ev.done_why, "ALARM:1, hard limit");
	grbl_realtime(g, GRBL_RT_RESET);
	pump(0.5);
	CHECK_INT(grbl_command(g, "$X", err, sizeof err), 0);
	pump(0.5);
}

static bool
cond_door(void *arg)
{
	(void)arg;
	pump(0.01);
	return strcmp(grbl_last_status(g)->state, "Door") == 0;
}

static void
t_door_mid_stream(void)
{
	char err[200];
	CHECK_INT(grbl_stream_text(g, "G1 X30 F300\nG1 X0\n", err, sizeof err), 0);
	pump(0.3);
	simproc_ctl(&sp, NULL, 0, "door open");
	CHECK(wait_until(cond_door, NULL, 10));
	CHECK_CONTAINS(grbl_last_status(g)->pins, "D");
	simproc_ctl(&sp, NULL, 0, "door close");
	pump(0.3);
	grbl_stream_cancel(g, "test over");
	grbl_realtime(g, GRBL_RT_RESET);
	pump(0.5);
	grbl_command(g, "$X", err, sizeof err);
	pump(0.5);
}

static void
t_unplug_mid_stream_then_reconnect(void)
{
	char err[200];
	int want = ev.done + 1, downs = ev.links_down;
	/* More slow moves than GRBL's planner and buffer hold at once. */
	struct buf prog;
	buf_init(&prog);
	for (int i = 0; i < 60; i++)
		buf_printf(&prog, "G1 X%d F300\n", i % 2 ? 0 : 30);
	CHECK_INT(grbl_stream_text(g, prog.data, err, sizeof err), 0);
	buf_free(&prog);
	pump(0.3);
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "unplug laser"), 0);
	CHECK(wait_until(cond_done, &want, 10));
	CHECK(!ev.done_ok);
	CHECK_CONTAINS(ev.done_why, "the job is not resumed");
	CHECK_INT(ev.links_down, downs + 1);
	CHECK(!grbl_streaming(g));
	pump(0.5);
	CHECK(ev.link == GRBL_DOWN);
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "replug laser"), 0);
	CHECK(wait_until(cond_ready, NULL, 20));
}

static bool
cond_checked(void *arg)
{
	int want = *(int *)arg;
	pump(0.01);
	return ev.checks >= want;
}

/* GRBL's check mode: every line parsed and answered, nothing run; the
 * first line refused is named; check mode is left, GRBL idle again. */
static void
t_check_mode(void)
{
	char err[200], reply[600];
	CHECK(wait_until(cond_ready, NULL, 20));
	simproc_ctl(&sp, reply, sizeof reply, "status laser");
	char *pos = strstr(reply, "\"pos\"");
	char before[64];
	snprintf(before, sizeof before, "%.30s", pos ? pos : "");
	int want = ev.checks + 1, done = ev.done;
	CHECK_INT(grbl_check_text(g, "G21 G90\nM4 S500\nG1 X20 Y5 F300\nG1 X1 X2\nG1 Y20\n",
	    err, sizeof err), 0);
	CHECK(grbl_checking(g));
	CHECK_INT(grbl_stream_text(g, "G1 X1\n", err, sizeof err), -1);
	CHECK_CONTAINS(err, "checking a program");
	CHECK(wait_until(cond_checked, &want, 20));
	CHECK(!ev.check_ok);
	CHECK_CONTAINS(ev.check_why, "line 4 (G1X1X2): error:25");
	CHECK_INT(ev.done, done);          /* a check is not a stream */
	CHECK(!grbl_checking(g));
	pump(0.5);
	simproc_ctl(&sp, reply, sizeof reply, "status laser");
	CHECK_CONTAINS(reply, "\"state\":\"Idle\"");
	CHECK_CONTAINS(reply, before);     /* nothing moved */
	CHECK_CONTAINS(reply, "\"emitting\":false");
	want = ev.checks + 1;
	CHECK_INT(grbl_check_text(g, "G21 G90\nG1 X20 Y5 F300\nG1 Y20\n", err, sizeof err), 0);
	CHECK(wait_until(cond_checked, &want, 20));
	CHECK(ev.check_ok);
	pump(0.5);
	simproc_ctl(&sp, reply, sizeof reply, "status laser");
	CHECK_CONTAINS(reply, before);
	CHECK(ev.link == GRBL_READY);
}

/* A GRBL on an Arduino reboots when its port opens: its power-up banner,
 * then the banner of our own reset. One handshake takes both. */
static void
t_controller_that_resets_on_open(void)
{
	const char *conf = simproc_config_copy(&sp, "config/sim.yaml", "arduino.yaml", "\nsim:\n",
	    "\nsim:\n  laser_reset_on_open: true\n");
	CHECK(conf != NULL);
	if (!conf)
		return;
	struct simproc sp2;
	CHECK_INT(simproc_start(&sp2, conf), 0);
	struct cfg_errors e = { 0 };
	struct cfg *c2 = cfg_load(conf, &e);
	CHECK(c2 != NULL);
	if (!c2)
		return;
	free(c2->device_dir);
	c2->device_dir = xstrdup(sp2.dir);
	struct grbl *g1 = g;
	memset(&ev, 0, sizeof ev);
	g = grbl_new(c2, &c2->stations[cfg_station_of_kind(c2, KIND_LASER, 0)].laser, &events, NULL);
	CHECK(wait_until(cond_ready, NULL, 20));
	CHECK_INT(ev.links_down, 0);       /* the first attempt, not a retry */
	CHECK_NEAR(grbl_setting(g, 32), 1, 1e-9);
	FILE *f = fopen(simproc_path(&sp2, "sim.stderr"), "r");
	char line[300];
	bool rebooted = false;
	while (f && fgets(line, sizeof line, f))
		rebooted |= strstr(line, "rebooting, as an Arduino does") != NULL;
	if (f)
		fclose(f);
	CHECK(rebooted);
	grbl_free(g);
	g = g1;
	simproc_stop(&sp2);
	cfg_free(c2);
}

int
main(void)
{
	if (simproc_start(&sp, NULL) < 0) {
		printf("FAIL: simulator start\n");
		return 1;
	}
	struct cfg_errors e = { 0 };
	cfg = cfg_load("config/sim.yaml", &e);
	if (!cfg) {
		printf("FAIL: configuration\n");
		return 1;
	}
	free(cfg->device_dir);
	cfg->device_dir = xstrdup(sp.dir);
	g = grbl_new(cfg, &cfg->stations[cfg_station_of_kind(cfg, KIND_LASER, 0)].laser, &events,
	    NULL);
	RUN(t_handshake);
	RUN(t_setting_written_and_read_back);
	RUN(t_stream_file_end_to_end);
	RUN(t_error_mid_stream_stops_and_names_the_line);
	RUN(t_bad_programs_refused_before_sending);
	RUN(t_alarm_mid_stream);
	RUN(t_door_mid_stream);
	RUN(t_unplug_mid_stream_then_reconnect);
	RUN(t_check_mode);
	RUN(t_controller_that_resets_on_open);
	grbl_free(g);
	CHECK_INT(simproc_stop(&sp), 0);
	cfg_free(cfg);
	return test_summary();
}
