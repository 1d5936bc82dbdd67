/*
 * GPIO backend for real chips through libgpiod v1.6 (Debian 12). Chips are
 * found by name, label, path or number (gpiod_chip_open_lookup); lines by
 * offset or by name. Every line is requested with the consumer "atelierd":
 * outputs at their inactive level, inputs for events on both edges, with
 * the active-low flag from the configuration so that libgpiod hands out
 * logical values. After each event the level is read again once the
 * debounce period has passed (gpio.c). On close every output is driven
 * inactive before its line is released.
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
	struct gchip chips[LINE_COUNT];
	size_t n_chips;
	struct gpiod_line *line[LINE_COUNT];
	int fd[LINE_COUNT];
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

static void
gd_close(struct gpio *g)
{
	struct gpiod_be *b = g->priv;
	if (!b)
		return;
	for (int i = 0; i < LINE_COUNT; i++) {
		if (!b->line[i])
			continue;
		if (i >= LINE_FIRST_OUTPUT)
			gpiod_line_set_value(b->line[i], 0);
		gpiod_line_release(b->line[i]);
	}
	for (size_t i = 0; i < b->n_chips; i++) {
		gpiod_chip_close(b->chips[i].chip);
		free(b->chips[i].name);
	}
	free(b);
	g->priv = NULL;
}

static int
gd_open(struct gpio *g)
{
	struct gpiod_be *b = xcalloc(1, sizeof *b);
	g->priv = b;
	for (int i = 0; i < LINE_COUNT; i++) {
		const struct cfg_gpio_line *cl = &g->cfg->gpio.lines[i];
		const char *name = cfg_line_name((enum cfg_line_id)i);
		b->fd[i] = -1;
		struct gpiod_chip *chip = cl->chip ? chip_for(b, cl->chip) : NULL;
		if (!chip) {
			log_errno("gpio: %s: cannot open chip '%s'", name, cl->chip ? cl->chip : "?");
			goto fail;
		}
		b->line[i] = cl->line_name ? gpiod_chip_find_line(chip, cl->line_name) :
		    gpiod_chip_get_line(chip, (unsigned)cl->offset);
		if (!b->line[i]) {
			if (cl->line_name)
				log_err("gpio: %s: chip '%s' has no line named '%s'", name, cl->chip,
				    cl->line_name);
			else
				log_err("gpio: %s: chip '%s' has no line at offset %d", name, cl->chip,
				    cl->offset);
			goto fail;
		}
		int flags = cl->active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0;
		int rc = i < LINE_FIRST_OUTPUT ?
		    gpiod_line_request_both_edges_events_flags(b->line[i], CONSUMER, flags) :
		    gpiod_line_request_output_flags(b->line[i], CONSUMER, flags, 0);
		if (rc < 0) {
			log_errno("gpio: %s: cannot request the line (is another program using it?)", name);
			b->line[i] = NULL;
			goto fail;
		}
		if (i < LINE_FIRST_OUTPUT)
			b->fd[i] = gpiod_line_event_get_fd(b->line[i]);
	}
	gpio_link(g, true, NULL);
	/* The first level of every input is known at once. */
	double now = now_mono();
	for (int i = 0; i < LINE_FIRST_OUTPUT; i++) {
		g->deb[i].armed = true;
		g->deb[i].deadline = now;
	}
	return 0;
fail:
	gd_close(g);
	return -1;
}

static int
gd_pollfds(struct gpio *g, struct pollfd *pfd, int max)
{
	struct gpiod_be *b = g->priv;
	int n = 0;
	for (int i = 0; i < LINE_FIRST_OUTPUT && n < max; i++)
		if (b->fd[i] >= 0)
			pfd[n++] = (struct pollfd){ .fd = b->fd[i], .events = POLLIN };
	return n;
}

static void
gd_readable(struct gpio *g, int fd, short revents)
{
	struct gpiod_be *b = g->priv;
	(void)revents;
	for (int i = 0; i < LINE_FIRST_OUTPUT; i++) {
		if (b->fd[i] != fd)
			continue;
		struct gpiod_line_event ev;
		/* Drain the event; its edge only restarts the quiet period,
		 * the level is read again when the period ends. */
		if (gpiod_line_event_read_fd(fd, &ev) < 0) {
			log_errno("gpio: %s: reading an event", cfg_line_name((enum cfg_line_id)i));
			return;
		}
		gpio_edge(g, (enum cfg_line_id)i, now_mono());
	}
}

static int
gd_read(struct gpio *g, enum cfg_line_id id)
{
	struct gpiod_be *b = g->priv;
	return b->line[id] ? gpiod_line_get_value(b->line[id]) : -1;
}

static int
gd_write(struct gpio *g, enum cfg_line_id id, int value)
{
	struct gpiod_be *b = g->priv;
	if (!b->line[id])
		return -1;
	if (gpiod_line_set_value(b->line[id], value) < 0) {
		log_errno("gpio: %s: cannot drive the line", cfg_line_name(id));
		return -1;
	}
	return 0;
}

const struct gpio_backend gpio_backend_gpiod = { "gpiod", gd_open, gd_close, gd_pollfds,
	gd_readable, gd_read, gd_write, NULL, NULL };
