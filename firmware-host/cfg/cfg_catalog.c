/*
 * Loading of config/gems.yaml and config/services.yaml through the schema
 * machinery, with the checks that span entries: no gem listed twice, every
 * treatment named in the treatments list, every alias naming a species of
 * the table and no name reaching two things, every step a service names
 * defined, every substitute step defined and manual. Gem names compare as
 * a jeweller writes them (any case, spaces or hyphens), so the table's
 * names must stay apart under that comparison too.
 */
#include "cfg/cfg_catalog.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cfg/cfg_schema.h"
#include "util.h"

#define KEY(k, t, off_, u, lo, hi, d, fl, ...) \
	{ .key = (k), .type = (t), .off = (off_), .unit = (u), .min = (lo), .max = (hi), \
	  .def = (d), .flags = (fl), __VA_ARGS__ }

static const char *const verdict_names[] = { "safe", "risky", "never", NULL };

const char *
gem_verdict_name(int v)
{
	return v >= GEM_SAFE && v <= GEM_NEVER ? verdict_names[v] : "?";
}

#define G(f) offsetof(struct cfg_gem, f)
static const struct sk gem_keys[] = {
	KEY("species", SK_STRING, G(species), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("treatment", SK_STRING, G(treatment), NULL, 0, 0, "none", 0),
	KEY("ultrasonic", SK_ENUM, G(ultrasonic), NULL, 0, 0, NULL, SK_REQUIRED, .names = verdict_names),
	KEY("acid_bath", SK_ENUM, G(acid_bath), NULL, 0, 0, NULL, SK_REQUIRED, .names = verdict_names),
	KEY("reason", SK_STRING, G(reason), NULL, 0, 0, NULL, SK_REQUIRED),
};
static const struct schema gem_schema = { "gem", gem_keys, SK_COUNT(gem_keys), sizeof(struct cfg_gem) };

#define GA(f) offsetof(struct cfg_gem_alias, f)
static const struct sk alias_keys[] = {
	KEY("species", SK_STRING, GA(species), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("names", SK_STRLIST, GA(names), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("treatments", SK_STRLIST, GA(treatments), NULL, 0, 0, NULL, 0),
};
static const struct schema alias_schema = { "alias", alias_keys, SK_COUNT(alias_keys),
	sizeof(struct cfg_gem_alias) };

#define GS(f) offsetof(struct cfg_gems, f)
static const struct sk gems_keys[] = {
	KEY("treatments", SK_STRLIST, GS(treatments), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("gems", SK_LIST, GS(gems), NULL, 0, 0, NULL, SK_REQUIRED, .sub = &gem_schema,
	    .count_off = GS(n_gems)),
	KEY("aliases", SK_LIST, GS(aliases), NULL, 0, 0, NULL, 0, .sub = &alias_schema,
	    .count_off = GS(n_aliases)),
};
static const struct schema gems_schema = { "gems file", gems_keys, SK_COUNT(gems_keys), sizeof(struct cfg_gems) };

static bool
in_list(char **l, const char *s)
{
	for (size_t i = 0; l && l[i]; i++)
		if (strcmp(l[i], s) == 0)
			return true;
	return false;
}

static bool
is_sep(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
	    c == '-' || c == '_';
}

int
cfg_gem_name_key(const char *name, char *out, size_t len)
{
	size_t n = 0;
	bool sep = false;
	for (const unsigned char *p = (const unsigned char *)name; p && *p; p++) {
		if (is_sep(*p)) {
			sep = n > 0;
			continue;
		}
		if (n + sep >= CFG_GEM_NAME_MAX || n + sep + 1 >= len)
			return -1;
		if (sep)
			out[n++] = ' ';
		sep = false;
		out[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	}
	if (n == 0 || len == 0)
		return -1;
	out[n] = '\0';
	return (int)n;
}

/* Whether name compares as key (from cfg_gem_name_key). */
static bool
same_name(const char *name, const char *key)
{
	char k[CFG_GEM_NAME_MAX + 1];
	return name && cfg_gem_name_key(name, k, sizeof k) >= 0 && strcmp(k, key) == 0;
}

static const char *
species_by_key(const struct cfg_gems *g, const char *key)
{
	for (size_t i = 0; i < g->n_gems; i++)
		if (g->gems[i].species && strcmp(g->gems[i].species, "*") != 0 &&
		    same_name(g->gems[i].species, key))
			return g->gems[i].species;
	return NULL;
}

const char *
cfg_gems_species(const struct cfg_gems *g, const char *name, const struct cfg_gem_alias **alias)
{
	char key[CFG_GEM_NAME_MAX + 1];
	if (alias)
		*alias = NULL;
	if (cfg_gem_name_key(name, key, sizeof key) < 0)
		return NULL;
	const char *sp = species_by_key(g, key);
	if (sp)
		return sp;
	for (size_t i = 0; i < g->n_aliases; i++)
		for (size_t k = 0; g->aliases[i].names && g->aliases[i].names[k]; k++)
			if (same_name(g->aliases[i].names[k], key)) {
				char skey[CFG_GEM_NAME_MAX + 1];
				if (cfg_gem_name_key(g->aliases[i].species, skey, sizeof skey) < 0)
					return NULL;
				if (alias)
					*alias = &g->aliases[i];
				return species_by_key(g, skey);
			}
	return NULL;
}

const char *
cfg_gems_treatment(const struct cfg_gems *g, const char *name)
{
	char key[CFG_GEM_NAME_MAX + 1];
	if (cfg_gem_name_key(name, key, sizeof key) < 0)
		return NULL;
	for (size_t i = 0; g->treatments && g->treatments[i]; i++)
		if (same_name(g->treatments[i], key))
			return g->treatments[i];
	return NULL;
}

/* A name of the table that a jeweller's words must be able to reach:
 * it has a key, and no ':' (atelierctl's SPECIES:TREATMENT:COUNT) nor, for
 * treatments, '+' (which joins several). */
static bool
check_name(struct cfg_ctx *ctx, yaml_node_t *node, const char *where, const char *name,
    bool treatment)
{
	char key[CFG_GEM_NAME_MAX + 1], shown[100];
	if (strlen(name) <= 80)
		snprintf(shown, sizeof shown, "'%s'", name);
	else
		snprintf(shown, sizeof shown, "(a name of %zu characters)", strlen(name));
	if (cfg_gem_name_key(name, key, sizeof key) < 0) {
		bool empty = strspn(name, " \t\n\r\v\f-_") == strlen(name);
		cfg_err_node(ctx, node, "%s: %s %s", where, shown, empty ? "is no name: spaces, "
		    "hyphens and underscores only separate words" : "is longer than "
		    CFG_GEM_NAME_MAX_TEXT " characters");
		return false;
	}
	if (strchr(name, ':') || (treatment && strchr(name, '+'))) {
		cfg_err_node(ctx, node, "%s: %s must not contain '%c'%s", where, shown,
		    strchr(name, ':') ? ':' : '+', strchr(name, ':') ? " (atelierctl writes "
		    "SPECIES:TREATMENT:COUNT)" : " (it joins several treatments)");
		return false;
	}
	return true;
}

/* The species nearest to name, for "did you mean". */
static const char *
nearest_species(const struct cfg_gems *g, const char *name)
{
	const char *best = NULL;
	size_t bd = (size_t)-1;
	for (size_t i = 0; i < g->n_gems; i++) {
		const char *sp = g->gems[i].species;
		if (!sp || strcmp(sp, "*") == 0)
			continue;
		size_t d = str_distance(name, sp);
		if (d < bd) {
			bd = d;
			best = sp;
		}
	}
	return best && bd <= 3 ? best : NULL;
}

static void
check_gems(struct cfg_ctx *ctx, void *obj, yaml_node_t *root)
{
	struct cfg_gems *g = obj;
	yaml_node_t *tl = cfg_node_get(ctx, root, "treatments");
	yaml_node_t *gl = cfg_node_get(ctx, root, "gems");
	yaml_node_t *al = cfg_node_get(ctx, root, "aliases");
	char key[CFG_GEM_NAME_MAX + 1];

	for (size_t i = 0; g->treatments && g->treatments[i]; i++) {
		yaml_node_t *n = cfg_node_item(ctx, tl, i);
		char where[48];
		snprintf(where, sizeof where, "treatments[%zu]", i);
		if (!check_name(ctx, n ? n : root, where, g->treatments[i], true))
			continue;
		cfg_gem_name_key(g->treatments[i], key, sizeof key);
		for (size_t j = 0; j < i; j++)
			if (same_name(g->treatments[j], key))
				cfg_err_node(ctx, n, "treatments[%zu]: '%s' is '%s' again (names compare "
				    "without case, spaces, hyphens or underscores)", i, g->treatments[i],
				    g->treatments[j]);
	}
	for (size_t i = 0; i < g->n_gems; i++) {
		const struct cfg_gem *e = &g->gems[i];
		yaml_node_t *item = cfg_node_item(ctx, gl, i);
		yaml_node_t *tn = cfg_node_get(ctx, item, "treatment");
		yaml_node_t *sn = cfg_node_get(ctx, item, "species");
		if (!e->species || !e->treatment)
			continue;
		if (strcmp(e->treatment, "any") != 0 && !in_list(g->treatments, e->treatment))
			cfg_err_node(ctx, tn ? tn : item ? item : root, "gems[%zu] (%s): treatment '%s' "
			    "is not in the treatments list", i, e->species, e->treatment);
		char where[48];
		snprintf(where, sizeof where, "gems[%zu].species", i);
		if (strcmp(e->species, "*") != 0 &&
		    check_name(ctx, sn ? sn : root, where, e->species, false)) {
			cfg_gem_name_key(e->species, key, sizeof key);
			const char *sp = species_by_key(g, key);
			if (sp && strcmp(sp, e->species) != 0)
				cfg_err_node(ctx, sn ? sn : root, "gems[%zu]: species '%s' is spelt '%s' "
				    "above; one species, one spelling", i, e->species, sp);
		}
		for (size_t j = 0; j < i; j++)
			if (g->gems[j].species && g->gems[j].treatment &&
			    strcmp(g->gems[j].species, e->species) == 0 &&
			    strcmp(g->gems[j].treatment, e->treatment) == 0)
				cfg_err_node(ctx, item ? item : root, "gems[%zu]: %s (%s) is listed twice",
				    i, e->species, e->treatment);
	}
	for (size_t i = 0; i < g->n_aliases; i++) {
		const struct cfg_gem_alias *a = &g->aliases[i];
		yaml_node_t *item = cfg_node_item(ctx, al, i);
		yaml_node_t *sn = cfg_node_get(ctx, item, "species");
		yaml_node_t *nl = cfg_node_get(ctx, item, "names");
		yaml_node_t *trl = cfg_node_get(ctx, item, "treatments");
		if (!a->species)
			continue;
		if (strcmp(a->species, "*") == 0 ||
		    cfg_gem_name_key(a->species, key, sizeof key) < 0 || !species_by_key(g, key)) {
			const char *near = nearest_species(g, a->species);
			cfg_err_node(ctx, sn ? sn : item ? item : root, "aliases[%zu]: species '%.60s' "
			    "is not a species of the gem table%s%s%s", i, a->species,
			    near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
		}
		if (!a->names || !a->names[0])
			cfg_err_node(ctx, nl ? nl : item ? item : root, "aliases[%zu]: names must list "
			    "at least one name", i);
		for (size_t k = 0; a->names && a->names[k]; k++) {
			yaml_node_t *n = cfg_node_item(ctx, nl, k);
			if (!n)
				n = item ? item : root;
			char where[64];
			snprintf(where, sizeof where, "aliases[%zu].names[%zu]", i, k);
			if (!check_name(ctx, n, where, a->names[k], false))
				continue;
			cfg_gem_name_key(a->names[k], key, sizeof key);
			const char *sp = species_by_key(g, key);
			const struct cfg_gem_alias *other = NULL;
			const char *clash = NULL;
			for (size_t j = 0; j <= i && !clash; j++)
				for (size_t m = 0; g->aliases[j].names && g->aliases[j].names[m] &&
				    (j < i || m < k); m++)
					if (same_name(g->aliases[j].names[m], key)) {
						other = &g->aliases[j];
						clash = g->aliases[j].names[m];
						break;
					}
			if (sp)
				cfg_err_node(ctx, n, "aliases[%zu]: '%s' is already the species '%s'", i,
				    a->names[k], sp);
			else if (clash)
				cfg_err_node(ctx, n, "aliases[%zu]: '%s' is already an alias ('%s') of '%s'",
				    i, a->names[k], clash, other->species ? other->species : "?");
		}
		for (size_t k = 0; a->treatments && a->treatments[k]; k++)
			if (!in_list(g->treatments, a->treatments[k])) {
				yaml_node_t *n = cfg_node_item(ctx, trl, k);
				cfg_err_node(ctx, n ? n : item ? item : root, "aliases[%zu] (%s): treatment "
				    "'%s' is not in the treatments list", i, a->species, a->treatments[k]);
			}
	}
}

int
cfg_gems_load_buffer(const char *name, const char *data, size_t len, struct cfg_gems *out,
    struct cfg_errors *errs)
{
	memset(out, 0, sizeof *out);
	return schema_load_text(name, data, len, &gems_schema, out, check_gems, true, errs);
}

int
cfg_gems_load(const char *path, struct cfg_gems *out, struct cfg_errors *errs)
{
	memset(out, 0, sizeof *out);
	return schema_load_file(path, &gems_schema, out, check_gems, true, errs);
}

void
cfg_gems_release(struct cfg_gems *g)
{
	schema_release(&gems_schema, g);
}

void
cfg_gems_print(const struct cfg_gems *g, FILE *out)
{
	schema_print(&gems_schema, g, out, 0);
}

static const char *const kind_names[] = { "manual", "machine", NULL };

#define PH(f) offsetof(struct cfg_phase, f)
static const struct sk phase_keys[] = {
	KEY("name", SK_STRING, PH(name), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("title", SK_STRING, PH(title), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("volts", SK_DOUBLE, PH(volts), "V", 0, 12, "0", 0),
	KEY("plate", SK_BOOL, PH(plate), NULL, 0, 0, "false", 0),
	KEY("seconds", SK_DOUBLE, PH(seconds), "s", 0, 3600, "0", 0),
};
static const struct schema phase_schema = { "phase", phase_keys, SK_COUNT(phase_keys),
	sizeof(struct cfg_phase) };

#define PT(f) offsetof(struct cfg_piece_type, f)
static const struct sk piece_type_keys[] = {
	KEY("type", SK_STRING, PT(type), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("area_dm2", SK_DOUBLE, PT(area_dm2), "dm2", 0.001, 10, NULL, SK_REQUIRED),
	KEY("plate_volts", SK_DOUBLE, PT(plate_volts), "V", 0.5, 6, NULL, SK_REQUIRED),
};
static const struct schema piece_type_schema = { "piece type", piece_type_keys,
	SK_COUNT(piece_type_keys), sizeof(struct cfg_piece_type) };

#define ST(f) offsetof(struct cfg_step, f)
static const struct sk step_keys[] = {
	KEY("id", SK_STRING, ST(id), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("kind", SK_ENUM, ST(kind), NULL, 0, 0, NULL, SK_REQUIRED, .names = kind_names),
	KEY("title", SK_STRING, ST(title), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("station", SK_STRING, ST(station), NULL, 0, 0, NULL, 0),
	KEY("process", SK_STRING, ST(process), NULL, 0, 0, NULL, 0),
	KEY("substitute", SK_STRING, ST(substitute), NULL, 0, 0, NULL, 0),
	KEY("metals", SK_STRLIST, ST(metals), NULL, 0, 0, NULL, 0),
	KEY("phases", SK_LIST, ST(phases), NULL, 0, 0, NULL, 0, .sub = &phase_schema,
	    .count_off = ST(n_phases)),
};
static const struct schema step_schema = { "step", step_keys, SK_COUNT(step_keys), sizeof(struct cfg_step) };

#define E(f) offsetof(struct cfg_eligibility, f)
static const struct sk elig_keys[] = {
	KEY("piece_types", SK_STRLIST, E(piece_types), NULL, 0, 0, NULL, 0),
	KEY("max_change_cm", SK_DOUBLE, E(max_change_cm), "cm", 0, 100, "0", 0),
	KEY("max_sizes", SK_INT, E(max_sizes), "sizes", 0, 20, "0", 0),
	KEY("beyond", SK_STRING, E(beyond), NULL, 0, 0, NULL, 0),
	KEY("refuse_paved", SK_BOOL, E(refuse_paved), NULL, 0, 0, "false", 0),
	KEY("refuse_collections", SK_STRLIST, E(refuse_collections), NULL, 0, 0, NULL, 0),
	KEY("refuse_types", SK_STRLIST, E(refuse_types), NULL, 0, 0, NULL, 0),
	KEY("within_days", SK_INT, E(within_days), "days", 0, 3650, "0", 0),
	KEY("certificate_required", SK_BOOL, E(certificate_required), NULL, 0, 0, "false", 0),
};
static const struct schema elig_schema = { "eligibility", elig_keys, SK_COUNT(elig_keys),
	sizeof(struct cfg_eligibility) };

static const char *const rule_names[] = { "complimentary", "first_free", "care_bundle", "estimate", NULL };

#define PR(f) offsetof(struct cfg_pricing, f)
static const struct sk pricing_keys[] = {
	KEY("rule", SK_ENUM, PR(rule), NULL, 0, 0, NULL, SK_REQUIRED, .names = rule_names),
	KEY("price", SK_DOUBLE, PR(price), "USD", 0, 1000000, "0", 0),
	KEY("currency", SK_STRING, PR(currency), NULL, 0, 0, "USD", 0),
	KEY("note", SK_STRING, PR(note), NULL, 0, 0, NULL, 0),
};
static const struct schema pricing_schema = { "pricing", pricing_keys, SK_COUNT(pricing_keys),
	sizeof(struct cfg_pricing) };

#define SV(f) offsetof(struct cfg_service, f)
static const struct sk service_keys[] = {
	KEY("id", SK_STRING, SV(id), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("title", SK_STRING, SV(title), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("group", SK_STRING, SV(group), NULL, 0, 0, NULL, 0),
	KEY("steps", SK_STRLIST, SV(steps), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("eligibility", SK_SECTION, SV(eligibility), NULL, 0, 0, NULL, 0, .sub = &elig_schema),
	KEY("pricing", SK_SECTION, SV(pricing), NULL, 0, 0, NULL, SK_REQUIRED, .sub = &pricing_schema),
	KEY("rule", SK_STRING, SV(rule), NULL, 0, 0, NULL, SK_REQUIRED),
};
static const struct schema service_schema = { "service", service_keys, SK_COUNT(service_keys),
	sizeof(struct cfg_service) };

#define SS(f) offsetof(struct cfg_services, f)
static const struct sk services_keys[] = {
	KEY("metals", SK_STRLIST, SS(metals), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("pieces", SK_LIST, SS(pieces), NULL, 0, 0, NULL, SK_REQUIRED, .sub = &piece_type_schema,
	    .count_off = SS(n_pieces)),
	KEY("steps", SK_LIST, SS(steps), NULL, 0, 0, NULL, SK_REQUIRED, .sub = &step_schema,
	    .count_off = SS(n_steps)),
	KEY("services", SK_LIST, SS(services), NULL, 0, 0, NULL, SK_REQUIRED, .sub = &service_schema,
	    .count_off = SS(n_services)),
};
static const struct schema services_schema = { "services file", services_keys,
	SK_COUNT(services_keys), sizeof(struct cfg_services) };

const struct cfg_step *
cfg_step_find(const struct cfg_services *s, const char *id)
{
	for (size_t i = 0; i < s->n_steps; i++)
		if (s->steps[i].id && strcmp(s->steps[i].id, id) == 0)
			return &s->steps[i];
	return NULL;
}

const struct cfg_service *
cfg_service_find(const struct cfg_services *s, const char *id)
{
	for (size_t i = 0; i < s->n_services; i++)
		if (s->services[i].id && strcmp(s->services[i].id, id) == 0)
			return &s->services[i];
	return NULL;
}

const struct cfg_piece_type *
cfg_piece_type_find(const struct cfg_services *s, const char *type)
{
	for (size_t i = 0; i < s->n_pieces; i++)
		if (s->pieces[i].type && strcmp(s->pieces[i].type, type) == 0)
			return &s->pieces[i];
	return NULL;
}

static void
check_services(struct cfg_ctx *ctx, void *obj, yaml_node_t *root)
{
	struct cfg_services *s = obj;
	for (size_t i = 0; i < s->n_pieces; i++)
		for (size_t j = 0; j < i; j++)
			if (s->pieces[i].type && s->pieces[j].type &&
			    strcmp(s->pieces[i].type, s->pieces[j].type) == 0)
				cfg_err_node(ctx, root, "pieces[%zu]: type '%s' is listed twice", i,
				    s->pieces[i].type);
	for (size_t i = 0; i < s->n_steps; i++) {
		const struct cfg_step *st = &s->steps[i];
		if (!st->id)
			continue;
		for (size_t j = 0; j < i; j++)
			if (s->steps[j].id && strcmp(s->steps[j].id, st->id) == 0)
				cfg_err_node(ctx, root, "steps[%zu]: step '%s' is defined twice", i, st->id);
		if (st->kind == STEP_MACHINE && !st->station)
			cfg_err_node(ctx, root, "steps[%zu]: machine step '%s' needs a station", i, st->id);
		for (size_t k = 0; k < st->n_phases; k++)
			if (st->phases[k].plate && st->phases[k].volts > 0)
				cfg_err_node(ctx, root, "steps[%zu] (%s): phase '%s' takes its volts from "
				    "the piece type (plate: true) and cannot also give volts", i, st->id,
				    st->phases[k].name ? st->phases[k].name : "?");
		if (st->substitute) {
			const struct cfg_step *sub = cfg_step_find(s, st->substitute);
			if (!sub)
				cfg_err_node(ctx, root, "steps[%zu]: substitute '%s' of '%s' is not a step",
				    i, st->substitute, st->id);
			else if (sub->kind != STEP_MANUAL)
				cfg_err_node(ctx, root, "steps[%zu]: substitute '%s' of '%s' must be manual",
				    i, st->substitute, st->id);
		}
	}
	for (size_t i = 0; i < s->n_services; i++) {
		const struct cfg_service *sv = &s->services[i];
		if (!sv->id)
			continue;
		for (size_t j = 0; j < i; j++)
			if (s->services[j].id && strcmp(s->services[j].id, sv->id) == 0)
				cfg_err_node(ctx, root, "services[%zu]: service '%s' is defined twice", i, sv->id);
		for (size_t k = 0; sv->steps && sv->steps[k]; k++)
			if (!cfg_step_find(s, sv->steps[k]))
				cfg_err_node(ctx, root, "services[%zu] (%s): step '%s' is not defined",
				    i, sv->id, sv->steps[k]);
	}
	for (size_t i = 0; i < s->n_services; i++) {
		const char *beyond = s->services[i].eligibility.beyond;
		if (beyond && !cfg_service_find(s, beyond))
			cfg_err_node(ctx, root, "services[%zu] (%s): 'beyond' names '%s', not a service",
			    i, s->services[i].id ? s->services[i].id : "?", beyond);
	}
}

int
cfg_services_load(const char *path, struct cfg_services *out, struct cfg_errors *errs)
{
	memset(out, 0, sizeof *out);
	return schema_load_file(path, &services_schema, out, check_services, true, errs);
}

void
cfg_services_release(struct cfg_services *s)
{
	schema_release(&services_schema, s);
}

struct cfg_catalog *
cfg_catalog_load(const struct cfg *cfg, struct cfg_errors *errs)
{
	struct cfg_catalog *c = xcalloc(1, sizeof *c);
	char *gp = cfg_resolve(cfg, cfg->gems_file);
	char *sp = cfg_resolve(cfg, cfg->services_file);
	int rg = cfg_gems_load(gp, &c->gems, errs);
	int rs = cfg_services_load(sp, &c->services, errs);
	free(gp);
	free(sp);
	if (rg < 0 || rs < 0) {
		cfg_catalog_free(c);
		return NULL;
	}
	return c;
}

void
cfg_catalog_free(struct cfg_catalog *c)
{
	if (!c)
		return;
	cfg_gems_release(&c->gems);
	cfg_services_release(&c->services);
	free(c);
}
