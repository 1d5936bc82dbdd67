/*
 * Device profiles: the Modbus register maps of config/profiles/NAME.yaml,
 * loaded through the same schema machinery as the bench configuration and
 * checked as a whole (names unique, registers not overlapping, u32/s32
 * taking two addresses, ranges inside what the type can carry, registers
 * marked never_write not writable, variants naming real registers).
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cfg/cfg.h"
#include "cfg/cfg_schema.h"
#include "util.h"

#define KEY(k, t, off_, u, lo, hi, d, fl, ...) \
	{ .key = (k), .type = (t), .off = (off_), .unit = (u), .min = (lo), .max = (hi), \
	  .def = (d), .flags = (fl), __VA_ARGS__ }

/* range: [min, max] in engineering units. */
static void
parse_range(struct cfg_ctx *ctx, const struct sk *k, yaml_node_t *node, void *field,
    const char *path)
{
	struct profile_reg *r = (struct profile_reg *)((char *)field - k->off);
	double v[2];

	if (node->type != YAML_SEQUENCE_NODE ||
	    node->data.sequence.items.top - node->data.sequence.items.start != 2) {
		cfg_err_node(ctx, node, "%s must be [min, max]", path);
		return;
	}
	for (int i = 0; i < 2; i++) {
		yaml_node_t *n = yaml_document_get_node(ctx->doc, node->data.sequence.items.start[i]);
		if (!cfg_parse_number(cfg_scalar(n), &v[i])) {
			cfg_err_node(ctx, n, "%s[%d] must be a number", path, i);
			return;
		}
	}
	if (v[0] > v[1]) {
		cfg_err_node(ctx, node, "%s: min %g is above max %g", path, v[0], v[1]);
		return;
	}
	r->has_range = true;
	r->min = v[0];
	r->max = v[1];
}

static void
print_range(const struct sk *k, const void *field, FILE *out, int indent)
{
	const struct profile_reg *r = (const struct profile_reg *)((const char *)field - k->off);
	if (!r->has_range)
		return;
	fprintf(out, "%*srange: [", indent, "");
	cfg_print_number(out, r->min);
	fputs(", ", out);
	cfg_print_number(out, r->max);
	fputs("]\n", out);
}

static void
release_nothing(void *field)
{
	(void)field;
}

static const char *const type_names[] = { "u16", "s16", "u32", "s32", "bit", NULL };
static const int type_values[] = { REG_U16, REG_S16, REG_U32, REG_S32, REG_BIT };
static const char *const access_names[] = { "ro", "rw", "wo", NULL };
static const int access_values[] = { REG_RO, REG_RW, REG_WO };

