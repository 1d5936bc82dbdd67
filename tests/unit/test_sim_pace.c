/*
 * Serial-line pacing of the simulator: a link carries no more than its
 * baud rate allows, and idle time is not banked into a later burst.
 */
#include "sim.h"
#include "test.h"

static void
t_rate_matches_baud(void)
{
	struct sim_pace p;
	sim_pace_init(&p, 115200, 10);
	double t = p.last;
	size_t total = 0;
	/* One simulated second in 1 ms steps, always wanting more. */
	for (int i = 0; i <= 1000; i++)
		total += sim_pace_take(&p, t + i * 0.001, 1000);
	CHECK(total >= 11500 && total <= 11525);
}

static void
t_idle_is_not_banked(void)
{
	struct sim_pace p;
	sim_pace_init(&p, 19200, 11);
	double t = p.last;
	CHECK_INT(sim_pace_take(&p, t, 100), 0);    /* data first seen now */
	/* Ten idle seconds later the line still delivers only a burst. */
	size_t got = sim_pace_take(&p, t + 10, 100);
	CHECK(got >= 1 && got <= 4);
	/* Marked idle, the next byte waits its whole character time. */
	CHECK_INT(sim_pace_take(&p, t + 20, 0), 0);
	CHECK_INT(sim_pace_take(&p, t + 20, 10), 0);  /* seen now: starts now */
	CHECK_INT(sim_pace_take(&p, t + 20 + 0.5 * 11 / 19200, 10), 0);
	CHECK_INT(sim_pace_take(&p, t + 20 + 1.01 * 11 / 19200, 10), 1);
}

static void
t_wait_predicts_take(void)
{
	struct sim_pace p;
	sim_pace_init(&p, 9600, 10);
	double t = p.last;
	CHECK_INT(sim_pace_take(&p, t, 3), 0);      /* three characters seen now */
	double w = sim_pace_wait(&p, t, 3);
	CHECK_NEAR(w, 3.0 / 960.0, 1e-6);
	CHECK_INT(sim_pace_take(&p, t + w + 1e-9, 3), 3);
	CHECK_NEAR(sim_pace_wait(&p, t + w, 0), 0, 1e-12);
}

int
main(void)
{
	RUN(t_rate_matches_baud);
	RUN(t_idle_is_not_banked);
	RUN(t_wait_predicts_take);
	return test_summary();
}
