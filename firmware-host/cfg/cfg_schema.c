/*
 * Schema-driven loading and printing of YAML (see cfg_schema.h). libyaml's
 * document API keeps every node's position, so each error can name the
 * file, line and column of the offending key or value. Loading never stops
 * at the first error: every key of every mapping is checked, so a
 * technician fixes a file in one pass.
 */
#include "cfg/cfg_schema.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

/* Errors past this many are summarised: a binary file would otherwise
 * produce one per byte. */
#define CFG_MAX_ERRORS 100

void
cfg_errors_add(struct cfg_errors *e, const char *file, int line, int col,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (e->n > CFG_MAX_ERRORS)
		return;
	if (e->n == CFG_MAX_ERRORS) {
		snprintf(msg, sizeof msg, "too many errors; stopping here");
	} else {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
	}
	e->msgs = xrealloc(e->msgs, (e->n + 1) * sizeof *e->msgs);
	if (line > 0)
		e->msgs[e->n++] = xasprintf("%s:%d:%d: %s", file, line, col, msg);
	else
		e->msgs[e->n++] = xasprintf("%s: %s", file, msg);
}

void
cfg_errors_free(struct cfg_errors *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->msgs[i]);
	free(e->msgs);
	e->msgs = NULL;
	e->n = 0;
}

void
cfg_err_node(struct cfg_ctx *ctx, const yaml_node_t *node, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cfg_errors_add(ctx->errs, ctx->file, node ? (int)node->start_mark.line + 1 : 0,
	    node ? (int)node->start_mark.column + 1 : 0, "%s", msg);
}

char *
cfg_read_file(const char *path, size_t *len, struct cfg_errors *errs)
{
	FILE *f = fopen(path, "rb");
	struct stat st;

	if (!f) {
		cfg_errors_add(errs, path, 0, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		cfg_errors_add(errs, path, 0, 0, "is a directory, not a file");
		fclose(f);
		return NULL;
	}
	struct buf b;
	buf_init(&b);
	char tmp[8192];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
		buf_append(&b, tmp, n);
		if (b.len > 4 * 1024 * 1024) {
			cfg_errors_add(errs, path, 0, 0, "larger than 4 MiB: not a configuration file");
			buf_free(&b);
			fclose(f);
			return NULL;
		}
	}
	if (ferror(f)) {
		cfg_errors_add(errs, path, 0, 0, "cannot read: %s", strerror(errno));
		buf_free(&b);
		fclose(f);
		return NULL;
	}
	fclose(f);
	if (!b.data)
		buf_append(&b, "", 0);
	*len = b.len;
	return b.data;
}

yaml_node_t *
cfg_parse_yaml(struct cfg_ctx *ctx, const char *data, size_t len, yaml_document_t *doc)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int done = 0;

	if (memchr(data, '\0', len)) {
		cfg_errors_add(ctx->errs, ctx->file, 0, 0,
		    "contains NUL bytes: not a YAML text file");
		return NULL;
	}
	/* First pass over events: refuse aliases before anything is built. */
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			cfg_errors_add(ctx->errs, ctx->file, (int)parser.problem_mark.line + 1,
			    (int)parser.problem_mark.column + 1, "YAML syntax: %s%s%s",
			    parser.problem ? parser.problem : "unknown error",
			    parser.context ? " " : "", parser.context ? parser.context : "");
			yaml_parser_delete(&parser);
			return NULL;
		}
		if (ev.type == YAML_ALIAS_EVENT) {
			cfg_errors_add(ctx->errs, ctx->file, (int)ev.start_mark.line + 1,
			    (int)ev.start_mark.column + 1,
			    "aliases (*name) are not allowed in Atelier files; write the value out");
			yaml_event_delete(&ev);
			yaml_parser_delete(&parser);
			return NULL;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	if (!yaml_parser_load(&parser, doc)) {
		cfg_errors_add(ctx->errs, ctx->file, (int)parser.problem_mark.line + 1,
		    (int)parser.problem_mark.column + 1, "YAML syntax: %s",
		    parser.problem ? parser.problem : "unknown error");
		yaml_parser_delete(&parser);
		return NULL;
	}
	yaml_parser_delete(&parser);
	ctx->doc = doc;
	yaml_node_t *root = yaml_document_get_root_node(doc);
	if (!root) {
		cfg_errors_add(ctx->errs, ctx->file, 1, 1, "the file is empty");
		yaml_document_delete(doc);
		return NULL;
	}
	if (root->type != YAML_MAPPING_NODE) {
		cfg_err_node(ctx, root, "the top level must be a mapping of keys to values");
		yaml_document_delete(doc);
		return NULL;
	}
	return root;
}

