/*
 * Inside the check-vm guest: the GPIO driver's libgpiod backend
 * (drivers/gpio_gpiod.c through gpio_open) on real kernel GPIO chips, two
 * gpio-sim chips made by tests/vm/guest-init (configfs "in" and "out",
 * labels atelier-in and atelier-out). Inputs are driven by writing the
 * simulated pull of a line (sim_gpioN/pull, what a button or a switch
 * does to the wire); outputs are observed in sim_gpioN/value, the level
 * on the wire; the input chip is also made to disappear and return
 * (configfs "live"), as a USB GPIO adapter pulled out and plugged back.
 * Each case prints PASS:/FAIL: with its name for the host.
 *
 *   guest-gpio CONFIG            every case but the chip removal
 *   guest-gpio CONFIG removal    the chip removed and back, alone: the
 *                                init runs it last (docs/check-vm.md)
 */
#include <errno.h>
#include <gpiod.h>
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

static struct cfg *cfg;
/* A line of tests/vm/guest.yaml by name. */
#define LINE(name) cfg_line_lookup(cfg, name)
static struct gpio *gp;
static int events[CFG_MAX_LINES];
static int last[CFG_MAX_LINES];
static double last_at[CFG_MAX_LINES];

/* sysfs folder of a gpio-sim chip's lines, from its configfs entry. */
static char in_dir[256], out_dir[256];

