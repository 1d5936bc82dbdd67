/*
 * Gem and metal policy (see policy.h). Shared domain facts §2 (gem care)
 * and §4 (which metals take rhodium): ultrasound and the acid baths are
 * refused for any gem whose verdict is risky or never; rhodium finishing
 * is for white gold and platinum, for silver only over a barrier layer,
 * and never for yellow or rose gold; laser engraving near a stone that
 * must never go into the tank needs a technician's override. Gem names
 * are resolved first as a jeweller writes them (case, spaces, aliases,
 * treatments joined by '+'), so that "Emerald" is judged as an emerald
 * rather than refused as unknown, and an alias never more leniently than
 * its species.
 */
#include "policy/policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

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

/* --- names ------------------------------------------------------------- */

/* The three names nearest to what was written (keys compared), best
 * first; a tie keeps the table's order. */
struct near {
	const char *name[3];
	size_t d[3];
	size_t n;
};

static void
near_add(struct near *nr, const char *key, const char *name)
{
	char k[CFG_GEM_NAME_MAX + 1];
	if (cfg_gem_name_key(name, k, sizeof k) < 0)
		return;
	size_t d = str_distance(key, k);
	for (size_t i = 0; i < nr->n; i++)
		if (strcmp(nr->name[i], name) == 0)
			return;
	size_t at = nr->n;
	while (at > 0 && nr->d[at - 1] > d)
		at--;
	if (at >= 3)
		return;
	size_t last = nr->n < 3 ? nr->n : 2;
	for (size_t i = last; i > at; i--) {
		nr->name[i] = nr->name[i - 1];
		nr->d[i] = nr->d[i - 1];
	}
	nr->name[at] = name;
	nr->d[at] = d;
	if (nr->n < 3)
		nr->n++;
}

/* "did you mean a, b or c?" for names close to what was written, else
 * the nearest names the table has. */
static void
near_text(const struct near *nr, const char *key, char *out, size_t len)
{
	size_t close = 0, limit = strlen(key) / 3 > 2 ? strlen(key) / 3 : 2;
	while (close < nr->n && nr->d[close] <= limit)
		close++;
	size_t k = close ? close : nr->n;
	char list[3 * (CFG_GEM_NAME_MAX + 5) + 1] = "";
	/* "a, b or c" asks; "a, b and c" lists. */
	for (size_t i = 0; i < k; i++)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
		    i == 0 ? "" : i + 1 < k ? ", " : close ? " or " : " and ", nr->name[i]);
	if (k == 0)
		snprintf(out, len, "the gem table is empty");
	else if (close)
		snprintf(out, len, "did you mean %s?", list);
	else
		snprintf(out, len, "not in the gem table (the nearest names are %s)", list);
}

/* What a jeweller wrote, for a message: trimmed, and a name too long to
 * be one is described rather than cut. */
static void
written(const char *name, char *out, size_t len)
{
	size_t n = strlen(name);
	while (n && strchr(" \t\r\n", name[n - 1]))
		n--;
	while (n && strchr(" \t\r\n", *name)) {
		name++;
		n--;
	}
	if (n == 0)
		snprintf(out, len, "(no name)");
	else if (n > 2 * CFG_GEM_NAME_MAX)
		snprintf(out, len, "(a name of %zu characters)", n);
	else
		snprintf(out, len, "'%.*s'", (int)n, name);
}

static size_t
treatment_index(const struct cfg_gems *g, const char *t)
{
	size_t i = 0;
	while (g->treatments && g->treatments[i] && g->treatments[i] != t)
		i++;
	return i;
}

/* Adds a treatment (the table's string) to a set kept in the table's
 * order; "none" gives way to any other. False when the set is full. */
static bool
set_add(const struct cfg_gems *g, const char **set, size_t *n, const char *t)
{
	bool none = strcmp(t, "none") == 0;
	for (size_t i = 0; i < *n; i++)
		if (set[i] == t || (none && *n > 0))
			return true;
	if (*n == 1 && strcmp(set[0], "none") == 0) {
		set[0] = t;
		return true;
	}
	if (*n >= POLICY_MAX_TREATMENTS)
		return false;
	size_t at = *n, ti = treatment_index(g, t);
	while (at > 0 && treatment_index(g, set[at - 1]) > ti) {
		set[at] = set[at - 1];
		at--;
	}
	set[at] = t;
	(*n)++;
	return true;
}

int
policy_gem_resolve(const struct cfg_gems *g, const char *species, const char *treatment,
    struct policy_gem_name *out, char *err, size_t len)
{
	char key[CFG_GEM_NAME_MAX + 1], what[100], hint[200];
	const struct cfg_gem_alias *alias;