yaml_node_t *
cfg_node_get(struct cfg_ctx *ctx, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		const char *k = cfg_scalar(yaml_document_get_node(ctx->doc, p->key));
		if (k && strcmp(k, key) == 0)
			return yaml_document_get_node(ctx->doc, p->value);
	}
	return NULL;
}

yaml_node_t *
cfg_node_item(struct cfg_ctx *ctx, yaml_node_t *seq, size_t i)
{
	if (!seq || seq->type != YAML_SEQUENCE_NODE ||
	    i >= (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start))
		return NULL;
	return yaml_document_get_node(ctx->doc, seq->data.sequence.items.start[i]);
}

const char *
cfg_scalar(yaml_node_t *node)
{
	return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value : NULL;
}

bool
cfg_parse_number(const char *text, double *out)
{
	char *end;
	if (!text || !*text)
		return false;
	errno = 0;
	double v = strtod(text, &end);
	if (*end || errno || !isfinite(v))
		return false;
	*out = v;
	return true;
}

static bool
parse_int(const char *text, int base, long *out)
{
	char *end;
	if (!text || !*text)
		return false;
	errno = 0;
	long v = strtol(text, &end, base);
	if (*end || errno || v > 2147483647L || v < -2147483647L)
		return false;
	*out = v;
	return true;
}

static int
parse_bool(const char *t)
{
	static const char *const yes[] = { "true", "yes", "on", "True", "TRUE", "Yes" };
	static const char *const no[] = { "false", "no", "off", "False", "FALSE", "No" };
	for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
		if (strcmp(t, yes[i]) == 0)
			return 1;
		if (strcmp(t, no[i]) == 0)
			return 0;
	}
	return -1;
}

static const int standard_bauds[] = { 1200, 2400, 4800, 9600, 19200, 38400, 57600,
	115200, 230400 };

static const char *
unit_sp(const struct sk *k)
{
	return k->unit && *k->unit ? " " : "";
}

static const char *
unit_of(const struct sk *k)
{
	return k->unit ? k->unit : "";
}

static void *
field_at(void *obj, size_t off)
{
	return (char *)obj + off;
}

static const void *
cfield_at(const void *obj, size_t off)
{
	return (const char *)obj + off;
}

static void
release_field(const struct sk *k, void *f)
{
	switch (k->type) {
	case SK_STRING:
		free(*(char **)f);
		*(char **)f = NULL;
		break;
	case SK_STRLIST: {
		char **l = *(char ***)f;
		for (size_t i = 0; l && l[i]; i++)
			free(l[i]);
		free(l);
		*(char ***)f = NULL;
		break;
	}
	case SK_SECTION:
		schema_release(k->sub, f);
		break;
	case SK_LIST: {
		char *arr = *(char **)f;
		size_t *count = (size_t *)((char *)f - k->off + k->count_off);
		for (size_t i = 0; arr && i < *count; i++)
			schema_release(k->sub, arr + i * k->sub->size);
		free(arr);
		*(char **)f = NULL;
		*count = 0;
		break;
	}
	case SK_CUSTOM:
		if (k->release)
			k->release(f);
		break;
	default:
		break;
	}
}