#define R(f) offsetof(struct profile_reg, f)
static const struct sk reg_keys[] = {
	KEY("name", SK_STRING, R(name), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("address", SK_INT, R(address), "", 0, 65535, NULL, SK_REQUIRED),
	KEY("type", SK_ENUM, R(type), NULL, 0, 0, "u16", 0, .names = type_names, .values = type_values),
	KEY("bit", SK_INT, R(bit), "", 0, 15, "0", 0),
	KEY("scale", SK_DOUBLE, R(scale), "", 1e-9, 1e9, "1", 0),
	KEY("unit", SK_STRING, R(unit), NULL, 0, 0, "", 0),
	KEY("access", SK_ENUM, R(access), NULL, 0, 0, "ro", 0, .names = access_names, .values = access_values),
	KEY("range", SK_CUSTOM, R(has_range), NULL, 0, 0, NULL, 0, .parse = parse_range,
	    .print = print_range, .release = release_nothing),
	KEY("never_write", SK_BOOL, R(never_write), NULL, 0, 0, "false", 0),
};
static const struct schema reg_schema = { "register", reg_keys, SK_COUNT(reg_keys), sizeof(struct profile_reg) };

/* models: [first, last] model ids. */
static void
parse_models(struct cfg_ctx *ctx, const struct sk *k, yaml_node_t *node, void *field,
    const char *path)
{
	struct profile_variant *v = (struct profile_variant *)((char *)field - k->off);
	double m[2];
	size_t n = node->type == YAML_SEQUENCE_NODE ?
	    (size_t)(node->data.sequence.items.top - node->data.sequence.items.start) : 0;

	if (n != 2) {
		cfg_err_node(ctx, node, "%s must be [first, last] model ids", path);
		return;
	}
	for (size_t i = 0; i < 2; i++) {
		yaml_node_t *e = yaml_document_get_node(ctx->doc, node->data.sequence.items.start[i]);
		if (!cfg_parse_number(cfg_scalar(e), &m[i]) || m[i] != floor(m[i]) || m[i] < 0 ||
		    m[i] > 65535) {
			cfg_err_node(ctx, e, "%s[%zu] must be a model id between 0 and 65535", path, i);
			return;
		}
	}
	if (m[0] > m[1]) {
		cfg_err_node(ctx, node, "%s: first model %g is above last %g", path, m[0], m[1]);
		return;
	}
	v->model_min = (int)m[0];
	v->model_max = (int)m[1];
}

static void
print_models(const struct sk *k, const void *field, FILE *out, int indent)
{
	const struct profile_variant *v = (const struct profile_variant *)((const char *)field - k->off);
	fprintf(out, "%*smodels: [%d, %d]\n", indent, "", v->model_min, v->model_max);
}

/* scales: {register: scale, ...} */
static void
parse_scales(struct cfg_ctx *ctx, const struct sk *k, yaml_node_t *node, void *field,
    const char *path)
{
	struct profile_variant *v = (struct profile_variant *)((char *)field - k->off);
	if (node->type != YAML_MAPPING_NODE) {
		cfg_err_node(ctx, node, "%s must map register names to scales", path);
		return;
	}
	size_t n = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
	v->reg_names = xcalloc(n + 1, sizeof *v->reg_names);
	v->scales = xcalloc(n + 1, sizeof *v->scales);
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
	    p < node->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(ctx->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(ctx->doc, p->value);
		double s;
		if (!cfg_scalar(kn)) {
			cfg_err_node(ctx, kn, "%s: keys must be register names", path);
			continue;
		}
		if (!cfg_parse_number(cfg_scalar(vn), &s) || s <= 0) {
			cfg_err_node(ctx, vn, "%s.%s must be a scale above 0", path, cfg_scalar(kn));
			continue;
		}
		v->reg_names[v->n_scales] = xstrdup(cfg_scalar(kn));
		v->scales[v->n_scales++] = s;
	}
}

static void
print_scales(const struct sk *k, const void *field, FILE *out, int indent)
{
	const struct profile_variant *v = (const struct profile_variant *)((const char *)field - k->off);
	fprintf(out, "%*sscales:\n", indent, "");
	for (size_t i = 0; i < v->n_scales; i++) {
		fprintf(out, "%*s%s: ", indent + 2, "", v->reg_names[i]);
		cfg_print_number(out, v->scales[i]);
		fputc('\n', out);
	}
}

static void
release_scales(void *field)
{
	struct profile_variant *v = (struct profile_variant *)((char *)field -
	    offsetof(struct profile_variant, reg_names));
	for (size_t i = 0; i < v->n_scales; i++)
		free(v->reg_names[i]);
	free(v->reg_names);
	free(v->scales);
	v->reg_names = NULL;
	v->scales = NULL;
	v->n_scales = 0;
}

#define V(f) offsetof(struct profile_variant, f)
static const struct sk variant_keys[] = {
	KEY("name", SK_STRING, V(name), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("models", SK_CUSTOM, V(model_min), NULL, 0, 0, NULL, SK_REQUIRED, .parse = parse_models,
	    .print = print_models, .release = release_nothing),
	KEY("scales", SK_CUSTOM, V(reg_names), NULL, 0, 0, NULL, 0, .parse = parse_scales,
	    .print = print_scales, .release = release_scales),
};
static const struct schema variant_schema = { "variant", variant_keys, SK_COUNT(variant_keys),
	sizeof(struct profile_variant) };

#define P(f) offsetof(struct profile, f)
static const struct sk profile_keys[] = {
	KEY("name", SK_STRING, P(name), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("description", SK_STRING, P(description), NULL, 0, 0, "", 0),
	KEY("identify", SK_STRING, P(identify), NULL, 0, 0, NULL, 0),
	KEY("registers", SK_LIST, P(regs), NULL, 0, 0, NULL, SK_REQUIRED, .sub = &reg_schema,
	    .count_off = P(n_regs)),
	KEY("variants", SK_LIST, P(variants), NULL, 0, 0, NULL, 0, .sub = &variant_schema,
	    .count_off = P(n_variants)),
};
static const struct schema profile_schema = { "profile", profile_keys, SK_COUNT(profile_keys),
	sizeof(struct profile) };

static int
reg_words(const struct profile_reg *r)
{
	return r->type == REG_U32 || r->type == REG_S32 ? 2 : 1;
}

static void
check_profile(struct cfg_ctx *ctx, void *obj, yaml_node_t *root)
{
	struct profile *p = obj;
	for (size_t i = 0; i < p->n_regs; i++) {
		const struct profile_reg *r = &p->regs[i];
		if (!r->name)
			continue;
		if (r->type == REG_U32 || r->type == REG_S32) {
			if (r->address == 65535)
				cfg_err_node(ctx, root, "register '%s' at 65535 has no room for its "
				    "second word", r->name);
		}
		if (r->never_write && r->access != REG_RO)
			cfg_err_node(ctx, root, "register '%s' is never_write but its access is %s",
			    r->name, r->access == REG_RW ? "rw" : "wo");
		if (r->has_range) {
			double lo, hi;
			switch (r->type) {
			case REG_U16: lo = 0; hi = 65535; break;
			case REG_S16: lo = -32768; hi = 32767; break;
			case REG_U32: lo = 0; hi = 4294967295.0; break;
			case REG_S32: lo = -2147483648.0; hi = 2147483647.0; break;
			default: lo = 0; hi = 1; break;
			}
			if (r->min < lo * r->scale - 1e-9 || r->max > hi * r->scale + 1e-9)
				cfg_err_node(ctx, root, "register '%s': range [%g, %g] is outside what "
				    "a %s scaled by %g can hold", r->name, r->min, r->max,
				    type_names[r->type], r->scale);
		}
		for (size_t j = 0; j < i; j++) {
			const struct profile_reg *o = &p->regs[j];
			if (!o->name)
				continue;
			if (strcmp(o->name, r->name) == 0)
				cfg_err_node(ctx, root, "register name '%s' is used twice", r->name);
			/* Bits of one register may share it with each other and
			 * with the whole register; whole registers may not overlap. */
			if (r->type == REG_BIT || o->type == REG_BIT) {
				if (r->type == REG_BIT && o->type == REG_BIT &&
				    r->address == o->address && r->bit == o->bit)
					cfg_err_node(ctx, root, "registers '%s' and '%s' are the same bit",
					    o->name, r->name);
				continue;
			}
			if (r->address < o->address + reg_words(o) &&
			    o->address < r->address + reg_words(r))
				cfg_err_node(ctx, root, "registers '%s' and '%s' overlap at address %d",
				    o->name, r->name, r->address > o->address ? r->address : o->address);
		}
	}
	if (p->identify && !profile_reg_find(p, p->identify))
		cfg_err_node(ctx, root, "identify names '%s', which is not a register", p->identify);
	for (size_t i = 0; i < p->n_variants; i++)
		for (size_t j = 0; j < p->variants[i].n_scales; j++)
			if (!profile_reg_find(p, p->variants[i].reg_names[j]))
				cfg_err_node(ctx, root, "variant '%s' scales '%s', which is not a register",
				    p->variants[i].name ? p->variants[i].name : "?",
				    p->variants[i].reg_names[j]);
}

struct profile *
profile_load_buffer(const char *name, const char *data, size_t len, struct cfg_errors *errs)
{
	struct profile *p = xcalloc(1, sizeof *p);
	if (schema_load_text(name, data, len, &profile_schema, p, check_profile, true, errs) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

struct profile *
profile_load(const char *path, struct cfg_errors *errs)
{
	struct profile *p = xcalloc(1, sizeof *p);
	if (schema_load_file(path, &profile_schema, p, check_profile, true, errs) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

void
profile_free(struct profile *p)
{
	if (!p)
		return;
	schema_release(&profile_schema, p);
	free(p);
}

void
profile_print(const struct profile *p, FILE *out)
{
	schema_print(&profile_schema, p, out, 0);
}

const struct profile_reg *
profile_reg_find(const struct profile *p, const char *name)
{
	for (size_t i = 0; i < p->n_regs; i++)
		if (p->regs[i].name && strcmp(p->regs[i].name, name) == 0)
			return &p->regs[i];
	return NULL;
}
