/* Fuzz target: arbitrary lines from the simulator's GPIO socket. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gpio_sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size + 1);
	enum cfg_line_id id;
	int level;
	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	if (gpio_sim_parse(line, &id, &level) == GSIM_EVENT &&
	    (id >= LINE_FIRST_OUTPUT || (level != 0 && level != 1)))
		abort();
	free(line);
	return 0;
}
