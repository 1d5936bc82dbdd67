/*
 * Fuzz target: the profile decoder. The input is split into a profile
 * (YAML) and a block of raw registers; every register of a profile that
 * loads is decoded against the block under the variant that the model id
 * and select value the input names choose, and encoding is tried with
 * values taken from the block.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mb_map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mb_raw raw;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *sep = memchr(data, 0, size);
	size_t ylen = sep ? (size_t)(sep - data) : size;
	struct cfg_errors e = { 0 };
	struct profile *p = profile_load_buffer("fuzz.yaml", (const char *)data, ylen, &e);
	cfg_errors_free(&e);
	if (!p)
		return 0;
	memset(raw.valid, 0, sizeof raw.valid);
	const uint8_t *rest = sep ? sep + 1 : data + size;
	size_t rlen = (size_t)(data + size - rest);
	for (size_t i = 0; i + 1 < rlen; i += 2) {
		uint16_t addr = (uint16_t)(i * 7919 % 65536);
		raw.value[addr] = (uint16_t)(rest[i] << 8 | rest[i + 1]);
		raw.valid[addr] = true;
		if (p->n_regs) {
			const struct profile_reg *r = &p->regs[i / 2 % p->n_regs];
			raw.value[r->address] = raw.value[addr];
			raw.valid[r->address] = true;
		}
	}
	struct mb_block blocks[64];
	size_t nb = mb_map_blocks(p, blocks, 64);
	for (size_t i = 0; i < nb; i++)
		if (blocks[i].count < 1 || blocks[i].count > MB_MAX_BLOCK)
			abort();
	int model = rlen >= 2 ? rest[0] << 8 | rest[1] : 0;
	int select = rlen >= 4 ? rest[2] << 8 | rest[3] : -1;
	const struct profile_variant *var = mb_map_variant(p, model, select);
	for (size_t i = 0; i < p->n_regs; i++) {
		double v;
		uint16_t w[2];
		int n;
		char err[128];
		if (mb_map_decode(p, &p->regs[i], var, &raw, &v) == 0)
			mb_map_encode(p, &p->regs[i], var, v, w, &n, err, sizeof err);
	}
	profile_free(p);
	return 0;
}