	memset(out, 0, sizeof *out);
	out->species = species ? cfg_gems_species(g, species, &alias) : NULL;
	if (!out->species) {
		written(species ? species : "", what, sizeof what);
		if (!species || cfg_gem_name_key(species, key, sizeof key) < 0) {
			snprintf(err, len, "unknown gem %s: a gem needs a species of 1 to %d characters",
			    what, CFG_GEM_NAME_MAX);
			return -1;
		}
		struct near nr = { .n = 0 };
		for (size_t i = 0; i < g->n_gems; i++)
			if (strcmp(g->gems[i].species, "*") != 0)
				near_add(&nr, key, g->gems[i].species);
		for (size_t i = 0; i < g->n_aliases; i++)
			for (size_t k = 0; g->aliases[i].names && g->aliases[i].names[k]; k++)
				near_add(&nr, key, g->aliases[i].names[k]);
		near_text(&nr, key, hint, sizeof hint);
		snprintf(err, len, "unknown gem %s: %s", what, hint);
		return -1;
	}
	/* The variety as the table spells it, not as it was typed. */
	if (alias && cfg_gem_name_key(species, key, sizeof key) >= 0)
		for (size_t k = 0; alias->names[k] && !out->variety; k++) {
			char ak[CFG_GEM_NAME_MAX + 1];
			if (cfg_gem_name_key(alias->names[k], ak, sizeof ak) >= 0 && strcmp(ak, key) == 0)
				out->variety = alias->names[k];
		}
	/* Each treatment written, between the '+'. */
	const char *t = treatment && *treatment ? treatment : "none";
	while (true) {
		size_t n = strcspn(t, "+");
		char part[2 * CFG_GEM_NAME_MAX + 1];
		const char *known = NULL;
		if (n < sizeof part) {
			memcpy(part, t, n);
			part[n] = '\0';
			known = cfg_gems_treatment(g, part);
		}
		if (!known) {
			if (n < sizeof part)
				written(part, what, sizeof what);
			else
				snprintf(what, sizeof what, "(a name of %zu characters)", n);
			if (n >= sizeof part || cfg_gem_name_key(part, key, sizeof key) < 0) {
				snprintf(err, len, "unknown treatment %s of %s: a treatment is a name of 1 "
				    "to %d characters (several joined with '+')", what, out->species,
				    CFG_GEM_NAME_MAX);
				return -1;
			}
			struct near nr = { .n = 0 };
			for (size_t i = 0; g->treatments && g->treatments[i]; i++)
				near_add(&nr, key, g->treatments[i]);
			near_text(&nr, key, hint, sizeof hint);
			snprintf(err, len, "unknown treatment %s of %s: %s", what, out->species, hint);
			return -1;
		}
		if (!set_add(g, out->given, &out->n_given, known)) {
			snprintf(err, len, "%s: at most %d treatments", out->species,
			    POLICY_MAX_TREATMENTS);
			return -1;
		}
		if (!t[n])
			break;
		t += n + 1;
	}
	for (size_t i = 0; i < out->n_given; i++)
		out->all[out->n_all++] = out->given[i];
	for (size_t i = 0; alias && alias->treatments && alias->treatments[i]; i++) {
		const char *known = cfg_gems_treatment(g, alias->treatments[i]);
		if (!known || !set_add(g, out->all, &out->n_all, known)) {
			snprintf(err, len, "the gem table's alias '%s' implies a treatment it cannot "
			    "judge ('%s')", out->variety ? out->variety : species, alias->treatments[i]);
			return -1;
		}
	}
	for (size_t i = 0; i < out->n_all; i++) {
		size_t at = strlen(out->treatment);
		if (snprintf(out->treatment + at, sizeof out->treatment - at, "%s%s", i ? "+" : "",
		    out->all[i]) >= (int)(sizeof out->treatment - at)) {
			snprintf(err, len, "%s: too many treatments", out->species);
			return -1;
		}
	}
	return 0;
}

/* One species with one treatment (both the table's). */
static int
row_verdict(const struct cfg_gems *g, const char *species, const char *treatment,
    enum policy_process proc, const char **why)
{
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
	/* No treatment makes a stone sturdier than the untreated one. */
	const struct cfg_gem *plain = lookup(g, species, "none");
	if (!plain)
		plain = lookup(g, species, "any");
	if (plain && verdict_of(plain, proc) > verdict_of(worst, proc))
		worst = plain;
	*why = worst->reason;
	return verdict_of(worst, proc);
}

/* The strictest verdict over a set of treatments; -1 if any is unknown. */
static int
set_verdict(const struct cfg_gems *g, const char *species, const char *const *set, size_t n,
    enum policy_process proc, const char **why)
{
	int worst = -2;
	for (size_t i = 0; i < n; i++) {
		const char *w;
		int v = row_verdict(g, species, set[i], proc, &w);
		if (v < 0) {
			*why = w;
			return -1;
		}
		if (v > worst) {
			worst = v;
			*why = w;
		}
	}
	if (worst == -2)
		return row_verdict(g, species, "none", proc, why);
	return worst;
}

