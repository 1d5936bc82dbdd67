/*
 * Fuzz target: arbitrary bytes as an SVG design. The reader must end in
 * geometry or a sentence, never a crash, a leak, a hang or undefined
 * behaviour; when it accepts, every point it returns must be finite.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "engrave/engrave.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct engrave_paths p;
	char err[256];

	engrave_paths_init(&p);
	if (engrave_svg_read((const char *)data, size, 1e-3, &p, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < p.n; i++)
			for (size_t j = 0; j < p.v[i].n; j++)
				if (!isfinite(p.v[i].pts[j].x) || !isfinite(p.v[i].pts[j].y))
					abort();
	} else if (err[0] == 0) {
		abort();  /* a refusal must say why */
	}
	engrave_paths_free(&p);
	return 0;
}
