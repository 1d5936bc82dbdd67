/*
 * GPIO lines of the bench: one interface, two backends (DESIGN.md habit: a
 * backend is a const struct of function pointers and a private pointer).
 * libgpiod v1.6 drives real chips; the simulator's gpio.sock stands in for
 * them in tests. The configuration chooses. Inputs are event descriptors
 * for the daemon's poll loop, debounced in software: after each edge the
 * level is read again once the line has been quiet for its debounce time,
 * and only a stable change is reported. Values here are logical: 1 is
 * e-stop pressed, door or lid open, fume extraction running, relay
 * energised; each line's active_low maps them to wire levels.
 */
#ifndef ATELIER_GPIO_H
#define ATELIER_GPIO_H

#include <poll.h>
#include <stdbool.h>

#include "cfg/cfg.h"

/* Software debounce of one input, pure so that it is tested alone. */
struct debounce {
	double period;      /* s the line must stay quiet */
	int stable;         /* last reported level, -1 before the first */
	bool armed;
	double deadline;    /* when to read the level again */
};
void debounce_init(struct debounce *d, double period);
/* An edge was seen at now: (re)starts the quiet period. */
void debounce_edge(struct debounce *d, double now);
/* At or after the deadline, with the level read again: returns 1 if the
 * stable level changed (or was learnt for the first time), else 0. */
int debounce_settle(struct debounce *d, int level);

struct gpio;
/* Lines are indexes into cfg->lines. */
typedef void (*gpio_event_fn)(int line, int value, void *arg);
typedef void (*gpio_link_fn)(bool up, const char *why, void *arg);

struct gpio_backend {
	const char *name;
	/* Opens the lines; returns 0, or -1 with a reason logged. */
	int (*open)(struct gpio *g);
	/* Releases outputs to their inactive level and closes. */
	void (*close)(struct gpio *g);
	/* Fills descriptors to poll; returns how many. */
	int (*pollfds)(struct gpio *g, struct pollfd *pfd, int max);
	void (*readable)(struct gpio *g, int fd, short revents);
	/* Reads an input's logical level now; -1 on failure. */
	int (*read)(struct gpio *g, int id);
	/* Drives an output; returns 0 or -1. */
	int (*write)(struct gpio *g, int id, int value);
	/* Periodic work (reconnects); may be NULL. */
	void (*timer)(struct gpio *g, double now);
	double (*deadline)(struct gpio *g);
};

struct gpio {
	const struct gpio_backend *be;
	void *priv;
	const struct cfg *cfg;
	gpio_event_fn on_event;
	gpio_link_fn on_link;
	void *arg;
	struct debounce deb[CFG_MAX_LINES];     /* inputs */
	int out[CFG_MAX_LINES];     /* outputs as last driven */
	bool up;
};

extern const struct gpio_backend gpio_backend_gpiod, gpio_backend_sim;

/*
 * Opens the lines of cfg->lines with the configured backend. on_event gets
 * each debounced input change (and each input's first known level);
 * on_link gets link losses and returns (sim backend). Returns NULL after
 * logging why. Outputs start at their inactive level.
 */
struct gpio *gpio_open(const struct cfg *cfg, gpio_event_fn on_event, gpio_link_fn on_link,
    void *arg);
/* Releases every output to its inactive level, then closes. */
void gpio_close(struct gpio *g);
int gpio_pollfds(struct gpio *g, struct pollfd *pfd, int max);
void gpio_on_readable(struct gpio *g, int fd, short revents);
/* Earliest time (monotonic s) gpio_on_timer wants to run, or 0 for none. */
double gpio_next_deadline(struct gpio *g);
void gpio_on_timer(struct gpio *g, double now);
/* Debounced logical level of an input (-1 while unknown), or an output's
 * last driven value. */
int gpio_get(const struct gpio *g, int id);
/* Drives an output; returns 0, or -1 (not an output, or link down). */
int gpio_set(struct gpio *g, int id, int value);
bool gpio_link_up(const struct gpio *g);

/* For backends: an edge on an input at time now. */
void gpio_edge(struct gpio *g, int id, double now);
/* For backends: link state changed. */
void gpio_link(struct gpio *g, bool up, const char *why);

#endif
