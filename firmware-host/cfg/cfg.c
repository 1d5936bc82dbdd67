/*
 * The bench configuration: its schema tables (every key with type, unit,
 * range, default and whether it is required), the cross-checks that no
 * single key can make (buses named by devices exist, slave ids unique per
 * bus, profiles load, ...), and the normalised printout of `atelierd -n`.
 * Defaults come from the shared domain facts (tank 45-50 C lukewarm, at
 * most about 10 min a cycle; plating never above 3 V).
 */
#include "cfg/cfg.h"

#include <ctype.h>
#include <libgen.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cfg/cfg_schema.h"
#include "util.h"

static const char *const kind_names[KIND_COUNT] = { "laser", "tank", "bath" };

const char *
cfg_kind_name(enum cfg_kind kind)
{
	return (unsigned)kind < KIND_COUNT ? kind_names[kind] : "?";
}

int
cfg_kind_lookup(const char *name)
{
	for (int i = 0; name && i < KIND_COUNT; i++)
		if (strcmp(name, kind_names[i]) == 0)
			return i;
	return -1;
}

/* The lines each kind of station has, and the workshop's (kind -1), with
 * their keys under 'lines:'. */
static const struct {
	int kind;
	const char *key;
	enum cfg_role role;
	bool required;
} role_keys[] = {
	{ -1, "estop", ROLE_ESTOP, true },
	{ -1, "fume_ok", ROLE_FUME_OK, true },
	{ KIND_LASER, "door", ROLE_DOOR, true },
	{ KIND_LASER, "enable", ROLE_LASER_ENABLE, true },
	{ KIND_LASER, "beacon", ROLE_BEACON, false },
	{ KIND_LASER, "fume_ok", ROLE_FUME_OK, false },
	{ KIND_TANK, "lid", ROLE_LID, true },
	{ KIND_TANK, "ultrasound_enable", ROLE_ULTRASOUND_ENABLE, true },
	{ KIND_TANK, "heater_enable", ROLE_TANK_HEATER_ENABLE, true },
	{ KIND_BATH, "rectifier_enable", ROLE_RECTIFIER_ENABLE, true },
	{ KIND_BATH, "heater_enable", ROLE_BATH_HEATER_ENABLE, true },
	{ KIND_BATH, "fume_ok", ROLE_FUME_OK, false },
};

/* The lines of the single-station form, and where each goes now. */
static const struct {
	const char *old;
	int kind;
	const char *key;
} old_lines[] = {
	{ "laser_door", KIND_LASER, "door" }, { "laser_enable", KIND_LASER, "enable" },
	{ "beacon", KIND_LASER, "beacon" }, { "tank_lid", KIND_TANK, "lid" },
	{ "ultrasound_enable", KIND_TANK, "ultrasound_enable" },
	{ "heater_enable", KIND_TANK, "heater_enable" },
	{ "rectifier_enable", KIND_BATH, "rectifier_enable" },
	{ "bath_heater_enable", KIND_BATH, "heater_enable" },
};

bool
cfg_role_output(enum cfg_role role)
{
	return role >= ROLE_LASER_ENABLE && role < ROLE_COUNT;
}

const char *
cfg_role_key(int kind, enum cfg_role role)
{
	for (size_t i = 0; i < ARRAY_LEN(role_keys); i++)
		if (role_keys[i].kind == kind && role_keys[i].role == role)
			return role_keys[i].key;
	return "?";
}

const char *
cfg_line_name(const struct cfg *cfg, int line)
{
	return line >= 0 && (size_t)line < cfg->n_lines ? cfg->lines[line].name : "?";
}

int
cfg_line_lookup(const struct cfg *cfg, const char *name)
{
	for (size_t i = 0; name && i < cfg->n_lines; i++)
		if (strcmp(cfg->lines[i].name, name) == 0)
			return (int)i;
	return -1;
}

#define F(type, field) offsetof(type, field)
/* One schema entry: key, type, field, unit, range, default, flags, then
 * any of .sub, .count_off, .names, .values, .parse, .print, .release. */
#define KEY(k, t, off_, u, lo, hi, d, fl, ...) \
	{ .key = (k), .type = (t), .off = (off_), .unit = (u), .min = (lo), .max = (hi), \
	  .def = (d), .flags = (fl), __VA_ARGS__ }


static const char *const transport_names[] = { "rtu", "tcp", NULL };
static const int transport_values[] = { TRANSPORT_RTU, TRANSPORT_TCP };
static const char *const parity_names[] = { "none", "even", "odd", NULL };
static const int parity_values[] = { PARITY_NONE, PARITY_EVEN, PARITY_ODD };