/* Converts one scalar into the field; node is NULL for defaults. */
static void
load_scalar(struct cfg_ctx *ctx, const struct sk *k, yaml_node_t *node,
    const char *text, void *f, const char *path)
{
	double d;
	long l;
	int b;
	bool ranged = k->min < k->max;

	switch (k->type) {
	case SK_INT:
	case SK_DOUBLE:
		/* Whole numbers may be written in hex (register addresses). */
		if (k->type == SK_INT ? !parse_int(text, strncmp(text, "0x", 2) == 0 ? 16 : 10, &l)
		    : !cfg_parse_number(text, &d)) {
			cfg_err_node(ctx, node, "%s must be %s%s%s, not '%.40s'", path,
			    k->type == SK_INT ? "a whole number" : "a number",
			    k->unit && *k->unit ? " in " : "", unit_of(k), text);
			return;
		}
		if (k->type == SK_INT)
			d = (double)l;
		if (ranged && (d < k->min || d > k->max)) {
			cfg_err_node(ctx, node, "%s is %s%s%s; must be between %g and %g%s%s",
			    path, text, unit_sp(k), unit_of(k), k->min, k->max, unit_sp(k),
			    unit_of(k));
			return;
		}
		if (k->type == SK_INT)
			*(int *)f = (int)l;
		else
			*(double *)f = d;
		return;
	case SK_MODE:
		if (!parse_int(text, 8, &l) || l < 0 || l > 0777) {
			cfg_err_node(ctx, node, "%s must be octal permissions such as 0660, not '%.40s'",
			    path, text);
			return;
		}
		*(int *)f = (int)l;
		return;
	case SK_BAUD:
		if (parse_int(text, 10, &l))
			for (size_t i = 0; i < ARRAY_LEN(standard_bauds); i++)
				if (standard_bauds[i] == l) {
					*(int *)f = (int)l;
					return;
				}
		if (parse_int(text, 10, &l))
			cfg_err_node(ctx, node, "%s is %ld baud; must be one of 1200, 2400, 4800, "
			    "9600, 19200, 38400, 57600, 115200, 230400 baud", path, l);
		else
			cfg_err_node(ctx, node, "%s must be a baud rate such as 115200, not '%.40s'",
			    path, text);
		return;
	case SK_BOOL:
		if ((b = parse_bool(text)) < 0) {
			cfg_err_node(ctx, node, "%s must be true or false, not '%.40s'", path, text);
			return;
		}
		*(bool *)f = b;
		return;
	case SK_STRING:
		if (!*text && (k->flags & SK_REQUIRED)) {
			cfg_err_node(ctx, node, "%s must not be empty", path);
			return;
		}
		free(*(char **)f);
		*(char **)f = xstrdup(text);
		return;
	case SK_ENUM: {
		struct buf choices;
		for (size_t i = 0; k->names[i]; i++)
			if (strcmp(text, k->names[i]) == 0) {
				*(int *)f = k->values ? k->values[i] : (int)i;
				return;
			}
		buf_init(&choices);
		for (size_t i = 0; k->names[i]; i++)
			buf_printf(&choices, "%s%s", i ? (k->names[i + 1] ? ", " : " or ") : "",
			    k->names[i]);
		cfg_err_node(ctx, node, "%s must be %s, not '%.40s'", path, choices.data, text);
		buf_free(&choices);
		return;
	}
	default:
		cfg_err_node(ctx, node, "%s must be %s, not a single value", path,
		    k->type == SK_STRLIST ? "a list" : "a mapping");
		return;
	}
}

void
schema_defaults(const struct schema *s, void *obj)
{
	struct cfg_errors errs = { 0 };
	struct cfg_ctx ctx = { "(built-in default)", NULL, &errs };

	for (size_t i = 0; i < s->n_keys; i++) {
		const struct sk *k = &s->keys[i];
		void *f = field_at(obj, k->off);
		if (k->type == SK_SECTION)
			schema_defaults(k->sub, f);
		else if (k->def)
			load_scalar(&ctx, k, NULL, k->def, f, k->key);
	}
	/* A default that does not pass its own schema is a programming error,
	 * caught by the unit tests. */
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "atelier: bad built-in default: %s\n", errs.msgs[i]);
	cfg_errors_free(&errs);
}

static const char *
node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a single value";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

