/*
 * Device profiles: the Modbus register maps of config/profiles/NAME.yaml,
 * loaded through the same schema machinery as the bench configuration and
 * checked as a whole (names unique, registers not overlapping, u32/s32
 * taking two addresses, ranges inside what the type can carry, registers
 * marked never_write not writable, variants naming real registers and not
 * overlapping, a safe state that only writes what may be written).
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
static const char *const order_names[] = { "high_first", "low_first", NULL };
static const int order_values[] = { WORDS_HIGH_FIRST, WORDS_LOW_FIRST };

#define R(f) offsetof(struct profile_reg, f)
static const struct sk reg_keys[] = {
	KEY("name", SK_STRING, R(name), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("address", SK_INT, R(address), "", 0, 65535, NULL, SK_REQUIRED),
	KEY("type", SK_ENUM, R(type), NULL, 0, 0, "u16", 0, .names = type_names, .values = type_values),
	KEY("word_order", SK_ENUM, R(word_order), NULL, 0, 0, "high_first", 0, .names = order_names,
	    .values = order_values),
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

/* ranges: {register: [min, max], ...}, for the models whose limits differ
 * (an RD6006 sets 0-6 A, an RD6024 0-24 A). */
static void
parse_ranges(struct cfg_ctx *ctx, const struct sk *k, yaml_node_t *node, void *field,
    const char *path)
{
	struct profile_variant *v = (struct profile_variant *)((char *)field - k->off);
	if (node->type != YAML_MAPPING_NODE) {
		cfg_err_node(ctx, node, "%s must map register names to [min, max]", path);
		return;
	}
	size_t n = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
	v->range_names = xcalloc(n + 1, sizeof *v->range_names);
	v->ranges = xcalloc(n + 1, sizeof *v->ranges);
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
	    p < node->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(ctx->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(ctx->doc, p->value);
		yaml_node_t *lo = cfg_node_item(ctx, vn, 0), *hi = cfg_node_item(ctx, vn, 1);
		double m[2];
		if (!cfg_scalar(kn)) {
			cfg_err_node(ctx, kn, "%s: keys must be register names", path);
			continue;
		}
		if (!lo || !hi || cfg_node_item(ctx, vn, 2) || !cfg_parse_number(cfg_scalar(lo), &m[0]) ||
		    !cfg_parse_number(cfg_scalar(hi), &m[1])) {
			cfg_err_node(ctx, vn, "%s.%s must be [min, max]", path, cfg_scalar(kn));
			continue;
		}
		if (m[0] > m[1]) {
			cfg_err_node(ctx, vn, "%s.%s: min %g is above max %g", path, cfg_scalar(kn), m[0],
			    m[1]);
			continue;
		}
		v->range_names[v->n_ranges] = xstrdup(cfg_scalar(kn));
		v->ranges[v->n_ranges][0] = m[0];
		v->ranges[v->n_ranges++][1] = m[1];
	}
}

static void
print_ranges(const struct sk *k, const void *field, FILE *out, int indent)
{
	const struct profile_variant *v = (const struct profile_variant *)((const char *)field - k->off);
	if (!v->n_ranges)
		return;
	fprintf(out, "%*sranges:\n", indent, "");
	for (size_t i = 0; i < v->n_ranges; i++) {
		fprintf(out, "%*s%s: [", indent + 2, "", v->range_names[i]);
		cfg_print_number(out, v->ranges[i][0]);
		fputs(", ", out);
		cfg_print_number(out, v->ranges[i][1]);
		fputs("]\n", out);
	}
}

static void
release_ranges(void *field)
{
	struct profile_variant *v = (struct profile_variant *)((char *)field -
	    offsetof(struct profile_variant, range_names));
	for (size_t i = 0; i < v->n_ranges; i++)
		free(v->range_names[i]);
	free(v->range_names);
	free(v->ranges);
	v->range_names = NULL;
	v->ranges = NULL;
	v->n_ranges = 0;
}

