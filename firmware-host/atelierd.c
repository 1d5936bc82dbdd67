/*
 * atelierd: the Atelier daemon. This entry point parses the command line;
 * `-n` checks a configuration (and the gems, services and device profiles
 * it names) and prints it normalised, the way OpenBSD daemons do; without
 * it the daemon runs (daemon.c) until SIGTERM, with the parts built on
 * its stations listed here, in the order they start.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calib/api_calib.h"
#include "cfg/cfg.h"
#include "cfg/cfg_catalog.h"
#include "daemon/daemon.h"
#include "log.h"
#include "methods/api_jobs.h"
#include "methods/api_fleet.h"
#include "methods/api_web.h"
#include "methods/api_methods.h"
#include "methods/offload.h"
#include "serial.h"
#include "util.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: atelierd [-n [--devices]] [-c FILE] [--device-dir DIR] | --list-ports\n"
	    "  -n              check the configuration, print it normalised, exit\n"
	    "  --devices       with -n: check that every device it names is there, print\n"
	    "                  only what is missing (exit 78) or one line\n"
	    "  -c FILE         configuration file (default /etc/atelier/atelier.yaml)\n"
	    "  --device-dir D  resolve relative device paths in D (the simulator's run dir)\n");
}

static void
print_errors(struct cfg_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		fprintf(stderr, "%s\n", errs->msgs[i]);
}

/* Loads the configuration and the catalogue files it names; returns the
 * configuration, or NULL after printing every error. */
static struct cfg *
load_all(const char *file, struct cfg_catalog **catalog)
{
	struct cfg_errors errs = { 0 };
	struct cfg *cfg = cfg_load(file, &errs);

	*catalog = NULL;
	if (cfg)
		*catalog = cfg_catalog_load(cfg, &errs);
	if (errs.n) {
		print_errors(&errs);
		cfg_errors_free(&errs);
		cfg_catalog_free(*catalog);
		*catalog = NULL;
		cfg_free(cfg);
		return NULL;
	}
	return cfg;
}

static int
list_ports(void)
{
	struct serial_info *list;
	size_t n;
	if (serial_list(&list, &n) < 0) {
		fprintf(stderr, "atelierd: cannot list the serial ports\n");
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (list[i].vid >= 0)
			printf("%s usb:%04x:%04x%s%s %s\n", list[i].path, list[i].vid, list[i].pid,
			    list[i].serial ? ":" : "", list[i].serial ? list[i].serial : "",
			    list[i].description ? list[i].description : "");
		else
			printf("%s - %s\n", list[i].path, list[i].description ? list[i].description : "");
	}
	serial_list_free(list, n);
	return 0;
}

/* One device the configuration names: there, or said missing. */
static bool
device_there(const struct cfg *cfg, const char *what, const char *port, const char *file)
{
	char err[300];
	char *path = serial_resolve(cfg, port, err, sizeof err);
	bool there = path && access(path, F_OK) == 0;
	if (!there && path)
		fprintf(stderr, "atelierd: %s: %s is not there: connect it, or change %s (atelierd -n "
		    "-c %s checks it)\n", what, path, file, file);
	else if (!there)
		fprintf(stderr, "atelierd: %s: %s: connect it, or change %s (atelierd -n -c %s checks "
		    "it)\n", what, err, file, file);
	free(path);
	return there;
}

/*
 * `-n --devices`, the unit's check before each start: every serial port
 * and GPIO chip the configuration names is there. A package installed on
 * a PC whose laser is not plugged in yet does not start the daemon against
 * it; systemctl status shows these lines. Returns the number missing.
 */
static int
missing_devices(const struct cfg *cfg, const char *file)
{
	int missing = 0;
	for (size_t i = 0; i < cfg->n_stations; i++) {
		const struct cfg_station *st = &cfg->stations[i];
		char what[120];
		snprintf(what, sizeof what, "laser station '%s'", st->name);
		if (st->kind == KIND_LASER && !device_there(cfg, what, st->laser.port, file))
			missing++;
	}
	for (size_t i = 0; i < cfg->n_buses; i++) {
		const struct cfg_bus *b = &cfg->buses[i];
		char what[120];
		snprintf(what, sizeof what, "Modbus bus '%s'", b->name);
		if (b->transport == TRANSPORT_RTU && b->port && !device_there(cfg, what, b->port, file))
			missing++;
	}
	if (cfg->gpio.backend != GPIO_BACKEND_GPIOD)
		return missing;
	/* Chips named by path or gpiochipN; a chip named by its label needs
	 * one chip at least. */
	for (size_t l = 0; l < cfg->n_lines; l++) {
		const char *chip = cfg->lines[l].gl ? cfg->lines[l].gl->chip : NULL;
		if (!chip)
			continue;
		char *path = chip[0] == '/' ? xstrdup(chip) : strncmp(chip, "gpiochip", 8) == 0 ?
		    xasprintf("/dev/%s", chip) : xstrdup("/dev/gpiochip0");
		bool seen = false;
		for (size_t k = 0; k < l; k++)
			seen = seen || (cfg->lines[k].gl && cfg->lines[k].gl->chip &&
			    strcmp(cfg->lines[k].gl->chip, chip) == 0);
		if (!seen && access(path, F_OK) < 0) {
			fprintf(stderr, "atelierd: GPIO chip %s (line %s) is not there: connect it, or "
			    "change %s (atelierd -n -c %s checks it)\n", path, cfg->lines[l].name, file,
			    file);
			missing++;
		}
		free(path);
	}
	return missing;
}

int
main(int argc, char **argv)
{
	const char *file = "/etc/atelier/atelier.yaml", *device_dir = NULL;
	bool check = false, devices = false;
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "devices", no_argument, NULL, 'V' },
		{ "device-dir", required_argument, NULL, 'D' },
		{ "list-ports", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	log_init("atelierd", LOG_LVL_INFO);
	while ((ch = getopt_long(argc, argv, "nc:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n': check = true; break;
		case 'c': file = optarg; break;
		case 'D': device_dir = optarg; break;
		case 'V': devices = true; break;
		case 'L': return list_ports();
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || (devices && !check)) {
		usage(stderr);
		return 2;
	}
	if (!check) {
		/* They stop in the reverse order: the workers first, answering
		 * what they owe; calibration before the job engine, since
		 * putting its station safe ends what the station ran. */
		static const struct daemon_part *const parts[] = {
			&stations_api_part, &jobs_part, &calib_part, &offload_part, &web_part,
			&fleet_part,
		};
		struct daemon d;
		int rc = 1;
		if (daemon_start(&d, file, device_dir, parts, ARRAY_LEN(parts)) == 0)
			rc = daemon_run(&d);
		daemon_stop(&d);
		return rc;
	}
	struct cfg_catalog *catalog;
	struct cfg *cfg = load_all(file, &catalog);
	if (!cfg)
		return 1;
	if (device_dir) {
		free(cfg->device_dir);
		cfg->device_dir = xstrdup(device_dir);
	}
	if (devices) {
		int missing = missing_devices(cfg, file);
		if (missing == 0)
			printf("configuration OK, and every device it names is there\n");
		cfg_catalog_free(catalog);
		cfg_free(cfg);
		/* EX_CONFIG: the unit does not restart for it (docs/install.md). */
		return missing ? 78 : 0;
	}
	printf("configuration OK\n");
	cfg_print(cfg, stdout);
	cfg_catalog_free(catalog);
	cfg_free(cfg);
	return 0;
}
