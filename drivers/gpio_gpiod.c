/*
 * GPIO backend for real chips through libgpiod v1.6 (Debian 12). Chips are
 * found by name, label, path or number (gpiod_chip_open_lookup); lines by
 * offset or by name. Every line is requested with the consumer "atelierd":
 * outputs at their inactive level, inputs for events on both edges, with
 * the active-low flag from the configuration so that libgpiod hands out
 * logical values. After each event the level is read again once the
 * debounce period has passed (gpio.c). On close every output is driven
 * inactive before its line is released.
 *
 * A chip can go away under the driver (a USB GPIO adapter pulled out, a
 * board's driver unbound): the kernel then reports POLLHUP | POLLERR on
 * every event descriptor of its lines for ever, and reads fail with
 * ENODEV. That is a lost link, as for the simulator's socket: the lines
 * are released, the inputs become unknown (which the interlock treats as
 * unsafe), and the lines are requested again every second until the chip
 * is back.
 */
#include <errno.h>
#include <gpiod.h>
#include <stdlib.h>
#include <string.h>

#include "gpio.h"
#include "log.h"
#include "util.h"

#define CONSUMER "atelierd"

struct gchip {
	char *name;
	struct gpiod_chip *chip;
};

struct gpiod_be {
	struct gchip chips[CFG_MAX_LINES];
	size_t n_chips;
	struct gpiod_line *line[CFG_MAX_LINES];
	int fd[CFG_MAX_LINES];
	bool open;              /* every line requested */
	double retry_at;        /* while not: monotonic s of the next attempt */
	bool quiet;             /* the last attempt's failure was logged */
};

static struct gpiod_chip *
chip_for(struct gpiod_be *b, const char *name)
{
	for (size_t i = 0; i < b->n_chips; i++)
		if (strcmp(b->chips[i].name, name) == 0)
			return b->chips[i].chip;
	struct gpiod_chip *c = gpiod_chip_open_lookup(name);
	if (!c)
		return NULL;
	b->chips[b->n_chips].name = xstrdup(name);
	b->chips[b->n_chips++].chip = c;
	return c;
}

/* Drives the outputs inactive, releases every line, closes the chips. */
static void
release_all(const struct cfg *cfg, struct gpiod_be *b)
{
	for (size_t i = 0; i < cfg->n_lines; i++) {
		if (!b->line[i])
			continue;
		if (cfg->lines[i].output)
			gpiod_line_set_value(b->line[i], 0);
		gpiod_line_release(b->line[i]);
		b->line[i] = NULL;
	}
	for (size_t i = 0; i < b->n_chips; i++) {
		gpiod_chip_close(b->chips[i].chip);
		free(b->chips[i].name);
	}
	b->n_chips = 0;
	for (size_t i = 0; i < CFG_MAX_LINES; i++)
		b->fd[i] = -1;
	b->open = false;
}

static void
gd_close(struct gpio *g)
{
	struct gpiod_be *b = g->priv;
	if (!b)
		return;
	release_all(g->cfg, b);
	free(b);
	g->priv = NULL;
}

/* Requests every line; returns 0, or -1 with everything released (the
 * reason logged unless quiet). */
static int
request_all(struct gpio *g, bool quiet)
{
	struct gpiod_be *b = g->priv;
	for (size_t i = 0; i < g->cfg->n_lines; i++) {
		const struct cfg_gpio_line *cl = g->cfg->lines[i].gl;
		const char *name = g->cfg->lines[i].name;
		bool output = g->cfg->lines[i].output;
		b->fd[i] = -1;
		struct gpiod_chip *chip = cl->chip ? chip_for(b, cl->chip) : NULL;
		if (!chip) {
			if (!quiet)
				log_errno("gpio: %s: cannot open chip '%s'", name,
				    cl->chip ? cl->chip : "?");
			goto fail;
		}
		b->line[i] = cl->line_name ? gpiod_chip_find_line(chip, cl->line_name) :
		    gpiod_chip_get_line(chip, (unsigned)cl->offset);
		if (!b->line[i]) {
			if (quiet)
				;
			else if (cl->line_name)
				log_err("gpio: %s: chip '%s' has no line named '%s'", name, cl->chip,
				    cl->line_name);
			else
				log_err("gpio: %s: chip '%s' has no line at offset %d", name, cl->chip,
				    cl->offset);
			goto fail;
		}
		int flags = cl->active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0;
		int rc = !output ?
		    gpiod_line_request_both_edges_events_flags(b->line[i], CONSUMER, flags) :
		    gpiod_line_request_output_flags(b->line[i], CONSUMER, flags, 0);
		if (rc < 0) {
			if (!quiet)
				log_errno("gpio: %s: cannot request the line (is another program "
				    "using it?)", name);
			b->line[i] = NULL;
			goto fail;
		}
		if (!output)
			b->fd[i] = gpiod_line_event_get_fd(b->line[i]);
	}
	b->open = true;
	gpio_link(g, true, NULL);
	/* The first level of every input is known at once. */
	double now = now_mono();
	for (size_t i = 0; i < g->cfg->n_lines; i++) {
		if (g->cfg->lines[i].output)
			continue;
		g->deb[i].armed = true;
		g->deb[i].deadline = now;
	}
	return 0;
fail:
	release_all(g->cfg, b);
	return -1;
}

