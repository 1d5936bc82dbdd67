/*
 * The schema machinery behind every Atelier YAML file: a table per mapping
 * says, for each key, its type, unit, range, default, whether it is
 * required and where it lands in the C struct. One loader walks a libyaml
 * document against such tables and collects every error as
 * "file:line:col: message"; one printer writes the normalised form back.
 */
#ifndef ATELIER_CFG_SCHEMA_H
#define ATELIER_CFG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <yaml.h>

#include "cfg/cfg.h"

enum sk_type {
	SK_INT,         /* int */
	SK_DOUBLE,      /* double */
	SK_BOOL,        /* bool */
	SK_STRING,      /* char * */
	SK_ENUM,        /* int, from names[] to values[] */
	SK_MODE,        /* int, octal permissions written 0660 */
	SK_BAUD,        /* int, one of the standard serial rates */
	SK_STRLIST,     /* char **, NULL-terminated */
	SK_SECTION,     /* embedded struct described by sub */
	SK_LIST,        /* array of sub structs: pointer at off, size_t at count_off */
	SK_CUSTOM,      /* parse/print/release callbacks */
};

#define SK_REQUIRED 0x1u

struct cfg_ctx {
	const char *file;
	yaml_document_t *doc;
	struct cfg_errors *errs;
};

struct sk;
typedef void (*sk_parse_fn)(struct cfg_ctx *ctx, const struct sk *k, yaml_node_t *node,
    void *field, const char *path);
typedef void (*sk_print_fn)(const struct sk *k, const void *field, FILE *out, int indent);
typedef void (*sk_release_fn)(void *field);

struct schema;

struct sk {
	const char *key;
	enum sk_type type;
	size_t off;
	const char *unit;       /* "mm", "s", "C", ...; NULL or "" for none */
	double min, max;        /* numbers: inclusive range when min < max */
	const char *def;        /* default, as YAML scalar text; NULL: zero/none */
	unsigned flags;
	const struct schema *sub;
	size_t count_off;
	const char *const *names;   /* SK_ENUM */
	const int *values;
	sk_parse_fn parse;          /* SK_CUSTOM */
	sk_print_fn print;
	sk_release_fn release;
};

struct schema {
	const char *name;
	const struct sk *keys;
	size_t n_keys;
	size_t size;            /* sizeof the struct, for lists */
};

#define SK_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Error at a node's start mark. */
void cfg_err_node(struct cfg_ctx *ctx, const yaml_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fills obj with the schema's defaults (recursively for sections). */
void schema_defaults(const struct schema *s, void *obj);
/* Loads a mapping node into obj (defaults must already be in place). */
void schema_load(struct cfg_ctx *ctx, const struct schema *s, yaml_node_t *map,
    void *obj, const char *path);
/* Writes obj as YAML at the given indent. */
void schema_print(const struct schema *s, const void *obj, FILE *out, int indent);
/* Frees what schema_load and schema_defaults allocated inside obj. */
void schema_release(const struct schema *s, void *obj);

/*
 * Reads a whole file or buffer into a libyaml document, refusing aliases
 * (which could make a small file expand without bound). Returns the root
 * node, or NULL with errors added. The document must be deleted by the
 * caller with yaml_document_delete when the return is not NULL.
 */
yaml_node_t *cfg_parse_yaml(struct cfg_ctx *ctx, const char *data, size_t len,
    yaml_document_t *doc);
/*
 * The whole load of one document: parse, fill obj with the schema's
 * defaults, load the root mapping, then check(ctx, obj, root) for the
 * rules across keys (skipped when keys failed, if strict; NULL for none).
 * Returns 0, or -1 with the errors added and obj released.
 */
typedef void (*schema_check_fn)(struct cfg_ctx *ctx, void *obj, yaml_node_t *root);
int schema_load_text(const char *name, const char *data, size_t len, const struct schema *s,
    void *obj, schema_check_fn check, bool strict, struct cfg_errors *errs);
/* The same from a file. */
int schema_load_file(const char *path, const struct schema *s, void *obj, schema_check_fn check,
    bool strict, struct cfg_errors *errs);

/* Reads a file into memory; NULL with an error added if it cannot. */
char *cfg_read_file(const char *path, size_t *len, struct cfg_errors *errs);

/* The value of key in a mapping node, and the i-th item of a sequence
 * node: NULL when the node is not of that kind or has no such entry. For
 * checks across keys, whose errors name the node at fault. */
yaml_node_t *cfg_node_get(struct cfg_ctx *ctx, yaml_node_t *map, const char *key);
yaml_node_t *cfg_node_item(struct cfg_ctx *ctx, yaml_node_t *seq, size_t i);

/* Scalar helpers for custom parsers. */
const char *cfg_scalar(yaml_node_t *node);
bool cfg_parse_number(const char *text, double *out);
void cfg_print_string(FILE *out, const char *s);
void cfg_print_number(FILE *out, double v);

#endif