static const struct sk bus_keys[] = {
	KEY("name", SK_STRING, F(struct cfg_bus, name), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("transport", SK_ENUM, F(struct cfg_bus, transport), NULL, 0, 0, "rtu", 0, .names = transport_names, .values = transport_values),
	KEY("port", SK_STRING, F(struct cfg_bus, port), NULL, 0, 0, NULL, 0),
	KEY("baud", SK_BAUD, F(struct cfg_bus, baud), "baud", 0, 0, "19200", 0),
	KEY("parity", SK_ENUM, F(struct cfg_bus, parity), NULL, 0, 0, "none", 0, .names = parity_names, .values = parity_values),
	KEY("data_bits", SK_INT, F(struct cfg_bus, data_bits), "bits", 7, 8, "8", 0),
	KEY("stop_bits", SK_INT, F(struct cfg_bus, stop_bits), "bits", 1, 2, "1", 0),
	KEY("rs485", SK_BOOL, F(struct cfg_bus, rs485), NULL, 0, 0, "false", 0),
	KEY("host", SK_STRING, F(struct cfg_bus, host), NULL, 0, 0, NULL, 0),
	KEY("tcp_port", SK_INT, F(struct cfg_bus, tcp_port), "", 1, 65535, "502", 0),
	KEY("timeout", SK_DOUBLE, F(struct cfg_bus, timeout), "s", 0.01, 10, "0.2", 0),
	KEY("retries", SK_INT, F(struct cfg_bus, retries), "", 0, 10, "2", 0),
	KEY("poll_interval", SK_DOUBLE, F(struct cfg_bus, poll_interval), "s", 0.05, 60, "0.5", 0),
};
static const struct schema bus_schema = { "bus", bus_keys, SK_COUNT(bus_keys), sizeof(struct cfg_bus) };

static const struct sk device_keys[] = {
	KEY("name", SK_STRING, F(struct cfg_device, name), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("bus", SK_STRING, F(struct cfg_device, bus), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("slave", SK_INT, F(struct cfg_device, slave), "", 1, 247, "1", 0),
	KEY("profile", SK_STRING, F(struct cfg_device, profile), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("heartbeat_interval", SK_DOUBLE, F(struct cfg_device, heartbeat_interval), "s", 0, 60, "1", 0),
	KEY("watchdog", SK_DOUBLE, F(struct cfg_device, watchdog), "s", 0, 60, "3", 0),
};
static const struct schema device_schema = { "device", device_keys, SK_COUNT(device_keys), sizeof(struct cfg_device) };

/* A GPIO line's "line:" is an offset (number) or a line name (text). */
static void
parse_line_ref(struct cfg_ctx *ctx, const struct sk *k, yaml_node_t *node, void *field,
    const char *path)
{
	struct cfg_gpio_line *gl = (struct cfg_gpio_line *)((char *)field - k->off);
	const char *t = cfg_scalar(node);
	double d;

	if (!t || !*t) {
		cfg_err_node(ctx, node, "%s must be a line offset or a line name", path);
		return;
	}
	free(gl->line_name);
	gl->line_name = NULL;
	if (cfg_parse_number(t, &d)) {
		if (d != (int)d || d < 0 || d > 511) {
			cfg_err_node(ctx, node, "%s is %s; a line offset must be between 0 and 511",
			    path, t);
			return;
		}
		gl->offset = (int)d;
	} else {
		gl->offset = -1;
		gl->line_name = xstrdup(t);
	}
}

static void
print_line_ref(const struct sk *k, const void *field, FILE *out, int indent)
{
	const struct cfg_gpio_line *gl = (const struct cfg_gpio_line *)((const char *)field - k->off);
	if (gl->line_name) {
		fprintf(out, "%*sline: ", indent, "");
		cfg_print_string(out, gl->line_name);
		fputc('\n', out);
	} else if (gl->offset >= 0) {
		fprintf(out, "%*sline: %d\n", indent, "", gl->offset);
	} else {
		fprintf(out, "%*s# line: not set\n", indent, "");
	}
}

static void
release_line_ref(void *field)
{
	(void)field;
}

static const struct sk gpio_line_keys[] = {
	KEY("chip", SK_STRING, F(struct cfg_gpio_line, chip), NULL, 0, 0, NULL, 0),
	KEY("line", SK_CUSTOM, F(struct cfg_gpio_line, offset), NULL, 0, 0, NULL, 0, .parse = parse_line_ref, .print = print_line_ref, .release = release_line_ref),
	KEY("active_low", SK_BOOL, F(struct cfg_gpio_line, active_low), NULL, 0, 0, "false", 0),
	KEY("debounce", SK_DOUBLE, F(struct cfg_gpio_line, debounce), "s", 0, 1, "0.005", 0),
};
static const struct schema gpio_line_schema = { "line", gpio_line_keys, SK_COUNT(gpio_line_keys),
	sizeof(struct cfg_gpio_line) };

static void
line_defaults(struct cfg_gpio_line *gl)
{
	schema_defaults(&gpio_line_schema, gl);
	gl->offset = -1;
}

/* Loads a 'lines:' mapping: for a station of kind, or for gpio.lines
 * (kind -1), from the keys of role_keys to their wiring. */
static void
load_role_lines(struct cfg_ctx *ctx, yaml_node_t *node, struct cfg_gpio_line *lines, int kind,
    const char *path)
{
	if (node->type != YAML_MAPPING_NODE) {
		cfg_err_node(ctx, node, "%s must be a mapping from line names to lines", path);
		return;
	}
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
	    p < node->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(ctx->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(ctx->doc, p->value);
		const char *name = cfg_scalar(kn);
		int role = -1;
		for (size_t i = 0; name && i < ARRAY_LEN(role_keys); i++)
			if (role_keys[i].kind == kind && strcmp(role_keys[i].key, name) == 0)
				role = (int)role_keys[i].role;
		if (role < 0) {
			size_t o;
			for (o = 0; kind < 0 && name && o < ARRAY_LEN(old_lines); o++)
				if (strcmp(old_lines[o].old, name) == 0)
					break;
			if (kind < 0 && name && o < ARRAY_LEN(old_lines)) {
				cfg_err_node(ctx, kn, "%s.%s: a station's line is written under that "
				    "station now (gpio.lines holds the workshop's estop and fume_ok): "
				    "in 'stations:', the %s's entry takes it as lines: {%s: ...}", path,
				    name, kind_names[old_lines[o].kind], old_lines[o].key);
				continue;
			}
			char all[300] = "";
			const char *best = NULL;
			size_t bd = (size_t)-1;
			for (size_t i = 0; i < ARRAY_LEN(role_keys); i++) {
				if (role_keys[i].kind != kind)
					continue;
				snprintf(all + strlen(all), sizeof all - strlen(all), "%s%s",
				    all[0] ? ", " : "", role_keys[i].key);
				size_t d = name ? str_distance(name, role_keys[i].key) : (size_t)-1;
				if (d < bd) {
					bd = d;
					best = role_keys[i].key;
				}
			}
			if (best && bd <= 3)
				cfg_err_node(ctx, kn, "unknown line '%.60s' in '%s'; did you mean '%s'?",
				    name, path, best);
			else
				cfg_err_node(ctx, kn, "unknown line '%.60s' in '%s'; the lines %s are %s",
				    name ? name : "?", path, kind < 0 ? "of the workshop" :
				    kind == KIND_LASER ? "of a laser" : kind == KIND_TANK ? "of a tank" :
				    "of a bath", all);
			continue;
		}
		if (lines[role].configured) {
			cfg_err_node(ctx, kn, "line '%s' appears twice in '%s'", name, path);
			continue;
		}
		lines[role].configured = true;
		char *lpath = xasprintf("%s.%s", path, name);
		if (vn->type != YAML_MAPPING_NODE)
			cfg_err_node(ctx, vn, "%s must be a mapping (chip, line, active_low, debounce)",
			    lpath);
		else
			schema_load(ctx, &gpio_line_schema, vn, &lines[role], lpath);
		free(lpath);
	}
}

static void
print_role_lines(const struct cfg_gpio_line *lines, int kind, FILE *out, int indent)
{
	fprintf(out, "%*slines:\n", indent, "");
	for (size_t i = 0; i < ARRAY_LEN(role_keys); i++) {
		if (role_keys[i].kind != kind || !lines[role_keys[i].role].configured)
			continue;
		fprintf(out, "%*s%s:\n", indent + 2, "", role_keys[i].key);
		schema_print(&gpio_line_schema, &lines[role_keys[i].role], out, indent + 4);
	}
}

static void
release_role_lines(struct cfg_gpio_line *lines)
{
	for (int i = 0; i < ROLE_COUNT; i++) {
		schema_release(&gpio_line_schema, &lines[i]);
		free(lines[i].line_name);
		lines[i].line_name = NULL;
	}
}

static void
role_lines_defaults(struct cfg_gpio_line *lines)
{
	for (int i = 0; i < ROLE_COUNT; i++)
		line_defaults(&lines[i]);
}

/* gpio.lines: the workshop's own lines. */
static void
parse_lines(struct cfg_ctx *ctx, const struct sk *k, yaml_node_t *node, void *field,
    const char *path)
{
	(void)k;
	load_role_lines(ctx, node, field, -1, path);
}

static void
print_lines(const struct sk *k, const void *field, FILE *out, int indent)
{
	(void)k;
	print_role_lines(field, -1, out, indent);
}

static void
release_lines(void *field)
{
	release_role_lines(field);
}

static const char *const backend_names[] = { "sim", "gpiod", NULL };
static const int backend_values[] = { GPIO_BACKEND_SIM, GPIO_BACKEND_GPIOD };

static const struct sk gpio_keys[] = {
	KEY("backend", SK_ENUM, F(struct cfg_gpio, backend), NULL, 0, 0, "gpiod", 0, .names = backend_names, .values = backend_values),
	KEY("socket", SK_STRING, F(struct cfg_gpio, socket), NULL, 0, 0, "gpio.sock", 0),
	KEY("lines", SK_CUSTOM, F(struct cfg_gpio, lines), NULL, 0, 0, NULL, SK_REQUIRED, .parse = parse_lines, .print = print_lines, .release = release_lines),
};
static const struct schema gpio_schema = { "gpio", gpio_keys, SK_COUNT(gpio_keys), sizeof(struct cfg_gpio) };


/* --- stations ---------------------------------------------------------------- */

/* A station's 'lines:', read with its kind's keys. */
static void
parse_station_lines(struct cfg_ctx *ctx, const struct sk *k, yaml_node_t *node, void *field,
    const char *path)
{
	const struct cfg_station *st = (const struct cfg_station *)((char *)field - k->off);
	load_role_lines(ctx, node, field, st->kind, path);
}

static void
print_station_lines(const struct sk *k, const void *field, FILE *out, int indent)
{
	const struct cfg_station *st = (const struct cfg_station *)((const char *)field - k->off);
	print_role_lines(field, st->kind, out, indent);
}

static void
release_station_lines(void *field)
{
	release_role_lines(field);
}

#define S(field) offsetof(struct cfg_station, field)
#define STATION_COMMON \
	KEY("name", SK_STRING, S(name), NULL, 0, 0, NULL, SK_REQUIRED), \
	KEY("kind", SK_ENUM, S(kind), NULL, 0, 0, NULL, SK_REQUIRED, .names = kind_names_list)
#define STATION_LINES \
	KEY("lines", SK_CUSTOM, S(lines), NULL, 0, 0, NULL, SK_REQUIRED, \
	    .parse = parse_station_lines, .print = print_station_lines, \
	    .release = release_station_lines)

static const char *const kind_names_list[] = { "laser", "tank", "bath", NULL };

static const char *const rotary_kind_names[] = { "none", "chuck", "rollers", NULL };
static const int rotary_kind_values[] = { ROTARY_NONE, ROTARY_CHUCK, ROTARY_ROLLERS };
static const char *const rotary_axis_names[] = { "Y", NULL };
static const int rotary_axis_values[] = { 1 };

static const struct sk rotary_keys[] = {
	KEY("kind", SK_ENUM, F(struct cfg_rotary, kind), NULL, 0, 0, "none", 0,
	    .names = rotary_kind_names, .values = rotary_kind_values),
	/* GRBL drives a rotary in place of Y; nothing else is wired so. */
	KEY("axis", SK_ENUM, F(struct cfg_rotary, axis), NULL, 0, 0, "Y", 0, .names = rotary_axis_names,
	    .values = rotary_axis_values),
	KEY("travel_per_turn", SK_DOUBLE, F(struct cfg_rotary, travel_per_turn), "mm", 1, 10000,
	    "360", 0),
	KEY("roller_diameter", SK_DOUBLE, F(struct cfg_rotary, roller_diameter), "mm", 0, 200, "0",
	    0),
	KEY("min_diameter", SK_DOUBLE, F(struct cfg_rotary, min_diameter), "mm", 1, 500, "10", 0),
	KEY("max_diameter", SK_DOUBLE, F(struct cfg_rotary, max_diameter), "mm", 1, 500, "100", 0),
	KEY("inner_band", SK_BOOL, F(struct cfg_rotary, inner_band), NULL, 0, 0, "false", 0),
	KEY("inner_min_diameter", SK_DOUBLE, F(struct cfg_rotary, inner_min_diameter), "mm", 0, 500,
	    "0", 0),
	KEY("mounted_setting", SK_INT, F(struct cfg_rotary, mounted_setting), "", 0, 255, "101", 0),
	KEY("mounted_value", SK_DOUBLE, F(struct cfg_rotary, mounted_value), "", 0, 1e6, "0", 0),
};
static const struct schema rotary_schema = { "rotary", rotary_keys, SK_COUNT(rotary_keys),
	sizeof(struct cfg_rotary) };

static const struct sk laser_station_keys[] = {
	STATION_COMMON,
	KEY("port", SK_STRING, S(laser.port), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("baud", SK_BAUD, S(laser.baud), "baud", 0, 0, "115200", 0),
	KEY("status_hz", SK_DOUBLE, S(laser.status_hz), "Hz", 0.5, 10, "5", 0),
	KEY("connect_timeout", SK_DOUBLE, S(laser.connect_timeout), "s", 0.5, 60, "5", 0),
	KEY("max_feed", SK_DOUBLE, S(laser.max_feed), "mm/min", 10, 100000, "3000", 0),
	KEY("max_power", SK_INT, S(laser.max_power), "", 1, 100000, "1000", 0),
	KEY("resolution", SK_DOUBLE, S(laser.resolution), "mm", 0.001, 1, "0.01", 0),
	KEY("work_x", SK_DOUBLE, S(laser.work_x), "mm", 1, 2000, "100", 0),
	KEY("work_y", SK_DOUBLE, S(laser.work_y), "mm", 1, 2000, "100", 0),
	KEY("min_char_height", SK_DOUBLE, S(laser.min_char_height), "mm", 0.2, 20, "0.8", 0),
	KEY("rotary", SK_SECTION, S(laser.rotary), NULL, 0, 0, NULL, 0, .sub = &rotary_schema),
	STATION_LINES,
};

static const struct sk tank_station_keys[] = {
	STATION_COMMON,
	KEY("device", SK_STRING, S(device), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("temperature", SK_DOUBLE, S(tank.temperature), "C", 20, 60, "48", 0),
	KEY("max_temperature", SK_DOUBLE, S(tank.max_temperature), "C", 20, 70, "55", 0),
	KEY("cycle", SK_DOUBLE, S(tank.cycle), "s", 10, 900, "300", 0),
	KEY("max_cycle", SK_DOUBLE, S(tank.max_cycle), "s", 10, 1800, "600", 0),
	KEY("frequency", SK_DOUBLE, S(tank.frequency), "kHz", 20, 80, "40", 0),
	KEY("power", SK_DOUBLE, S(tank.power), "%", 10, 100, "80", 0),
	KEY("sweep", SK_BOOL, S(tank.sweep), NULL, 0, 0, "true", 0),
	KEY("degas", SK_DOUBLE, S(tank.degas), "s", 0, 600, "60", 0),
	STATION_LINES,
};

static const struct sk bath_station_keys[] = {
	STATION_COMMON,
	KEY("rectifier", SK_STRING, S(rectifier), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("heater", SK_STRING, S(heater), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("temperature", SK_DOUBLE, S(bath.temperature), "C", 20, 60, "48", 0),
	KEY("max_voltage", SK_DOUBLE, S(bath.max_voltage), "V", 0.5, 6, "3", 0),
	KEY("max_current", SK_DOUBLE, S(bath.max_current), "A", 0.01, 20, "2", 0),
	KEY("current_density", SK_DOUBLE, S(bath.current_density), "A/dm2", 0.1, 10, "2", 0),
	KEY("rhodium_grams", SK_DOUBLE, S(bath.rhodium_grams), "g", 0.1, 100, "2", 0),
	KEY("efficiency", SK_DOUBLE, S(bath.efficiency), "%", 1, 100, "35", 0),
	KEY("rhodium_warning", SK_DOUBLE, S(bath.rhodium_warning), "g", 0, 100, "0.5", 0),
	KEY("temperature_tolerance", SK_DOUBLE, S(bath.temperature_tolerance), "C", 0.5, 10, "2",
	    0),
	KEY("max_warmup", SK_DOUBLE, S(bath.max_warmup), "s", 10, 7200, "900", 0),
	STATION_LINES,
};

static const struct schema station_schemas[KIND_COUNT] = {
	[KIND_LASER] = { "laser station", laser_station_keys, SK_COUNT(laser_station_keys),
		sizeof(struct cfg_station) },
	[KIND_TANK] = { "tank station", tank_station_keys, SK_COUNT(tank_station_keys),
		sizeof(struct cfg_station) },
	[KIND_BATH] = { "bath station", bath_station_keys, SK_COUNT(bath_station_keys),
		sizeof(struct cfg_station) },
};

static void
station_free_fields(struct cfg_station *st)
{
	if (st->kind >= 0 && st->kind < KIND_COUNT)
		schema_release(&station_schemas[st->kind], st);
}

/* stations: a list of entries, each read with the schema of its kind,
 * which it must name first of all. */
static void
parse_stations(struct cfg_ctx *ctx, const struct sk *k, yaml_node_t *node, void *field,
    const char *path)
{
	struct cfg *cfg = (struct cfg *)((char *)field - k->off);
	if (node->type != YAML_SEQUENCE_NODE) {
		cfg_err_node(ctx, node, "%s must be a list of stations, each with a name and a kind "
		    "(laser, tank or bath)", path);
		return;
	}
	size_t n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
	if (n > CFG_MAX_STATIONS) {
		cfg_err_node(ctx, node, "%s lists %zu stations; at most %d are supported", path, n,
		    CFG_MAX_STATIONS);
		return;
	}
	cfg->stations = xcalloc(n ? n : 1, sizeof *cfg->stations);
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item = yaml_document_get_node(ctx->doc, node->data.sequence.items.start[i]);
		struct cfg_station *st = &cfg->stations[cfg->n_stations];
		char *ipath = xasprintf("%s[%zu]", path, i);
		st->kind = -1;
		st->src_line = (int)item->start_mark.line + 1;
		st->src_col = (int)item->start_mark.column + 1;
		yaml_node_t *kn = item->type == YAML_MAPPING_NODE ? cfg_node_get(ctx, item, "kind") : NULL;
		const char *kind = kn ? cfg_scalar(kn) : NULL;
		if (item->type != YAML_MAPPING_NODE) {
			cfg_err_node(ctx, item, "%s must be a mapping of keys (name, kind, ...)", ipath);
		} else if (!kn) {
			cfg_err_node(ctx, item, "%s: 'kind' is required: laser, tank or bath", ipath);
		} else if (cfg_kind_lookup(kind) < 0) {
			cfg_err_node(ctx, kn, "%s.kind must be laser, tank or bath, not '%.40s'", ipath,
			    kind ? kind : "?");
		} else {
			st->kind = cfg_kind_lookup(kind);
			schema_defaults(&station_schemas[st->kind], st);
			role_lines_defaults(st->lines);
			schema_load(ctx, &station_schemas[st->kind], item, st, ipath);
			cfg->n_stations++;
		}
		free(ipath);
	}
}

static void
print_stations(const struct sk *k, const void *field, FILE *out, int indent)
{
	const struct cfg *cfg = (const struct cfg *)((const char *)field - k->off);
	fprintf(out, "%*sstations:\n", indent, "");
	for (size_t i = 0; i < cfg->n_stations; i++) {
		const struct cfg_station *st = &cfg->stations[i];
		fprintf(out, "%*s-\n", indent + 2, "");
		schema_print(&station_schemas[st->kind], st, out, indent + 4);
	}
}

static void
release_stations(void *field)
{
	struct cfg_station **stations = field;
	size_t *n = (size_t *)((char *)field + offsetof(struct cfg, n_stations) -
	    offsetof(struct cfg, stations));
	for (size_t i = 0; *stations && i < *n; i++)
		station_free_fields(&(*stations)[i]);
	free(*stations);
	*stations = NULL;
	*n = 0;
}

/* The single-station sections (laser:, tank:, bath:) are refused, with
 * the entry they become under stations:, so that nobody's bench is read
 * differently from what its file says. */
static void
parse_old_section(struct cfg_ctx *ctx, const struct sk *k, yaml_node_t *node, void *field,
    const char *path)
{
	(void)field;
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "stations:\n  - name: %s\n    kind: %s\n", k->key, k->key);
	if (strcmp(k->key, "tank") == 0)
		buf_printf(&b, "    device: tank              # its generator, from devices:\n");
	if (strcmp(k->key, "bath") == 0)
		buf_printf(&b, "    rectifier: rectifier      # from devices:\n"
		    "    heater: bath_heater\n");
	for (yaml_node_pair_t *p = node->type == YAML_MAPPING_NODE ?
	    node->data.mapping.pairs.start : NULL; p && p < node->data.mapping.pairs.top; p++) {
		const char *key = cfg_scalar(yaml_document_get_node(ctx->doc, p->key));
		const char *val = cfg_scalar(yaml_document_get_node(ctx->doc, p->value));
		if (key && val)
			buf_printf(&b, "    %s: %s\n", key, val);
	}
	buf_printf(&b, "    lines: {%s}      # moved from gpio.lines", strcmp(k->key, "laser") == 0 ?
	    "door: ..., enable: ..., beacon: ..." : strcmp(k->key, "tank") == 0 ?
	    "lid: ..., ultrasound_enable: ..., heater_enable: ..." :
	    "rectifier_enable: ..., heater_enable: ...");
	cfg_err_node(ctx, node, "'%s' is the single-station form, which is not read any more: a "
	    "workshop lists its stations, any number of each kind (docs/man/atelier.yaml.5); "
	    "this one is written\n%s", path, b.data);
	buf_free(&b);
}

static void
print_old_section(const struct sk *k, const void *field, FILE *out, int indent)
{
	(void)k;
	(void)field;
	(void)out;
	(void)indent;
}

static const struct sk api_keys[] = {
	KEY("socket", SK_STRING, F(struct cfg_api, socket), NULL, 0, 0, "/run/atelier/atelier.sock", 0),
	KEY("mode", SK_MODE, F(struct cfg_api, mode), NULL, 0, 0, "0660", 0),
	KEY("group", SK_STRING, F(struct cfg_api, group), NULL, 0, 0, NULL, 0),
	KEY("jeweller_groups", SK_STRLIST, F(struct cfg_api, jeweller_groups), NULL, 0, 0, NULL, 0),
	KEY("technician_groups", SK_STRLIST, F(struct cfg_api, technician_groups), NULL, 0, 0, NULL, 0),
	KEY("max_request", SK_INT, F(struct cfg_api, max_request), "bytes", 256, 1048576, "65536", 0),
	KEY("max_clients", SK_INT, F(struct cfg_api, max_clients), "", 1, 1024, "64", 0),
	KEY("max_clients_per_user", SK_INT, F(struct cfg_api, max_clients_per_user), "", 1, 1024,
	    "16", 0),
	KEY("technician_slots", SK_INT, F(struct cfg_api, technician_slots), "", 0, 1023, "4", 0),
	KEY("web_gateway", SK_STRING, F(struct cfg_api, web_gateway), NULL, 0, 0, NULL, 0),
	KEY("web_users", SK_STRING, F(struct cfg_api, web_users), NULL, 0, 0,
	    "/etc/atelier/web-users", 0),
};
static const struct schema api_schema = { "api", api_keys, SK_COUNT(api_keys), sizeof(struct cfg_api) };

static const struct sk web_keys[] = {
	KEY("listen", SK_STRING, F(struct cfg_web, listen), NULL, 0, 0, "127.0.0.1", 0),
	KEY("port", SK_INT, F(struct cfg_web, port), "", 1, 65535, "8080", 0),
	KEY("certificate", SK_STRING, F(struct cfg_web, certificate), NULL, 0, 0, NULL, 0),
	KEY("key", SK_STRING, F(struct cfg_web, key), NULL, 0, 0, NULL, 0),
	KEY("root", SK_STRING, F(struct cfg_web, root), NULL, 0, 0, NULL, 0),
	KEY("session_hours", SK_DOUBLE, F(struct cfg_web, session_hours), "h", 0.1, 168, "12", 0),
	KEY("threads", SK_INT, F(struct cfg_web, threads), "", 4, 256, "48", 0),
};
static const struct schema web_schema = { "web", web_keys, SK_COUNT(web_keys), sizeof(struct cfg_web) };

static const struct sk mqtt_keys[] = {
	KEY("host", SK_STRING, F(struct cfg_mqtt, host), NULL, 0, 0, NULL, 0),
	KEY("port", SK_INT, F(struct cfg_mqtt, port), "", 0, 65535, "0", 0),
	KEY("username", SK_STRING, F(struct cfg_mqtt, username), NULL, 0, 0, NULL, 0),
	KEY("password_file", SK_STRING, F(struct cfg_mqtt, password_file), NULL, 0, 0, NULL, 0),
	KEY("ca_file", SK_STRING, F(struct cfg_mqtt, ca_file), NULL, 0, 0, NULL, 0),
	KEY("certificate", SK_STRING, F(struct cfg_mqtt, certificate), NULL, 0, 0, NULL, 0),
	KEY("key", SK_STRING, F(struct cfg_mqtt, key), NULL, 0, 0, NULL, 0),
	KEY("prefix", SK_STRING, F(struct cfg_mqtt, prefix), NULL, 0, 0, "atelier", 0),
	KEY("keepalive", SK_INT, F(struct cfg_mqtt, keepalive), "s", 5, 3600, "30", 0),
};
static const struct schema mqtt_schema = { "mqtt", mqtt_keys, SK_COUNT(mqtt_keys),
	sizeof(struct cfg_mqtt) };

static const struct sk fleet_keys[] = {
	/* Required once anything else names a server (check_fleet): the
	 * normalised form of a configuration without a fleet prints the
	 * section's defaults, and must load again. */
	KEY("workshop", SK_STRING, F(struct cfg_fleet, workshop), NULL, 0, 0, NULL, 0),
	KEY("name", SK_STRING, F(struct cfg_fleet, name), NULL, 0, 0, NULL, 0),
	KEY("postgres", SK_STRING, F(struct cfg_fleet, postgres), NULL, 0, 0, NULL, 0),
	KEY("password_file", SK_STRING, F(struct cfg_fleet, password_file), NULL, 0, 0, NULL, 0),
	KEY("lookup_seconds", SK_DOUBLE, F(struct cfg_fleet, lookup_seconds), "s", 0.1, 10, "1", 0),
	KEY("batch", SK_INT, F(struct cfg_fleet, batch), "events", 1, 10000, "500", 0),
	KEY("status_file", SK_STRING, F(struct cfg_fleet, status_file), NULL, 0, 0,
	    "fleet-status.json", 0),
	KEY("mqtt", SK_SECTION, F(struct cfg_fleet, mqtt), NULL, 0, 0, NULL, 0, .sub = &mqtt_schema),
};
static const struct schema fleet_schema = { "fleet", fleet_keys, SK_COUNT(fleet_keys),
	sizeof(struct cfg_fleet) };

static const struct sk calibration_keys[] = {
	KEY("laser_days", SK_DOUBLE, F(struct cfg_calibration, laser_days), "days", 1, 3650, "90", 0),
	KEY("tank_days", SK_DOUBLE, F(struct cfg_calibration, tank_days), "days", 1, 3650, "180", 0),
	KEY("bath_days", SK_DOUBLE, F(struct cfg_calibration, bath_days), "days", 1, 3650, "30", 0),
	KEY("refuse_overdue", SK_BOOL, F(struct cfg_calibration, refuse_overdue), NULL, 0, 0, "false", 0),
};
static const struct schema calibration_schema = { "calibration", calibration_keys,
	SK_COUNT(calibration_keys), sizeof(struct cfg_calibration) };

static const struct sk sim_keys[] = {
	KEY("ambient", SK_DOUBLE, F(struct cfg_sim, ambient), "C", -10, 45, "21", 0),
	KEY("tank_heater_power", SK_DOUBLE, F(struct cfg_sim, tank_heater_power), "W", 1, 10000, "600", 0),
	KEY("tank_heat_capacity", SK_DOUBLE, F(struct cfg_sim, tank_heat_capacity), "J/K", 100, 1e7, "12000", 0),
	KEY("tank_loss", SK_DOUBLE, F(struct cfg_sim, tank_loss), "W/K", 0.01, 1000, "4", 0),
	KEY("ultrasound_heating", SK_DOUBLE, F(struct cfg_sim, ultrasound_heating), "W", 0, 5000, "60", 0),
	KEY("bath_heater_power", SK_DOUBLE, F(struct cfg_sim, bath_heater_power), "W", 1, 10000, "300", 0),
	KEY("bath_heat_capacity", SK_DOUBLE, F(struct cfg_sim, bath_heat_capacity), "J/K", 100, 1e7, "4000", 0),
	KEY("bath_loss", SK_DOUBLE, F(struct cfg_sim, bath_loss), "W/K", 0.01, 1000, "2", 0),
	KEY("bath_resistance", SK_DOUBLE, F(struct cfg_sim, bath_resistance), "ohm", 0.01, 1000, "2", 0),
	KEY("turnaround", SK_DOUBLE, F(struct cfg_sim, turnaround), "s", 0, 1, "0.002", 0),
	KEY("laser_accel", SK_DOUBLE, F(struct cfg_sim, laser_accel), "mm/s2", 1, 100000, "500", 0),
	/* Any id, so that a test can show an unknown model refused. */
	KEY("rectifier_model", SK_INT, F(struct cfg_sim, rectifier_model), "", 1, 65535, "60062", 0),
	KEY("rectifier_range", SK_INT, F(struct cfg_sim, rectifier_range), "", 0, 1, "0", 0),
	KEY("laser_reset_on_open", SK_BOOL, F(struct cfg_sim, laser_reset_on_open), NULL, 0, 0,
	    "false", 0),
};
static const struct schema sim_schema = { "sim", sim_keys, SK_COUNT(sim_keys), sizeof(struct cfg_sim) };

static const char *const log_level_names[] = { "error", "warn", "info", "debug", NULL };

static const struct sk top_keys[] = {
	KEY("device_dir", SK_STRING, F(struct cfg, device_dir), NULL, 0, 0, "/dev", 0),
	KEY("state_dir", SK_STRING, F(struct cfg, state_dir), NULL, 0, 0, "/var/lib/atelier", 0),
	KEY("user", SK_STRING, F(struct cfg, user), NULL, 0, 0, NULL, 0),
	KEY("log_level", SK_ENUM, F(struct cfg, log_level_id), NULL, 0, 0, "info", 0, .names = log_level_names),
	KEY("gems_file", SK_STRING, F(struct cfg, gems_file), NULL, 0, 0, "gems.yaml", 0),
	KEY("services_file", SK_STRING, F(struct cfg, services_file), NULL, 0, 0, "services.yaml", 0),
	KEY("profile_dir", SK_STRING, F(struct cfg, profile_dir), NULL, 0, 0, "profiles", 0),
	KEY("watchdog", SK_DOUBLE, F(struct cfg, watchdog), "s", 0, 600, "10", 0),
	KEY("laser", SK_CUSTOM, 0, NULL, 0, 0, NULL, 0, .parse = parse_old_section, .print = print_old_section),
	KEY("buses", SK_LIST, F(struct cfg, buses), NULL, 0, 0, NULL, 0, .sub = &bus_schema,.count_off = F(struct cfg, n_buses)),
	KEY("devices", SK_LIST, F(struct cfg, devices), NULL, 0, 0, NULL, 0, .sub = &device_schema,.count_off = F(struct cfg, n_devices)),
	KEY("gpio", SK_SECTION, F(struct cfg, gpio), NULL, 0, 0, NULL, SK_REQUIRED, .sub = &gpio_schema),
	KEY("stations", SK_CUSTOM, F(struct cfg, stations), NULL, 0, 0, NULL, SK_REQUIRED, .parse = parse_stations, .print = print_stations, .release = release_stations),
	KEY("tank", SK_CUSTOM, 0, NULL, 0, 0, NULL, 0, .parse = parse_old_section, .print = print_old_section),
	KEY("bath", SK_CUSTOM, 0, NULL, 0, 0, NULL, 0, .parse = parse_old_section, .print = print_old_section),
	KEY("api", SK_SECTION, F(struct cfg, api), NULL, 0, 0, NULL, 0, .sub = &api_schema),
	KEY("calibration", SK_SECTION, F(struct cfg, calibration), NULL, 0, 0, NULL, 0, .sub = &calibration_schema),
	KEY("web", SK_SECTION, F(struct cfg, web), NULL, 0, 0, NULL, 0, .sub = &web_schema),
	KEY("fleet", SK_SECTION, F(struct cfg, fleet), NULL, 0, 0, NULL, 0, .sub = &fleet_schema),
	KEY("sim", SK_SECTION, F(struct cfg, sim), NULL, 0, 0, NULL, 0, .sub = &sim_schema),
};
static const struct schema top_schema = { "configuration", top_keys, SK_COUNT(top_keys), sizeof(struct cfg) };

static yaml_node_t *
find_key(struct cfg_ctx *ctx, yaml_node_t *map, const char *key)
{
	return cfg_node_get(ctx, map, key);
}

/* The node of key inside the i-th item of the top-level list, for errors. */
static yaml_node_t *
list_item_key(struct cfg_ctx *ctx, yaml_node_t *root, const char *list, size_t i,
    const char *key)
{
	yaml_node_t *item = cfg_node_item(ctx, find_key(ctx, root, list), i);
	yaml_node_t *v = key ? find_key(ctx, item, key) : NULL;
	return v ? v : item ? item : root;
}

char *
cfg_resolve(const struct cfg *cfg, const char *path)
{
	if (!path || path[0] == '/' || !cfg->dir)
		return xstrdup(path ? path : "");
	return xasprintf("%s/%s", cfg->dir, path);
}

char *
cfg_profile_path(const struct cfg *cfg, const char *profile)
{
	char *dir = cfg_resolve(cfg, cfg->profile_dir);
	char *p = xasprintf("%s/%s.yaml", dir, profile);
	free(dir);
	return p;
}

/* Every line, the workshop's first then each station's in role order,
 * into cfg->lines; the stations learn their lines' indexes. */
static void
flatten_lines(struct cfg_ctx *ctx, struct cfg *cfg, yaml_node_t *root)
{
	for (int r = 0; r < ROLE_COUNT; r++)
		if (cfg->gpio.lines[r].configured && cfg->n_lines < CFG_MAX_LINES)
			cfg->lines[cfg->n_lines++] = (struct cfg_line){ xstrdup(cfg_role_key(-1,
			    (enum cfg_role)r)), -1, (enum cfg_role)r, cfg_role_output((enum cfg_role)r),
			    &cfg->gpio.lines[r] };
	for (size_t i = 0; i < cfg->n_stations; i++) {
		struct cfg_station *st = &cfg->stations[i];
		for (int r = 0; r < ROLE_COUNT; r++) {
			st->line[r] = -1;
			if (!st->lines[r].configured)
				continue;
			if (cfg->n_lines == CFG_MAX_LINES) {
				cfg_err_node(ctx, root, "the workshop has more than %d GPIO lines",
				    CFG_MAX_LINES);
				return;
			}
			st->line[r] = (int)cfg->n_lines;
			cfg->lines[cfg->n_lines++] = (struct cfg_line){ xasprintf("%s.%s",
			    st->name ? st->name : "?", cfg_role_key(st->kind, (enum cfg_role)r)),
			    (int)i, (enum cfg_role)r, cfg_role_output((enum cfg_role)r), &st->lines[r] };
		}
	}
}

/* The node of a station's entry, or of one of its keys, for errors. */
static yaml_node_t *
station_node(struct cfg_ctx *ctx, yaml_node_t *root, size_t i, const char *key)
{
	return list_item_key(ctx, root, "stations", i, key);
}

/* The node of a line: under gpio.lines (station -1) or a station's lines. */
static yaml_node_t *
line_node(struct cfg_ctx *ctx, yaml_node_t *root, const struct cfg *cfg, const struct cfg_line *l)
{
	const char *key = cfg_role_key(l->station < 0 ? -1 : cfg->stations[l->station].kind, l->role);
	yaml_node_t *lines = l->station < 0 ? find_key(ctx, find_key(ctx, root, "gpio"), "lines") :
	    station_node(ctx, root, (size_t)l->station, "lines");
	yaml_node_t *n = find_key(ctx, lines, key);
	return n ? n : lines ? lines : root;
}

static bool
same_wiring(const struct cfg_gpio_line *a, const struct cfg_gpio_line *b)
{
	if (!a->chip || !b->chip || strcmp(a->chip, b->chip) != 0)
		return false;
	if (a->line_name || b->line_name)
		return a->line_name && b->line_name && strcmp(a->line_name, b->line_name) == 0;
	return a->offset == b->offset;
}

static void
check_lines(struct cfg_ctx *ctx, struct cfg *cfg, yaml_node_t *root)
{
	/* The workshop's lines; missing ones are reported only under a
	 * gpio.lines mapping (a missing gpio section is its own error). */
	yaml_node_t *lines = find_key(ctx, find_key(ctx, root, "gpio"), "lines");
	for (size_t i = 0; lines && lines->type == YAML_MAPPING_NODE && i < ARRAY_LEN(role_keys); i++)
		if (role_keys[i].kind < 0 && role_keys[i].required &&
		    !cfg->gpio.lines[role_keys[i].role].configured)
			cfg_err_node(ctx, lines, "gpio.lines: line '%s' is not configured; the "
			    "interlocks need it", role_keys[i].key);
	for (size_t i = 0; i < cfg->n_lines; i++) {
		const struct cfg_line *l = &cfg->lines[i];
		if (cfg->gpio.backend == GPIO_BACKEND_GPIOD &&
		    (!l->gl->chip || (l->gl->offset < 0 && !l->gl->line_name)))
			cfg_err_node(ctx, line_node(ctx, root, cfg, l), "%s: the gpiod backend needs a "
			    "'chip' and a 'line'", l->name);
		/* Two lines on one wire: an input read for two stations, or an
		 * output that two stations would both drive. */
		for (size_t j = 0; cfg->gpio.backend == GPIO_BACKEND_GPIOD && j < i; j++) {
			if (!same_wiring(l->gl, cfg->lines[j].gl))
				continue;
			char wire[160];
			if (l->gl->line_name)
				snprintf(wire, sizeof wire, "%s, line %s", l->gl->chip, l->gl->line_name);
			else
				snprintf(wire, sizeof wire, "%s, offset %d", l->gl->chip, l->gl->offset);
			cfg_err_node(ctx, line_node(ctx, root, cfg, l), "%s is wired to the same line as "
			    "%s (%s); each line has one use", l->name, cfg->lines[j].name, wire);
		}
	}
}

static bool
valid_station_name(const char *n)
{
	if (!n || !*n || strlen(n) > 32)
		return false;
	for (const char *c = n; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
			return false;
	return true;
}

/* A device named by a station: it exists, with a profile of the kind the
 * role needs, and no other station names it. */
/* A rotary's numbers that only make sense together. */
static void
check_rotary(struct cfg_ctx *ctx, yaml_node_t *root, size_t i, const struct cfg_station *st)
{
	const struct cfg_rotary *r = &st->laser.rotary;
	const char *name = st->name ? st->name : "?";
	if (r->kind == ROTARY_NONE)
		return;
	yaml_node_t *at = station_node(ctx, root, i, "rotary");
	if (r->kind == ROTARY_ROLLERS && !(r->roller_diameter > 0))
		cfg_err_node(ctx, at, "stations[%zu] (%s): rotary: rollers need roller_diameter (mm): "
		    "the piece turns by the rollers' circumference, not its own", i, name);
	if (r->min_diameter >= r->max_diameter)
		cfg_err_node(ctx, at, "stations[%zu] (%s): rotary: min_diameter %g mm is not below "
		    "max_diameter %g mm", i, name, r->min_diameter, r->max_diameter);
	if (r->inner_band && !(r->inner_min_diameter > 0))
		cfg_err_node(ctx, at, "stations[%zu] (%s): rotary: inner_band needs "
		    "inner_min_diameter, the smallest inner band the head reaches (mm)", i, name);
	if (!(r->mounted_value > 0))
		cfg_err_node(ctx, at, "stations[%zu] (%s): rotary: mounted_value is needed: the value "
		    "of $%d read back when the rotary is mounted (a program for the rotary runs only "
		    "then, and a flat program never does)", i, name, r->mounted_setting);
}

static void
check_station_device(struct cfg_ctx *ctx, struct cfg *cfg, yaml_node_t *root, size_t i,
    const char *key, const char *name, const char *profile)
{
	const struct cfg_station *st = &cfg->stations[i];
	if (!name)
		return;
	const struct cfg_device *d = cfg_device_find(cfg, name);
	if (!d) {
		cfg_err_node(ctx, station_node(ctx, root, i, key), "stations[%zu] (%s): %s '%s' is "
		    "not among devices:", i, st->name ? st->name : "?", key, name);
		return;
	}
	if (d->profile && strcmp(d->profile, profile) != 0)
		cfg_err_node(ctx, station_node(ctx, root, i, key), "stations[%zu] (%s): %s '%s' has "
		    "the profile '%s'; a %s's %s is a '%s'", i, st->name ? st->name : "?", key, name,
		    d->profile, kind_names[st->kind], key, profile);
	for (size_t j = 0; j < i; j++) {
		const struct cfg_station *o = &cfg->stations[j];
		const char *theirs[] = { o->device, o->rectifier, o->heater };
		for (size_t k = 0; k < ARRAY_LEN(theirs); k++)
			if (theirs[k] && strcmp(theirs[k], name) == 0)
				cfg_err_node(ctx, station_node(ctx, root, i, key), "stations[%zu] (%s): "
				    "device '%s' is already station %s's; a device serves one station",
				    i, st->name ? st->name : "?", name, o->name ? o->name : "?");
	}
}

static void
check_stations(struct cfg_ctx *ctx, struct cfg *cfg, yaml_node_t *root)
{
	if (!find_key(ctx, root, "stations") && !find_key(ctx, root, "laser") &&
	    !find_key(ctx, root, "tank") && !find_key(ctx, root, "bath"))
		cfg_err_node(ctx, root, "missing required key 'stations' in 'configuration': the "
		    "workshop's stations, each with a name and a kind (laser, tank or bath)");
	for (size_t i = 0; i < cfg->n_stations; i++) {
		const struct cfg_station *st = &cfg->stations[i];
		const char *name = st->name ? st->name : "?";
		if (st->name && !valid_station_name(st->name))
			cfg_err_node(ctx, station_node(ctx, root, i, "name"), "stations[%zu].name '%.40s' "
			    "must be 1 to 32 lower-case letters, digits, '-' or '_' (it names the "
			    "station's lines and is typed at the bench)", i, st->name);
		for (size_t j = 0; st->name && j < i; j++)
			if (cfg->stations[j].name && strcmp(cfg->stations[j].name, st->name) == 0)
				cfg_err_node(ctx, station_node(ctx, root, i, "name"), "stations[%zu]: a "
				    "station named '%s' already exists", i, st->name);
		/* Required lines of the kind, under a lines: that is there (a
		 * missing one is its own error). */
		yaml_node_t *ln = find_key(ctx, cfg_node_item(ctx, find_key(ctx, root, "stations"), i),
		    "lines");
		for (size_t r = 0; ln && ln->type == YAML_MAPPING_NODE && r < ARRAY_LEN(role_keys); r++)
			if (role_keys[r].kind == st->kind && role_keys[r].required &&
			    !st->lines[role_keys[r].role].configured)
				cfg_err_node(ctx, ln, "stations[%zu] (%s): line '%s' is not configured; "
				    "a %s needs it for its interlock", i, name, role_keys[r].key,
				    kind_names[st->kind]);
		switch (st->kind) {
		case KIND_LASER:
			for (size_t j = 0; st->laser.port && j < i; j++) {
				const struct cfg_station *o = &cfg->stations[j];
				if (o->kind == KIND_LASER && o->laser.port &&
				    strcmp(o->laser.port, st->laser.port) == 0)
					cfg_err_node(ctx, station_node(ctx, root, i, "port"), "stations[%zu] "
					    "(%s): port '%s' is already laser %s's", i, name, st->laser.port,
					    o->name ? o->name : "?");
			}
			check_rotary(ctx, root, i, st);
			break;
		case KIND_TANK:
			check_station_device(ctx, cfg, root, i, "device", st->device, "tank-generator");
			if (st->tank.temperature > st->tank.max_temperature)
				cfg_err_node(ctx, station_node(ctx, root, i, "temperature"), "stations[%zu] "
				    "(%s): temperature %g C is above max_temperature %g C", i, name,
				    st->tank.temperature, st->tank.max_temperature);
			if (st->tank.cycle > st->tank.max_cycle)
				cfg_err_node(ctx, station_node(ctx, root, i, "cycle"), "stations[%zu] (%s): "
				    "cycle %g s is longer than max_cycle %g s", i, name, st->tank.cycle,
				    st->tank.max_cycle);
			break;
		case KIND_BATH:
			check_station_device(ctx, cfg, root, i, "rectifier", st->rectifier,
			    "riden-rd60xx");
			check_station_device(ctx, cfg, root, i, "heater", st->heater, "e5cc");
			break;
		default:
			break;
		}
	}
}

/* The workshop's id names it in the shared history and in MQTT topics:
 * letters, digits and '-', so that it is the same in both. */
static void
check_fleet(struct cfg_ctx *ctx, struct cfg *cfg, yaml_node_t *root)
{
	struct cfg_fleet *f = &cfg->fleet;
	yaml_node_t *node = cfg_node_get(ctx, root, "fleet");
	if (!node)
		return;
	if (!f->workshop) {
		if (f->postgres || f->mqtt.host || f->password_file)
			cfg_err_node(ctx, node, "fleet: 'workshop' (this workshop's id in the shared "
			    "history) is required");
		return;
	}
	size_t n = strlen(f->workshop);
	bool ok = n >= 1 && n <= 32;
	for (size_t i = 0; ok && i < n; i++)
		ok = isalnum((unsigned char)f->workshop[i]) || (i > 0 && f->workshop[i] == '-');
	if (!ok)
		cfg_err_node(ctx, cfg_node_get(ctx, node, "workshop"), "fleet.workshop '%s': a "
		    "workshop's id is 1 to 32 letters, digits and '-' (it names MQTT topics)",
		    f->workshop);
	if (!f->postgres && !f->mqtt.host)
		cfg_err_node(ctx, node, "fleet: name 'postgres' (the shared history), 'mqtt.host' "
		    "(telemetry), or both");
	if (f->password_file && !f->postgres)
		cfg_err_node(ctx, cfg_node_get(ctx, node, "password_file"), "fleet.password_file "
		    "is PostgreSQL's password, and 'postgres' is not set");
	if (f->postgres && strstr(f->postgres, "password"))
		cfg_err_node(ctx, cfg_node_get(ctx, node, "postgres"), "fleet.postgres: keep the "
		    "password out of the configuration; put it alone in 'password_file'");
	yaml_node_t *mq = cfg_node_get(ctx, node, "mqtt");
	if (!f->mqtt.certificate != !f->mqtt.key)
		cfg_err_node(ctx, mq, "fleet.mqtt: a client certificate needs both 'certificate' and "
		    "'key' (one is set without the other)");
	if (f->mqtt.certificate && !f->mqtt.ca_file)
		cfg_err_node(ctx, cfg_node_get(ctx, mq, "certificate"), "fleet.mqtt: a client "
		    "certificate is for TLS, which needs 'ca_file'");
	if (mq && !f->mqtt.host)
		cfg_err_node(ctx, mq, "fleet.mqtt: 'host' is required for telemetry");
	if (!f->mqtt.port)
		f->mqtt.port = f->mqtt.ca_file ? 8883 : 1883;
	if (!f->name)
		f->name = xstrdup(f->workshop);
}

static void
cross_check(struct cfg_ctx *ctx, struct cfg *cfg, yaml_node_t *root)
{
	if (!cfg->web.certificate != !cfg->web.key)
		cfg_err_node(ctx, cfg_node_get(ctx, root, "web"), "web: HTTPS needs both 'certificate' "
		    "and 'key' (one is set without the other)");
	check_fleet(ctx, cfg, root);
	for (size_t i = 0; i < cfg->n_buses; i++) {
		const struct cfg_bus *b = &cfg->buses[i];
		if (!b->name)
			continue;
		for (size_t j = 0; j < i; j++)
			if (cfg->buses[j].name && strcmp(cfg->buses[j].name, b->name) == 0)
				cfg_err_node(ctx, list_item_key(ctx, root, "buses", i, "name"),
				    "buses[%zu]: a bus named '%s' already exists", i, b->name);
		if (b->transport == TRANSPORT_RTU && !b->port)
			cfg_err_node(ctx, list_item_key(ctx, root, "buses", i, NULL),
			    "buses[%zu]: an RTU bus needs a 'port'", i);
		if (b->transport == TRANSPORT_TCP && !b->host)
			cfg_err_node(ctx, list_item_key(ctx, root, "buses", i, NULL),
			    "buses[%zu]: a TCP bus needs a 'host'", i);
	}
	for (size_t i = 0; i < cfg->n_devices; i++) {
		const struct cfg_device *d = &cfg->devices[i];
		if (!d->name || !d->bus)
			continue;
		for (size_t j = 0; j < i; j++) {
			const struct cfg_device *o = &cfg->devices[j];
			if (o->name && strcmp(o->name, d->name) == 0)
				cfg_err_node(ctx, list_item_key(ctx, root, "devices", i, "name"),
				    "devices[%zu]: a device named '%s' already exists", i, d->name);
			if (o->bus && strcmp(o->bus, d->bus) == 0 && o->slave == d->slave)
				cfg_err_node(ctx, list_item_key(ctx, root, "devices", i, "slave"),
				    "devices[%zu]: slave %d is already '%s' on bus '%s'", i, d->slave,
				    o->name ? o->name : "?", d->bus);
		}
		if (!cfg_bus_find(cfg, d->bus))
			cfg_err_node(ctx, list_item_key(ctx, root, "devices", i, "bus"),
			    "devices[%zu]: no bus named '%s'", i, d->bus);
		if (d->profile) {
			char *p = cfg_profile_path(cfg, d->profile);
			struct cfg_errors perr = { 0 };
			struct profile *prof = profile_load(p, &perr);
			if (!prof)
				cfg_err_node(ctx, list_item_key(ctx, root, "devices", i, "profile"),
				    "devices[%zu]: profile '%s' does not load (%s)", i, d->profile,
				    perr.n ? perr.msgs[0] : p);
			profile_free(prof);
			cfg_errors_free(&perr);
			free(p);
		}
	}
	check_lines(ctx, cfg, root);
	check_stations(ctx, cfg, root);
	yaml_node_t *api = find_key(ctx, root, "api");
	if (cfg->api.technician_slots >= cfg->api.max_clients)
		cfg_err_node(ctx, find_key(ctx, api, "technician_slots") ?
		    find_key(ctx, api, "technician_slots") : api ? api : root,
		    "api.technician_slots %d leaves no connection for anyone else among "
		    "api.max_clients %d", cfg->api.technician_slots, cfg->api.max_clients);
}

extern const char cfg_example_yaml[];   /* generated from config/atelier.yaml */

int
cfg_laser_example(struct cfg_laser *out, struct cfg_errors *errs)
{
	struct cfg_ctx ctx = { "(compiled-in config/atelier.yaml)", NULL, errs };
	yaml_document_t doc;
	size_t before = errs->n;

	memset(out, 0, sizeof *out);
	yaml_node_t *root = cfg_parse_yaml(&ctx, cfg_example_yaml, strlen(cfg_example_yaml), &doc);
	if (!root)
		return -1;
	yaml_node_t *list = find_key(&ctx, root, "stations"), *item = NULL;
	for (size_t i = 0; !item && cfg_node_item(&ctx, list, i); i++) {
		yaml_node_t *k = find_key(&ctx, cfg_node_item(&ctx, list, i), "kind");
		if (k && cfg_kind_lookup(cfg_scalar(k)) == KIND_LASER)
			item = cfg_node_item(&ctx, list, i);
	}
	if (!item || item->type != YAML_MAPPING_NODE) {
		cfg_err_node(&ctx, root, "the example has no laser station");
	} else {
		struct cfg_station st = { .kind = KIND_LASER };
		schema_defaults(&station_schemas[KIND_LASER], &st);
		role_lines_defaults(st.lines);
		schema_load(&ctx, &station_schemas[KIND_LASER], item, &st, "stations[laser]");
		*out = st.laser;
		st.laser.port = NULL;           /* now out's */
		station_free_fields(&st);
	}
	yaml_document_delete(&doc);
	if (errs->n != before) {
		cfg_laser_release(out);
		return -1;
	}
	return 0;
}

void
cfg_laser_release(struct cfg_laser *laser)
{
	free(laser->port);
	laser->port = NULL;
}

static struct cfg *
cfg_new_defaults(void)
{
	struct cfg *cfg = xcalloc(1, sizeof *cfg);
	schema_defaults(&top_schema, cfg);
	role_lines_defaults(cfg->gpio.lines);
	return cfg;
}

struct cfg *
cfg_load_buffer(const char *name, const char *data, size_t len, struct cfg_errors *errs)
{
	struct cfg_ctx ctx = { name, NULL, errs };
	yaml_document_t doc;
	size_t before = errs->n;

	yaml_node_t *root = cfg_parse_yaml(&ctx, data, len, &doc);
	if (!root)
		return NULL;
	struct cfg *cfg = cfg_new_defaults();
	cfg->file = xstrdup(name);
	char *copy = xstrdup(name);
	cfg->dir = xstrdup(dirname(copy));
	free(copy);
	schema_load(&ctx, &top_schema, root, cfg, "");
	cfg->log_level = xstrdup(log_level_names[cfg->log_level_id]);
	flatten_lines(&ctx, cfg, root);
	/* Cross-checks run even after key errors, so that one pass reports
	 * everything; they skip what failed to load. */
	cross_check(&ctx, cfg, root);
	yaml_document_delete(&doc);
	if (errs->n != before) {
		cfg_free(cfg);
		return NULL;
	}
	return cfg;
}

struct cfg *
cfg_load(const char *path, struct cfg_errors *errs)
{
	size_t len;
	char *data = cfg_read_file(path, &len, errs);
	if (!data)
		return NULL;
	struct cfg *cfg = cfg_load_buffer(path, data, len, errs);
	free(data);
	return cfg;
}

void
cfg_free(struct cfg *cfg)
{
	if (!cfg)
		return;
	schema_release(&top_schema, cfg);
	for (size_t i = 0; i < cfg->n_lines; i++)
		free(cfg->lines[i].name);
	free(cfg->file);
	free(cfg->dir);
	free(cfg->log_level);
	free(cfg);
}

void
cfg_print(const struct cfg *cfg, FILE *out)
{
	fprintf(out, "# Atelier configuration, normalised: every key, defaults filled in.\n");
	schema_print(&top_schema, cfg, out, 0);
}

struct cfg *
cfg_load_main(const char *path, const char *device_dir)
{
	struct cfg_errors errs = { 0 };
	struct cfg *cfg = cfg_load(path, &errs);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	cfg_errors_free(&errs);
	if (cfg && device_dir) {
		free(cfg->device_dir);
		cfg->device_dir = xstrdup(device_dir);
	}
	return cfg;
}

char *
cfg_device_path(const struct cfg *cfg, const char *path)
{
	if (!path)
		return xstrdup("");
	if (path[0] == '/' || !cfg->device_dir)
		return xstrdup(path);
	return xasprintf("%s/%s", cfg->device_dir, path);
}

static bool
same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool
same_device_path(const struct cfg *a, const char *pa, const struct cfg *b, const char *pb)
{
	char *x = cfg_device_path(a, pa), *y = cfg_device_path(b, pb);
	bool same = strcmp(x, y) == 0;
	free(x);
	free(y);
	return same;
}

bool
cfg_same_gpio(const struct cfg *a, const struct cfg *b)
{
	if (a->gpio.backend != b->gpio.backend ||
	    !same_device_path(a, a->gpio.socket, b, b->gpio.socket) || a->n_lines != b->n_lines)
		return false;
	for (size_t i = 0; i < a->n_lines; i++) {
		const struct cfg_line *lx = &a->lines[i], *ly = &b->lines[i];
		const struct cfg_gpio_line *x = lx->gl, *y = ly->gl;
		if (strcmp(lx->name, ly->name) != 0 || lx->role != ly->role ||
		    !same_str(x->chip, y->chip) || x->offset != y->offset ||
		    !same_str(x->line_name, y->line_name) || x->active_low != y->active_low ||
		    x->debounce != y->debounce)
			return false;
	}
	return true;
}

bool
cfg_same_laser_port(const struct cfg *a, const struct cfg_station *sx, const struct cfg *b,
    const struct cfg_station *sy)
{
	const struct cfg_laser *x = &sx->laser, *y = &sy->laser;
	return same_str(sx->name, sy->name) && same_device_path(a, x->port, b, y->port) &&
	    x->baud == y->baud && x->status_hz == y->status_hz &&
	    x->connect_timeout == y->connect_timeout;
}

bool
cfg_same_buses(const struct cfg *a, const struct cfg *b)
{
	if (a->n_buses != b->n_buses || a->n_devices != b->n_devices ||
	    !same_str(a->profile_dir, b->profile_dir) || !same_str(a->dir, b->dir))
		return false;
	for (size_t i = 0; i < a->n_buses; i++) {
		const struct cfg_bus *x = &a->buses[i], *y = &b->buses[i];
		if (!same_str(x->name, y->name) || x->transport != y->transport ||
		    !same_device_path(a, x->port, b, y->port) || x->baud != y->baud ||
		    x->parity != y->parity || x->data_bits != y->data_bits ||
		    x->stop_bits != y->stop_bits || x->rs485 != y->rs485 ||
		    !same_str(x->host, y->host) || x->tcp_port != y->tcp_port ||
		    x->timeout != y->timeout || x->retries != y->retries ||
		    x->poll_interval != y->poll_interval)
			return false;
	}
	for (size_t i = 0; i < a->n_devices; i++) {
		const struct cfg_device *x = &a->devices[i], *y = &b->devices[i];
		if (!same_str(x->name, y->name) || !same_str(x->bus, y->bus) || x->slave != y->slave ||
		    !same_str(x->profile, y->profile) ||
		    x->heartbeat_interval != y->heartbeat_interval || x->watchdog != y->watchdog)
			return false;
	}
	return true;
}

const struct cfg_bus *
cfg_bus_find(const struct cfg *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_buses; i++)
		if (cfg->buses[i].name && strcmp(cfg->buses[i].name, name) == 0)
			return &cfg->buses[i];
	return NULL;
}

const struct cfg_device *
cfg_device_find(const struct cfg *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_devices; i++)
		if (cfg->devices[i].name && strcmp(cfg->devices[i].name, name) == 0)
			return &cfg->devices[i];
	return NULL;
}

const struct cfg_station *
cfg_station_find(const struct cfg *cfg, const char *name)
{
	for (size_t i = 0; name && i < cfg->n_stations; i++)
		if (cfg->stations[i].name && strcmp(cfg->stations[i].name, name) == 0)
			return &cfg->stations[i];
	return NULL;
}

int
cfg_station_of_kind(const struct cfg *cfg, enum cfg_kind kind, int n)
{
	for (size_t i = 0; i < cfg->n_stations; i++)
		if (cfg->stations[i].kind == (int)kind && n-- == 0)
			return (int)i;
	return -1;
}

int
cfg_stations_of_kind(const struct cfg *cfg, enum cfg_kind kind)
{
	int n = 0;
	for (size_t i = 0; i < cfg->n_stations; i++)
		n += cfg->stations[i].kind == (int)kind;
	return n;
}