static int
gd_open(struct gpio *g)
{
	struct gpiod_be *b = xcalloc(1, sizeof *b);
	g->priv = b;
	if (request_all(g, false) < 0) {
		gd_close(g);
		return -1;
	}
	return 0;
}

/* The chip went away: release what is left, report the link down, and
 * try again from the timer. */
static void
lost(struct gpio *g, const char *why)
{
	struct gpiod_be *b = g->priv;
	log_warn("gpio: %s; every input is unknown until the chip is back", why);
	release_all(g->cfg, b);
	b->retry_at = now_mono() + 1.0;
	b->quiet = false;
	gpio_link(g, false, why);
}

static void
gd_timer(struct gpio *g, double now)
{
	struct gpiod_be *b = g->priv;
	if (b->open || now < b->retry_at)
		return;
	/* The first failure says why; the retries every second do not. */
	if (request_all(g, b->quiet) == 0) {
		log_info("gpio: the lines are back");
		return;
	}
	b->quiet = true;
	b->retry_at = now + 1.0;
}

static double
gd_deadline(struct gpio *g)
{
	struct gpiod_be *b = g->priv;
	return b->open ? 0 : b->retry_at;
}

static int
gd_pollfds(struct gpio *g, struct pollfd *pfd, int max)
{
	struct gpiod_be *b = g->priv;
	int n = 0;
	for (size_t i = 0; i < g->cfg->n_lines && n < max; i++)
		if (b->fd[i] >= 0)
			pfd[n++] = (struct pollfd){ .fd = b->fd[i], .events = POLLIN };
	return n;
}

static void
gd_readable(struct gpio *g, int fd, short revents)
{
	struct gpiod_be *b = g->priv;
	for (size_t i = 0; b->open && i < g->cfg->n_lines; i++) {
		if (b->fd[i] != fd)
			continue;
		char why[160];
		if (revents & (POLLHUP | POLLERR | POLLNVAL)) {
			snprintf(why, sizeof why, "%s: the chip '%s' is gone", g->cfg->lines[i].name,
			    g->cfg->lines[i].gl->chip);
			lost(g, why);
			return;
		}
		struct gpiod_line_event ev;
		/* Drain the event; its edge only restarts the quiet period,
		 * the level is read again when the period ends. */
		if (gpiod_line_event_read_fd(fd, &ev) < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			snprintf(why, sizeof why, "%s: reading an event: %s", g->cfg->lines[i].name,
			    strerror(errno));
			lost(g, why);
			return;
		}
		gpio_edge(g, (int)i, now_mono());
	}
}

static int
gd_read(struct gpio *g, int id)
{
	struct gpiod_be *b = g->priv;
	return b->open && b->line[id] ? gpiod_line_get_value(b->line[id]) : -1;
}

static int
gd_write(struct gpio *g, int id, int value)
{
	struct gpiod_be *b = g->priv;
	if (!b->open || !b->line[id])
		return -1;
	if (gpiod_line_set_value(b->line[id], value) < 0) {
		log_errno("gpio: %s: cannot drive the line", cfg_line_name(g->cfg, id));
		return -1;
	}
	return 0;
}

const struct gpio_backend gpio_backend_gpiod = { "gpiod", gd_open, gd_close, gd_pollfds,
	gd_readable, gd_read, gd_write, gd_timer, gd_deadline };
