/*
 * The bench configuration: its schema tables (every key with type, unit,
 * range, default and whether it is required), the cross-checks that no
 * single key can make (buses named by devices exist, slave ids unique per
 * bus, profiles load, ...), and the normalised printout of `atelierd -n`.
 * Defaults come from the shared domain facts (tank 45-50 C lukewarm, at
 * most about 10 min a cycle; plating never above 3 V).
 */
#include "cfg/cfg.h"

#include <libgen.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cfg/cfg_schema.h"
#include "util.h"

static const char *const line_names[LINE_COUNT] = {
	"estop", "laser_door", "tank_lid", "fume_ok", "laser_enable",
	"ultrasound_enable", "heater_enable", "rectifier_enable", "bath_heater_enable", "beacon",
};

const char *
cfg_line_name(enum cfg_line_id id)
{
	return (unsigned)id < LINE_COUNT ? line_names[id] : "?";
}

int
cfg_line_lookup(const char *name)
{
	for (int i = 0; i < LINE_COUNT; i++)
		if (strcmp(name, line_names[i]) == 0)
			return i;
	return -1;
}

#define F(type, field) offsetof(type, field)
/* One schema entry: key, type, field, unit, range, default, flags, then
 * any of .sub, .count_off, .names, .values, .parse, .print, .release. */
#define KEY(k, t, off_, u, lo, hi, d, fl, ...) \
	{ .key = (k), .type = (t), .off = (off_), .unit = (u), .min = (lo), .max = (hi), \
	  .def = (d), .flags = (fl), __VA_ARGS__ }

static const struct sk laser_keys[] = {
	KEY("port", SK_STRING, F(struct cfg_laser, port), NULL, 0, 0, NULL, SK_REQUIRED),
	KEY("baud", SK_BAUD, F(struct cfg_laser, baud), "baud", 0, 0, "115200", 0),
	KEY("status_hz", SK_DOUBLE, F(struct cfg_laser, status_hz), "Hz", 0.5, 10, "5", 0),
	KEY("connect_timeout", SK_DOUBLE, F(struct cfg_laser, connect_timeout), "s", 0.5, 60, "5", 0),
	KEY("max_feed", SK_DOUBLE, F(struct cfg_laser, max_feed), "mm/min", 10, 100000, "3000", 0),
	KEY("max_power", SK_INT, F(struct cfg_laser, max_power), "", 1, 100000, "1000", 0),
	KEY("resolution", SK_DOUBLE, F(struct cfg_laser, resolution), "mm", 0.001, 1, "0.01", 0),
	KEY("work_x", SK_DOUBLE, F(struct cfg_laser, work_x), "mm", 1, 2000, "100", 0),
	KEY("work_y", SK_DOUBLE, F(struct cfg_laser, work_y), "mm", 1, 2000, "100", 0),
	KEY("min_char_height", SK_DOUBLE, F(struct cfg_laser, min_char_height), "mm", 0.2, 20, "0.8", 0),
};
static const struct schema laser_schema = { "laser", laser_keys, SK_COUNT(laser_keys), sizeof(struct cfg_laser) };

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

/* gpio.lines: a mapping from the bench's line names to their wiring. */
static void
parse_lines(struct cfg_ctx *ctx, const struct sk *k, yaml_node_t *node, void *field,
    const char *path)
{
	struct cfg_gpio_line *lines = field;
	(void)k;
	if (node->type != YAML_MAPPING_NODE) {
		cfg_err_node(ctx, node, "%s must be a mapping from line names to lines", path);
		return;
	}
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
	    p < node->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(ctx->doc, p->key);
		yaml_node_t *vn = yaml_document_get_node(ctx->doc, p->value);
		const char *name = cfg_scalar(kn);
		int id = name ? cfg_line_lookup(name) : -1;
		if (id < 0) {
			const char *best = NULL;
			size_t bd = (size_t)-1;
			for (int i = 0; name && i < LINE_COUNT; i++) {
				size_t d = str_distance(name, line_names[i]);
				if (d < bd) {
					bd = d;
					best = line_names[i];
				}
			}
			if (best && bd <= 3)
				cfg_err_node(ctx, kn, "unknown line '%.60s' in '%s'; did you mean '%s'?",
				    name, path, best);
			else {
				char all[300] = "";
				for (int i = 0; i < LINE_COUNT; i++)
					snprintf(all + strlen(all), sizeof all - strlen(all), "%s%s",
					    i ? ", " : "", line_names[i]);
				cfg_err_node(ctx, kn, "unknown line '%.60s' in '%s'; the lines are %s",
				    name ? name : "?", path, all);
			}
			continue;
		}
		if (lines[id].configured) {
			cfg_err_node(ctx, kn, "line '%s' appears twice in '%s'", name, path);
			continue;
		}
		lines[id].configured = true;
		char *lpath = xasprintf("%s.%s", path, name);
		if (vn->type != YAML_MAPPING_NODE)
			cfg_err_node(ctx, vn, "%s must be a mapping (chip, line, active_low, debounce)",
			    lpath);
		else
			schema_load(ctx, &gpio_line_schema, vn, &lines[id], lpath);
		free(lpath);
	}
}

