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
	for (size_t i = 0; i < cfg->n_lines; i++)
		debounce_init(&g->deb[i], cfg->lines[i].gl->debounce);
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
	for (size_t i = 0; i < g->cfg->n_lines; i++)
		if (!g->cfg->lines[i].output && g->deb[i].armed && (t == 0 || g->deb[i].deadline < t))
			t = g->deb[i].deadline;
	return t;
}

void
gpio_on_timer(struct gpio *g, double now)
{
	if (g->be->timer)
		g->be->timer(g, now);
	for (size_t i = 0; i < g->cfg->n_lines; i++) {
		struct debounce *d = &g->deb[i];
		if (g->cfg->lines[i].output || !d->armed || now < d->deadline)
			continue;
		/* Read the level again now that the line has been quiet. */
		if (debounce_settle(d, g->be->read(g, (int)i)) && g->on_event)
			g->on_event((int)i, d->stable, g->arg);
	}
}

/* The level of an input that means danger: e-stop pressed, door or lid
 * open (1), fume extraction stopped (0). */
static int
unsafe_level(enum cfg_role role)
{
	return role == ROLE_FUME_OK ? 0 : 1;
}

void
gpio_edge(struct gpio *g, int id, double now)
{
	if (id < 0 || (size_t)id >= g->cfg->n_lines || g->cfg->lines[id].output)
		return;
	struct debounce *d = &g->deb[id];
	/* Fail fast, recover slowly: an edge towards danger is reported at
	 * once (a bounce cannot make a machine less safe by stopping it),
	 * while the way back to safe must stay quiet for the debounce time. */
	int level = g->be->read(g, id);
	if (level == unsafe_level(g->cfg->lines[id].role) && d->stable >= 0 && d->stable != level) {
		if (debounce_settle(d, level) && g->on_event)
			g->on_event(id, level, g->arg);
		return;
	}
	debounce_edge(d, now);
	/* A line without debounce settles at once. */
	if (d->period <= 0)
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
		for (size_t i = 0; i < g->cfg->n_lines; i++) {
			debounce_init(&g->deb[i], g->cfg->lines[i].gl->debounce);
			g->out[i] = 0;
		}
	}
	if (g->on_link)
		g->on_link(up, why, g->arg);
}

int
gpio_get(const struct gpio *g, int id)
{
	if (id < 0 || (size_t)id >= g->cfg->n_lines)
		return -1;
	return g->cfg->lines[id].output ? g->out[id] : g->deb[id].stable;
}

int
gpio_set(struct gpio *g, int id, int value)
{
	if (id < 0 || (size_t)id >= g->cfg->n_lines || !g->cfg->lines[id].output)
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