static int
read_text(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(out, (int)len, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

static int
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int rc = fputs(text, f) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

static int
sim_dir(const char *configfs_name, char *out, size_t len)
{
	char p[256], dev[64], chip[64];
	snprintf(p, sizeof p, "/sys/kernel/config/gpio-sim/%s/dev_name", configfs_name);
	if (read_text(p, dev, sizeof dev) < 0)
		return -1;
	snprintf(p, sizeof p, "/sys/kernel/config/gpio-sim/%s/bank0/chip_name", configfs_name);
	if (read_text(p, chip, sizeof chip) < 0)
		return -1;
	snprintf(out, len, "/sys/devices/platform/%s/%s", dev, chip);
	return 0;
}

/* The wire level the chip simulates on a line: pull for an input. */
static int
set_pull(const char *dir, int offset, int level)
{
	char p[320];
	snprintf(p, sizeof p, "%s/sim_gpio%d/pull", dir, offset);
	return write_text(p, level ? "pull-up" : "pull-down");
}

/* The wire level of a line as the chip has it: what an output drives. */
static int
wire(const char *dir, int offset)
{
	char p[320], v[8];
	snprintf(p, sizeof p, "%s/sim_gpio%d/value", dir, offset);
	return read_text(p, v, sizeof v) < 0 ? -1 : atoi(v);
}

/* Input offsets as guest-init names the lines of atelier-in. */
enum { IN_ESTOP = 0, IN_DOOR = 1, IN_LID = 2, IN_FUME = 3 };

static int
out_offset(int id)
{
	return cfg->lines[id].gl->offset;
}

/* Whether a line of a chip is requested by some process now, and by whom. */
static bool
line_used(const char *label, unsigned offset, char *consumer, size_t len)
{
	struct gpiod_chip *c = gpiod_chip_open_by_label(label);
	if (!c)
		return false;
	struct gpiod_line *l = gpiod_chip_get_line(c, offset);
	bool used = l && gpiod_line_is_used(l);
	if (consumer) {
		const char *who = l ? gpiod_line_consumer(l) : NULL;
		snprintf(consumer, len, "%s", who ? who : "");
	}
	gpiod_chip_close(c);
	return used;
}

static int links_up, links_down;

static void
on_link(bool up, const char *why, void *arg)
{
	(void)why;
	(void)arg;
	if (up)
		links_up++;
	else
		links_down++;
}

static void
on_event(int id, int value, void *arg)
{
	(void)arg;
	events[id]++;
	last[id] = value;
	last_at[id] = now_mono();
}

/* Runs the driver as the daemon's loop would, for secs. */
static void
pump(double secs)
{
	double end = now_mono() + secs;
	do {
		if (!gp) {
			usleep(5000);
			continue;
		}
		struct pollfd pfd[16];
		int n = gpio_pollfds(gp, pfd, 16);
		double dl = gpio_next_deadline(gp), now = now_mono();
		int ms = 5;
		if (dl > 0 && dl - now < 0.005)
			ms = dl > now ? (int)((dl - now) * 1000) + 1 : 0;
		if (poll(pfd, (nfds_t)n, ms) > 0)
			for (int i = 0; i < n; i++)
				if (pfd[i].revents)
					gpio_on_readable(gp, pfd[i].fd, pfd[i].revents);
		gpio_on_timer(gp, now_mono());
	} while (now_mono() < end);
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

struct want {
	int id;
	int value;
};

static bool
reported(void *arg)
{
	const struct want *w = arg;
	pump(0.005);
	return gpio_get(gp, w->id) == w->value;
}

static void
t_gpiod_open_by_label_and_line_name(void)
{
	char who[64];
	CHECK(gp != NULL);
	if (!gp)
		return;
	CHECK(gpio_link_up(gp));
	/* Every configured line is held by the driver, under its name. */
	CHECK(line_used("atelier-in", IN_ESTOP, who, sizeof who));
	CHECK_STR(who, "atelierd");
	CHECK(line_used("atelier-in", IN_FUME, NULL, 0));
	CHECK(line_used("atelier-out", (unsigned)out_offset(LINE("laser.beacon")), who, sizeof who));
	CHECK_STR(who, "atelierd");
	/* A line nobody configured stays free. */
	CHECK(!line_used("atelier-out", 7, NULL, 0));
}

static void
t_gpiod_first_levels(void)
{
	CHECK(wait_until(known, NULL, 10));
	CHECK_INT(gpio_get(gp, LINE("estop")), 0);        /* NC button closed: wire 1, active low */
	CHECK_INT(gpio_get(gp, LINE("laser.door")), 0);
	CHECK_INT(gpio_get(gp, LINE("tank.lid")), 0);
	CHECK_INT(gpio_get(gp, LINE("fume_ok")), 1);
	/* Each first level came as one event. */
	CHECK_INT(events[LINE("estop")], 1);
	CHECK_INT(events[LINE("fume_ok")], 1);
}

static void
t_gpiod_edge_events_from_pulls(void)
{
	int before = events[LINE("estop")];
	/* The e-stop pressed opens its NC contact: the wire falls to 0. */
	double t0 = now_mono();
	CHECK_INT(set_pull(in_dir, IN_ESTOP, 0), 0);
	struct want pressed = { LINE("estop"), 1 }, released = { LINE("estop"), 0 };
	CHECK(wait_until(reported, &pressed, 5));
	CHECK_INT(events[LINE("estop")], before + 1);
	CHECK_INT(last[LINE("estop")], 1);
	/* Towards danger is reported at the edge, not after a debounce. */
	CHECK(last_at[LINE("estop")] - t0 < 0.5);
	CHECK_INT(set_pull(in_dir, IN_ESTOP, 1), 0);
	CHECK(wait_until(reported, &released, 5));
	CHECK_INT(events[LINE("estop")], before + 2);
	/* The fume extraction stopping (active high input) is seen too. */
	struct want fume_stop = { LINE("fume_ok"), 0 }, fume_run = { LINE("fume_ok"), 1 };
	CHECK_INT(set_pull(in_dir, IN_FUME, 0), 0);
	CHECK(wait_until(reported, &fume_stop, 5));
	CHECK_INT(set_pull(in_dir, IN_FUME, 1), 0);
	CHECK(wait_until(reported, &fume_run, 5));
}

static void
t_gpiod_debounce_on_a_bouncing_door(void)
{
	/* laser.door has 0.3 s of debounce in guest.yaml. Open, closed,
	 * open within it: one change, reported at the first opening. */
	int before = events[LINE("laser.door")];
	CHECK_INT(set_pull(in_dir, IN_DOOR, 1), 0);
	usleep(20000);
	CHECK_INT(set_pull(in_dir, IN_DOOR, 0), 0);
	usleep(20000);
	CHECK_INT(set_pull(in_dir, IN_DOOR, 1), 0);
	pump(0.8);
	CHECK_INT(events[LINE("laser.door")], before + 1);
	CHECK_INT(gpio_get(gp, LINE("laser.door")), 1);
	/* Closing is believed only once the line stayed quiet for 0.3 s
	 * (timed by when the change was reported, not by polling it, which
	 * a loaded emulator could delay). */
	double t0 = now_mono();
	CHECK_INT(set_pull(in_dir, IN_DOOR, 0), 0);
	struct want closed = { LINE("laser.door"), 0 };
	CHECK(wait_until(reported, &closed, 5));
	CHECK(last_at[LINE("laser.door")] - t0 >= 0.3);
	CHECK_INT(events[LINE("laser.door")], before + 2);
}

static void
t_gpiod_outputs_on_the_wire(void)
{
	/* Opened inactive: relays off (0), the active-low beacon at 1. */
	CHECK_INT(wire(out_dir, out_offset(LINE("laser.enable"))), 0);
	CHECK_INT(wire(out_dir, out_offset(LINE("tank.ultrasound_enable"))), 0);
	CHECK_INT(wire(out_dir, out_offset(LINE("laser.beacon"))), 1);
	CHECK_INT(gpio_set(gp, LINE("laser.enable"), 1), 0);
	CHECK_INT(wire(out_dir, out_offset(LINE("laser.enable"))), 1);
	CHECK_INT(gpio_get(gp, LINE("laser.enable")), 1);
	CHECK_INT(gpio_set(gp, LINE("laser.beacon"), 1), 0);
	CHECK_INT(wire(out_dir, out_offset(LINE("laser.beacon"))), 0);
	CHECK_INT(gpio_set(gp, LINE("laser.enable"), 0), 0);
	CHECK_INT(wire(out_dir, out_offset(LINE("laser.enable"))), 0);
	CHECK_INT(gpio_set(gp, LINE("estop"), 1), -1);    /* inputs are not driven */
}

static void
t_gpiod_second_opener_refused(void)
{
	struct gpio *other = gpio_open(cfg, NULL, NULL, NULL);
	CHECK(other == NULL);
	gpio_close(other);
	/* The refusal left the first opener's lines as they were. */
	CHECK(line_used("atelier-in", IN_ESTOP, NULL, 0));
	CHECK_INT(wire(out_dir, out_offset(LINE("laser.beacon"))), 0);
}

static void
t_gpiod_outputs_released_on_close(void)
{
	CHECK_INT(gpio_set(gp, LINE("tank.heater_enable"), 1), 0);
	CHECK_INT(gpio_set(gp, LINE("bath.rectifier_enable"), 1), 0);
	CHECK_INT(wire(out_dir, out_offset(LINE("tank.heater_enable"))), 1);
	gpio_close(gp);
	gp = NULL;
	CHECK_INT(wire(out_dir, out_offset(LINE("tank.heater_enable"))), 0);
	CHECK_INT(wire(out_dir, out_offset(LINE("bath.rectifier_enable"))), 0);
	CHECK_INT(wire(out_dir, out_offset(LINE("laser.beacon"))), 1);
	CHECK(!line_used("atelier-out", (unsigned)out_offset(LINE("tank.heater_enable")), NULL, 0));
	CHECK(!line_used("atelier-in", IN_ESTOP, NULL, 0));
}

static void
t_gpiod_outputs_released_on_sigkill(void)
{
	int ready[2];
	CHECK_INT(pipe(ready), 0);
	pid_t child = fork();
	if (child == 0) {
		struct gpio *g = gpio_open(cfg, NULL, NULL, NULL);
		if (!g || gpio_set(g, LINE("tank.ultrasound_enable"), 1) < 0 ||
		    gpio_set(g, LINE("laser.beacon"), 1) < 0)
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	CHECK(child > 0);
	char c = 0;
	CHECK_INT(read(ready[0], &c, 1), 1);
	close(ready[0]);
	close(ready[1]);
	CHECK_INT(wire(out_dir, out_offset(LINE("tank.ultrasound_enable"))), 1);
	CHECK_INT(wire(out_dir, out_offset(LINE("laser.beacon"))), 0);
	CHECK(line_used("atelier-out", (unsigned)out_offset(LINE("tank.ultrasound_enable")), NULL, 0));
	kill(child, SIGKILL);
	int status = 0;
	waitpid(child, &status, 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* The kernel released the lines of the dead process; the wire went
	 * to the bench's pull, the inactive level. */
	CHECK(!line_used("atelier-out", (unsigned)out_offset(LINE("tank.ultrasound_enable")), NULL, 0));
	CHECK_INT(wire(out_dir, out_offset(LINE("tank.ultrasound_enable"))), 0);
	CHECK_INT(wire(out_dir, out_offset(LINE("laser.beacon"))), 1);
	/* And they can be opened again at once. */
	gp = gpio_open(cfg, on_event, on_link, NULL);
	CHECK(gp != NULL);
	if (gp)
		CHECK(wait_until(known, NULL, 10));
}

static bool
link_is(void *want)
{
	pump(0.01);
	return gpio_link_up(gp) == (want != NULL);
}

/* Makes the input chip disappear (as a USB GPIO adapter pulled out) or
 * come back, through configfs. */
static int
chip_live(const char *name, int live)
{
	char p[256];
	snprintf(p, sizeof p, "/sys/kernel/config/gpio-sim/%s/live", name);
	return write_text(p, live ? "1" : "0");
}

static void
t_gpiod_chip_removed_and_back(void)
{
	CHECK(gp != NULL);
	if (!gp)
		return;
	CHECK(wait_until(known, NULL, 10));
	CHECK_INT(gpio_set(gp, LINE("laser.enable"), 1), 0);
	int downs = links_down, ups = links_up;
	CHECK_INT(chip_live("in", 0), 0);
	/* The driver sees the chip go: the link is down, every input
	 * unknown, nothing can be driven, and the outputs it held on the
	 * other chip were released inactive. */
	CHECK(wait_until(link_is, NULL, 5));
	CHECK_INT(links_down, downs + 1);
	CHECK_INT(gpio_get(gp, LINE("estop")), -1);
	CHECK_INT(gpio_set(gp, LINE("laser.beacon"), 1), -1);
	CHECK_INT(wire(out_dir, out_offset(LINE("laser.enable"))), 0);
	CHECK(!line_used("atelier-out", (unsigned)out_offset(LINE("laser.enable")), NULL, 0));
	/* Not a busy loop on the dead descriptors: pumping for a while keeps
	 * one link-down report. */
	pump(1.5);
	CHECK_INT(links_down, downs + 1);
	CHECK(!gpio_link_up(gp));
	/* The chip is back (its pulls at rest again): the link returns with
	 * the levels read afresh. */
	CHECK_INT(chip_live("in", 1), 0);
	CHECK_INT(sim_dir("in", in_dir, sizeof in_dir), 0);
	int rest[] = { [IN_ESTOP] = 1, [IN_DOOR] = 0, [IN_LID] = 0, [IN_FUME] = 1 };
	for (int i = 0; i < 4; i++)
		CHECK_INT(set_pull(in_dir, i, rest[i]), 0);
	CHECK(wait_until(link_is, "", 10));
	CHECK_INT(links_up, ups + 1);
	struct want released = { LINE("estop"), 0 }, fume = { LINE("fume_ok"), 1 };
	CHECK(wait_until(reported, &released, 5));
	CHECK(wait_until(reported, &fume, 5));
	CHECK(line_used("atelier-in", IN_ESTOP, NULL, 0));
	CHECK_INT(wire(out_dir, out_offset(LINE("laser.enable"))), 0);    /* back inactive */
}

static void
t_gpiod_missing_line_refused(void)
{
	/* A configuration naming a line the chip does not have fails to
	 * open, and holds nothing afterwards. */
	gpio_close(gp);
	gp = NULL;
	struct cfg_gpio_line *lid = &cfg->stations[cfg->lines[LINE("tank.lid")].station].lines[ROLE_LID];
	char *saved = lid->line_name;
	lid->line_name = (char *)"NO_SUCH_LINE";
	struct gpio *g = gpio_open(cfg, NULL, NULL, NULL);
	CHECK(g == NULL);
	gpio_close(g);
	lid->line_name = saved;
	CHECK(!line_used("atelier-in", IN_ESTOP, NULL, 0));
	CHECK(!line_used("atelier-out", (unsigned)out_offset(LINE("laser.enable")), NULL, 0));
}

int
main(int argc, char **argv)
{
	bool removal = argc == 3 && strcmp(argv[2], "removal") == 0;
	if (argc != 2 && !removal) {
		fprintf(stderr, "usage: guest-gpio CONFIG [removal]\n");
		return 2;
	}
	struct cfg_errors e = { 0 };
	cfg = cfg_load(argv[1], &e);
	if (!cfg || sim_dir("in", in_dir, sizeof in_dir) < 0 ||
	    sim_dir("out", out_dir, sizeof out_dir) < 0) {
		printf("FAIL: guest-gpio set-up (%s)\n", e.n ? e.msgs[0] : strerror(errno));
		return 1;
	}
	/* The bench's wiring at rest: the NC e-stop closed (1), door and lid
	 * closed (0), fume extraction running (1); outputs pulled to their
	 * inactive level, as the relay board's resistors would. */
	int rest[] = { [IN_ESTOP] = 1, [IN_DOOR] = 0, [IN_LID] = 0, [IN_FUME] = 1 };
	for (int i = 0; i < 4; i++)
		set_pull(in_dir, i, rest[i]);
	for (int l = 0; l < (int)cfg->n_lines; l++)
		if (cfg->lines[l].output)
			set_pull(out_dir, out_offset(l), cfg->lines[l].gl->active_low);
	gp = gpio_open(cfg, on_event, on_link, NULL);
	if (removal) {
		/* Removing a chip whose lines are requested is not safe in the
		 * 6.1 kernel, so it is done once, last, in a run of its own. */
		RUN(t_gpiod_chip_removed_and_back);
		gpio_close(gp);
		cfg_free(cfg);
		return test_summary();
	}
	RUN(t_gpiod_open_by_label_and_line_name);
	if (!gp)
		return test_summary();
	RUN(t_gpiod_first_levels);
	RUN(t_gpiod_edge_events_from_pulls);
	RUN(t_gpiod_debounce_on_a_bouncing_door);
	RUN(t_gpiod_outputs_on_the_wire);
	RUN(t_gpiod_second_opener_refused);
	RUN(t_gpiod_outputs_released_on_close);
	RUN(t_gpiod_outputs_released_on_sigkill);
	RUN(t_gpiod_missing_line_refused);
	gpio_close(gp);
	cfg_free(cfg);
	return test_summary();
}
