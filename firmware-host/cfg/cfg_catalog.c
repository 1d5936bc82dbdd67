/*
 * Loading of config/gems.yaml and config/services.yaml through the schema
 * machinery, with the checks that span entries: no gem listed twice, every
 * treatment named in the treatments list, every step a service names
 * defined, every substitute step defined and manual.
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

#define GS(f) offsetof(struct cfg_gems, f)
static const struct sk gems_keys[] = {
	KEY("treatments", SK_STRLIST, GS(treatments), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("gems", SK_LIST, GS(gems), NULL, 0, 0, NULL, SK_REQUIRED, .sub = &gem_schema,
	    .count_off = GS(n_gems)),
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

static void
check_gems(struct cfg_ctx *ctx, void *obj, yaml_node_t *root)
{
	struct cfg_gems *g = obj;
	for (size_t i = 0; i < g->n_gems; i++) {
		const struct cfg_gem *e = &g->gems[i];
		if (!e->species || !e->treatment)
			continue;
		if (strcmp(e->treatment, "any") != 0 && !in_list(g->treatments, e->treatment))
			cfg_err_node(ctx, root, "gems[%zu] (%s): treatment '%s' is not in the "
			    "treatments list", i, e->species, e->treatment);
		for (size_t j = 0; j < i; j++)
			if (g->gems[j].species && g->gems[j].treatment &&
			    strcmp(g->gems[j].species, e->species) == 0 &&
			    strcmp(g->gems[j].treatment, e->treatment) == 0)
				cfg_err_node(ctx, root, "gems[%zu]: %s (%s) is listed twice", i,
				    e->species, e->treatment);
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
