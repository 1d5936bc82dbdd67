/*
 * The GPIO driver's simulator backend against the real simulator: first
 * levels, debounced events with logical values, a bouncing door reported
 * once, outputs seen in actuators.log, outputs released on close and when
 * the process holding them is killed, and the link lost and regained.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cfg/cfg.h"
#include "gpio.h"
#include "simproc.h"
#include "test.h"
#include "util.h"

static struct simproc sp;
static struct cfg *cfg;
/* A line of config/sim.yaml by name. */
#define LINE(name) cfg_line_lookup(cfg, name)
static struct gpio *gp;
static int events[CFG_MAX_LINES];     /* count per input */
static int last[CFG_MAX_LINES];
static int link_changes;

static void
on_event(int id, int value, void *arg)
{
	(void)arg;
	events[id]++;
	last[id] = value;
}

static void
on_link(bool up, const char *why, void *arg)
{
	(void)up;
	(void)why;
	(void)arg;
	link_changes++;
}

/* Runs the driver like the daemon's loop would, for secs. */
static void
pump(double secs)
{
	double end = now_mono() + secs;
	while (now_mono() < end) {
		if (!gp) {
			struct timespec ts = { 0, 5000000 };
			nanosleep(&ts, NULL);
			continue;
		}
		struct pollfd pfd[8];
		int n = gpio_pollfds(gp, pfd, 8);
		double dl = gpio_next_deadline(gp), now = now_mono();
		int ms = 5;
		if (dl > 0 && dl - now < 0.005)
			ms = dl > now ? (int)((dl - now) * 1000) + 1 : 0;
		if (poll(pfd, (nfds_t)n, ms) > 0)
			for (int i = 0; i < n; i++)
				if (pfd[i].revents)
					gpio_on_readable(gp, pfd[i].fd, pfd[i].revents);
		gpio_on_timer(gp, now_mono());
	}
}

static bool
known(void *arg)
{
	(void)arg;
	pump(0.01);
	for (int i = 0; i < (int)cfg->n_lines; i++)
		if (!cfg->lines[i].output && gpio_get(gp, i) < 0)
			return false;
	return true;
}

static void
t_first_levels(void)
{
	CHECK(gpio_link_up(gp));
	CHECK(wait_until(known, NULL, 10));
	CHECK_INT(gpio_get(gp, LINE("estop")), 0);       /* released (wire level 1, active low) */
	CHECK_INT(gpio_get(gp, LINE("laser.door")), 0);
	CHECK_INT(gpio_get(gp, LINE("tank.lid")), 0);
	CHECK_INT(gpio_get(gp, LINE("fume_ok")), 1);
}

static bool
estop_pressed(void *arg)
{
	(void)arg;
	pump(0.01);
	return last[LINE("estop")] == 1;
}

static void
t_events(void)
{
	int before = events[LINE("estop")];
	CHECK_INT(simproc_ctl(&sp, NULL, 0, "estop press"), 0);
	CHECK(wait_until(estop_pressed, NULL, 10));
	CHECK_INT(events[LINE("estop")], before + 1);
	CHECK_INT(gpio_get(gp, LINE("estop")), 1);
	simproc_ctl(&sp, NULL, 0, "estop release");
	pump(0.3);
	CHECK_INT(gpio_get(gp, LINE("estop")), 0);
}

static void
t_bouncing_door_reported_once(void)
{
	/* laser.door has a 0.3 s debounce in this configuration: open,
	 * close and open again within it is one change. */
	int before = events[LINE("laser.door")];
	simproc_ctl(&sp, NULL, 0, "door open");
	simproc_ctl(&sp, NULL, 0, "door close");
	simproc_ctl(&sp, NULL, 0, "door open");
	pump(1.0);
	CHECK_INT(events[LINE("laser.door")], before + 1);
	CHECK_INT(gpio_get(gp, LINE("laser.door")), 1);
	simproc_ctl(&sp, NULL, 0, "door close");
	pump(0.6);
	CHECK_INT(gpio_get(gp, LINE("laser.door")), 0);
}

static bool
logged(void *what)
{
	pump(0.005);
	return simproc_actuator_count(&sp, ((const char **)what)[0], ((const char **)what)[1]) > 0;
}

static void
t_outputs(void)
{
	const char *on[] = { "\"actuator\":\"laser.enable\"", "\"value\":1" };
	const char *off[] = { "\"actuator\":\"laser.enable\"", "\"value\":0" };
	CHECK_INT(gpio_set(gp, LINE("laser.enable"), 1), 0);
	CHECK_INT(gpio_get(gp, LINE("laser.enable")), 1);
	CHECK(wait_until(logged, on, 10));
	char reply[64];
	CHECK_INT(simproc_ctl(&sp, reply, sizeof reply, "get laser.enable"), 0);
	CHECK_STR(reply, "laser.enable 1");
	CHECK_INT(gpio_set(gp, LINE("estop"), 1), -1);   /* inputs are not driven */
	gpio_close(gp);
	gp = NULL;
	CHECK(wait_until(logged, off, 10));
}

static void
t_outputs_released_when_killed(void)
{
	const char *on[] = { "\"actuator\":\"tank.ultrasound_enable\"", "\"value\":1" };
	const char *off[] = { "\"actuator\":\"tank.ultrasound_enable\"", "\"value\":0" };
	pid_t child = fork();
	if (child == 0) {
		struct gpio *g = gpio_open(cfg, NULL, NULL, NULL);
		if (!g || gpio_set(g, LINE("tank.ultrasound_enable"), 1) < 0)
			_exit(1);
		for (;;)
			pause();
	}
	CHECK(child > 0);
	gp = gpio_open(cfg, on_event, on_link, NULL);    /* for pump() */
	CHECK(wait_until(logged, on, 10));
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	CHECK(wait_until(logged, off, 10));
}

static bool
link_is(void *want)
{
	pump(0.01);
	return gpio_link_up(gp) == (want != NULL);
}

static void
t_link_lost_and_regained(void)
{
	int before = link_changes;
	CHECK_INT(simproc_stop(&sp), 0);
	CHECK(wait_until(link_is, NULL, 10));
	CHECK_INT(gpio_get(gp, LINE("fume_ok")), -1);    /* unknown while down */
	CHECK_INT(gpio_set(gp, LINE("laser.beacon"), 1), -1);
	CHECK_INT(simproc_restart(&sp), 0);
	CHECK(wait_until(link_is, "", 10));
	CHECK(wait_until(known, NULL, 10));
	CHECK_INT(link_changes, before + 2);
}

int
main(void)
{
	if (simproc_start(&sp, NULL) < 0) {
		printf("FAIL: simulator start\n");
		return 1;
	}
	const char *conf = simproc_config_copy(&sp, "config/sim.yaml", "bench.yaml",
	    "door: {debounce: 0.005}", "door: {debounce: 0.3}");
	struct cfg_errors e = { 0 };
	cfg = conf ? cfg_load(conf, &e) : NULL;
	if (!cfg) {
		printf("FAIL: configuration copy (%s)\n", e.n ? e.msgs[0] : "not written");
		simproc_stop(&sp);
		return 1;
	}
	free(cfg->device_dir);
	cfg->device_dir = xstrdup(sp.dir);
	gp = gpio_open(cfg, on_event, on_link, NULL);
	RUN(t_first_levels);
	RUN(t_events);
	RUN(t_bouncing_door_reported_once);
	RUN(t_outputs);
	RUN(t_outputs_released_when_killed);
	RUN(t_link_lost_and_regained);
	gpio_close(gp);
	simproc_stop(&sp);
	cfg_free(cfg);
	return test_summary();
}
