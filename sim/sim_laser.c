/* Simulated laser: placeholder until the device lands. */
#include "sim.h"

static int
stub_start(struct sim_device *dev)
{
	(void)dev;
	return 0;
}

static void
stub_stop(struct sim_device *dev)
{
	(void)dev;
}

static int
stub_ctl(struct sim_device *dev, int argc, char **argv, struct buf *out)
{
	(void)dev;
	(void)argc;
	(void)argv;
	buf_printf(out, "not implemented");
	return -1;
}

const struct sim_device_ops sim_laser_ops = { "laser", stub_start, stub_stop, stub_ctl };