static void
load_value(struct cfg_ctx *ctx, const struct sk *k, yaml_node_t *v, void *f, const char *path)
{
	switch (k->type) {
	case SK_SECTION:
		if (v->type != YAML_MAPPING_NODE) {
			cfg_err_node(ctx, v, "%s must be a mapping of keys, not %s", path, node_kind(v));
			return;
		}
		schema_load(ctx, k->sub, v, f, path);
		return;
	case SK_LIST: {
		if (v->type != YAML_SEQUENCE_NODE) {
			cfg_err_node(ctx, v, "%s must be a list, not %s", path, node_kind(v));
			return;
		}
		release_field(k, f);
		size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
		char *arr = xcalloc(n ? n : 1, k->sub->size);
		size_t *count = (size_t *)((char *)f - k->off + k->count_off);
		for (size_t i = 0; i < n; i++) {
			yaml_node_t *item = yaml_document_get_node(ctx->doc, v->data.sequence.items.start[i]);
			char *ipath = xasprintf("%s[%zu]", path, i);
			void *elem = arr + i * k->sub->size;
			schema_defaults(k->sub, elem);
			if (item->type != YAML_MAPPING_NODE)
				cfg_err_node(ctx, item, "%s must be a mapping of keys, not %s", ipath,
				    node_kind(item));
			else
				schema_load(ctx, k->sub, item, elem, ipath);
			free(ipath);
		}
		*(char **)f = arr;
		*count = n;
		return;
	}
	case SK_STRLIST: {
		if (v->type != YAML_SEQUENCE_NODE) {
			cfg_err_node(ctx, v, "%s must be a list of names, not %s", path, node_kind(v));
			return;
		}
		release_field(k, f);
		size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
		char **l = xcalloc(n + 1, sizeof *l);
		size_t j = 0;
		for (size_t i = 0; i < n; i++) {
			yaml_node_t *item = yaml_document_get_node(ctx->doc, v->data.sequence.items.start[i]);
			if (item->type != YAML_SCALAR_NODE)
				cfg_err_node(ctx, item, "%s[%zu] must be a name, not %s", path, i,
				    node_kind(item));
			else
				l[j++] = xstrdup(cfg_scalar(item));
		}
		*(char ***)f = l;
		return;
	}
	case SK_CUSTOM:
		k->parse(ctx, k, v, f, path);
		return;
	default:
		if (v->type != YAML_SCALAR_NODE) {
			cfg_err_node(ctx, v, "%s must be a single value, not %s", path, node_kind(v));
			return;
		}
		load_scalar(ctx, k, v, cfg_scalar(v), f, path);
		return;
	}
}

static const struct sk *
nearest_key(const struct schema *s, const char *key)
{
	const struct sk *best = NULL;
	size_t best_d = (size_t)-1;
	for (size_t i = 0; i < s->n_keys; i++) {
		size_t d = str_distance(key, s->keys[i].key);
		if (d < best_d) {
			best_d = d;
			best = &s->keys[i];
		}
	}
	size_t len = strlen(key);
	size_t limit = len / 3 > 2 ? len / 3 : 2;
	/* A prefix or suffix match ("baudrate" for "baud") also suggests. */
	if (best && best_d > limit) {
		for (size_t i = 0; i < s->n_keys; i++) {
			size_t kl = strlen(s->keys[i].key);
			if (kl >= 3 && (strncmp(key, s->keys[i].key, kl) == 0 ||
			    (len > kl && strcmp(key + len - kl, s->keys[i].key) == 0)))
				return &s->keys[i];
		}
		return NULL;
	}
	return best;
}

void
schema_load(struct cfg_ctx *ctx, const struct schema *s, yaml_node_t *map, void *obj,
    const char *path)
{
	bool *seen = xcalloc(s->n_keys ? s->n_keys : 1, sizeof *seen);

	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(ctx->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(ctx->doc, p->value);
		const char *key = cfg_scalar(kn);
		if (!key) {
			cfg_err_node(ctx, kn, "keys in %s must be names, not %s",
			    *path ? path : "the file", node_kind(kn));
			continue;
		}
		size_t i;
		for (i = 0; i < s->n_keys; i++)
			if (strcmp(key, s->keys[i].key) == 0)
				break;
		if (i == s->n_keys) {
			const struct sk *near = nearest_key(s, key);
			if (near)
				cfg_err_node(ctx, kn, "unknown key '%.60s' in '%s'; did you mean '%s'?",
				    key, *path ? path : s->name, near->key);
			else
				cfg_err_node(ctx, kn, "unknown key '%.60s' in '%s'", key,
				    *path ? path : s->name);
			continue;
		}
		if (seen[i]) {
			cfg_err_node(ctx, kn, "key '%s' appears twice in '%s'", key,
			    *path ? path : s->name);
			continue;
		}
		seen[i] = true;
		char *kpath = *path ? xasprintf("%s.%s", path, key) : xstrdup(key);
		/* An explicit null leaves the default in place. */
		const char *sv = cfg_scalar(vn);
		bool is_null = sv && vn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    (strcmp(sv, "null") == 0 || strcmp(sv, "~") == 0 || !*sv);
		if (is_null && (s->keys[i].flags & SK_REQUIRED))
			cfg_err_node(ctx, vn, "%s needs a value", kpath);
		else if (!is_null)
			load_value(ctx, &s->keys[i], vn, field_at(obj, s->keys[i].off), kpath);
		free(kpath);
	}
	for (size_t i = 0; i < s->n_keys; i++)
		if ((s->keys[i].flags & SK_REQUIRED) && !seen[i])
			cfg_err_node(ctx, map, "missing required key '%s' in '%s'",
			    s->keys[i].key, *path ? path : s->name);
	free(seen);
}