static void
print_lines(const struct sk *k, const void *field, FILE *out, int indent)
{
	const struct cfg_gpio_line *lines = field;
	(void)k;
	fprintf(out, "%*slines:\n", indent, "");
	for (int i = 0; i < LINE_COUNT; i++) {
		if (!lines[i].configured)
			continue;
		fprintf(out, "%*s%s:\n", indent + 2, "", line_names[i]);
		schema_print(&gpio_line_schema, &lines[i], out, indent + 4);
	}
}

static void
release_lines(void *field)
{
	struct cfg_gpio_line *lines = field;
	for (int i = 0; i < LINE_COUNT; i++) {
		schema_release(&gpio_line_schema, &lines[i]);
		free(lines[i].line_name);
		lines[i].line_name = NULL;
	}
}

static const char *const backend_names[] = { "sim", "gpiod", NULL };
static const int backend_values[] = { GPIO_BACKEND_SIM, GPIO_BACKEND_GPIOD };

static const struct sk gpio_keys[] = {
	KEY("backend", SK_ENUM, F(struct cfg_gpio, backend), NULL, 0, 0, "gpiod", 0, .names = backend_names, .values = backend_values),
	KEY("socket", SK_STRING, F(struct cfg_gpio, socket), NULL, 0, 0, "gpio.sock", 0),
	KEY("lines", SK_CUSTOM, F(struct cfg_gpio, lines), NULL, 0, 0, NULL, SK_REQUIRED, .parse = parse_lines, .print = print_lines, .release = release_lines),
};
static const struct schema gpio_schema = { "gpio", gpio_keys, SK_COUNT(gpio_keys), sizeof(struct cfg_gpio) };

static const struct sk tank_keys[] = {
	KEY("temperature", SK_DOUBLE, F(struct cfg_tank, temperature), "C", 20, 60, "48", 0),
	KEY("max_temperature", SK_DOUBLE, F(struct cfg_tank, max_temperature), "C", 20, 70, "55", 0),
	KEY("cycle", SK_DOUBLE, F(struct cfg_tank, cycle), "s", 10, 900, "300", 0),
	KEY("max_cycle", SK_DOUBLE, F(struct cfg_tank, max_cycle), "s", 10, 1800, "600", 0),
	KEY("frequency", SK_DOUBLE, F(struct cfg_tank, frequency), "kHz", 20, 80, "40", 0),
	KEY("power", SK_DOUBLE, F(struct cfg_tank, power), "%", 10, 100, "80", 0),
	KEY("sweep", SK_BOOL, F(struct cfg_tank, sweep), NULL, 0, 0, "true", 0),
	KEY("degas", SK_DOUBLE, F(struct cfg_tank, degas), "s", 0, 600, "60", 0),
};
static const struct schema tank_schema = { "tank", tank_keys, SK_COUNT(tank_keys), sizeof(struct cfg_tank) };

static const struct sk bath_keys[] = {
	KEY("temperature", SK_DOUBLE, F(struct cfg_bath, temperature), "C", 20, 60, "48", 0),
	KEY("max_voltage", SK_DOUBLE, F(struct cfg_bath, max_voltage), "V", 0.5, 6, "3", 0),
	KEY("max_current", SK_DOUBLE, F(struct cfg_bath, max_current), "A", 0.01, 20, "2", 0),
	KEY("current_density", SK_DOUBLE, F(struct cfg_bath, current_density), "A/dm2", 0.1, 10, "2", 0),
	KEY("rhodium_grams", SK_DOUBLE, F(struct cfg_bath, rhodium_grams), "g", 0.1, 100, "2", 0),
	KEY("efficiency", SK_DOUBLE, F(struct cfg_bath, efficiency), "%", 1, 100, "35", 0),
	KEY("rhodium_warning", SK_DOUBLE, F(struct cfg_bath, rhodium_warning), "g", 0, 100, "0.5", 0),
	KEY("temperature_tolerance", SK_DOUBLE, F(struct cfg_bath, temperature_tolerance), "C", 0.5,
	    10, "2", 0),
	KEY("max_warmup", SK_DOUBLE, F(struct cfg_bath, max_warmup), "s", 10, 7200, "900", 0),
};
static const struct schema bath_schema = { "bath", bath_keys, SK_COUNT(bath_keys), sizeof(struct cfg_bath) };

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
};
static const struct schema api_schema = { "api", api_keys, SK_COUNT(api_keys), sizeof(struct cfg_api) };

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
	KEY("laser", SK_SECTION, F(struct cfg, laser), NULL, 0, 0, NULL, SK_REQUIRED, .sub = &laser_schema),
	KEY("buses", SK_LIST, F(struct cfg, buses), NULL, 0, 0, NULL, 0, .sub = &bus_schema,.count_off = F(struct cfg, n_buses)),
	KEY("devices", SK_LIST, F(struct cfg, devices), NULL, 0, 0, NULL, 0, .sub = &device_schema,.count_off = F(struct cfg, n_devices)),
	KEY("gpio", SK_SECTION, F(struct cfg, gpio), NULL, 0, 0, NULL, SK_REQUIRED, .sub = &gpio_schema),
	KEY("tank", SK_SECTION, F(struct cfg, tank), NULL, 0, 0, NULL, 0, .sub = &tank_schema),
	KEY("bath", SK_SECTION, F(struct cfg, bath), NULL, 0, 0, NULL, 0, .sub = &bath_schema),
	KEY("api", SK_SECTION, F(struct cfg, api), NULL, 0, 0, NULL, 0, .sub = &api_schema),
	KEY("calibration", SK_SECTION, F(struct cfg, calibration), NULL, 0, 0, NULL, 0, .sub = &calibration_schema),
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

