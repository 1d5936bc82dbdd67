/* Fuzz target: arbitrary lines from the simulator's GPIO socket, parsed
 * against the lines of config/sim.yaml (loaded once). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfg/cfg.h"
#include "gpio_sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cfg *cfg;
	if (!cfg) {
		struct cfg_errors e = { 0 };
		cfg = cfg_load("config/sim.yaml", &e);
		cfg_errors_free(&e);
		if (!cfg)
			abort();
	}
	char *line = malloc(size + 1);
	int id = -1, level;
	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	/* An event is for an input of the workshop, at a level of 0 or 1. */
	if (gpio_sim_parse(cfg, line, &id, &level) == GSIM_EVENT &&
	    (id < 0 || (size_t)id >= cfg->n_lines || cfg->lines[id].output ||
	    (level != 0 && level != 1)))
		abort();
	free(line);
	return 0;
}