void
schema_release(const struct schema *s, void *obj)
{
	for (size_t i = 0; i < s->n_keys; i++)
		release_field(&s->keys[i], field_at(obj, s->keys[i].off));
}

void
cfg_print_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

void
cfg_print_number(FILE *out, double v)
{
	fprintf(out, "%.10g", v);
}

static void
print_unit(const struct sk *k, FILE *out)
{
	if (k->unit && *k->unit)
		fprintf(out, "  # %s", k->unit);
	fputc('\n', out);
}

void
schema_print(const struct schema *s, const void *obj, FILE *out, int indent)
{
	for (size_t i = 0; i < s->n_keys; i++) {
		const struct sk *k = &s->keys[i];
		const void *f = cfield_at(obj, k->off);
		switch (k->type) {
		case SK_INT:
		case SK_BAUD:
			fprintf(out, "%*s%s: %d", indent, "", k->key, *(const int *)f);
			print_unit(k, out);
			break;
		case SK_DOUBLE:
			fprintf(out, "%*s%s: ", indent, "", k->key);
			cfg_print_number(out, *(const double *)f);
			print_unit(k, out);
			break;
		case SK_MODE:
			fprintf(out, "%*s%s: \"0%o\"\n", indent, "", k->key, *(const int *)f);
			break;
		case SK_BOOL:
			fprintf(out, "%*s%s: %s\n", indent, "", k->key,
			    *(const bool *)f ? "true" : "false");
			break;
		case SK_STRING:
			if (*(char *const *)f) {
				fprintf(out, "%*s%s: ", indent, "", k->key);
				cfg_print_string(out, *(char *const *)f);
				fputc('\n', out);
			} else {
				fprintf(out, "%*s# %s: not set\n", indent, "", k->key);
			}
			break;
		case SK_ENUM: {
			int v = *(const int *)f;
			const char *name = "?";
			for (size_t j = 0; k->names[j]; j++)
				if ((k->values ? k->values[j] : (int)j) == v)
					name = k->names[j];
			fprintf(out, "%*s%s: %s\n", indent, "", k->key, name);
			break;
		}
		case SK_STRLIST: {
			char *const *l = *(char **const *)f;
			fprintf(out, "%*s%s: [", indent, "", k->key);
			for (size_t j = 0; l && l[j]; j++) {
				if (j)
					fputs(", ", out);
				cfg_print_string(out, l[j]);
			}
			fputs("]\n", out);
			break;
		}
		case SK_SECTION:
			fprintf(out, "%*s%s:\n", indent, "", k->key);
			schema_print(k->sub, f, out, indent + 2);
			break;
		case SK_LIST: {
			const char *arr = *(const char *const *)f;
			size_t n = *(const size_t *)cfield_at(obj, k->count_off);
			fprintf(out, "%*s%s:%s\n", indent, "", k->key, n ? "" : " []");
			for (size_t j = 0; j < n; j++) {
				/* The first key goes on the "- " line. */
				fprintf(out, "%*s-\n", indent + 2, "");
				schema_print(k->sub, arr + j * k->sub->size, out, indent + 4);
			}
			break;
		}
		case SK_CUSTOM:
			k->print(k, f, out, indent);
			break;
		}
	}
}

int
schema_load_text(const char *name, const char *data, size_t len, const struct schema *s,
    void *obj, schema_check_fn check, bool strict, struct cfg_errors *errs)
{
	struct cfg_ctx ctx = { name, NULL, errs };
	yaml_document_t doc;
	size_t before = errs->n;

	yaml_node_t *root = cfg_parse_yaml(&ctx, data, len, &doc);
	if (!root)
		return -1;
	schema_defaults(s, obj);
	schema_load(&ctx, s, root, obj, "");
	if (check && (!strict || errs->n == before))
		check(&ctx, obj, root);
	yaml_document_delete(&doc);
	if (errs->n != before) {
		schema_release(s, obj);
		return -1;
	}
	return 0;
}

int
schema_load_file(const char *path, const struct schema *s, void *obj, schema_check_fn check,
    bool strict, struct cfg_errors *errs)
{
	size_t len;
	char *data = cfg_read_file(path, &len, errs);
	if (!data)
		return -1;
	int rc = schema_load_text(path, data, len, s, obj, check, strict, errs);
	free(data);
	return rc;
}