#define V(f) offsetof(struct profile_variant, f)
static const struct sk variant_keys[] = {
	KEY("name", SK_STRING, V(name), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("models", SK_CUSTOM, V(model_min), NULL, 0, 0, NULL, SK_REQUIRED, .parse = parse_models,
	    .print = print_models, .release = release_nothing),
	KEY("select", SK_INT, V(select), "", -1, 65535, "-1", 0),
	KEY("scales", SK_CUSTOM, V(reg_names), NULL, 0, 0, NULL, 0, .parse = parse_scales,
	    .print = print_scales, .release = release_scales),
	KEY("ranges", SK_CUSTOM, V(range_names), NULL, 0, 0, NULL, 0, .parse = parse_ranges,
	    .print = print_ranges, .release = release_ranges),
};
static const struct schema variant_schema = { "variant", variant_keys, SK_COUNT(variant_keys),
	sizeof(struct profile_variant) };

#define W(f) offsetof(struct profile_write, f)
static const struct sk write_keys[] = {
	KEY("reg", SK_STRING, W(reg), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("value", SK_DOUBLE, W(value), "", 0, 0, NULL, SK_REQUIRED),
};
static const struct schema write_schema = { "write", write_keys, SK_COUNT(write_keys),
	sizeof(struct profile_write) };

#define P(f) offsetof(struct profile, f)
static const struct sk profile_keys[] = {
	KEY("name", SK_STRING, P(name), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("description", SK_STRING, P(description), NULL, 0, 0, "", 0),
	KEY("identify", SK_STRING, P(identify), NULL, 0, 0, NULL, 0),
	KEY("select_by", SK_STRING, P(select_by), NULL, 0, 0, NULL, 0),
	KEY("registers", SK_LIST, P(regs), NULL, 0, 0, NULL, SK_REQUIRED, .sub = &reg_schema,
	    .count_off = P(n_regs)),
	KEY("variants", SK_LIST, P(variants), NULL, 0, 0, NULL, 0, .sub = &variant_schema,
	    .count_off = P(n_variants)),
	KEY("safe_state", SK_LIST, P(safe), NULL, 0, 0, NULL, 0, .sub = &write_schema,
	    .count_off = P(n_safe)),
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
		} else if (r->word_order != WORDS_HIGH_FIRST) {
			cfg_err_node(ctx, root, "register '%s': word_order is for u32 and s32, not %s",
			    r->name, type_names[r->type]);
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
	if (p->select_by && !profile_reg_find(p, p->select_by))
		cfg_err_node(ctx, root,
		    "select_by names '%s', which is not a register", p->select_by);
	if ((p->select_by || p->n_variants) && !p->identify)
		cfg_err_node(ctx, root, "variants and select_by need an identify register");
	yaml_node_t *vlist = cfg_node_get(ctx, root, "variants");
	for (size_t i = 0; i < p->n_variants; i++) {
		const struct profile_variant *v = &p->variants[i];
		yaml_node_t *vn = cfg_node_item(ctx, vlist, i) ? cfg_node_item(ctx, vlist, i) : root;
		const char *vname = v->name ? v->name : "?";
		for (size_t j = 0; j < v->n_scales; j++)
			if (!profile_reg_find(p, v->reg_names[j]))
				cfg_err_node(ctx, vn, "variant '%s' scales '%s', which is not a register",
				    vname, v->reg_names[j]);
		for (size_t j = 0; j < v->n_ranges; j++) {
			const struct profile_reg *r = profile_reg_find(p, v->range_names[j]);
			if (!r)
				cfg_err_node(ctx, vn, "variant '%s' gives a range to '%s', which is not "
				    "a register", vname, v->range_names[j]);
			else if (r->access == REG_RO || r->type == REG_BIT)
				cfg_err_node(ctx, vn, "variant '%s' gives a range to '%s', which is "
				    "read-only", vname, v->range_names[j]);
		}
		if (v->select >= 0 && !p->select_by)
			cfg_err_node(ctx, vn, "variant '%s' has a select value but the profile has "
			    "no select_by register", vname);
		/* One identity, one variant: an overlap would choose scales by
		 * the order of the list. */
		for (size_t j = 0; j < i; j++) {
			const struct profile_variant *o = &p->variants[j];
			if (v->model_min <= o->model_max && o->model_min <= v->model_max &&
			    (v->select < 0 || o->select < 0 || v->select == o->select))
				cfg_err_node(ctx, vn, "variants '%s' and '%s' both match model %d",
				    o->name ? o->name : "?", vname,
				    v->model_min > o->model_min ? v->model_min : o->model_min);
		}
	}
	yaml_node_t *slist = cfg_node_get(ctx, root, "safe_state");
	if (p->n_safe > PROFILE_MAX_SAFE)
		cfg_err_node(ctx, slist ? slist : root, "safe_state has %zu writes; at most %d", p->n_safe,
		    PROFILE_MAX_SAFE);
	for (size_t i = 0; i < p->n_safe; i++) {
		const struct profile_write *w = &p->safe[i];
		yaml_node_t *wn = cfg_node_item(ctx, slist, i) ? cfg_node_item(ctx, slist, i) : root;
		const struct profile_reg *r = w->reg ? profile_reg_find(p, w->reg) : NULL;
		if (!w->reg)
			continue;
		if (!r)
			cfg_err_node(ctx, wn, "safe_state[%zu] writes '%s', which is not a register", i,
			    w->reg);
		else if (r->access == REG_RO || r->type == REG_BIT || r->never_write)
			cfg_err_node(ctx, wn, "safe_state[%zu] writes '%s', which is %s", i, w->reg,
			    r->never_write ? "never written" : "read-only");
		else if (r->has_range && (w->value < r->min || w->value > r->max))
			cfg_err_node(ctx, wn, "safe_state[%zu]: %s %g is outside %g..%g", i, w->reg,
			    w->value, r->min, r->max);
	}
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
