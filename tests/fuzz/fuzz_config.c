/*
 * Fuzz target: arbitrary bytes as a bench configuration, a device profile
 * and a gems file (whose names, aliases among them, are then resolved and
 * judged as a jeweller's would be), and as a gem name, a treatment and an
 * atelierctl --gem argument against the shipped table. Every input must
 * end in a configuration or a list of errors, never a crash, a leak or
 * undefined behaviour.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cfg/cfg.h"
#include "cfg/cfg_catalog.h"
#include "policy/policy.h"

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
	struct policy_gem_name n;
	char err[400];
	const char *why;
	if (cfg_gems_load_buffer("fuzz-gems.yaml", text, size, &g, &e) == 0) {
		for (size_t i = 0; i < g.n_aliases; i++)
			for (size_t k = 0; g.aliases[i].names && g.aliases[i].names[k]; k++)
				if (policy_gem_resolve(&g, g.aliases[i].names[k], "none", &n, err,
				    sizeof err) == 0)
					(void)policy_gem_name_verdict(&g, &n, PROC_ACID_BATH, &why);
		for (size_t i = 0; i < g.n_gems; i++)
			if (policy_gem_resolve(&g, g.gems[i].species, g.gems[i].treatment, &n, err,
			    sizeof err) == 0)
				(void)policy_gem_name_verdict(&g, &n, PROC_ULTRASONIC, &why);
		cfg_gems_release(&g);
	}
	cfg_errors_free(&e);
	char name[128];
	size_t len = size < sizeof name ? size : sizeof name - 1;
	memcpy(name, data, len);
	name[len] = '\0';
	if (policy_gem_resolve(policy_default_gems(), name, name + len / 2, &n, err, sizeof err) == 0)
		(void)policy_gem_name_verdict(policy_default_gems(), &n, PROC_ULTRASONIC, &why);
	struct policy_gem_arg a;
	(void)policy_gem_arg_parse(name, &a, err, sizeof err);
	return 0;
}
