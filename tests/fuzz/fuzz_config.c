/*
 * Fuzz target: arbitrary bytes as a bench configuration, a device profile
 * and a gems file. Every input must end in a configuration or a list of
 * errors, never a crash, a leak or undefined behaviour.
 */
#include <stddef.h>
#include <stdint.h>

#include "cfg/cfg.h"
#include "cfg/cfg_catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg_errors e = { 0 };
	const char *text = (const char *)data;

	cfg_free(cfg_load_buffer("fuzz.yaml", text, size, &e));
	cfg_errors_free(&e);
	profile_free(profile_load_buffer("fuzz-profile.yaml", text, size, &e));
	cfg_errors_free(&e);
	struct cfg_gems g;
	if (cfg_gems_load_buffer("fuzz-gems.yaml", text, size, &g, &e) == 0)
		cfg_gems_release(&g);
	cfg_errors_free(&e);
	return 0;
}
