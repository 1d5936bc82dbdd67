/*
 * The daemon's one event loop (after Redis's ae): file descriptors with
 * poll events and one-shot timers on the monotonic clock. Everything in the
 * main thread registers callbacks here; nothing else blocks or polls.
 * Callbacks may add and remove descriptors and timers, including their own.
 */
#ifndef ATELIER_LOOP_H
#define ATELIER_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
typedef void (*loop_fd_cb)(struct loop *l, int fd, short revents, void *arg);
typedef void (*loop_timer_cb)(struct loop *l, void *arg);

struct loop *loop_new(void);
void loop_free(struct loop *l);

/* Watches fd for events (POLLIN, POLLOUT); returns 0, or -1 with EEXIST if
 * the descriptor is already watched. */
int loop_add_fd(struct loop *l, int fd, short events, loop_fd_cb cb, void *arg);
/* Changes the events of a watched descriptor; returns 0 or -1 (ENOENT). */
int loop_set_events(struct loop *l, int fd, short events);
/* Stops watching fd (does not close it). */
void loop_del_fd(struct loop *l, int fd);

/* Calls cb once after delay seconds; returns an id > 0 for loop_cancel. */
uint64_t loop_add_timer(struct loop *l, double delay, loop_timer_cb cb, void *arg);
/* Cancels a pending timer; unknown or fired ids are ignored. */
void loop_cancel(struct loop *l, uint64_t id);

/* Waits at most max_wait seconds (negative: until something happens) and
 * dispatches what is ready. Returns the number of callbacks run, or -1
 * with errno if poll failed for a reason other than EINTR. */
int loop_run_once(struct loop *l, double max_wait);
/* Runs until loop_stop is called from a callback. Returns 0, or -1. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

#endif
