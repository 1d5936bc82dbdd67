/*
 * The GPIO front: debounce shared by both backends, event delivery, and
 * the guarantees the safety model relies on (outputs start and end at
 * their inactive level, inputs unknown until read).
 */
#include "gpio.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

void
debounce_init(struct debounce *d, double period)
{
	d->period = period;
	d->stable = -1;
	d->armed = false;
	d->deadline = 0;
}

void
debounce_edge(struct debounce *d, double now)
{
	d->armed = true;
	d->deadline = now + d->period;
}

int
debounce_settle(struct debounce *d, int level)
{
	d->armed = false;
	if (level < 0 || level == d->stable)
		return 0;
	d->stable = level;
	return 1;
}

struct gpio *
gpio_open(const struct cfg *cfg, gpio_event_fn on_event, gpio_link_fn on_link, void *arg)
{
	struct gpio *g = xcalloc(1, sizeof *g);

	g->cfg = cfg;
	g->on_event = on_event;
	g->on_link = on_link;
	g->arg = arg;
	g->be = cfg->gpio.backend == GPIO_BACKEND_GPIOD ? &gpio_backend_gpiod : &gpio_backend_sim;
	for (int i = 0; i < LINE_FIRST_OUTPUT; i++)
		debounce_init(&g->deb[i], cfg->gpio.lines[i].debounce);
	if (g->be->open(g) < 0) {
		free(g);
		return NULL;
	}
	return g;
}

void
gpio_close(struct gpio *g)
{
	if (!g)
		return;
	g->be->close(g);
	free(g);
}

int
gpio_pollfds(struct gpio *g, struct pollfd *pfd, int max)
{
	return g->be->pollfds(g, pfd, max);
}

void
gpio_on_readable(struct gpio *g, int fd, short revents)
{
	g->be->readable(g, fd, revents);
}

double
gpio_next_deadline(struct gpio *g)
{
	double t = g->be->deadline ? g->be->deadline(g) : 0;
	for (int i = 0; i < LINE_FIRST_OUTPUT; i++)
		if (g->deb[i].armed && (t == 0 || g->deb[i].deadline < t))
			t = g->deb[i].deadline;
	return t;
}

void
gpio_on_timer(struct gpio *g, double now)
{
	if (g->be->timer)
		g->be->timer(g, now);
	for (int i = 0; i < LINE_FIRST_OUTPUT; i++) {
		struct debounce *d = &g->deb[i];
		if (!d->armed || now < d->deadline)
			continue;
		/* Read the level again now that the line has been quiet. */
		if (debounce_settle(d, g->be->read(g, (enum cfg_line_id)i)) && g->on_event)
			g->on_event((enum cfg_line_id)i, d->stable, g->arg);
	}
}

void
gpio_edge(struct gpio *g, enum cfg_line_id id, double now)
{
	if (id >= LINE_FIRST_OUTPUT)
		return;
	debounce_edge(&g->deb[id], now);
	/* A line without debounce settles at once. */
	if (g->deb[id].period <= 0)
		gpio_on_timer(g, now);
}

void
gpio_link(struct gpio *g, bool up, const char *why)
{
	if (g->up == up)
		return;
	g->up = up;
	if (!up) {
		/* Until the link returns nothing is known of the inputs, and
		 * the far end released the outputs. */
		for (int i = 0; i < LINE_FIRST_OUTPUT; i++)
			debounce_init(&g->deb[i], g->cfg->gpio.lines[i].debounce);
		for (int i = LINE_FIRST_OUTPUT; i < LINE_COUNT; i++)
			g->out[i] = 0;
	}
	if (g->on_link)
		g->on_link(up, why, g->arg);
}

int
gpio_get(const struct gpio *g, enum cfg_line_id id)
{
	return id < LINE_FIRST_OUTPUT ? g->deb[id].stable : g->out[id];
}

int
gpio_set(struct gpio *g, enum cfg_line_id id, int value)
{
	if (id < LINE_FIRST_OUTPUT || id >= LINE_COUNT)
		return -1;
	if (g->be->write(g, id, value ? 1 : 0) < 0)
		return -1;
	g->out[id] = value ? 1 : 0;
	return 0;
}

bool
gpio_link_up(const struct gpio *g)
{
	return g->up;
}
