/*
 * poll(2) event loop with one-shot timers. The descriptor table is small
 * (API clients, the laser port, GPIO events, bus eventfds, signals), so a
 * flat array scanned per iteration costs less than it would to maintain
 * anything cleverer; timers are few and kept in an unsorted array too.
 * Removal during dispatch only marks an entry; the arrays are compacted
 * once the dispatch pass is over, so callbacks can remove anything.
 */
#include "loop.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>

#include "util.h"

struct loop_fd {
	int fd;
	short events;
	bool dead;
	loop_fd_cb cb;
	void *arg;
};

struct loop_timer {
	uint64_t id;
	double when;
	loop_timer_cb cb;
	void *arg;
};

struct loop {
	struct loop_fd *fds;
	size_t n_fds, cap_fds;
	struct loop_timer *timers;
	size_t n_timers, cap_timers;
	uint64_t next_id;
	bool stop;
	struct pollfd *pfd;
	size_t cap_pfd;
};

struct loop *
loop_new(void)
{
	struct loop *l = xcalloc(1, sizeof *l);
	l->next_id = 1;
	return l;
}

void
loop_free(struct loop *l)
{
	if (!l)
		return;
	free(l->fds);
	free(l->timers);
	free(l->pfd);
	free(l);
}

static struct loop_fd *
find_fd(struct loop *l, int fd)
{
	for (size_t i = 0; i < l->n_fds; i++)
		if (l->fds[i].fd == fd && !l->fds[i].dead)
			return &l->fds[i];
	return NULL;
}

int
loop_add_fd(struct loop *l, int fd, short events, loop_fd_cb cb, void *arg)
{
	if (find_fd(l, fd)) {
		errno = EEXIST;
		return -1;
	}
	if (l->n_fds == l->cap_fds) {
		l->cap_fds = l->cap_fds ? 2 * l->cap_fds : 16;
		l->fds = xrealloc(l->fds, l->cap_fds * sizeof *l->fds);
	}
	l->fds[l->n_fds++] = (struct loop_fd){ fd, events, false, cb, arg };
	return 0;
}

int
loop_set_events(struct loop *l, int fd, short events)
{
	struct loop_fd *f = find_fd(l, fd);
	if (!f) {
		errno = ENOENT;
		return -1;
	}
	f->events = events;
	return 0;
}

void
loop_del_fd(struct loop *l, int fd)
{
	struct loop_fd *f = find_fd(l, fd);
	if (f)
		f->dead = true;
}

uint64_t
loop_add_timer(struct loop *l, double delay, loop_timer_cb cb, void *arg)
{
	if (l->n_timers == l->cap_timers) {
		l->cap_timers = l->cap_timers ? 2 * l->cap_timers : 16;
		l->timers = xrealloc(l->timers, l->cap_timers * sizeof *l->timers);
	}
	uint64_t id = l->next_id++;
	l->timers[l->n_timers++] = (struct loop_timer){ id, now_mono() + delay, cb, arg };
	return id;
}

void
loop_cancel(struct loop *l, uint64_t id)
{
	for (size_t i = 0; i < l->n_timers; i++) {
		if (l->timers[i].id == id) {
			l->timers[i] = l->timers[--l->n_timers];
			return;
		}
	}
}

static int
poll_timeout_ms(const struct loop *l, double max_wait)
{
	double wait = max_wait;
	double now = now_mono();
	for (size_t i = 0; i < l->n_timers; i++) {
		double d = l->timers[i].when - now;
		if (d < 0)
			d = 0;
		if (wait < 0 || d < wait)
			wait = d;
	}
	if (wait < 0)
		return -1;
	/* Round up: waking a little late is harmless, waking early spins. */
	return (int)ceil(wait * 1000.0);
}

/* Fires the timers due, of those that existed when the pass began: a
 * timer added by any callback of this pass, descriptor or timer, waits for
 * the next pass even with a zero delay, so that it cannot starve I/O. */
static int
run_timers(struct loop *l, uint64_t limit)
{
	int ran = 0;
	double now = now_mono();
	for (size_t i = 0; i < l->n_timers;) {
		struct loop_timer t = l->timers[i];
		if (t.id < limit && t.when <= now) {
			l->timers[i] = l->timers[--l->n_timers];
			t.cb(l, t.arg);
			ran++;
			i = 0;
			continue;
		}
		i++;
	}
	return ran;
}

static void
compact_fds(struct loop *l)
{
	size_t j = 0;
	for (size_t i = 0; i < l->n_fds; i++)
		if (!l->fds[i].dead)
			l->fds[j++] = l->fds[i];
	l->n_fds = j;
}

int
loop_run_once(struct loop *l, double max_wait)
{
	uint64_t timers_before = l->next_id;
	size_t n = l->n_fds;
	if (n > l->cap_pfd) {
		l->cap_pfd = n;
		l->pfd = xrealloc(l->pfd, n * sizeof *l->pfd);
	}
	for (size_t i = 0; i < n; i++)
		l->pfd[i] = (struct pollfd){ .fd = l->fds[i].fd, .events = l->fds[i].events };
	int r = poll(l->pfd, n, poll_timeout_ms(l, max_wait));
	if (r < 0 && errno != EINTR)
		return -1;
	int ran = 0;
	for (size_t i = 0; r > 0 && i < n; i++) {
		if (!l->pfd[i].revents)
			continue;
		/* The entry may have been removed, or its fd number reused by a
		 * new registration, by an earlier callback of this pass. */
		struct loop_fd *f = &l->fds[i];
		if (f->dead || f->fd != l->pfd[i].fd)
			continue;
		f->cb(l, f->fd, l->pfd[i].revents, f->arg);
		ran++;
	}
	compact_fds(l);
	ran += run_timers(l, timers_before);
	return ran;
}

int
loop_run(struct loop *l)
{
	l->stop = false;
	while (!l->stop)
		if (loop_run_once(l, -1) < 0)
			return -1;
	return 0;
}

void
loop_stop(struct loop *l)
{
	l->stop = true;
}
