/*
 * atelierd: the Atelier daemon. For now: configuration check (-n).
 */
#include <stdio.h>

#include "cfg/cfg.h"
#include "log.h"

int
main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	log_init("atelierd", LOG_LVL_INFO);
	fprintf(stderr, "atelierd: not built yet\n");
	return 1;
}
