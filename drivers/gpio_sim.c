/*
 * GPIO backend for the simulator: a client of DIR/gpio.sock (protocol in
 * docs/simulator.md). One connection carries everything: "watch" makes the
 * simulator push input events, and outputs are set on the same stream
 * without waiting for the reply, so the daemon's loop never blocks on it;
 * the "ok" or "error" replies come back in order and are checked as they
 * arrive. Closing the connection makes the simulator release our outputs,
 * as the kernel releases a dead process's lines. A lost socket is a lost
 * link (the interlock trips on it); reconnection backs off to 2 s.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "gpio.h"
#include "gpio_sim.h"
#include "log.h"
#include "util.h"

#define LINE_MAX_LEN 256

struct gsim {
	int fd;
	char *path;
	struct buf in;
	int level[CFG_MAX_LINES];       /* logical, from the latest events; -1 unknown */
	double retry_at;
	double backoff;
};

int
gpio_sim_parse(const struct cfg *cfg, const char *line, int *id, int *level)
{
	char name[64];
	int l, n = 0;

	if (strcmp(line, "ok") == 0)
		return GSIM_ACK;
	if (strncmp(line, "error", 5) == 0 && (line[5] == ' ' || !line[5]))
		return GSIM_ERROR;
	if (sscanf(line, "event %63s %d%n", name, &l, &n) == 2 && !line[n] && (l == 0 || l == 1)) {
		int i = cfg_line_lookup(cfg, name);
		if (i < 0 || cfg->lines[i].output)
			return GSIM_GARBAGE;
		*id = i;
		*level = l;
		return GSIM_EVENT;
	}
	return GSIM_GARBAGE;
}

static int
physical(const struct gpio *g, int id, int logical)
{
	return g->cfg->lines[id].gl->active_low ? !logical : logical;
}

static void
disconnect(struct gpio *g, const char *why)
{
	struct gsim *s = g->priv;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	buf_reset(&s->in);
	for (size_t i = 0; i < CFG_MAX_LINES; i++)
		s->level[i] = -1;
	s->retry_at = now_mono() + s->backoff;
	gpio_link(g, false, why);
}

static int
try_connect(struct gpio *g)
{
	struct gsim *s = g->priv;
	int fd = unix_connect(s->path);
	if (fd < 0)
		return -1;
	/* Writes are a few bytes; a simulator that stops reading for a
	 * whole socket buffer is a lost link, not a reason to hang. */
	struct timeval tv = { 0, 200000 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	s->fd = fd;
	struct buf req;
	buf_init(&req);
	buf_printf(&req, "watch\n");
	for (size_t i = 0; i < g->cfg->n_lines; i++)
		if (g->cfg->lines[i].output)
			buf_printf(&req, "set %s %d\n", g->cfg->lines[i].name, physical(g, (int)i, 0));
	int rc = write_all(fd, req.data, req.len);
	buf_free(&req);
	if (rc < 0) {
		close(fd);
		s->fd = -1;
		return -1;
	}
	s->backoff = 0.05;
	gpio_link(g, true, NULL);
	return 0;
}

static int
sim_open(struct gpio *g)
{
	struct gsim *s = xcalloc(1, sizeof *s);
	g->priv = s;
	s->fd = -1;
	s->path = cfg_device_path(g->cfg, g->cfg->gpio.socket);
	s->backoff = 0.05;
	buf_init(&s->in);
	for (size_t i = 0; i < CFG_MAX_LINES; i++)
		s->level[i] = -1;
	if (try_connect(g) < 0) {
		log_warn("gpio: cannot reach the simulator at %s: %s; retrying", s->path,
		    strerror(errno));
		s->retry_at = now_mono() + s->backoff;
	}
	return 0;
}

static void
sim_close(struct gpio *g)
{
	struct gsim *s = g->priv;
	if (s->fd >= 0) {
		/* Release explicitly too: closing would, but say it in order. */
		for (size_t i = 0; i < g->cfg->n_lines; i++) {
			if (!g->cfg->lines[i].output)
				continue;
			char line[128];
			int n = snprintf(line, sizeof line, "set %s %d\n", g->cfg->lines[i].name,
			    physical(g, (int)i, 0));
			if (write_all(s->fd, line, (size_t)n) < 0)
				break;
		}
		close(s->fd);
	}
	buf_free(&s->in);
	free(s->path);
	free(s);
	g->priv = NULL;
}

static int
sim_pollfds(struct gpio *g, struct pollfd *pfd, int max)
{
	struct gsim *s = g->priv;
	if (s->fd < 0 || max < 1)
		return 0;
	pfd[0] = (struct pollfd){ .fd = s->fd, .events = POLLIN };
	return 1;
}

static void
handle_line(struct gpio *g, char *line, double now)
{
	struct gsim *s = g->priv;
	int id, level;

	switch (gpio_sim_parse(g->cfg, line, &id, &level)) {
	case GSIM_EVENT:
		s->level[id] = g->cfg->lines[id].gl->active_low ? !level : level;
		gpio_edge(g, id, now);
		break;
	case GSIM_ACK:
		break;
	case GSIM_ERROR:
		log_warn("gpio: the simulator refused a request: %.200s", line);
		break;
	default:
		log_warn("gpio: unexpected line from the simulator: '%.60s'", line);
		break;
	}
}

static void
sim_readable(struct gpio *g, int fd, short revents)
{
	struct gsim *s = g->priv;
	char tmp[1024];
	(void)revents;

	if (fd != s->fd)
		return;
	ssize_t n = recv(fd, tmp, sizeof tmp, MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		disconnect(g, n == 0 ? "the simulator closed the GPIO socket" : strerror(errno));
		return;
	}
	if (n < 0)
		return;
	buf_append(&s->in, tmp, (size_t)n);
	double now = now_mono();
	char *nl;
	while ((nl = memchr(s->in.data, '\n', s->in.len)) != NULL) {
		*nl = '\0';
		size_t used = (size_t)(nl - s->in.data) + 1;
		if (used - 1 <= LINE_MAX_LEN)
			handle_line(g, s->in.data, now);
		else
			log_warn("gpio: over-long line from the simulator dropped");
		buf_consume(&s->in, used);
	}
	if (s->in.len > LINE_MAX_LEN) {
		log_warn("gpio: over-long line from the simulator dropped");
		buf_reset(&s->in);
	}
}

static int
sim_read(struct gpio *g, int id)
{
	struct gsim *s = g->priv;
	return s->level[id];
}

static int
sim_write(struct gpio *g, int id, int value)
{
	struct gsim *s = g->priv;
	char line[128];
	if (s->fd < 0)
		return -1;
	int n = snprintf(line, sizeof line, "set %s %d\n", g->cfg->lines[id].name,
	    physical(g, id, value));
	if (write_all(s->fd, line, (size_t)n) < 0) {
		disconnect(g, strerror(errno));
		return -1;
	}
	return 0;
}

static void
sim_timer(struct gpio *g, double now)
{
	struct gsim *s = g->priv;
	if (s->fd >= 0 || now < s->retry_at)
		return;
	if (try_connect(g) < 0) {
		s->backoff = s->backoff * 2 > 2 ? 2 : s->backoff * 2;
		s->retry_at = now + s->backoff;
	}
}

static double
sim_deadline(struct gpio *g)
{
	struct gsim *s = g->priv;
	return s->fd < 0 ? s->retry_at : 0;
}

const struct gpio_backend gpio_backend_sim = { "sim", sim_open, sim_close, sim_pollfds,
	sim_readable, sim_read, sim_write, sim_timer, sim_deadline };
