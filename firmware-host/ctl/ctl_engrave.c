/* atelierctl engrave: placeholder until the engraving module lands. */
#include <stdio.h>

#include "ctl.h"

int
ctl_engrave(const struct ctl_opts *o, int argc, char **argv)
{
	(void)o;
	(void)argc;
	(void)argv;
	fprintf(stderr, "atelierctl engrave: not built yet\n");
	return CTL_ERR_FAILED;
}
