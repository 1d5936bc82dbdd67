/* TEMPORARY bootstrap: a hand-built bench so the simulator core links and runs before the YAML loader lands. DELETE THIS FILE when merging the real loader (it defines the same symbols: cfg_load, cfg_free, cfg_line_name, ...). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include "cfg/cfg.h"
#include "util.h"

static const char *const names[LINE_COUNT] = { "estop", "laser_door", "tank_lid", "fume_ok",
	"laser_enable", "ultrasound_enable", "heater_enable", "rectifier_enable", "beacon" };
const char *cfg_line_name(enum cfg_line_id id) { return names[id]; }
int cfg_line_lookup(const char *n) { for (int i = 0; i < LINE_COUNT; i++) if (!strcmp(n, names[i])) return i;
	return -1; }
const struct cfg_device *cfg_device_find(const struct cfg *c, const char *n) {
	for (size_t i = 0; i < c->n_devices; i++) if (!strcmp(c->devices[i].name, n)) return &c->devices[i];
	return NULL; }
const struct cfg_bus *cfg_bus_find(const struct cfg *c, const char *n) {
	for (size_t i = 0; i < c->n_buses; i++) if (!strcmp(c->buses[i].name, n)) return &c->buses[i];
	return NULL; }
char *cfg_device_path(const struct cfg *c, const char *p) { return p[0]=='/' ? xstrdup(p) : xasprintf("%s/%s", c->device_dir, p); }
void cfg_errors_free(struct cfg_errors *e) { (void)e; }
void cfg_free(struct cfg *c) { free(c->device_dir); free(c->buses); free(c->devices); free(c); }
struct cfg *cfg_load(const char *path, struct cfg_errors *e) {
	(void)path; (void)e;
	struct cfg *c = xcalloc(1, sizeof *c);
	c->device_dir = xstrdup("/tmp/atelier-sim");
	c->laser = (struct cfg_laser){ .port = "laser", .baud = 115200, .status_hz = 5, .max_power = 1000 };
	c->n_buses = 2; c->buses = xcalloc(2, sizeof *c->buses);
	c->buses[0] = (struct cfg_bus){ .name = "tank", .port = "tank", .baud = 19200, .parity = PARITY_NONE, .data_bits = 8, .stop_bits = 1, .timeout = 0.2, .retries = 2, .poll_interval = 0.2 };
	c->buses[1] = (struct cfg_bus){ .name = "bath", .port = "bath", .baud = 19200, .parity = PARITY_NONE, .data_bits = 8, .stop_bits = 1, .timeout = 0.2, .retries = 2, .poll_interval = 0.2 };
	c->n_devices = 3; c->devices = xcalloc(3, sizeof *c->devices);
	c->devices[0] = (struct cfg_device){ .name = "tank", .bus = "tank", .slave = 1, .profile = "tank-generator", .watchdog = 3 };
	c->devices[1] = (struct cfg_device){ .name = "rectifier", .bus = "bath", .slave = 1, .profile = "riden-rd60xx", .watchdog = 3 };
	c->devices[2] = (struct cfg_device){ .name = "bath_heater", .bus = "bath", .slave = 2, .profile = "e5cc", .watchdog = 3 };
	c->gpio.socket = "gpio.sock";
	c->gpio.lines[LINE_ESTOP].active_low = true;
	c->sim = (struct cfg_sim){ .ambient = 21, .turnaround = 0.002, .laser_accel = 500, .rectifier_model = 60062 };
	return c;
}