int
policy_gem_name_verdict(const struct cfg_gems *g, const struct policy_gem_name *n,
    enum policy_process proc, const char **why)
{
	const char *w1, *w2;
	int v1 = set_verdict(g, n->species, n->given, n->n_given, proc, &w1);
	int v2 = set_verdict(g, n->species, n->all, n->n_all, proc, &w2);
	if (v1 < 0 || v2 < 0) {
		*why = v1 < 0 ? w1 : w2;
		return -1;
	}
	*why = v2 >= v1 ? w2 : w1;
	return v2 >= v1 ? v2 : v1;
}

int
policy_gem_verdict(const struct cfg_gems *g, const char *species, const char *treatment,
    enum policy_process proc, const char **why)
{
	struct policy_gem_name n;
	char err[8];
	if (policy_gem_resolve(g, species, treatment, &n, err, sizeof err) < 0) {
		*why = n.species ? "this treatment is not in the gem list" :
		    "this gem is not in the gem list";
		return -1;
	}
	return policy_gem_name_verdict(g, &n, proc, why);
}

void
policy_gem_name_text(const struct policy_gem_name *n, char *out, size_t len)
{
	bool plain = strcmp(n->treatment, "none") == 0 || !n->treatment[0];
	if (plain && !n->variety)
		snprintf(out, len, "%s", n->species);
	else
		snprintf(out, len, "%s (%s%s%s)", n->species, n->variety ? n->variety : "",
		    n->variety && !plain ? ", " : "", plain ? "" : n->treatment);
}

int
policy_gem_arg_parse(const char *arg, struct policy_gem_arg *out, char *err, size_t len)
{
	const char *part[4];
	size_t plen[4], n = 0;
	memset(out, 0, sizeof *out);
	for (const char *p = arg;; ) {
		size_t l = strcspn(p, ":");
		if (n == 3) {
			snprintf(err, len, "--gem %s: expected SPECIES[:TREATMENT][:COUNT] (at most "
			    "two ':')", arg);
			return -1;
		}
		part[n] = p;
		plen[n++] = l;
		if (!p[l])
			break;
		p += l + 1;
	}
	if (strspn(arg, " \t") == plen[0]) {
		snprintf(err, len, "--gem %s: the species is missing (SPECIES[:TREATMENT][:COUNT])",
		    arg);
		return -1;
	}
	/* The last part is the count when it is a number; SPECIES:COUNT too. */
	size_t last = n - 1;
	bool counted = false;
	if (n > 1 && plen[last] > 0 && strspn(part[last], "0123456789") >= plen[last]) {
		long c = plen[last] > 5 ? 10001 : strtol(part[last], NULL, 10);
		if (c < 1 || c > 10000) {
			snprintf(err, len, "--gem %s: the count must be a whole number from 1 to 10000",
			    arg);
			return -1;
		}
		out->count = (int)c;
		counted = true;
	} else if (n == 3) {
		snprintf(err, len, "--gem %s: the count '%.*s' must be a whole number from 1 to "
		    "10000", arg, (int)plen[last], part[last]);
		return -1;
	}
	if (plen[0] >= sizeof out->species || (n - counted > 1 && plen[1] >= sizeof out->treatment)) {
		snprintf(err, len, "--gem: a species or treatment name is at most %d characters",
		    CFG_GEM_NAME_MAX);
		return -1;
	}
	memcpy(out->species, part[0], plen[0]);
	if (n - counted > 1)
		memcpy(out->treatment, part[1], plen[1]);
	return 0;
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

static bool
judge_gems(const struct cfg_gems *g, const struct policy_piece *p, enum policy_process proc,
    struct policy_verdict *v)
{
	for (size_t i = 0; i < p->n_gems; i++) {
		const struct policy_gem *gm = &p->gems[i];
		struct policy_gem_name gn;
		const char *why;
		char name[400], err[400];
		if (!gm->species || !*gm->species) {
			say(v, false, "%s refused: a gem of the piece has no species", policy_process_name(proc));
			return false;
		}
		if (policy_gem_resolve(g, gm->species, gm->treatment, &gn, err, sizeof err) < 0) {
			say(v, false, "%s refused: %s", policy_process_name(proc), err);
			return false;
		}
		policy_gem_name_text(&gn, name, sizeof name);
		int verdict = policy_gem_name_verdict(g, &gn, proc == PROC_ENGRAVING ? PROC_ULTRASONIC :
		    proc, &why);
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
