/*
 * Gem and metal policy (see policy.h). Shared domain facts §2 (gem care)
 * and §4 (which metals take rhodium): ultrasound and the acid baths are
 * refused for any gem whose verdict is risky or never; rhodium finishing
 * is for white gold and platinum, for silver only over a barrier layer,
 * and never for yellow or rose gold; laser engraving near a stone that
 * must never go into the tank needs a technician's override.
 */
#include "policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

extern const char policy_gems_yaml[];   /* generated from config/gems.yaml */

const char *
policy_default_gems_text(void)
{
	return policy_gems_yaml;
}

const struct cfg_gems *
policy_default_gems(void)
{
	static struct cfg_gems gems;
	static bool loaded;
	if (!loaded) {
		struct cfg_errors e = { 0 };
		if (cfg_gems_load_buffer("(compiled-in gems.yaml)", policy_gems_yaml,
		    strlen(policy_gems_yaml), &gems, &e) < 0)
			fatal("the compiled-in gem table does not load: %s", e.n ? e.msgs[0] : "?");
		loaded = true;
	}
	return &gems;
}

const char *
policy_process_name(enum policy_process proc)
{
	switch (proc) {
	case PROC_ULTRASONIC: return "ultrasonic cleaning";
	case PROC_ACID_BATH: return "the acid rhodium bath";
	default: return "laser engraving";
	}
}

static const struct cfg_gem *
lookup(const struct cfg_gems *g, const char *species, const char *treatment)
{
	for (size_t i = 0; i < g->n_gems; i++)
		if (strcmp(g->gems[i].species, species) == 0 &&
		    strcmp(g->gems[i].treatment, treatment) == 0)
			return &g->gems[i];
	return NULL;
}

static int
verdict_of(const struct cfg_gem *e, enum policy_process proc)
{
	return proc == PROC_ACID_BATH ? e->acid_bath : e->ultrasonic;
}

int
policy_gem_verdict(const struct cfg_gems *g, const char *species, const char *treatment,
    enum policy_process proc, const char **why)
{
	bool known_treatment = false;
	for (size_t i = 0; g->treatments && g->treatments[i]; i++)
		if (strcmp(g->treatments[i], treatment) == 0)
			known_treatment = true;
	if (!known_treatment) {
		*why = "this treatment is not in the gem list";
		return -1;
	}
	const struct cfg_gem *t = lookup(g, "*", treatment);
	const struct cfg_gem *s = lookup(g, species, treatment);
	if (!s)
		s = lookup(g, species, "any");
	/* A treatment judged for every species (dyed, doublet, ...) applies
	 * to a known species that has no row of its own for it. */
	if (!s && t)
		s = lookup(g, species, "none");
	if (!s) {
		*why = "this gem, with this treatment, is not in the gem list";
		return -1;
	}
	const struct cfg_gem *worst = s;
	if (t && verdict_of(t, proc) > verdict_of(s, proc))
		worst = t;
	*why = worst->reason;
	return verdict_of(worst, proc);
}

static void
say(struct policy_verdict *v, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
say(struct policy_verdict *v, bool ok, const char *fmt, ...)
{
	va_list ap;
	v->permitted = ok;
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof v->reason, fmt, ap);
	va_end(ap);
}

static void
gem_name(const struct policy_gem *gm, char *out, size_t len)
{
	const char *t = gm->treatment ? gm->treatment : "none";
	if (strcmp(t, "none") == 0)
		snprintf(out, len, "%s", gm->species);
	else
		snprintf(out, len, "%s (%s)", gm->species, t);
}

static bool
judge_gems(const struct cfg_gems *g, const struct policy_piece *p, enum policy_process proc,
    struct policy_verdict *v)
{
	for (size_t i = 0; i < p->n_gems; i++) {
		const struct policy_gem *gm = &p->gems[i];
		const char *why;
		char name[160];
		gem_name(gm, name, sizeof name);
		if (!gm->species || !*gm->species) {
			say(v, false, "%s refused: a gem of the piece has no species", policy_process_name(proc));
			return false;
		}
		int verdict = policy_gem_verdict(g, gm->species, gm->treatment ? gm->treatment : "none",
		    proc == PROC_ENGRAVING ? PROC_ULTRASONIC : proc, &why);
		if (verdict < 0) {
			say(v, false, "%s refused: unknown gem %s: %s", policy_process_name(proc), name, why);
			return false;
		}
		if (proc == PROC_ENGRAVING) {
			if (verdict == GEM_NEVER && !p->engraving_override) {
				say(v, false, "laser engraving refused: %s is a stone never put in the tank "
				    "(%s); a technician's override is needed to engrave near it", name, why);
				return false;
			}
			if (verdict == GEM_NEVER)
				say(v, true, "laser engraving near %s allowed by a technician's override", name);
			continue;
		}
		if (verdict != GEM_SAFE) {
			say(v, false, "%s refused: %s (%s): %s", policy_process_name(proc), name,
			    verdict == GEM_NEVER ? "never" : "risky", why);
			return false;
		}
	}
	return true;
}

void
policy_judge(const struct cfg_gems *g, const struct policy_piece *p, enum policy_process proc,
    struct policy_verdict *v)
{
	say(v, true, "%s", "");
	if (proc == PROC_ACID_BATH) {
		const char *m = p->metal ? p->metal : "";
		if (strcmp(m, "white_gold") == 0 || strcmp(m, "platinum") == 0) {
			/* rhodium finishing is what these metals are for */
		} else if (strcmp(m, "silver") == 0 || strcmp(m, "sterling_silver") == 0) {
			if (!p->barrier_layer) {
				say(v, false, "the acid rhodium bath refused: silver needs a palladium or "
				    "nickel barrier layer first");
				return;
			}
		} else if (strcmp(m, "yellow_gold") == 0 || strcmp(m, "rose_gold") == 0) {
			say(v, false, "the acid rhodium bath refused: rhodium finishing is for white gold "
			    "and platinum, not %s", strcmp(m, "yellow_gold") == 0 ? "yellow gold" : "rose gold");
			return;
		} else {
			say(v, false, "the acid rhodium bath refused: unknown metal '%.40s'", m);
			return;
		}
	}
	judge_gems(g, p, proc, v);
}