static void
cross_check(struct cfg_ctx *ctx, struct cfg *cfg, yaml_node_t *root)
{
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
	if (cfg->gpio.backend == GPIO_BACKEND_GPIOD) {
		for (int i = 0; i < LINE_COUNT; i++) {
			const struct cfg_gpio_line *gl = &cfg->gpio.lines[i];
			if (gl->configured && (!gl->chip || (gl->offset < 0 && !gl->line_name)))
				cfg_err_node(ctx, find_key(ctx, find_key(ctx, find_key(ctx, root, "gpio"),
				    "lines"), line_names[i]),
				    "gpio.lines.%s: the gpiod backend needs a 'chip' and a 'line'",
				    line_names[i]);
		}
	}
	/* Missing lines are reported only under a gpio.lines mapping; a
	 * missing gpio section is already its own error. */
	yaml_node_t *lines = find_key(ctx, find_key(ctx, root, "gpio"), "lines");
	for (int i = 0; lines && lines->type == YAML_MAPPING_NODE && i < LINE_COUNT; i++)
		if (!cfg->gpio.lines[i].configured)
			cfg_err_node(ctx, lines, "gpio.lines: line '%s' is not configured; every line "
			    "of the bench is needed for the interlocks", line_names[i]);
	if (cfg->tank.temperature > cfg->tank.max_temperature)
		cfg_err_node(ctx, find_key(ctx, root, "tank") ? find_key(ctx, root, "tank") : root,
		    "tank.temperature %g C is above tank.max_temperature %g C",
		    cfg->tank.temperature, cfg->tank.max_temperature);
	if (cfg->tank.cycle > cfg->tank.max_cycle)
		cfg_err_node(ctx, find_key(ctx, root, "tank") ? find_key(ctx, root, "tank") : root,
		    "tank.cycle %g s is longer than tank.max_cycle %g s", cfg->tank.cycle,
		    cfg->tank.max_cycle);
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
	schema_defaults(&laser_schema, out);
	yaml_node_t *laser = find_key(&ctx, root, "laser");
	if (!laser || laser->type != YAML_MAPPING_NODE)
		cfg_err_node(&ctx, root, "the example has no laser section");
	else
		schema_load(&ctx, &laser_schema, laser, out, "laser");
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
	schema_release(&laser_schema, laser);
}

static struct cfg *
cfg_new_defaults(void)
{
	struct cfg *cfg = xcalloc(1, sizeof *cfg);
	schema_defaults(&top_schema, cfg);
	for (int i = 0; i < LINE_COUNT; i++)
		line_defaults(&cfg->gpio.lines[i]);
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
	    !same_device_path(a, a->gpio.socket, b, b->gpio.socket))
		return false;
	for (int i = 0; i < LINE_COUNT; i++) {
		const struct cfg_gpio_line *x = &a->gpio.lines[i], *y = &b->gpio.lines[i];
		if (x->configured != y->configured || !same_str(x->chip, y->chip) ||
		    x->offset != y->offset || !same_str(x->line_name, y->line_name) ||
		    x->active_low != y->active_low || x->debounce != y->debounce)
			return false;
	}
	return true;
}

bool
cfg_same_laser_port(const struct cfg *a, const struct cfg *b)
{
	const struct cfg_laser *x = &a->laser, *y = &b->laser;
	return same_device_path(a, x->port, b, y->port) && x->baud == y->baud &&
	    x->status_hz == y->status_hz && x->connect_timeout == y->connect_timeout;
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
