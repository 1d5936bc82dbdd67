/*
 * The event loop: descriptors dispatch on readiness, timers fire once and
 * in order, and callbacks may remove descriptors and timers mid-pass.
 */
#include <poll.h>
#include <unistd.h>

#include "loop.h"
#include "test.h"

static int reads, fires, order[4], n_order;
static int pipe_a[2], pipe_b[2];
static uint64_t cancel_me;

static void
on_read(struct loop *l, int fd, short revents, void *arg)
{
	char c;
	(void)arg;
	CHECK(revents & POLLIN);
	CHECK(read(fd, &c, 1) == 1);
	reads++;
	/* Removing the other pipe during the same pass must not call it. */
	loop_del_fd(l, fd == pipe_a[0] ? pipe_b[0] : pipe_a[0]);
}

static void
on_timer(struct loop *l, void *arg)
{
	(void)l;
	order[n_order++] = (int)(long)arg;
	fires++;
	if ((long)arg == 1)
		loop_cancel(l, cancel_me);
}

static void
on_stop(struct loop *l, void *arg)
{
	(void)arg;
	loop_stop(l);
}

static void
t_fd_dispatch_and_removal(void)
{
	struct loop *l = loop_new();
	CHECK(pipe(pipe_a) == 0 && pipe(pipe_b) == 0);
	CHECK_INT(loop_add_fd(l, pipe_a[0], POLLIN, on_read, NULL), 0);
	CHECK_INT(loop_add_fd(l, pipe_a[0], POLLIN, on_read, NULL), -1);
	CHECK_INT(loop_add_fd(l, pipe_b[0], POLLIN, on_read, NULL), 0);
	CHECK(write(pipe_a[1], "x", 1) == 1 && write(pipe_b[1], "y", 1) == 1);
	reads = 0;
	CHECK_INT(loop_run_once(l, 1.0), 1);
	CHECK_INT(reads, 1);
	/* pipe_b, still readable, was removed: nothing runs. */
	CHECK_INT(loop_run_once(l, 0), 0);
	CHECK_INT(loop_set_events(l, pipe_b[0], POLLIN), -1);
	CHECK_INT(loop_set_events(l, pipe_a[0], POLLIN), 0);
	loop_free(l);
	close(pipe_a[0]); close(pipe_a[1]); close(pipe_b[0]); close(pipe_b[1]);
}

static void
t_timers_order_and_cancel(void)
{
	struct loop *l = loop_new();
	fires = n_order = 0;
	loop_add_timer(l, 0.03, on_timer, (void *)2L);
	loop_add_timer(l, 0.01, on_timer, (void *)1L);
	cancel_me = loop_add_timer(l, 0.05, on_timer, (void *)3L);
	loop_add_timer(l, 0.08, on_stop, NULL);
	CHECK_INT(loop_run(l), 0);
	CHECK_INT(fires, 2);
	CHECK_INT(order[0], 1);
	CHECK_INT(order[1], 2);
	loop_free(l);
}

int
main(void)
{
	RUN(t_fd_dispatch_and_removal);
	RUN(t_timers_order_and_cancel);
	return test_summary();
}
