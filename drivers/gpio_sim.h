/*
 * The parser of the simulator's GPIO protocol, exposed for its tests and
 * fuzz target.
 */
#ifndef ATELIER_GPIO_SIM_H
#define ATELIER_GPIO_SIM_H

#include "cfg/cfg.h"

enum { GSIM_GARBAGE = -1, GSIM_ACK = 0, GSIM_EVENT = 1, GSIM_ERROR = 2 };

/* Classifies one line (without its newline); for an event, gives the input
 * and its physical level. */
int gpio_sim_parse(const struct cfg *cfg, const char *line, int *id, int *level);

#endif
