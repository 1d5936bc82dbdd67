/*
 * Fuzz target: arbitrary bytes from a host into the simulated GRBL, fed in
 * chunks with a fake clock advancing between them, plus door and alarm
 * events chosen by the input itself.
 */
#include <stddef.h>
#include <stdint.h>

#include "grbl_sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct grbl_sim g;
	double t = 1;

	grbl_sim_init(&g, t, 500);
	g.parse_rate = 1e6;
	g.time_scale = 50;
	for (size_t i = 0; i < size;) {
		size_t chunk = 1 + data[i] % 32;
		if (chunk > size - i)
			chunk = size - i;
		grbl_sim_receive(&g, (const char *)data + i, chunk);
		if (data[i] == 0xff)
			grbl_sim_door(&g, !g.door_open);
		if (data[i] == 0xfe)
			grbl_sim_alarm(&g, 1 + data[(i + 1) % size] % 10);
		i += chunk;
		t += 0.003;
		grbl_sim_step(&g, t);
		buf_reset(&g.out);
	}
	grbl_sim_free(&g);
	return 0;
}
